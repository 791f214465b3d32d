"""Interactive OAuth sign-in for mail connectors (RFC 8252 / RFC 9700, DESIGN.md §4.6). No Qt.

- The system browser, opened through a callable the caller passes (GUI: QDesktopServices; CLI:
  :func:`webbrowser.open`, which honours ``$BROWSER``), and a :class:`Listener` on 127.0.0.1 at an
  ephemeral port that waits for exactly one redirect to one path, within the run's deadline and
  cancel token. ``state`` is checked once (constant time), ``iss`` (RFC 9207) where the provider sends
  it, PKCE S256 always.
- Google and any OpenID provider through google-auth-oauthlib's ``Flow`` (our listener, then
  ``fetch_token(code=…)``); Microsoft through msal (``response_mode=form_post``), its token cache
  serialized for the keychain (the vault seals large values).
- Device code (RFC 8628) where no browser can run: our own polling for Google/OpenID, msal's for
  Microsoft.

The heavy libraries (requests, oauthlib, msal) are imported only inside the functions that use them.
Every HTTP request of a sign-in goes through a requests session that ignores the environment's proxy and
CA variables (``trust_env=False``; this machine's ``REQUESTS_CA_BUNDLE`` would override ``verify``), trusts
the system store plus the connector's ``ca_file``, and refuses every redirect.
"""

from __future__ import annotations

import base64
import hmac
import html
import json
import logging
import os
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from desktop.core import errors, oauth_flow, web
from desktop.core.blocking import bounded
from desktop.core.errors import ConnectorError, FieldError
from desktop.core.oauth_flow import Endpoints
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

log = logging.getLogger(__name__)

SIGN_IN_TIMEOUT_S = 300.0
MAX_REQUEST = 64 * 1024
# Libraries that log request bodies and token answers at DEBUG: never let them reach a log file.
CHATTY_LOGGERS = ("requests_oauthlib", "oauthlib", "msal", "urllib3")

BrowserOpener = Callable[[str], object]
# show_code(user_code, verification_uri, verification_uri_complete or "")
CodeShower = Callable[[str, str, str], object]


@dataclass
class SignInResult:
    """What a sign-in gave: who signed in, the scopes granted, the tokens (never printed)."""

    provider: str
    account: str
    scopes: list[str]
    access_token: Secret
    refresh_token: Secret | None
    token_cache: Secret | None = None  # msal's serialized cache (Microsoft), sealed in the keychain
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "account": self.account, "scopes": self.scopes,
                "refresh_token": self.refresh_token is not None, "warnings": self.warnings}


