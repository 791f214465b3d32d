"""OAuth 2.0 for mail (SMTP/IMAP ``auth: "oauth2"``): a provider's endpoints, the access token from a
stored refresh token (RFC 6749 §6) as its own pipeline step, and the token endpoint's answers mapped to
our codes. No Qt. The interactive sign-in (loopback listener, PKCE, device code) is in
:mod:`desktop.core.oauth_signin`, imported only when a sign-in runs — or when a Microsoft connector has
msal's sealed token cache (``oauth_token_cache`` in the secrets): its token step then goes through msal.

Interface used by the mail sessions::

    access_token(run, settings, secrets) -> Secret      # step "token"; raises ConnectorError
    provider_endpoints(settings, run | None) -> Endpoints

``protocol`` ("smtp" or "imap", keyword-only, optional) chooses the mail scope a token must carry; when
omitted it is "imap" for settings that have a ``mailbox`` and "smtp" otherwise.

The token request runs under the run's deadline and cancel token, never follows a redirect (it carries
the refresh token and client secret), goes over https (plain http only to a loopback address), and the
transcript shows it with every token masked.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desktop.core import errors, tls, web
from desktop.core.blocking import bounded
from desktop.core.errors import ConnectorError, FieldError
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

GOOGLE_MAIL_SCOPE = "https://mail.google.com/"
MS_SMTP_SCOPE = "https://outlook.office.com/SMTP.Send"
MS_IMAP_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"
# Scopes that say who the user is or ask for a refresh token; never "the mail scope".
IDENTITY_SCOPES = frozenset({"openid", "email", "profile", "offline_access", "address", "phone"})
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
# A different Microsoft sign-in host (a national cloud such as https://login.microsoftonline.us, or a
# test server): its endpoints are then read from the tenant's discovery document.
MICROSOFT_LOGIN_ENV = "CONNECTOR_DESK_MICROSOFT_LOGIN"
PROVIDERS = ("google", "microsoft", "oidc")
# msal's serialized token cache (Microsoft), sealed in the keychain beside the refresh token: when a
# connector has it, the token step refreshes through msal's acquire_token_silent first.
TOKEN_CACHE = "oauth_token_cache"
MAX_ANSWER = 256 * 1024


@dataclass(frozen=True)
class Endpoints:
    """Where a provider signs people in and hands out tokens. ``device`` is None when the provider
    offers no device grant; ``scopes_default`` are the scopes a sign-in asks for when the settings
    name none (the mail scope, who the user is, and a refresh token)."""

    authorize: str
    token: str
    device: str | None
    issuer: str | None
    scopes_default: tuple[str, ...]
    userinfo: str | None = None


def _protocol(settings: Mapping[str, Any], protocol: str | None) -> str:
    if protocol:
        return protocol
    return "imap" if "mailbox" in settings else "smtp"


def _provider(settings: Mapping[str, Any]) -> str:
    provider = settings.get("oauth_provider") or ""
    if provider not in PROVIDERS:
        raise FieldError("settings.oauth_provider", f"must be one of {', '.join(PROVIDERS)}")
    return str(provider)


def mail_scopes(settings: Mapping[str, Any], protocol: str | None = None) -> tuple[str, ...]:
    """The scopes a token must carry for the mail protocol (what ``oauth_scope_missing`` checks)."""
    provider = _provider(settings)
    if provider == "google":
        return (GOOGLE_MAIL_SCOPE,)
    if provider == "microsoft":
        return (MS_IMAP_SCOPE if _protocol(settings, protocol) == "imap" else MS_SMTP_SCOPE,)
    return tuple(s for s in requested_scopes(settings, protocol) if s not in IDENTITY_SCOPES)


def default_scopes(settings: Mapping[str, Any], protocol: str | None = None) -> tuple[str, ...]:
    provider = _provider(settings)
    if provider == "google":
        return (GOOGLE_MAIL_SCOPE, "openid", "email")
    if provider == "microsoft":
        return (*mail_scopes(settings, protocol), "offline_access", "openid", "email")
    return ("openid", "email", "offline_access")


def requested_scopes(settings: Mapping[str, Any], protocol: str | None = None) -> tuple[str, ...]:
    """``oauth_scopes`` from the settings, or the provider's defaults."""
    given = settings.get("oauth_scopes")
    if isinstance(given, str):
        given = given.split()
    if given:  # an entry may hold several, space-separated as providers write them
        return tuple(s for entry in given for s in str(entry).split())
    return default_scopes(settings, protocol)


