"""What the two mail protocols (SMTP, IMAP) declare and check alike: the server and TLS fields,
their warnings, the rule that a password or token never goes over an unencrypted connection
unless the connector allows it, and OAuth sign-in (fields, the XOAUTH2 / OAUTHBEARER payloads, a
refusal's decoded challenge). (Modules starting with "_" are not connector types.)"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping

from desktop.core import errors
from desktop.core.errors import ConnectorError
from desktop.core.fields import Field, SecretField
from desktop.core.secret import Secret
from desktop.core.textsafe import preview

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from desktop.connectors.base import ConnectorType
    from desktop.core.pipeline import Run

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
                        help="Anyone on the network path can read it (or the OAuth access token). Leave off "
                             "unless the link is trusted.")


def warnings(settings: Mapping[str, Any]) -> list[str]:
    out = []
    if settings.get("security") == "none":
        out.append("Unencrypted connection: mail and any password travel in clear text.")
    if settings.get("verify_tls") is False and settings.get("security") != "none":
        out.append("Certificate verification is OFF: anyone on the path can pose as the server.")
    if settings.get("allow_plaintext") and settings.get("security") == "none":
        what = "access token" if settings.get("auth") == "oauth2" else "password"
        out.append(f"The {what} may be sent unencrypted.")
    return out


def require_encryption(settings: Mapping[str, Any], encrypted: bool, what: str = "password") -> None:
    """Refuse to send a credential on an unencrypted connection the connector does not allow
    (security promise 4)."""
    if not encrypted and not settings.get("allow_plaintext"):
        raise ConnectorError(
            errors.PLAINTEXT_REFUSED,
            f"The connection is not encrypted, so the {what} was not sent.",
            "Choose TLS or STARTTLS. Only if the network path is trusted, allow the password over an "
            "unencrypted connection in the connector's settings.")


def password_for(settings: Mapping[str, Any], encrypted: bool, secrets: Mapping[str, Secret]) -> Secret:
    """The password, if it may be sent on this connection (security promise 4)."""
    require_encryption(settings, encrypted)
    password = secrets.get("password")
    if not password:
        raise ConnectorError(errors.BAD_INPUT, "password: no password is set for this connector.",
                             "Enter the password on the sign-in page.")
    return password


def tls_detail(info: Mapping[str, str]) -> str:
    return (f"{info.get('version', '?')}, issued by {info.get('issuer', '?')}, "
            f"expires {info.get('expires', '?')}")


# -- OAuth (auth "oauth2") ------------------------------------------------------------------------
OAUTH = {"auth": ("oauth2",)}
OAUTH_PROVIDERS = (("google", "Google (Gmail, Google Workspace)"), ("microsoft", "Microsoft 365 (Entra ID)"),
                   ("oidc", "Another OpenID provider"))
MECHANISMS = (("XOAUTH2", "XOAUTH2 (Google, Microsoft)"), ("OAUTHBEARER", "OAUTHBEARER (RFC 7628)"))
# Microsoft: SMTP.Send / IMAP.AccessAsUser.All are delegated permissions (a signed-in mailbox);
# SMTP.SendAsApp is an *application* permission (client credentials, no user): not this flow.
SCOPES_HELP = {
    "smtp": "Empty: the provider's mail scope — Google https://mail.google.com/; Microsoft "
            "https://outlook.office.com/SMTP.Send and offline_access (for a refresh token). Not SMTP.SendAsApp: "
            "that is an application permission for an app that signs in as itself (client credentials), "
            "while this sign-in is a person's, delegated to Connector Desk. Another OpenID provider: add the "
            "scope your mail server checks (empty asks only for openid email offline_access).",
    "imap": "Empty: the provider's mail scope — Google https://mail.google.com/; Microsoft "
            "https://outlook.office.com/IMAP.AccessAsUser.All and offline_access (for a refresh token). "
            "Another OpenID provider: add the scope your mail server checks (empty asks only for openid email "
            "offline_access).",
}


def oauth_fields(protocol: str) -> tuple[Field, ...]:
    """The OAuth settings of SMTP or IMAP (DESIGN.md §3), shown when the sign-in is "oauth2"."""
    return (
        Field("oauth_provider", "Sign-in provider", "choice", "google", choices=OAUTH_PROVIDERS, page="auth",
              when=OAUTH, help="Who issues the tokens: Google, Microsoft Entra ID, or any OpenID provider."),
        Field("oauth_client_id", "Client id", "text", required=True, page="auth", when=OAUTH,
              help="The application (client) id of your organisation's own app registration."),
        Field("oauth_tenant", "Tenant", "text", page="auth", when={**OAUTH, "oauth_provider": ("microsoft",)},
              placeholder="contoso.onmicrosoft.com",
              help="Directory (tenant) id or domain; empty means “organizations” (any work account)."),
        Field("oauth_issuer", "Issuer", "text", required=True, page="auth",
              when={**OAUTH, "oauth_provider": ("oidc",)}, placeholder="https://login.example.com/realms/mail",
              help="Its endpoints are read from <issuer>/.well-known/openid-configuration."),
        Field("oauth_scopes", "Scopes", "list", page="auth", when=OAUTH, help=SCOPES_HELP[protocol],
              placeholder="openid, email, offline_access, mail"),
        Field("oauth_mechanism", "Sign-in mechanism", "choice", "XOAUTH2", choices=MECHANISMS, page="auth",
              when=OAUTH, help="How the token is presented to the server: XOAUTH2 (Google, Microsoft) or the "
                               "standard OAUTHBEARER (RFC 7628; Google and Dovecot offer it, Microsoft does not)."),
    )


OAUTH_SECRETS = (
    SecretField("oauth_client_secret", "Client secret", when=OAUTH, after="oauth_client_id", optional=True,
                help="Only for a confidential client; leave empty for a public (desktop) client."),
    SecretField("oauth_refresh_token", "Refresh token", when=OAUTH, optional=True,
                help="Written by Sign in…; kept with the connector's other secrets. The access token is never "
                     "stored."),
)


def oauth_access_token(run: Run, protocol: str, settings: Mapping[str, Any],
                       secrets: Mapping[str, Secret]) -> Secret:
    """A fresh access token from the token side (``desktop.core.oauth_flow``, imported only here, when
    a session is about to sign in): refreshed within the run's deadline as its own step "token",
    checked for the ``protocol``'s mail scope, never stored."""
    try:
        from desktop.core.oauth_flow import access_token  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError as exc:
        if exc.name != "desktop.core.oauth_flow":
            raise
        raise ConnectorError(errors.AUTH_METHOD_UNSUPPORTED, "This build of Connector Desk cannot get OAuth tokens.",
                             "Install a complete build, or choose password sign-in.") from None
    token: Secret = access_token(run, settings, secrets, protocol=protocol)
    run.transcript.register(token)
    return token