# -- the loopback listener -------------------------------------------------------------------------
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Connector Desk</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body></html>"""


class Listener:
    """A loopback HTTP listener for one redirect: 127.0.0.1 (and ::1 where it can, for "localhost"), an
    ephemeral port, one path. The first
    request to that path is the answer (GET query or form_post body); the socket is closed at once, so
    a second request finds nobody. Requests to any other path get 404 and do not count."""

    def __init__(self, path: str = "/") -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port: int = self.sock.getsockname()[1]
        self.socks = [self.sock]
        # "localhost" (Microsoft's redirect) may resolve to ::1 first: listen there too, same port.
        six: socket.socket | None = None
        try:
            six = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            six.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            six.bind(("::1", self.port))
            six.listen(8)
            self.socks.append(six)
        except OSError:  # no IPv6, or that port is taken on ::1: 127.0.0.1 only
            if six is not None:
                six.close()
        self.closed = False

    def redirect_uri(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{self.path}"

    def close(self) -> None:
        self.closed = True
        for sock in self.socks:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait(self, run: Run, check: Callable[[dict[str, str]], ConnectorError | None]) -> dict[str, str]:
        """The parameters of the one redirect. ``check`` says whether they are acceptable (its error
        is shown in the browser and raised here). TIMEOUT at the deadline, CANCELLED on Cancel."""
        remove = run.cancel.on_cancel(self.close)
        try:
            while True:
                run.cancel.raise_if_cancelled()
                if run.deadline.expired:
                    raise ConnectorError(errors.TIMEOUT, f"Nobody completed the sign-in within "
                                         f"{run.deadline.seconds:g} s.", "Sign in again and finish it in the "
                                         "browser window that opens (it may be behind this one).")
                try:
                    ready, _, _ = select.select(self.socks, [], [], 0.1)
                    if not ready:
                        continue
                    conn, _ = ready[0].accept()
                except (OSError, ValueError):
                    run.cancel.raise_if_cancelled()
                    raise
                with conn:
                    params = self._serve(conn, run, check)
                if params is not None:
                    self.close()
                    problem = check(params)
                    if problem is not None:
                        raise problem
                    return params
        finally:
            remove()
            self.close()

    def _serve(self, conn: socket.socket, run: Run,
               check: Callable[[dict[str, str]], ConnectorError | None]) -> dict[str, str] | None:
        conn.settimeout(max(0.1, min(5.0, run.deadline.remaining())))
        try:
            method, target, body = _read_request(conn)
        except (OSError, ValueError):
            return None
        parts = urllib.parse.urlsplit(target)
        if parts.path != self.path or method not in ("GET", "POST"):
            _answer(conn, 404, "Not found", "This address is Connector Desk's sign-in listener.")
            return None
        raw = parts.query if method == "GET" else body.decode("utf-8", "replace")
        params = {k: v for k, v in urllib.parse.parse_qsl(raw, keep_blank_values=True)}
        self.close()  # this was the one redirect: nobody else gets in, even while it is answered
        problem = check(params)
        if problem is None:
            _answer(conn, 200, "Signed in", "You can close this window and return to Connector Desk.")
        else:
            _answer(conn, 400, "Sign-in failed", problem.message)
        return params


def _read_request(conn: socket.socket) -> tuple[str, str, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ValueError("closed")
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ValueError("too long")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length > MAX_REQUEST:
        raise ValueError("too long")
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return method, target, body[:length]


def _answer(conn: socket.socket, status: int, title: str, text: str) -> None:
    page = PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    try:
        conn.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
                     f"Content-Length: {len(page)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
                     .encode() + page)
    except OSError:
        pass


def _same_issuer(said: str, expected: str, provider: str) -> bool:
    if provider == "microsoft":
        # A multi-tenant authority ("organizations", a domain) stands for the tenant's own issuer
        # (…/<tenant id>/v2.0): the sign-in host is what can be checked.
        said_parts, expected_parts = urllib.parse.urlsplit(said), urllib.parse.urlsplit(expected)
        return (said_parts.scheme, said_parts.netloc) == (expected_parts.scheme, expected_parts.netloc)
    return said.rstrip("/") == expected.rstrip("/")


def redirect_problem(params: Mapping[str, str], state: str, issuer: str | None,
                     provider: str) -> ConnectorError | None:
    """Why a redirect's parameters are not acceptable, or None. ``state`` first (an answer with the
    wrong state is not ours and says nothing), then ``iss`` (RFC 9207), then ``error``, then ``code``."""
    got = params.get("state", "")
    if not got or not hmac.compare_digest(got.encode(), state.encode()):
        return ConnectorError(errors.PROTOCOL_ERROR, "The sign-in answer did not carry this sign-in's state: "
                              "it belongs to another sign-in or was forged. Nothing was accepted.",
                              "Sign in again, and use only the browser window Connector Desk opens.")
    if "iss" in params and issuer and not _same_issuer(params["iss"], issuer, provider):
        return ConnectorError(errors.PROTOCOL_ERROR, f"The sign-in answer came from the issuer "
                              f"“{web.shown(params['iss'])}”, not “{web.shown(issuer)}” (RFC 9207).",
                              "Sign in again; if it repeats, check the provider settings (issuer).")
    if params.get("error"):
        return oauth_flow.token_error(provider, 400, params, fallback=errors.PROTOCOL_ERROR)
    if not params.get("code"):
        return ConnectorError(errors.PROTOCOL_ERROR, "The sign-in answer has no authorization code.",
                              "Sign in again; if it repeats, check the app registration's redirect URI.")
    return None


# -- HTTP through requests (for the libraries) -----------------------------------------------------
def _quiet_libraries() -> None:
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def http_session(ca_file: str | None) -> Any:
    """A requests session: no environment (proxies, REQUESTS_CA_BUNDLE), the system store plus
    ``ca_file``, and every redirect refused (a ConnectorError naming the target)."""
    import requests

    from desktop.core import tls

    _quiet_libraries()
    session = requests.Session()
    session.trust_env = False
    # Our verified context (the system store plus ca_file) for every https address; plain http only to
    # a loopback peer.
    adapter = _ContextAdapter(tls.new_context(ca_file or None))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.max_redirects = 0

    def refuse_redirect(resp: Any, *args: Any, **kwargs: Any) -> Any:
        if web.is_redirect(resp.status_code):
            resp.close()
            raise web.redirect_error(resp.status_code, resp.headers, resp.url, "token endpoint")
        return resp

    session.hooks["response"].append(refuse_redirect)
    return session


def _context_adapter_class() -> Any:
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection
    from urllib3.connectionpool import HTTPConnectionPool

    class LoopbackConnection(HTTPConnection):
        """Plain http only to a loopback peer, checked on the connected socket (as web.opener does)."""

        def connect(self) -> None:
            super().connect()
            peer = str(self.sock.getpeername()[0])
            if not web.is_loopback(peer):
                self.sock.close()
                raise web.NotLoopback(f"{self.host} is {peer}, not a loopback address")

    class LoopbackPool(HTTPConnectionPool):
        ConnectionCls = LoopbackConnection

    class ContextAdapter(HTTPAdapter):
        def __init__(self, context: ssl.SSLContext) -> None:
            self._context = context
            super().__init__()

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = self._context
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {**self.poolmanager.pool_classes_by_scheme,
                                                       "http": LoopbackPool}

    return ContextAdapter


def _ContextAdapter(context: ssl.SSLContext) -> Any:  # noqa: N802 - builds a class on first use
    return _context_adapter_class()(context)


def _requests_error(exc: BaseException, url: str, run: Run, doing: str) -> ConnectorError | None:
    import requests

    if isinstance(exc, ConnectorError):
        return exc
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or url, parts.port or (443 if parts.scheme == "https" else 80)
    if isinstance(exc, requests.exceptions.Timeout):
        return run.deadline.error(doing)
    if isinstance(exc, requests.exceptions.SSLError):
        from desktop.core import tls
        inner = next((a for a in _chain(exc) if isinstance(a, ssl.SSLError)), None)
        return tls.classify(inner or exc, host, port)
    if any(isinstance(a, web.NotLoopback) for a in _chain(exc)):
        return ConnectorError(errors.PLAINTEXT_REFUSED, f"“{web.shown(host)}” did not resolve to a loopback "
                              "address; plain http is allowed only there.", "Use the provider's https address.")
    if isinstance(exc, requests.exceptions.ConnectionError):
        if any(isinstance(a, socket.gaierror) for a in _chain(exc)):
            return ConnectorError(errors.DNS_FAILED, f"The host name “{host}” could not be found.",
                                  "Check the provider's address and this computer's DNS.")
        return ConnectorError(errors.CONNECT_REFUSED, f"{host}:{port} refused the connection or went away.",
                              "Check the provider's address; a proxy or firewall may be blocking it.")
    if isinstance(exc, requests.exceptions.RequestException):
        return ConnectorError(errors.PROTOCOL_ERROR, f"{host}:{port} did not answer like a token endpoint "
                              f"({exc.__class__.__name__}).", "Check the provider's address.")
    return None


def _chain(exc: BaseException) -> list[Any]:
    out: list[Any] = []
    seen: BaseException | None = exc
    while seen is not None and len(out) < 10:
        out.append(seen)
        out.extend(a for a in getattr(seen, "args", ()) if isinstance(a, BaseException))
        seen = seen.__cause__ or seen.__context__
    for item in list(out):
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            out.append(reason)
    return out


def _claims(id_token: Any) -> dict[str, Any]:
    """An ID token's claims, for showing who signed in. It came straight from the token endpoint over
    TLS (OpenID Connect Core §3.1.3.7), so the signature is not what protects it here."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return {}
    payload = id_token.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _account(claims: Mapping[str, Any]) -> str:
    for key in ("email", "preferred_username", "upn", "unique_name", "sub"):
        value = claims.get(key)
        if isinstance(value, str) and value:
            return web.shown(value, 200)
    return ""