def _tenant(settings: Mapping[str, Any]) -> str:
    tenant = str(settings.get("oauth_tenant") or "").strip() or "organizations"
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,128}", tenant):
        raise FieldError("settings.oauth_tenant", "must be a tenant id (GUID), a domain, “organizations” or "
                                                  "“common”")
    return tenant


def provider_endpoints(settings: Mapping[str, Any], run: Run | None = None, *,
                       protocol: str | None = None) -> Endpoints:
    """The provider's endpoints. Google and Microsoft are fixed addresses; an OpenID provider's (and a
    non-default Microsoft sign-in host's) come from its discovery document, fetched under ``run``'s
    deadline (a run of 15 s when None)."""
    provider = _provider(settings)
    scopes = default_scopes(settings, protocol)
    if provider == "google":
        return Endpoints("https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
                         "https://oauth2.googleapis.com/device/code", "https://accounts.google.com", scopes,
                         "https://openidconnect.googleapis.com/v1/userinfo")
    if provider == "microsoft":
        tenant = _tenant(settings)
        login = os.environ.get(MICROSOFT_LOGIN_ENV, "").rstrip("/") or MICROSOFT_LOGIN
        if login == MICROSOFT_LOGIN:
            base = f"{login}/{tenant}/oauth2/v2.0"
            return Endpoints(f"{base}/authorize", f"{base}/token", f"{base}/devicecode",
                             f"{login}/{tenant}/v2.0", scopes, "https://graph.microsoft.com/oidc/userinfo")
        return _discover(f"{login}/{tenant}/v2.0", settings, run, scopes, MICROSOFT_LOGIN_ENV, exact_issuer=False)
    issuer = settings.get("oauth_issuer") or ""
    if not issuer:
        raise FieldError("settings.oauth_issuer", "is required for an OpenID provider")
    return _discover(str(issuer), settings, run, scopes, "settings.oauth_issuer", exact_issuer=True)


_LABELS = {"settings.oauth_issuer": "Issuer", "settings.oauth_tenant": "Tenant"}


def _named(field: str) -> str:
    """A setting as the sign-in page names it: “Issuer” (oauth_issuer)."""
    label = _LABELS.get(field)
    return f"“{label}” ({field.removeprefix('settings.')})" if label else field


