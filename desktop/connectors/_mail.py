"""What the two mail protocols (SMTP, IMAP) declare and check alike: the server and TLS fields,
their warnings, and the rule that a password never goes over an unencrypted connection unless the
connector allows it. (Modules starting with "_" are not connector types.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desktop.core import errors
from desktop.core.errors import ConnectorError
from desktop.core.fields import Field
from desktop.core.secret import Secret

PROVIDERS = (("gmail", "Gmail"), ("microsoft365", "Microsoft 365"), ("other", "Other server"))


def server_fields(protocol: str, placeholder: str, security: tuple[tuple[str, str], ...],
                  default_security: str, ports: Mapping[str, int]) -> tuple[Field, ...]:
    return (
        Field("provider", "Provider", "choice", "other", choices=PROVIDERS, page="provider",
              help="Which service this server belongs to; selects its hints."),
        Field("host", "Server", "host", required=True, placeholder=placeholder,
              help=f"The host name of the {protocol} server."),
        Field("security", "Security", "choice", default_security, choices=security,
              help="How the connection is encrypted. The port follows this choice."),
        Field("port", "Port", "int", default_from=("security", ports), required=True, minimum=1, maximum=65535),
        Field("verify_tls", "Verify the server's certificate", "bool", True, page="advanced",
              help="Strongly recommended. Turn off only for a test server you control."),
        Field("ca_file", "CA file", "path", page="advanced",
              help="A PEM file with your internal certificate authority, trusted in addition to the system's."),
        Field("timeout_s", "Deadline (seconds)", "int", 15, minimum=1, maximum=600, page="advanced",
              help="How long a whole check may take."),
    )


GMAIL_PASSWORD_HELP = "With 2-step verification on, Gmail needs an App Password (Google Account → Security → " \
    "App passwords), not the account password."


def field_help(name: str, settings: Mapping[str, Any], ports: Mapping[str, int]) -> str | None:
    """Help that depends on other settings: the App Password only for Gmail; the usual port when
    the port typed differs from the one the security choice implies."""
    if name == "password":
        return GMAIL_PASSWORD_HELP if settings.get("provider") == "gmail" else ""
    if name == "port":
        usual = ports.get(str(settings.get("security")))
        port = settings.get("port")
        if usual is not None and port not in (None, "", usual):
            return f"The usual port for this security is {usual}."
        return ""
    return None


ALLOW_PLAINTEXT = Field("allow_plaintext", "Allow the password over an unencrypted connection", "bool", False,
                        page="auth", when={"security": ("none",)},
                        help="Anyone on the network path can read it. Leave off unless the link is trusted.")


def warnings(settings: Mapping[str, Any]) -> list[str]:
    out = []
    if settings.get("security") == "none":
        out.append("Unencrypted connection: mail and any password travel in clear text.")
    if settings.get("verify_tls") is False and settings.get("security") != "none":
        out.append("Certificate verification is OFF: anyone on the path can pose as the server.")
    if settings.get("allow_plaintext") and settings.get("security") == "none":
        out.append("The password may be sent unencrypted.")
    return out


def password_for(settings: Mapping[str, Any], encrypted: bool, secrets: Mapping[str, Secret]) -> Secret:
    """The password, if it may be sent on this connection (security promise 4)."""
    if not encrypted and not settings.get("allow_plaintext"):
        raise ConnectorError(
            errors.PLAINTEXT_REFUSED,
            "The connection is not encrypted, so the password was not sent.",
            "Choose TLS or STARTTLS. Only if the network path is trusted, allow the password over an "
            "unencrypted connection in the connector's settings.")
    password = secrets.get("password")
    if not password:
        raise ConnectorError(errors.BAD_INPUT, "password: no password is set for this connector.",
                             "Enter the password on the sign-in page.")
    return password


def tls_detail(info: Mapping[str, str]) -> str:
    return (f"{info.get('version', '?')}, issued by {info.get('issuer', '?')}, "
            f"expires {info.get('expires', '?')}")