def _result(provider: str, settings: Mapping[str, Any], protocol: str | None, token: Mapping[str, Any],
            run: Run, cache: Secret | None = None) -> SignInResult:
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise ConnectorError(errors.PROTOCOL_ERROR, "The token endpoint's answer has no access_token.",
                             "Check the provider's address.")
    refresh = token.get("refresh_token")
    for value in (access, refresh, token.get("id_token")):
        if isinstance(value, str) and value:
            run.transcript.register(value)
    scope = token.get("scope")
    granted = scope.split() if isinstance(scope, str) else [str(s) for s in scope] if isinstance(scope, list) \
        else list(oauth_flow.requested_scopes(settings, protocol))
    given = token.get("id_token_claims")
    claims: Mapping[str, Any] = given if isinstance(given, dict) else _claims(token.get("id_token"))
    result = SignInResult(provider, _account(claims), granted, Secret(access),
                          Secret(refresh) if isinstance(refresh, str) and refresh else None, cache)
    missing = oauth_flow.missing_scopes(oauth_flow.mail_scopes(settings, protocol), granted)
    if missing:
        raise oauth_flow.scope_error(missing, granted)
    if result.refresh_token is None:
        result.warnings.append({
            "google": "No refresh token came back: Google sends one only at consent. Remove the app's access "
                      "at myaccount.google.com/permissions and sign in again.",
            "microsoft": "No refresh token came back: the offline_access permission is missing or was not "
                         "consented.",
        }.get(provider, "No refresh token came back: ask for the offline_access scope (and consent)."))
    return result