def _discover(issuer: str, settings: Mapping[str, Any], run: Run | None, scopes: tuple[str, ...], field: str,
              exact_issuer: bool) -> Endpoints:
    issuer = web.check_url(issuer, field)
    url = issuer + "/.well-known/openid-configuration"
    own = run or Run(15)
    if run is not None:
        run.transcript.client(f"GET {url}")
    try:
        status, data = request_json(own, url, None, settings.get("ca_file"), "OpenID provider's discovery document")
    except ConnectorError as exc:
        if exc.code == errors.PROTOCOL_ERROR:  # an answer, but no discovery document: most often a wrong path
            exc.hint = (f"Check {_named(field)}: it must be the provider's issuer address (the discovery document "
                        "is read from <issuer>/.well-known/openid-configuration). If it is right, the provider "
                        "may be down — try again later.")
        raise
    if run is not None:
        run.transcript.server(f"HTTP {status} issuer={data.get('issuer')}")
    if status != 200:
        raise ConnectorError(errors.PROTOCOL_ERROR, f"The discovery document at “{web.shown(url)}” answered HTTP "
                             f"{status}.", f"Check {_named(field)}: it must be the provider's issuer address.")
    said = str(data.get("issuer") or "").rstrip("/")
    # RFC 8414 §3.3: the document must name the issuer it was fetched for (Microsoft's multi-tenant
    # documents name a {tenantid} template instead).
    if exact_issuer and said != issuer:
        raise ConnectorError(errors.PROTOCOL_ERROR, f"The discovery document names the issuer "
                             f"“{web.shown(said)}”, not “{web.shown(issuer)}”.",
                             f"Put the issuer exactly as the provider names it in {_named(field)}.")
    found: dict[str, str | None] = {}
    for key in ("authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "userinfo_endpoint"):
        value = data.get(key)
        found[key] = web.check_url(value, f"{field} (its {key})") if isinstance(value, str) and value else None
    if not found["authorization_endpoint"] or not found["token_endpoint"]:
        raise ConnectorError(errors.PROTOCOL_ERROR, "The discovery document names no authorization or token "
                             "endpoint.", f"Check {_named(field)}.")
    return Endpoints(str(found["authorization_endpoint"]), str(found["token_endpoint"]),
                     found["device_authorization_endpoint"], said or issuer, scopes, found["userinfo_endpoint"])


# -- the token endpoint ----------------------------------------------------------------------------
def request_json(run: Run, url: str, form: Mapping[str, str] | None, ca_file: Any,
             service: str) -> tuple[int, dict[str, Any]]:
    """GET (``form`` None) or POST a form; the answer's HTTP status and JSON object. Redirects are errors."""
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET", headers={
        "Accept": "application/json", **({"Content-Type": "application/x-www-form-urlencoded"} if body else {})})
    context = tls.make_context(ca_file or None) if url.startswith("https") else None
    doing = f"waiting for the {service}"

    def call() -> tuple[int, bytes]:
        try:
            with web.opener(context).open(request, timeout=max(0.1, run.deadline.remaining())) as resp:
                return resp.status, resp.read(MAX_ANSWER)
        except urllib.error.HTTPError as exc:
            with exc:
                if web.is_redirect(exc.code):
                    raise web.redirect_error(exc.code, exc.headers, url, service) from None
                return exc.code, exc.read(MAX_ANSWER)

    try:
        status, raw = bounded(run, doing, call)
    except ConnectorError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified
        classified = web.classify(exc, url, run.deadline, doing, service)
        if classified is None:
            raise
        raise classified from None
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ConnectorError(errors.OAUTH_REFRESH_FAILED if form is not None else errors.PROTOCOL_ERROR,
                             f"The {service} answered HTTP {status} without a JSON object.",
                             f"Check the address of the {service}; if it is right, the provider may be down — "
                             "try again later.")
    return status, data


AADSTS = {
    # code: (our code, hint)
    "7000215": (errors.OAUTH_INVALID_CLIENT,
                "The client secret is wrong (AADSTS7000215): Entra expects the secret's Value, not its Secret ID. "
                "Create a new secret under Certificates & secrets and rotate oauth_client_secret."),
    "7000222": (errors.OAUTH_INVALID_CLIENT,
                "The client secret has expired (AADSTS7000222): create a new one under Certificates & secrets "
                "and rotate oauth_client_secret."),
    "700016": (errors.OAUTH_INVALID_CLIENT,
               "The application id was not found in this tenant (AADSTS700016): check the client id and the "
               "tenant; an administrator of the mail tenant may have to consent to the app first."),
    "65001": (errors.OAUTH_ACCESS_DENIED,
              "Consent is missing (AADSTS65001): an administrator must grant consent to the app's API "
              "permissions (Entra → App registrations → API permissions → Grant admin consent), then sign in "
              "again."),
    "50076": (errors.OAUTH_SIGN_IN_REQUIRED,
              "The tenant requires multi-factor authentication for this sign-in (AADSTS50076): sign in again "
              "interactively."),
    "70043": (errors.OAUTH_SIGN_IN_REQUIRED,
              "The refresh token expired under a Conditional Access sign-in frequency policy (AADSTS70043): "
              "sign in again, or ask the administrator to exempt this service account."),
    "50194": (errors.OAUTH_INVALID_CLIENT,
              "The app is registered for a single tenant (AADSTS50194): put the tenant id or domain in "
              "“Tenant” (oauth_tenant) instead of “organizations”/“common”."),
}

BY_ERROR = {
    "invalid_grant": errors.OAUTH_SIGN_IN_REQUIRED,
    "interaction_required": errors.OAUTH_SIGN_IN_REQUIRED,
    "login_required": errors.OAUTH_SIGN_IN_REQUIRED,
    "invalid_client": errors.OAUTH_INVALID_CLIENT,
    "unauthorized_client": errors.OAUTH_INVALID_CLIENT,
    "access_denied": errors.OAUTH_ACCESS_DENIED,
    "consent_required": errors.OAUTH_ACCESS_DENIED,
    "invalid_scope": errors.OAUTH_SCOPE_MISSING,
}