def mechanism(settings: Mapping[str, Any]) -> str:
    chosen = str(settings.get("oauth_mechanism") or "XOAUTH2").upper()
    return chosen if chosen in ("XOAUTH2", "OAUTHBEARER") else "XOAUTH2"


def mechanism_missing(chosen: str, offered: list[str], encrypted: bool) -> ConnectorError:
    """The server does not offer ``chosen``: say what it offers and what to do."""
    other = "OAUTHBEARER" if chosen == "XOAUTH2" else "XOAUTH2"
    if other in offered:
        hint = f"The server offers {other}: choose it as the sign-in mechanism (advanced settings)."
    elif not encrypted:
        hint = "Many servers offer sign-in only after encryption: choose STARTTLS or TLS."
    else:
        hint = ("The server does not accept OAuth tokens. Check the host (for Microsoft 365, SMTP AUTH must be "
                "enabled for the mailbox), or choose password sign-in.")
    return ConnectorError(errors.AUTH_METHOD_UNSUPPORTED,
                          f"The server does not offer {chosen} sign-in (it offers: {' '.join(offered) or 'none'}).",
                          hint)


def _saslname(user: str) -> str:
    """RFC 5801's saslname: "," and "=" escaped."""
    return user.replace("=", "=3D").replace(",", "=2C")