# -- the flows -------------------------------------------------------------------------------------
def sign_in(run: Run, settings: Mapping[str, Any], secrets: Mapping[str, Secret], open_browser: BrowserOpener, *,
            protocol: str | None = None, device: bool = False, show_code: CodeShower | None = None,
            login_hint: str = "", browser_label: str = "Sign in with the browser") -> SignInResult:
    """Sign in interactively (system browser + loopback listener, or device code with ``device``).
    Steps: "endpoints", then "browser" + "code" (or "device" + "approve"). ``browser_label`` names the
    "browser" step (the GUI's embedded window is a browser too)."""
    provider = oauth_flow._provider(settings)
    client_id = str(settings.get("oauth_client_id") or "")
    if not client_id:
        raise FieldError("settings.oauth_client_id", "is required")
    client_secret = secrets.get("oauth_client_secret") or None
    if client_secret:
        run.transcript.register(client_secret)
    with run.step("endpoints", "Find the provider's endpoints") as st:
        endpoints = oauth_flow.provider_endpoints(settings, run, protocol=protocol)
        st.detail = endpoints.authorize
    scopes = list(oauth_flow.requested_scopes(settings, protocol))
    if provider == "microsoft":
        return _microsoft(run, settings, endpoints, client_id, client_secret, scopes, open_browser, protocol,
                          device, show_code, login_hint, browser_label)
    if device:
        return _device(run, settings, endpoints, provider, client_id, client_secret, scopes, show_code, protocol)
    return _browser(run, settings, endpoints, provider, client_id, client_secret, scopes, open_browser, protocol,
                    login_hint, browser_label)


def _launch(open_browser: BrowserOpener, url: str) -> None:
    """Open the browser without waiting for it: a console browser named in $BROWSER runs until it is
    closed (webbrowser waits for it), and the listener must be answering meanwhile."""
    def go() -> None:
        try:
            open_browser(url)
        except Exception:  # noqa: BLE001 - the address is shown too; the listener keeps waiting
            log.exception("could not open the browser")

    threading.Thread(target=go, name="open browser", daemon=True).start()


