"""SMTP (outbound mail): implicit TLS, STARTTLS or plain; PLAIN/LOGIN password sign-in, or OAuth
(XOAUTH2 / OAUTHBEARER with a token from Google, Microsoft or any OpenID provider).

This module only declares the connector (fields, secrets, warnings) so the application starts
fast; the protocol code in :mod:`.session` is imported when a check runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from desktop.connectors import _mail
from desktop.core.contract import Action, ConnectorType, Wording
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# No port in the labels: the port is its own field and may differ (a choice saying "port 587"
# beside port 21587 misleads); a differing port gets a note with the usual one instead.
SECURITY = (("tls", "TLS (implicit)"), ("starttls", "STARTTLS"),
            ("none", "None — unencrypted (not recommended)"))
PORTS = {"tls": 465, "starttls": 587, "none": 25}


class SmtpConnector(ConnectorType):
    type_name = "smtp"
    label = "SMTP"
    summary = "Outbound e-mail through a mail server (Gmail, Microsoft 365, or your own)."
    rank = 0  # offered first by the wizard
    actions = frozenset({Action.SEND})
    receipt_steps = ("data",)
    wording = Wording(checks="Connector Desk connects, negotiates encryption, signs in and checks the sender")
    fields = (
        *_mail.server_fields("mail", "smtp.example.com", SECURITY, "starttls", PORTS),
        Field("auth", "Sign-in", "choice", "password",
              choices=(("password", "User name and password"), ("oauth2", "OAuth (sign in with the provider)"),
                       ("none", "No sign-in (relay)")),
              page="auth"),
        Field("username", "User name", "text", required=True, page="auth",
              when={"auth": ("password", "oauth2")}, placeholder="svc-billing@example.com",
              help="Usually the full e-mail address; with OAuth, the mailbox that signs in."),
        *_mail.oauth_fields("smtp"),
        _mail.ALLOW_PLAINTEXT,
        Field("from_address", "Sender (From) address", "email", page="auth",
              placeholder="billing@example.com",
              help="Checked with MAIL FROM during validation; used as the sender of test mail."),
        Field("bounce_mailbox_connector", "Bounce mailbox (IMAP connector)", "text", page="advanced",
              placeholder="billing-bounces",
              help="Optional: the saved IMAP connector whose mailbox receives this sender's bounces; its "
                   "delivery status notifications are shown as failed sends (read-only)."),
    )
    secrets = (SecretField("password", "Password", when={"auth": ("password",)}, after="username",
                           help=""),
               *_mail.OAUTH_SECRETS)

    def warnings(self, settings: Mapping[str, Any]) -> list[str]:
        return _mail.warnings(settings)

    def field_help(self, name: str, settings: Mapping[str, Any]) -> str | None:
        return _mail.field_help(name, settings, PORTS)

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        from desktop.connectors.smtp.session import SmtpChecks
        SmtpChecks(self).validate(conn, secrets, run)

    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, to: str,
                  tag: str | None = None) -> None:
        from desktop.connectors.smtp.session import SmtpChecks
        SmtpChecks(self).test_send(conn, secrets, run, to, tag)

    def linked_connector(self, settings: Mapping[str, Any]) -> str | None:
        return str(settings.get("bounce_mailbox_connector") or "") or None

    def relinked(self, settings: Mapping[str, Any], old: str, new: str) -> dict[str, Any] | None:
        if self.linked_connector(settings) != old:
            return None
        return {**settings, "bounce_mailbox_connector": new}

    def linked_problems(self, settings: Mapping[str, Any], saved: Mapping[str, str]) -> dict[str, str]:
        name = self.linked_connector(settings)
        kind = saved.get(name) if name else "imap"
        if kind == "imap":
            return {}
        if kind is None:
            problem = f"no saved connector is named “{name}” (save the IMAP connector first, or leave this empty)"
        else:
            problem = f"“{name}” is not an IMAP connector (its type is {kind}); bounces are read from an IMAP mailbox"
        return {"bounce_mailbox_connector": problem}

    def has_failures(self, settings: Mapping[str, Any]) -> bool:
        return bool(settings.get("bounce_mailbox_connector"))

    def failures(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, limit: int,
                 linked: tuple[Connector, Mapping[str, Secret]] | None = None) -> None:
        from desktop.connectors.smtp.bounces import read_bounces
        read_bounces(conn, linked, run, limit)


CONNECTOR = SmtpConnector()
