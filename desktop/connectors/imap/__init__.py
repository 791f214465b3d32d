"""IMAP (inbound mail trigger): implicit TLS, STARTTLS or plain; AUTHENTICATE PLAIN or LOGIN, or
OAuth (AUTHENTICATE XOAUTH2 / OAUTHBEARER);
the mailbox matched exactly. The protocol code in :mod:`.session` loads when a check runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desktop.connectors import _mail
from desktop.connectors.base import ConnectorType
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

# No port in the labels: the port is its own field and may differ (a choice saying "port 587"
# beside port 21587 misleads); a differing port gets a note with the usual one instead.
SECURITY = (("tls", "TLS (implicit)"), ("starttls", "STARTTLS"),
            ("none", "None — unencrypted (not recommended)"))
PORTS = {"tls": 993, "starttls": 143, "none": 143}


class ImapConnector(ConnectorType):
    type_name = "imap"
    label = "IMAP"
    summary = "Inbound e-mail: a mailbox a workflow watches (Gmail, Microsoft 365, or your own)."
    test_action = "peek"
    fields = (
        *_mail.server_fields("IMAP", "imap.example.com", SECURITY, "tls", PORTS),
        Field("auth", "Sign-in", "choice", "password",
              choices=(("password", "User name and password"), ("oauth2", "OAuth (sign in with the provider)")),
              page="auth"),
        Field("username", "User name", "text", required=True, page="auth", placeholder="inbox@example.com",
              help="Usually the full e-mail address; with OAuth, the mailbox that signs in."),
        *_mail.oauth_fields("imap"),
        _mail.ALLOW_PLAINTEXT,
        Field("mailbox", "Mailbox", "text", "INBOX", required=True, page="auth", picker="folders",
              help="Matched exactly: names are case-sensitive. Use “Choose…” to pick it from the account."),
    )
    secrets = (SecretField("password", "Password", when={"auth": ("password",)}, after="username",
                           help=""),
               *_mail.OAUTH_SECRETS)

    def warnings(self, settings: Mapping[str, Any]) -> list[str]:
        return _mail.warnings(settings)

    def field_help(self, name: str, settings: Mapping[str, Any]) -> str | None:
        return _mail.field_help(name, settings, PORTS)

    def server_label(self, settings: Mapping[str, Any]) -> str:
        return f"{super().server_label(settings)} · {settings.get('mailbox') or 'INBOX'}"

    def _checks(self) -> Any:
        from desktop.connectors.imap.session import ImapChecks
        return ImapChecks(self)

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        self._checks().validate(conn, secrets, run)

    def peek(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, count: int) -> None:
        self._checks().peek(conn, secrets, run, count)

    def folders(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        self._checks().folders(conn, secrets, run)

    def wait_for(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, tag: str,
                 sent_at: float) -> None:
        self._checks().wait_for(conn, secrets, run, tag, sent_at)


CONNECTOR = ImapConnector()