def _allow_loopback_http(*urls: str) -> None:
    # oauthlib refuses http unless told; web.check_url has already limited http to loopback addresses.
    if any(u.startswith("http://") for u in urls):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def _browser(run: Run, settings: Mapping[str, Any], ep: Endpoints, provider: str, client_id: str,
             client_secret: Secret | None, scopes: list[str], open_browser: BrowserOpener, protocol: str | None,
             login_hint: str, browser_label: str) -> SignInResult:
    from google_auth_oauthlib.flow import Flow
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    _allow_loopback_http(ep.authorize, ep.token)
    with Listener() as listener:
        # The secret goes to fetch_token() itself (None for a public client: no client_secret at all).
        config = {"client_id": client_id, "auth_uri": ep.authorize, "token_uri": ep.token, "client_secret": ""}
        flow = Flow.from_client_config({"installed": config}, scopes=scopes, redirect_uri=listener.redirect_uri())
        session = http_session(settings.get("ca_file"))
        own = flow.oauth2session
        own.trust_env = False
        own.max_redirects = 0
        own.mount("https://", session.get_adapter("https://x"))
        own.mount("http://", session.get_adapter("http://x"))
        own.hooks["response"] = list(session.hooks["response"])
        extra: dict[str, str] = {"access_type": "offline", "prompt": "consent"} if provider == "google" else {}
        if login_hint:
            extra["login_hint"] = login_hint
        url, state = flow.authorization_url(**extra)
        with run.step("browser", browser_label) as st:
            run.transcript.note(f"browser: {web.shown(ep.authorize)} (PKCE S256), waiting on "
                                f"{listener.redirect_uri()}")
            _launch(open_browser, url)
            params = listener.wait(run, lambda p: redirect_problem(p, state, ep.issuer, provider))
            st.detail = "the provider sent the browser back with a code"
        code = params["code"]
        run.transcript.register(code)
        with run.step("code", "Exchange the code for tokens") as st:
            run.transcript.client(f"POST {ep.token} grant_type=authorization_code code=******** "
                                  f"code_verifier=******** client_id={client_id}"
                                  + (" client_secret=********" if client_secret else ""))

            def fetch() -> dict[str, Any]:
                try:
                    return dict(flow.fetch_token(code=code, client_secret=client_secret.reveal() if client_secret
                                                 else None, include_client_id=True,
                                                 timeout=max(0.1, run.deadline.remaining())))
                except Warning as changed:  # oauthlib: the granted scopes differ from those asked for
                    return dict(getattr(changed, "token", {}) or {})

            try:
                token = bounded(run, "waiting for the token endpoint", fetch)
            except OAuth2Error as exc:
                raise oauth_flow.token_error(provider, exc.status_code or 400,
                                             {"error": exc.error, "error_description": exc.description or ""},
                                             fallback=errors.PROTOCOL_ERROR) from None
            except Exception as exc:  # noqa: BLE001 - classified
                mapped = _requests_error(exc, ep.token, run, "waiting for the token endpoint")
                if mapped is None:
                    raise ConnectorError(errors.PROTOCOL_ERROR, "The token endpoint's answer could not be read "
                                         f"({exc.__class__.__name__}).", "Check the provider's address.") from None
                raise mapped from None
            result = _result(provider, settings, protocol, token, run)
            run.transcript.server(f"tokens for {result.account or 'the account'}: scopes {' '.join(result.scopes)}"
                                  f", refresh token {'yes' if result.refresh_token else 'no'}")
            st.detail = f"signed in as {result.account or '?'}"
    return result


