"""SMTP (outbound mail): implicit TLS, STARTTLS or plain; PLAIN/LOGIN password sign-in, or OAuth
(XOAUTH2 / OAUTHBEARER with a token from Google, Microsoft or any OpenID provider).

This module only declares the connector (fields, secrets, warnings) so the application starts
fast; the protocol code in :mod:`.session` is imported when a check runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desktop.connectors import _mail
from desktop.connectors.base import ConnectorType
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

SECURITY = (("tls", "TLS (implicit, port 465)"), ("starttls", "STARTTLS (port 587)"),
            ("none", "None — unencrypted (not recommended)"))
PORTS = {"tls": 465, "starttls": 587, "none": 25}


class SmtpConnector(ConnectorType):
    type_name = "smtp"
    label = "SMTP"
    summary = "Outbound e-mail through a mail server (Gmail, Microsoft 365, or your own)."
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
    )
    secrets = (SecretField("password", "Password", when={"auth": ("password",)}, after="username",
                           help="For Gmail with 2-step verification, an App Password."),
               *_mail.OAUTH_SECRETS)

    def warnings(self, settings: Mapping[str, Any]) -> list[str]:
        return _mail.warnings(settings)

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        from desktop.connectors.smtp.session import SmtpChecks
        SmtpChecks(self).validate(conn, secrets, run)

    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, to: str,
                  tag: str | None = None) -> None:
        from desktop.connectors.smtp.session import SmtpChecks
        SmtpChecks(self).test_send(conn, secrets, run, to, tag)


CONNECTOR = SmtpConnector()