def _sign_in_hint(provider: str) -> str:
    if provider == "google":
        return ("Sign in again (Sign in… on the sign-in page while setting it up; for a saved connector Sign in "
                "again… or connector-desk sign-in NAME). Google ends refresh tokens when the user revokes "
                "access or changes the password, after six months unused, and after 7 days while the app's "
                "OAuth consent screen is in “Testing”: publish it (“In production”) to keep tokens.")
    return ("Sign in again: Sign in… on the sign-in page while setting the connector up; for a saved connector "
            "Sign in again… in the main window, or connector-desk sign-in NAME.")


def token_error(provider: str, status: int, data: Mapping[str, Any],
                fallback: str = errors.OAUTH_REFRESH_FAILED) -> ConnectorError:
    """Our error for a token endpoint's refusal (RFC 6749 §5.2 plus Microsoft's AADSTS numbers); an
    error we do not know is ``fallback``."""
    name = str(data.get("error") or "")
    described = str(data.get("error_description") or "")
    said = (f" It said: {web.shown(name, 60)}" + (f" — {web.shown(described, 300)}" if described else "")) \
        if name else ""
    aadsts = re.search(r"AADSTS(\d+)", described)
    if aadsts and aadsts.group(1) in AADSTS:
        code, hint = AADSTS[aadsts.group(1)]
    else:
        code = BY_ERROR.get(name, fallback)
        hint = {
            errors.OAUTH_SIGN_IN_REQUIRED: _sign_in_hint(provider),
            errors.OAUTH_INVALID_CLIENT: "Check the client id and the client secret (it may have expired or been "
                                         "rotated), and that the app registration allows this client.",
            errors.OAUTH_ACCESS_DENIED: "The user or an administrator declined; grant consent to the app, then "
                                        "sign in again.",
            errors.OAUTH_SCOPE_MISSING: "The app registration must be allowed the mail scope; add the API "
                                        "permission, then sign in again.",
        }.get(code, "Try again later; if it persists, check the provider's status page and the app registration.")
    message = {
        errors.OAUTH_SIGN_IN_REQUIRED: "The provider no longer accepts the stored sign-in (refresh token).",
        errors.OAUTH_INVALID_CLIENT: "The provider does not accept this client id or client secret.",
        errors.OAUTH_ACCESS_DENIED: "Access was denied: the user or an administrator has not consented.",
        errors.OAUTH_SCOPE_MISSING: "The provider refused the mail scope.",
    }.get(code, f"The token endpoint refused to refresh the access token (HTTP {status})."
          if code == errors.OAUTH_REFRESH_FAILED else f"The provider refused the sign-in (HTTP {status}).")
    return ConnectorError(code, message + said, hint)


def _granted(data: Mapping[str, Any]) -> list[str] | None:
    scope = data.get("scope")
    if isinstance(scope, str):
        return scope.split()
    if isinstance(scope, list):
        return [str(s) for s in scope]
    return None


def missing_scopes(needed: Sequence[str], granted: Sequence[str] | None) -> list[str]:
    """The needed scopes a token lacks (case-insensitive; None granted = as requested, RFC 6749 §5.1)."""
    if granted is None:
        return []
    have = {s.lower() for s in granted}
    return [s for s in needed if s.lower() not in have]


def scope_error(missing: Sequence[str], granted: Sequence[str] | None) -> ConnectorError:
    return ConnectorError(errors.OAUTH_SCOPE_MISSING,
                          f"The token does not carry the mail scope {', '.join(missing)} (granted: "
                          f"{', '.join(granted or []) or 'nothing'}).",
                          "Add the mail permission to the app registration (and have an administrator consent), "
                          "then sign in again. Microsoft's SMTP.SendAsApp is an application permission for the "
                          "client-credentials flow, not for a signed-in mailbox: use SMTP.Send.")