def _device(run: Run, settings: Mapping[str, Any], ep: Endpoints, provider: str, client_id: str,
            client_secret: Secret | None, scopes: list[str], show_code: CodeShower | None,
            protocol: str | None) -> SignInResult:
    if not ep.device:
        raise ConnectorError(errors.AUTH_METHOD_UNSUPPORTED, "This provider offers no device-code sign-in.",
                             "Sign in with the browser on a computer that has one, then export the connector.")
    ca_file = settings.get("ca_file")
    base = {"client_id": client_id, **({"client_secret": client_secret.reveal()} if client_secret else {})}
    with run.step("device", "Ask for a device code") as st:
        run.transcript.client(f"POST {ep.device} client_id={client_id} scope={' '.join(scopes)}")
        status, data = oauth_flow.request_json(run, web.check_url(ep.device, "device endpoint"),
                                               {**base, "scope": " ".join(scopes)}, ca_file, "device endpoint")
        if status != 200 or "error" in data:
            raise oauth_flow.token_error(provider, status, data, fallback=errors.PROTOCOL_ERROR)
        device_code, user_code = data.get("device_code"), data.get("user_code")
        uri = data.get("verification_uri") or data.get("verification_url")
        if not all(isinstance(v, str) and v for v in (device_code, user_code, uri)):
            raise ConnectorError(errors.PROTOCOL_ERROR, "The device endpoint's answer lacks a code or address.",
                                 "Check the provider's address.")
        assert isinstance(device_code, str) and isinstance(user_code, str) and isinstance(uri, str)
        run.transcript.register(device_code)
        complete = str(data.get("verification_uri_complete") or "")
        interval = float(data.get("interval") or 5)
        run.transcript.server(f"HTTP {status} user_code={web.shown(user_code)} verification_uri={web.shown(uri)}")
        if show_code is not None:
            show_code(user_code, uri, complete)
        st.detail = f"enter {web.shown(user_code)} at {web.shown(uri)}"
    with run.step("approve", "Wait for approval on another device") as st:
        form = {**base, "grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device_code}
        while True:
            if run.cancel.wait(min(interval, max(0.0, run.deadline.remaining()))):
                run.cancel.raise_if_cancelled()
            if run.deadline.expired:
                raise ConnectorError(errors.TIMEOUT, "Nobody approved the sign-in code in time.",
                                     "Sign in again and enter the code promptly.")
            status, data = oauth_flow.request_json(run, web.check_url(ep.token, "token endpoint"), form, ca_file,
                                                   "token endpoint")
            error = data.get("error")
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += 5
                continue
            if error == "expired_token":
                raise ConnectorError(errors.OAUTH_SIGN_IN_REQUIRED, "The sign-in code expired before it was "
                                     "approved.", "Sign in again and enter the code promptly.")
            if status != 200 or error:
                raise oauth_flow.token_error(provider, status, data, fallback=errors.PROTOCOL_ERROR)
            break
        result = _result(provider, settings, protocol, data, run)
        run.transcript.server(f"tokens for {result.account or 'the account'}: scopes {' '.join(result.scopes)}, "
                              f"refresh token {'yes' if result.refresh_token else 'no'}")
        st.detail = f"signed in as {result.account or '?'}"
    return result


MSAL_RESERVED = frozenset({"openid", "profile", "offline_access"})


def _microsoft(run: Run, settings: Mapping[str, Any], ep: Endpoints, client_id: str, client_secret: Secret | None,
               scopes: list[str], open_browser: BrowserOpener, protocol: str | None, device: bool,
               show_code: CodeShower | None, login_hint: str, browser_label: str) -> SignInResult:
    import msal

    cache = msal.SerializableTokenCache()
    wanted = [s for s in scopes if s not in MSAL_RESERVED]
    app = _msal_app(run, settings, ep, client_id, client_secret, cache)
    if device:
        return _microsoft_device(run, settings, ep, app, wanted, cache, show_code, protocol)
    with Listener() as listener:
        flow = app.initiate_auth_code_flow(wanted, redirect_uri=listener.redirect_uri("localhost"),
                                           response_mode="form_post", login_hint=login_hint or None)
        state = str(flow["state"])
        with run.step("browser", browser_label) as st:
            run.transcript.note(f"browser: {web.shown(ep.authorize)} (PKCE S256, form_post), waiting on "
                                f"{listener.redirect_uri('localhost')}")
            _launch(open_browser, str(flow["auth_uri"]))
            params = listener.wait(run, lambda p: redirect_problem(p, state, ep.issuer, "microsoft"))
            st.detail = "the provider sent the browser back with a code"
        run.transcript.register(params["code"])
        with run.step("code", "Exchange the code for tokens") as st:
            run.transcript.client(f"POST {ep.token} grant_type=authorization_code code=******** "
                                  f"code_verifier=******** client_id={client_id}"
                                  + (" client_secret=********" if client_secret else ""))
            token = _msal_call(run, ep, lambda: app.acquire_token_by_auth_code_flow(flow, params))
            result = _msal_result(run, settings, protocol, token, cache)
            st.detail = f"signed in as {result.account or '?'}"
    return result


def _msal_app(run: Run, settings: Mapping[str, Any], ep: Endpoints, client_id: str, client_secret: Secret | None,
              cache: Any) -> Any:
    """msal's client application for the tenant (or the test/national-cloud sign-in host of
    CONNECTOR_DESK_MICROSOFT_LOGIN, through ``oidc_authority``), over our requests session."""
    import msal

    session = http_session(settings.get("ca_file"))
    login = os.environ.get(oauth_flow.MICROSOFT_LOGIN_ENV, "").rstrip("/")
    tenant = oauth_flow._tenant(settings)
    kw: dict[str, Any] = {"token_cache": cache, "http_client": session,
                          "timeout": max(1.0, min(30.0, run.deadline.remaining()))}
    if login and login != oauth_flow.MICROSOFT_LOGIN:
        kw["oidc_authority"] = f"{login}/{tenant}/v2.0"
    else:
        kw["authority"] = f"{oauth_flow.MICROSOFT_LOGIN}/{tenant}"

    def make_app() -> Any:
        if client_secret:
            return msal.ConfidentialClientApplication(client_id, client_credential=client_secret.reveal(), **kw)
        return msal.PublicClientApplication(client_id, **kw)

    return _msal_call(run, ep, make_app)


@dataclass
class Silent:
    """What msal's silent refresh gave: the token answer (access_token, scope, …), the refresh token now
    in the cache, and the cache to seal again when it changed (None: unchanged)."""

    answer: dict[str, Any]
    refresh_token: Secret | None
    cache: Secret | None
    how: str = "msal"  # for the step's detail


def microsoft_silent(run: Run, settings: Mapping[str, Any], secrets: Mapping[str, Secret], ep: Endpoints,
                     scopes: list[str]) -> Silent | None:
    """msal for the token step of a connector whose sign-in kept msal's token cache (``oauth_token_cache``).

    When the cache holds the stored refresh token: ``acquire_token_silent`` for the cached account, with
    ``force_refresh`` (a validation proves the stored sign-in still refreshes, rather than reusing a cached
    access token). Otherwise — no account in the cache, or another refresh token (rotated by hand, or the
    provider's new one kept after a validation that failed later) — msal's ``acquire_token_by_refresh_token``
    with the stored one, which brings the cache up to date. None when the cache cannot be read or msal
    gives nothing: the caller then refreshes directly. An msal error comes back as the answer."""
    import msal

    sealed, stored = secrets.get(oauth_flow.TOKEN_CACHE), secrets.get("oauth_refresh_token")
    client_id = str(settings.get("oauth_client_id") or "")
    if not sealed or not stored or not client_id:
        return None
    cache = msal.SerializableTokenCache()
    try:
        cache.deserialize(sealed.reveal())
    except ValueError:
        run.transcript.note("msal: the sealed token cache could not be read; using the refresh token directly")
        return None
    app = _msal_app(run, settings, ep, client_id, secrets.get("oauth_client_secret"), cache)
    wanted = [s for s in scopes if s not in MSAL_RESERVED]
    accounts = app.get_accounts()
    if accounts and _cached_refresh_token(cache, accounts[0]) == stored.reveal():
        how = "msal, from the sealed token cache"
        run.transcript.client(f"msal acquire_token_silent account={web.shown(str(accounts[0].get('username')))} "
                              f"scopes={' '.join(wanted)} force_refresh (refresh token from the cache: ********)")
        answer = _msal_call(run, ep, lambda: app.acquire_token_silent_with_error(wanted, accounts[0],
                                                                                  force_refresh=True))
    else:
        how = "msal, with the stored refresh token"
        run.transcript.note("msal: " + ("the token cache holds another refresh token than the stored one"
                                        if accounts else "no account in the token cache")
                            + "; msal refreshes with the stored refresh token")
        run.transcript.client(f"msal acquire_token_by_refresh_token scopes={' '.join(wanted)} refresh_token=********")
        answer = _msal_call(run, ep, lambda: app.acquire_token_by_refresh_token(stored.reveal(), wanted))
    if not isinstance(answer, dict):
        run.transcript.note("msal: no answer; using the refresh token directly")
        return None
    for key in ("access_token", "refresh_token", "id_token"):
        if isinstance(answer.get(key), str):
            run.transcript.register(answer[key])
    if "error" in answer:
        return Silent(answer, None, None, how)
    accounts = app.get_accounts()
    refresh = answer.get("refresh_token") or (_cached_refresh_token(cache, accounts[0]) if accounts else None)
    if refresh:
        run.transcript.register(str(refresh))
    changed = Secret(cache.serialize()) if cache.has_state_changed else None
    return Silent(answer, Secret(str(refresh)) if refresh else None, changed, how)


def _cached_refresh_token(cache: Any, account: Mapping[str, Any]) -> str | None:
    import msal

    return next((str(rt["secret"]) for rt in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)
                 if rt.get("home_account_id") == account.get("home_account_id") and rt.get("secret")), None)


