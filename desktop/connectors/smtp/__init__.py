"""SMTP (outbound mail): implicit TLS, STARTTLS or plain; PLAIN/LOGIN password sign-in.

This module only declares the connector (fields, secrets, warnings) so the application starts
fast; the protocol code in :mod:`.session` is imported when a check runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
        Field("provider", "Provider", "choice", "other",
              choices=(("gmail", "Gmail"), ("microsoft365", "Microsoft 365"), ("other", "Other server")),
              page="provider", help="Which service this server belongs to; selects its hints."),
        Field("host", "Server", "host", required=True, placeholder="smtp.example.com",
              help="The host name of the mail server."),
        Field("security", "Security", "choice", "starttls", choices=SECURITY,
              help="How the connection is encrypted. The port follows this choice."),
        Field("port", "Port", "int", default_from=("security", PORTS), required=True,
              minimum=1, maximum=65535),
        Field("verify_tls", "Verify the server's certificate", "bool", True, page="advanced",
              help="Strongly recommended. Turn off only for a test server you control."),
        Field("ca_file", "CA file", "path", page="advanced",
              help="A PEM file with your internal certificate authority, trusted in addition "
                   "to the system's."),
        Field("timeout_s", "Deadline (seconds)", "int", 15, minimum=1, maximum=600, page="advanced",
              help="How long a whole check may take."),
        Field("auth", "Sign-in", "choice", "password",
              choices=(("password", "User name and password"), ("none", "No sign-in (relay)")),
              page="auth"),
        Field("username", "User name", "text", required=True, page="auth",
              when={"auth": ("password",)}, placeholder="svc-billing@example.com"),
        Field("allow_plaintext", "Allow the password over an unencrypted connection", "bool", False,
              page="auth", when={"security": ("none",)},
              help="Anyone on the network path can read it. Leave off unless the link is trusted."),
        Field("from_address", "Sender (From) address", "email", page="auth",
              placeholder="billing@example.com",
              help="Checked with MAIL FROM during validation; used as the sender of test mail."),
    )
    secrets = (SecretField("password", "Password", when={"auth": ("password",)}, after="username",
                           help="For Gmail with 2-step verification, an App Password."),)

    def warnings(self, settings: Mapping[str, Any]) -> list[str]:
        out = []
        if settings.get("security") == "none":
            out.append("Unencrypted connection: mail and any password travel in clear text.")
        if settings.get("verify_tls") is False and settings.get("security") != "none":
            out.append("Certificate verification is OFF: anyone on the path can pose as the server.")
        if settings.get("allow_plaintext") and settings.get("security") == "none":
            out.append("The password may be sent unencrypted.")
        return out

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        from desktop.connectors.smtp.session import SmtpChecks
        SmtpChecks(self).validate(conn, secrets, run)

    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, to: str,
                  tag: str | None = None) -> None:
        from desktop.connectors.smtp.session import SmtpChecks
        SmtpChecks(self).test_send(conn, secrets, run, to, tag)


CONNECTOR = SmtpConnector()