def _refresh(run: Run, url: str, settings: Mapping[str, Any], secrets: Mapping[str, Secret], refresh: Secret,
             client_id: str, client_secret: Secret | None, provider: str,
             protocol: str | None) -> tuple[int, dict[str, Any]]:
    """The refresh-token grant itself (RFC 6749 §6), every token registered with the redactor."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh.reveal(), "client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret.reveal()
    if provider == "microsoft":  # v2.0 wants the scopes on refresh too
        form["scope"] = " ".join(requested_scopes(settings, protocol))
    run.transcript.client(f"POST {url} grant_type=refresh_token client_id={client_id} refresh_token=********"
                          + (" client_secret=********" if client_secret else "")
                          + (f" scope={form['scope']}" if "scope" in form else ""))
    status, data = request_json(run, url, form, settings.get("ca_file"), "token endpoint")
    for key in ("access_token", "refresh_token", "id_token"):
        if isinstance(data.get(key), str) and data[key]:
            run.transcript.register(data[key])
    return status, data


def access_token(run: Run, settings: Mapping[str, Any], secrets: Mapping[str, Secret], *,
                 protocol: str | None = None,
                 on_refresh_token: Callable[[Secret], None] | None = None) -> Secret:
    """A fresh access token from the stored refresh token, as the pipeline step "token". The token is
    registered with the transcript's redactor (so it never shows). A new refresh token (the provider
    rotated it) goes to ``run.renewed`` (Desk keeps it for a saved connector) and ``on_refresh_token``."""
    with run.step("token", "Get an access token") as st:
        refresh = secrets.get("oauth_refresh_token")
        provider = _provider(settings)
        if not refresh:
            raise ConnectorError(errors.OAUTH_SIGN_IN_REQUIRED, "Nobody has signed in for this connector yet "
                                 "(there is no refresh token).", _sign_in_hint(provider))
        client_id = str(settings.get("oauth_client_id") or "")
        if not client_id:
            raise FieldError("settings.oauth_client_id", "is required")
        run.transcript.register(refresh)
        client_secret = secrets.get("oauth_client_secret")
        if client_secret:
            run.transcript.register(client_secret)
        endpoints = provider_endpoints(settings, run, protocol=protocol)
        url = web.check_url(endpoints.token, "token endpoint")
        silent = None
        if provider == "microsoft" and secrets.get(TOKEN_CACHE):
            from desktop.core import oauth_signin  # msal: imported only for a connector that has its cache
            silent = oauth_signin.microsoft_silent(run, settings, secrets, endpoints,
                                                   list(requested_scopes(settings, protocol)))
        if silent is not None:
            data = dict(silent.answer)
            status = 400 if "error" in data else 200
            if silent.refresh_token is not None:
                data["refresh_token"] = silent.refresh_token.reveal()
            if silent.cache is not None:
                # Sealed again by whoever keeps the connector, and only after its validation passed.
                run.renewed[TOKEN_CACHE] = silent.cache
        else:
            status, data = _refresh(run, url, settings, secrets, refresh, client_id, client_secret, provider,
                                    protocol)
        run.transcript.server(f"HTTP {status} " + ", ".join(
            f"{k}={web.shown(str(v), 200)}" for k, v in data.items()
            if k in ("error", "error_description", "token_type", "expires_in", "scope")))
        if status != 200 or "error" in data:
            raise token_error(provider, status, data)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise ConnectorError(errors.OAUTH_REFRESH_FAILED, "The token endpoint's answer has no access_token.",
                                 "Check the provider's address.")
        granted = _granted(data)
        missing = missing_scopes(mail_scopes(settings, protocol), granted)
        if missing:
            raise scope_error(missing, granted)
        new_refresh = data.get("refresh_token")
        if isinstance(new_refresh, str) and new_refresh and new_refresh != refresh.reveal():
            # The provider rotated the refresh token (Microsoft always does; some providers then refuse
            # the old one): the run carries it to whoever keeps the connector's secrets.
            run.renewed["oauth_refresh_token"] = Secret(new_refresh)
            if on_refresh_token is not None:
                on_refresh_token(Secret(new_refresh))
        expires = data.get("expires_in")
        st.detail = f"{web.shown(url)}: access token" + (f" for {expires} s" if expires else "") \
            + (f", scopes {' '.join(granted)}" if granted else "") \
            + (f" ({silent.how})" if silent is not None else "")
        return Secret(token)