def _msal_call(run: Run, ep: Endpoints, fn: Callable[[], Any]) -> Any:
    try:
        return bounded(run, "waiting for Microsoft's sign-in service", fn)
    except ConnectorError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified
        mapped = _requests_error(exc, ep.token, run, "waiting for Microsoft's sign-in service")
        if mapped is not None:
            raise mapped from None
        raise ConnectorError(errors.PROTOCOL_ERROR, f"The sign-in service could not be used ({web.shown(str(exc))}).",
                             "Check the tenant and client id.") from None


def _msal_result(run: Run, settings: Mapping[str, Any], protocol: str | None, token: Any,
                 cache: Any) -> SignInResult:
    if not isinstance(token, dict):
        raise ConnectorError(errors.PROTOCOL_ERROR, "Microsoft's sign-in service gave no answer.", "Sign in again.")
    for key in ("access_token", "refresh_token", "id_token"):
        if isinstance(token.get(key), str):
            run.transcript.register(token[key])
    if "error" in token:
        run.transcript.server(f"error={web.shown(str(token.get('error')))}")
        raise oauth_flow.token_error("microsoft", 400, token, fallback=errors.PROTOCOL_ERROR)
    result = _result("microsoft", settings, protocol, token, run, Secret(cache.serialize()))
    run.transcript.server(f"tokens for {result.account or 'the account'}: scopes {' '.join(result.scopes)}, "
                          f"refresh token {'yes' if result.refresh_token else 'no'}")
    return result