def _control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def sasl_payload(chosen: str, user: str, token: Secret, host: str, port: int) -> str:
    """The base64 initial response of XOAUTH2 or OAUTHBEARER (RFC 7628) carrying ``token``."""
    if _control(user):
        raise ConnectorError(errors.BAD_INPUT, "User name: it holds a control character, which the sign-in cannot "
                             "carry. Nothing was sent.", "Enter the user name again on the sign-in page.")
    if _control(token.reveal()):
        raise ConnectorError(errors.PROTOCOL_ERROR, "The access token the provider issued holds a control "
                             "character; it was not sent.", "Sign in again; if it persists, the provider misbehaves.")
    if chosen == "OAUTHBEARER":
        raw = f"n,a={_saslname(user)},\x01host={host}\x01port={port}\x01auth=Bearer {token.reveal()}\x01\x01"
    else:
        raw = f"user={user}\x01auth=Bearer {token.reveal()}\x01\x01"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def challenge_answer(chosen: str) -> str:
    """What a client answers to a refusal's challenge: OAUTHBEARER a single %x01 (RFC 7628 §3.2.3),
    XOAUTH2 an empty line; the server then ends the exchange with its failure."""
    return base64.b64encode(b"\x01").decode() if chosen == "OAUTHBEARER" else ""


def decode_challenge(text: str) -> dict[str, str] | None:
    """A refusal's challenge (base64 JSON: status, schemes, scope), values shortened and escaped;
    None when it is not that."""
    try:
        data = json.loads(base64.b64decode(text.strip(), validate=True).decode("utf-8"))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return {preview(str(k), 40): preview(str(v), 200) for k, v in list(data.items())[:10]}


def oauth_refused(chosen: str, user: str, said: str, challenge: dict[str, str] | None,
                  challenged: bool, scrub: Callable[[str], str]) -> ConnectorError:
    """``auth_failed`` for a refused token, with the server's decoded reason and scope. ``scrub``
    (the transcript's redactor) cleans the hint too: it quotes the server's scope, which a hostile
    server may fill with the token."""
    parts = []
    if challenge:
        for key in ("status", "scope", "schemes"):
            if challenge.get(key):
                parts.append(f"{key} {challenge[key]}")
    elif challenged:
        parts.append("its explanation could not be read")
    reason = f" ({'; '.join(parts)})" if parts else ""
    status = (challenge or {}).get("status", "").lower()
    scope = (challenge or {}).get("scope", "")
    if status in ("403", "insufficient_scope"):
        hint = (f"The token lacks a scope the server requires{f' ({scope})' if scope else ''}: add it to the "
                "connector's scopes and to the app registration's permissions, then sign in again.")
    else:
        hint = (f"The token may have expired or been revoked, or belong to another account than {user}. "
                "Sign in again; check that the user name is the mailbox the token was issued for"
                + (f" and that the sign-in grants the scope {scope}." if scope else "."))
    return ConnectorError(errors.AUTH_FAILED,
                          f"The server refused the OAuth access token ({chosen}){reason}: {preview(said, 200)}",
                          scrub(hint))


def oauth_hint(ctype: ConnectorType, settings: Mapping[str, Any], err: ConnectorError,
               keys: tuple[str, ...] = ()) -> None:
    """The provider's advice for a refused token (preset hints ``oauth_…``), if it has any; never
    its password advice (App Passwords)."""
    preset = ctype.preset(settings.get("provider"))
    if preset is None:
        return
    for key in (*keys, "oauth_auth_failed"):
        if key in preset.hints:
            err.hint = preset.hints[key]
            return