def _microsoft_device(run: Run, settings: Mapping[str, Any], ep: Endpoints, app: Any, scopes: list[str],
                      cache: Any, show_code: CodeShower | None, protocol: str | None) -> SignInResult:
    with run.step("device", "Ask for a device code") as st:
        flow = _msal_call(run, ep, lambda: app.initiate_device_flow(scopes=scopes))
        if "user_code" not in flow:
            raise oauth_flow.token_error("microsoft", 400, flow, fallback=errors.PROTOCOL_ERROR)
        run.transcript.register(str(flow.get("device_code", "")))
        uri = str(flow.get("verification_uri", ""))
        if show_code is not None:
            show_code(str(flow["user_code"]), uri, str(flow.get("verification_uri_complete", "")))
        st.detail = f"enter {web.shown(str(flow['user_code']))} at {web.shown(uri)}"
    with run.step("approve", "Wait for approval on another device") as st:
        stop = threading.Event()

        def end_polling() -> None:
            stop.set()
            flow["expires_at"] = 0  # msal's documented way to end its polling loop

        remove = run.cancel.on_cancel(end_polling)
        try:
            flow["expires_at"] = min(float(flow.get("expires_at", 0) or 0), time.time() + run.deadline.remaining())
            token = _msal_call(run, ep, lambda: app.acquire_token_by_device_flow(flow))
        finally:
            remove()
            end_polling()
        result = _msal_result(run, settings, protocol, token, cache)
        st.detail = f"signed in as {result.account or '?'}"
    return result
