"""OAuth for mail against a real authorization server (npm oidc-provider): the sign-in through the
"system browser" (tests/servers/oauth_browser.py driving the provider's login and consent forms), the
loopback listener's rules, the device grant, the refresh as the pipeline step "token", and hostile token
endpoints. Every new OAuth error code comes out of the real path here."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.connectors.base import ConnectorType
from desktop.core import oauth_flow, oauth_signin
from desktop.core.deadline import CancelToken
from desktop.core.errors import ConnectorError, InputErrors
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.pipeline import Run, RunResult, execute
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests import leaks
from tests.servers import oauth_browser
from tests.servers.ports import free_port
from tests.servers.scripted import Peer, ScriptedServer, server_context

MAIL_SCOPES = ["openid", "email", "offline_access", "mail"]


class Browser:
    """The test's system browser: each open() starts tests/servers/oauth_browser.py with the URL."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.program = oauth_browser.install(folder)
        self.log = folder / "browser.jsonl"
        self.monkeypatch = monkeypatch
        self.opened: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        monkeypatch.setenv("OAUTH_BROWSER_LOG", str(self.log))
        monkeypatch.setenv("BROWSER", str(self.program))
        self.mode("approve")

    def mode(self, mode: str) -> Browser:
        self.monkeypatch.setenv("OAUTH_BROWSER_MODE", mode)
        return self

    def open(self, url: str) -> None:
        self.opened.append(url)
        self.procs.append(subprocess.Popen([str(self.program), url]))

    def entries(self) -> list[dict[str, Any]]:
        for p in self.procs:
            p.wait(20)
        return oauth_browser.read_log(self.log)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    b = Browser(tmp_path, monkeypatch)
    yield b
    for p in b.procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def oidc(server: Any, client: str | None = None, **kw: Any) -> dict[str, Any]:
    return {"oauth_provider": "oidc", "oauth_issuer": server.issuer,
            "oauth_client_id": client or server.public_client, "oauth_scopes": MAIL_SCOPES, **kw}


def signed_in(settings: dict[str, Any], secrets: dict[str, Secret], opener: Callable[[str], object],
              timeout: float = 20, cancel: CancelToken | None = None,
              **kw: Any) -> tuple[RunResult, oauth_signin.SignInResult | None]:
    box: list[oauth_signin.SignInResult] = []
    run = Run(timeout, cancel)
    result = execute("mail", "smtp", "sign-in", run,
                     lambda r: box.append(oauth_signin.sign_in(r, settings, secrets, opener, **kw)))
    return result, (box[0] if box else None)


def refreshed(settings: dict[str, Any], secrets: dict[str, Secret], timeout: float = 10) -> RunResult:
    return execute("mail", "smtp", "validate", Run(timeout, secrets=secrets),
                   lambda r: r.info.update(token=len(oauth_flow.access_token(r, settings, secrets))))


def no_token_in(result: RunResult, *tokens: Secret | None) -> None:
    """No token in the result, in any encoding tests/leaks.py knows (base64 at each alignment, hex, …)."""
    data = json.dumps(result.to_dict()).encode() + repr(result).encode()
    for t in tokens:
        if t:
            assert leaks.leaked(data, t.reveal()) == []


# -- sign-in through the browser ------------------------------------------------------------------
def test_public_client_signs_in_and_the_refresh_token_works(oauth_server, browser):
    settings = oidc(oauth_server)
    r, got = signed_in(settings, {}, browser.open)
    assert r.ok, r.error
    assert [s.name for s in r.steps] == ["endpoints", "browser", "code"]
    assert got is not None and got.account == "alice@example.test"
    assert "mail" in got.scopes and got.refresh_token is not None and got.warnings == []
    # PKCE S256 and state went out; the browser came back through the provider's real forms.
    url = browser.opened[0]
    assert "code_challenge_method=S256" in url and "state=" in url and "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url
    entry = browser.entries()[0]
    assert len(entry["pages"]) == 2 and entry["delivered"] == [200]  # login form, consent form, redirect
    assert "iss" in entry["redirect_keys"]
    no_token_in(r, got.access_token, got.refresh_token)
    v = refreshed(settings, {"oauth_refresh_token": got.refresh_token})
    assert v.ok, v.error
    assert [s.name for s in v.steps] == ["token"] and " mail" in v.steps[0].detail
    assert any("refresh_token=********" in line for line in v.transcript)
    no_token_in(v, got.refresh_token)


def test_confidential_client_and_a_wrong_client_secret(oauth_server, browser):
    settings = oidc(oauth_server, oauth_server.confidential_client)
    secret = Secret(oauth_server.confidential_secret)
    r, got = signed_in(settings, {"oauth_client_secret": secret}, browser.open)
    assert r.ok, r.error
    assert got is not None and got.refresh_token is not None
    no_token_in(r, secret)
    ok = refreshed(settings, {"oauth_refresh_token": got.refresh_token, "oauth_client_secret": secret})
    assert ok.ok, ok.error
    bad = refreshed(settings, {"oauth_refresh_token": got.refresh_token,
                               "oauth_client_secret": Secret("not-the-secret-123")})
    assert bad.error.code == "oauth_invalid_client" and bad.error.step == "token"
    assert "invalid_client" in bad.error.message
    no_token_in(bad, got.refresh_token, secret)


def test_the_user_declines(oauth_server, browser):
    r, got = signed_in(oidc(oauth_server), {}, browser.mode("deny").open)
    assert got is None and r.error.code == "oauth_access_denied" and r.error.step == "browser"
    assert "access_denied" in r.error.message


@pytest.mark.parametrize(("mode", "words"), [
    ("wrong_state", "state"),
    ("no_code", "no authorization code"),
    ("wrong_iss", "RFC 9207"),
])
def test_a_bad_redirect_is_refused_and_no_code_is_exchanged(oauth_server, browser, mode, words):
    r, got = signed_in(oidc(oauth_server), {}, browser.mode(mode).open)
    assert got is None and r.error.code == "protocol_error" and r.error.step == "browser"
    assert words in r.error.message
    assert "code" not in [s.name for s in r.steps]  # nothing went to the token endpoint
    assert browser.entries()[0]["delivered"] == [400]  # the browser was told too


def test_exactly_one_redirect_is_accepted(oauth_server, browser):
    r, got = signed_in(oidc(oauth_server), {}, browser.mode("twice").open)
    assert r.ok, r.error
    assert browser.entries()[0]["delivered"] == [200, "refused"]  # the listener was gone for the second


def test_junk_on_the_listener_does_not_count(oauth_server, browser):
    r, got = signed_in(oidc(oauth_server), {}, browser.mode("garbage").open)
    assert r.ok, r.error


def test_other_paths_get_404_and_do_not_count():
    run = Run(5)
    with oauth_signin.Listener() as listener:
        def visit() -> None:
            time.sleep(0.2)
            for path in ("/favicon.ico", "/?state=s1&code=c1"):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{listener.port}{path}", timeout=5).close()
                except urllib.error.HTTPError as exc:
                    seen.append(exc.code)
                else:
                    seen.append(200)
        seen: list[int] = []
        visitor = threading.Thread(target=visit)
        visitor.start()
        params = listener.wait(run, lambda p: oauth_signin.redirect_problem(p, "s1", None, "oidc"))
        visitor.join(10)
    assert params == {"state": "s1", "code": "c1"} and seen == [404, 200]


def test_localhost_may_be_ipv6():
    """Microsoft's redirect is http://localhost:PORT: a browser may try ::1 first; it is heard there too."""
    import socket
    run = Run(5)
    with oauth_signin.Listener() as listener:
        def visit() -> None:
            with socket.create_connection(("::1", listener.port), timeout=5) as s:
                s.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 15\r\n\r\nstate=s1&code=c")
                seen.append(s.recv(100))
        seen: list[bytes] = []
        visitor = threading.Thread(target=visit)
        visitor.start()
        params = listener.wait(run, lambda p: oauth_signin.redirect_problem(p, "s1", None, "microsoft"))
        visitor.join(10)
    assert params == {"state": "s1", "code": "c"} and seen[0].startswith(b"HTTP/1.1 200")


def test_no_ipv6_listener_leaves_no_socket_behind(monkeypatch):
    """Where ::1 cannot be had (no IPv6, or that port is taken there) the listener is on 127.0.0.1 only,
    and the IPv6 socket it tried is closed (an unclosed one was a ResourceWarning, now and then)."""
    import gc
    import socket
    import warnings
    real_bind = socket.socket.bind

    def bind(sock: socket.socket, address: Any) -> None:
        if sock.family == socket.AF_INET6:
            raise OSError(98, "Address already in use")
        real_bind(sock, address)

    monkeypatch.setattr(socket.socket, "bind", bind)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        listener = oauth_signin.Listener()
        assert [s.family for s in listener.socks] == [socket.AF_INET]
        listener.close()
        del listener
        gc.collect()
    assert not [w for w in seen if issubclass(w.category, ResourceWarning)]


def test_nobody_comes_back_times_out(oauth_server, browser):
    t0 = time.monotonic()
    r, got = signed_in(oidc(oauth_server), {}, browser.mode("ignore").open, timeout=2)
    assert r.error.code == "timeout" and r.error.step == "browser" and time.monotonic() - t0 < 4


def test_cancel_while_waiting_for_the_browser(oauth_server, browser):
    cancel = CancelToken()
    threading.Timer(0.5, cancel.cancel).start()
    t0 = time.monotonic()
    r, got = signed_in(oidc(oauth_server), {}, browser.mode("ignore").open, timeout=30, cancel=cancel)
    assert r.error.code == "cancelled" and time.monotonic() - t0 < 2


def test_a_token_without_the_mail_scope(oauth_server, browser):
    # This client may not have "mail": the provider refuses the scope at the authorization step.
    r, got = signed_in(oidc(oauth_server, oauth_server.nomail_client), {}, browser.open)
    assert got is None and r.error.code == "oauth_scope_missing" and r.error.step == "browser"
    assert "invalid_scope" in r.error.message and "code" not in [s.name for s in r.steps]


def test_refresh_without_the_mail_scope(oauth_server, browser):
    plain = oidc(oauth_server, oauth_scopes=["openid", "email", "offline_access"])
    r, got = signed_in(plain, {}, browser.open)
    assert r.ok and got is not None and got.refresh_token is not None
    v = refreshed(oidc(oauth_server), {"oauth_refresh_token": got.refresh_token})
    assert v.error.code == "oauth_scope_missing" and v.error.step == "token"


def test_device_code_sign_in(oauth_server, browser):
    shown: list[tuple[str, str, str]] = []

    def show(user_code: str, uri: str, complete: str) -> None:
        shown.append((user_code, uri, complete))
        browser.open(complete)  # the person on another device opens the address and approves

    r, got = signed_in(oidc(oauth_server), {}, lambda url: pytest.fail("no browser in device mode"),
                       device=True, show_code=show)
    assert r.ok, r.error
    assert [s.name for s in r.steps] == ["endpoints", "device", "approve"]
    assert got is not None and got.refresh_token is not None and got.account == "alice@example.test"
    assert shown and shown[0][0] and "/device" in shown[0][1]
    no_token_in(r, got.refresh_token)
    assert refreshed(oidc(oauth_server), {"oauth_refresh_token": got.refresh_token}).ok


def test_device_code_declined(oauth_server, browser):
    browser.mode("deny")
    r, got = signed_in(oidc(oauth_server), {}, lambda url: None, device=True,
                       show_code=lambda code, uri, complete: browser.open(complete))
    assert r.error.code == "oauth_access_denied" and r.error.step == "approve"


# -- refresh: the provider's refusals ---------------------------------------------------------------
def test_no_refresh_token_is_sign_in_required():
    r = refreshed({"oauth_provider": "google", "oauth_client_id": "x"}, {})
    assert r.error.code == "oauth_sign_in_required" and r.error.step == "token" and r.transcript == []
    assert "7 days" in r.error.hint  # Google's testing-mode tokens


def test_invalid_grant_is_sign_in_required(oauth_server):
    bogus = Secret("revoked-or-expired-refresh-token-77")
    r = refreshed(oidc(oauth_server), {"oauth_refresh_token": bogus})
    assert r.error.code == "oauth_sign_in_required" and r.error.step == "token"
    assert "invalid_grant" in r.error.message
    no_token_in(r, bogus)


def test_unknown_client_is_invalid_client(oauth_server):
    r = refreshed(oidc(oauth_server, "no-such-client"), {"oauth_refresh_token": Secret("rt-1234567890")})
    assert r.error.code == "oauth_invalid_client"


def test_introspection_answers_the_users_email_for_an_opaque_token(oauth_server, browser):
    """What Dovecot's oauth2 passdb relies on (username_attribute = email, active_attribute = active)."""
    r, got = signed_in(oidc(oauth_server), {}, browser.open)
    assert got is not None
    assert got.access_token.reveal().count(".") != 2  # opaque, not a JWT
    import base64
    req = urllib.request.Request(oauth_server.introspection_url.replace(
        f"{oauth_server.introspect_client}:{oauth_server.introspect_secret}@", ""),
        data=f"token={got.access_token.reveal()}".encode(), headers={"Authorization": "Basic " + base64.b64encode(
            f"{oauth_server.introspect_client}:{oauth_server.introspect_secret}".encode()).decode()})
    answer = json.loads(urllib.request.urlopen(req, timeout=5).read())
    assert answer["active"] is True and answer["email"] == "alice@example.test" and "mail" in answer["scope"]


# -- hostile token endpoints (an OpenID provider whose discovery document points at them) -------------
def http_answer(peer: Peer, status: str, body: bytes, headers: str = "Content-Type: application/json\r\n") -> None:
    peer.send(f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
              .encode() + body)


def provider_with(token_handler: Callable[[Peer], None], scheme: str = "http") -> Callable[[Peer], None]:
    def handle(peer: Peer) -> None:
        request = peer.readline(5) or ""
        length = 0
        while (line := peer.readline(5)) not in (None, ""):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if length:
            peer.read_exact(length, 5)  # read the form (it is recorded), so closing does not reset
        if "/.well-known/openid-configuration" in request:
            base = f"{scheme}://{'localhost' if scheme == 'https' else '127.0.0.1'}:{peer.server.port}"
            http_answer(peer, "200 OK", json.dumps({
                "issuer": base, "authorization_endpoint": base + "/auth", "token_endpoint": base + "/token"}).encode())
            return
        token_handler(peer)
    return handle


def garbage(peer: Peer) -> None:
    http_answer(peer, "200 OK", b"<html>not json</html>", "Content-Type: text/html\r\n")


def ms_error(description: str, error: str = "invalid_client") -> Callable[[Peer], None]:
    def handle(peer: Peer) -> None:
        http_answer(peer, "401 Unauthorized", json.dumps({"error": error, "error_description": description}).encode())
    return handle


@pytest.mark.parametrize(("handler", "code"), [
    (lambda peer: peer.hang(), "timeout"),
    (garbage, "oauth_refresh_failed"),
    (lambda peer: http_answer(peer, "503 Service Unavailable", b'{"error": "temporarily_unavailable"}'),
     "oauth_refresh_failed"),
])
def test_hostile_token_endpoint(handler, code):
    rt = Secret("rt-hostile-0123456789")
    with ScriptedServer(provider_with(handler)) as srv:
        t0 = time.monotonic()
        r = refreshed({"oauth_provider": "oidc", "oauth_issuer": f"http://127.0.0.1:{srv.port}",
                       "oauth_client_id": "c"}, {"oauth_refresh_token": rt}, timeout=2)
        assert r.error.code == code and r.error.step == "token" and time.monotonic() - t0 < 3.5
    no_token_in(r, rt)


@pytest.mark.parametrize(("said", "error", "code", "words"), [
    ("AADSTS7000215: Invalid client secret provided.", "invalid_client", "oauth_invalid_client", "Value"),
    ("AADSTS700016: Application with identifier 'x' was not found", "unauthorized_client",
     "oauth_invalid_client", "tenant"),
    ("AADSTS65001: The user or administrator has not consented", "invalid_grant", "oauth_access_denied",
     "Grant admin consent"),
    ("AADSTS50076: Due to a configuration change made by your administrator", "invalid_grant",
     "oauth_sign_in_required", "multi-factor"),
    ("AADSTS70043: The refresh token has expired due to sign-in frequency", "invalid_grant",
     "oauth_sign_in_required", "sign-in frequency"),
    ("AADSTS50194: Application is not configured as a multi-tenant application", "invalid_request",
     "oauth_invalid_client", "oauth_tenant"),
])
def test_microsoft_refusals_get_their_hints(said, error, code, words):
    with ScriptedServer(provider_with(ms_error(said, error))) as srv:
        r = refreshed({"oauth_provider": "oidc", "oauth_issuer": f"http://127.0.0.1:{srv.port}",
                       "oauth_client_id": "c"}, {"oauth_refresh_token": Secret("rt-ms-0123456789")})
    assert r.error.code == code and words in r.error.hint and said.split(":")[0] in r.error.message


def test_https_token_endpoint_that_redirects_is_not_followed(certs):
    rt = Secret("rt-redirect-0123456789")
    seen: list[bytes] = []

    def target(peer: Peer) -> None:
        seen.append(b"connected")

    with ScriptedServer(target) as other:
        def redirect(peer: Peer) -> None:
            http_answer(peer, "307 Temporary Redirect", b"",
                        f"Location: http://127.0.0.1:{other.port}/steal\r\n")
        with ScriptedServer(provider_with(redirect, "https"),
                            tls=server_context(str(certs.good.cert), str(certs.good.key))) as srv:
            r = refreshed({"oauth_provider": "oidc", "oauth_issuer": f"https://localhost:{srv.port}",
                           "oauth_client_id": "c", "ca_file": str(certs.ca.ca_file)}, {"oauth_refresh_token": rt})
    assert r.error.code == "protocol_error" and r.error.step == "token"
    assert "redirect" in r.error.message and "not followed" in r.error.message
    assert seen == [] and other.connections == 0  # the refresh token never went to the target
    no_token_in(r, rt)


def test_token_endpoint_down():
    r = refreshed({"oauth_provider": "oidc", "oauth_issuer": f"http://127.0.0.1:{free_port()}",
                   "oauth_client_id": "c"}, {"oauth_refresh_token": Secret("rt-down-0123456789")})
    assert r.error.code == "connect_refused" and r.error.step == "token"


def test_an_issuer_with_a_wrong_path_names_the_issuer_field(oauth_server):
    r = refreshed({"oauth_provider": "oidc", "oauth_issuer": oauth_server.issuer + "/realms/mail",
                   "oauth_client_id": "c"}, {"oauth_refresh_token": Secret("rt-0123456789")})
    assert r.error.code == "protocol_error" and "answered HTTP 404" in r.error.message
    assert "Check “Issuer” (oauth_issuer)" in r.error.hint  # as the sign-in page names it


def test_issuer_must_be_https_unless_loopback():
    r = refreshed({"oauth_provider": "oidc", "oauth_issuer": "http://login.example.com",
                   "oauth_client_id": "c"}, {"oauth_refresh_token": Secret("rt-0123456789")})
    assert r.error.code == "bad_input" and "settings.oauth_issuer" in r.error.message


# -- Microsoft through msal, against the same server dressed as a tenant's sign-in host -----------------
@pytest.fixture(scope="module")
def ms_server(tmp_path_factory: pytest.TempPathFactory, certs: Any) -> Iterator[Any]:
    """oidc-provider over https at https://localhost:PORT/organizations/v2.0 (msal's oidc_authority wants
    https with a path); CONNECTOR_DESK_MICROSOFT_LOGIN points the Microsoft provider at it."""
    from tests.servers.oauth import OAuthServer
    server = OAuthServer(tmp_path_factory.mktemp("oauth-ms") / "oidc-provider.log",
                         tls=(str(certs.good.cert), str(certs.good.key)), prefix="/organizations/v2.0").start()
    yield server
    server.stop()


@pytest.fixture
def microsoft(ms_server: Any, certs: Any, browser: Browser, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv(oauth_flow.MICROSOFT_LOGIN_ENV, ms_server.base)
    monkeypatch.setenv("OAUTH_BROWSER_CA", str(certs.ca.ca_file))
    return {"oauth_provider": "microsoft", "oauth_client_id": ms_server.public_client,
            "ca_file": str(certs.ca.ca_file)}


def test_microsoft_sign_in_with_msal_form_post(microsoft, browser):
    r, got = signed_in(microsoft, {}, browser.open)
    assert r.ok, r.error
    assert got is not None and got.provider == "microsoft" and got.account == "alice@example.test"
    assert oauth_flow.MS_SMTP_SCOPE in got.scopes and got.refresh_token is not None
    url = browser.opened[0]
    assert "response_mode=form_post" in url and "code_challenge_method=S256" in url
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A" in url  # Entra's desktop form of the loopback address
    assert browser.entries()[0]["delivered"] == [200]
    # msal's token cache comes back to be sealed in the keychain; it holds the refresh token.
    assert got.token_cache is not None and got.refresh_token.reveal() in got.token_cache.reveal()
    no_token_in(r, got.access_token, got.refresh_token, got.token_cache)
    v = refreshed(microsoft, {"oauth_refresh_token": got.refresh_token})
    assert v.ok, v.error
    assert any(f"scope={oauth_flow.MS_SMTP_SCOPE}" in line for line in v.transcript)


def test_microsoft_imap_asks_for_the_imap_scope(microsoft, browser):
    r, got = signed_in({**microsoft}, {}, browser.open, protocol="imap")
    assert r.ok, r.error
    assert got is not None and oauth_flow.MS_IMAP_SCOPE in got.scopes
    assert "IMAP.AccessAsUser.All" in browser.opened[0]


def test_microsoft_declined(microsoft, browser):
    r, got = signed_in(microsoft, {}, browser.mode("deny").open)
    assert r.error.code == "oauth_access_denied" and r.error.step == "browser"


def test_microsoft_device_code(microsoft, browser):
    r, got = signed_in(microsoft, {}, lambda url: None, device=True,
                       show_code=lambda code, uri, complete: browser.open(complete or uri))
    assert r.ok, r.error
    assert got is not None and got.refresh_token is not None and got.token_cache is not None


# -- sign-in NAME: keep the new refresh token only after the connector's own validation passes --------
class FakeMail(ConnectorType):
    """A connector type whose validate() this test controls: the token step (the real refresh against the
    provider), then a "mail server" that accepts or refuses (settings.refuse). Stands in for SMTP/IMAP
    with auth oauth2, whose validate is the same shape."""

    type_name = "fakemail"
    label = "Fake mail"
    summary = "a mail connector for the sign-in tests"
    fields = (Field("oauth_provider", "Provider", "choice", choices=(("oidc", "OpenID"), ("google", "Google"),
                                                                      ("microsoft", "Microsoft"))),
              Field("oauth_issuer", "Issuer"), Field("oauth_client_id", "Client id"),
              Field("oauth_scopes", "Scopes", "list"), Field("refuse", "Refuse", "bool"))
    secrets = (SecretField("oauth_client_secret", "Client secret", optional=True),
               SecretField("oauth_refresh_token", "Refresh token", optional=True))
    seen: list[str] = []

    def validate(self, conn: Any, secrets: Any, run: Run) -> None:
        token = oauth_flow.access_token(run, conn.settings, secrets)
        with run.step("mailserver", "Sign in to the mail server"):
            if conn.settings.get("refuse"):
                raise ConnectorError("auth_failed", "The mail server rejected the token.")
            self.seen.append(token.reveal())


@pytest.fixture
def fake_desk(app_home: Path, oauth_server: Any) -> Any:
    desk = Desk({"fakemail": FakeMail()}, app_home)
    settings = {"oauth_provider": "oidc", "oauth_issuer": oauth_server.issuer,
                "oauth_client_id": oauth_server.public_client, "oauth_scopes": MAIL_SCOPES}
    desk.save(Connector(name="team-mail", type="fakemail", settings=settings), {})
    return desk


def stored(desk: Any, secret: str = "oauth_refresh_token") -> Secret | None:
    return desk.vault.get(f"team-mail/{secret}")


def test_sign_in_keeps_the_refresh_token_after_validation(fake_desk, browser):
    r = fake_desk.sign_in("team-mail", browser.open, timeout_s=20)
    assert r.ok, r.error
    assert [s.name for s in r.steps] == ["endpoints", "browser", "code", "pending", "token", "mailserver",
                                         "promote"]
    assert r.info["account"] == "alice@example.test" and r.info["refresh_token"] is True
    first = stored(fake_desk)
    assert first is not None and "oauth_refresh_token" in fake_desk.get("team-mail").secret_names
    no_token_in(r, first)
    # Sign in again: the new token replaces the old one, which stays as previous for the grace period.
    again = fake_desk.sign_in("team-mail", browser.open, timeout_s=20)
    assert again.ok, again.error
    assert stored(fake_desk) != first and fake_desk.vault.get("team-mail/oauth_refresh_token#previous") == first


def test_sign_in_keeps_nothing_when_validation_fails(fake_desk, browser):
    assert fake_desk.sign_in("team-mail", browser.open, timeout_s=20).ok
    before = stored(fake_desk)

    refusing = fake_desk.get("team-mail")
    refusing.settings["refuse"] = True
    fake_desk.catalogue.put([(refusing, None, False)])
    r = fake_desk.sign_in("team-mail", browser.open, timeout_s=20)
    assert r.error.code == "auth_failed" and r.error.step == "mailserver"
    assert stored(fake_desk) == before  # the working sign-in is untouched
    assert fake_desk.vault.get("team-mail/oauth_refresh_token#pending") is None


def test_a_failed_sign_in_changes_nothing(fake_desk, browser):
    r = fake_desk.sign_in("team-mail", browser.mode("deny").open, timeout_s=20)
    assert r.error.code == "oauth_access_denied" and stored(fake_desk) is None
    assert "pending" not in [s.name for s in r.steps]


def test_sign_in_refused_for_a_connector_without_oauth(app_home):
    from desktop.connectors import registry
    desk = Desk(registry(), app_home)
    desk.save(Connector(name="plain", type="sendgrid", settings={"from_address": "a@example.com"}),
              {"api_key": Secret("SG.x" * 10)})
    with pytest.raises(InputErrors) as info:
        desk.sign_in("plain", lambda url: None)
    assert "settings.auth" in info.value.fields


def test_cli_sign_in_through_browser(fake_desk, browser, monkeypatch, capsys):
    import webbrowser

    from desktop import cli
    monkeypatch.setattr(cli, "_desk", lambda: fake_desk)
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read $BROWSER (the test browser) afresh
    monkeypatch.setattr(webbrowser, "_browsers", {})
    assert cli.main(["sign-in", "team-mail", "--json", "--timeout", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["action"] == "sign-in" and out["info"]["account"] == "alice@example.test"
    token = stored(fake_desk)
    assert token is not None and token.reveal() not in json.dumps(out)
    assert browser.entries()[0]["delivered"] == [200]


def test_cli_sign_in_device_code(fake_desk, browser, monkeypatch, capsys):
    from desktop import cli
    monkeypatch.setattr(cli, "_desk", lambda: fake_desk)
    said: list[str] = []
    real_say = cli._say

    def say(text: str, file: Any = None) -> None:
        said.append(text)
        if "(or open " in text:
            browser.open(text.split("(or open ", 1)[1].rstrip(")"))
        real_say(text, file)
    monkeypatch.setattr(cli, "_say", say)
    assert cli.main(["sign-in", "team-mail", "--device-code", "--timeout", "30"]) == 0
    assert any("enter the code" in line for line in said)
    assert stored(fake_desk) is not None
    assert "The new refresh token is in the keychain" in capsys.readouterr().out


@pytest.fixture(scope="module")
def rotating_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.servers.oauth import OAuthServer
    server = OAuthServer(tmp_path_factory.mktemp("oauth-rot") / "oidc-provider.log", rotate=True).start()
    yield server
    server.stop()


def test_a_rotated_refresh_token_is_kept(app_home, rotating_server, browser):
    """Microsoft (and this server, like many) hands out a new refresh token on each refresh, and this one
    refuses the used one: the saved connector must go on with the new one."""
    desk = Desk({"fakemail": FakeMail()}, app_home)
    settings = {"oauth_provider": "oidc", "oauth_issuer": rotating_server.issuer,
                "oauth_client_id": rotating_server.public_client, "oauth_scopes": MAIL_SCOPES}
    desk.save(Connector(name="team-mail", type="fakemail", settings=settings), {})
    signed = desk.sign_in("team-mail", browser.open, timeout_s=20)
    assert signed.ok, signed.error
    kept = stored(desk)
    assert kept is not None
    for _ in range(3):
        r = desk.validate_saved("team-mail")
        assert r.ok, r.error
        now = stored(desk)
        assert now is not None and now != kept  # each refresh's new token replaced the used one
        assert "renewed" not in r.to_dict() and now.reveal() not in json.dumps(r.to_dict())
        kept = now


def test_cli_validate_name_keeps_a_rotated_refresh_token(app_home, rotating_server, browser, monkeypatch, capsys):
    """`connector-desk validate NAME` on a gateway host keeps the provider's new refresh token too: this
    server refuses the used one, so a dropped one failed the next validation."""
    from desktop import cli
    desk = Desk({"fakemail": FakeMail()}, app_home)
    settings = {"oauth_provider": "oidc", "oauth_issuer": rotating_server.issuer,
                "oauth_client_id": rotating_server.public_client, "oauth_scopes": MAIL_SCOPES}
    desk.save(Connector(name="team-mail", type="fakemail", settings=settings), {})
    assert desk.sign_in("team-mail", browser.open, timeout_s=20).ok
    monkeypatch.setattr(cli, "_desk", lambda *a: desk)
    for _ in range(2):
        kept = stored(desk)
        assert kept is not None
        assert cli.main(["validate", "team-mail", "--json"]) == 0, capsys.readouterr()
        out = capsys.readouterr().out
        assert json.loads(out)["ok"] is True
        assert stored(desk) != kept and kept.reveal() not in out


def test_validate_all_keeps_a_rotated_refresh_token(app_home, rotating_server, browser):
    """Validate all, like one validation, keeps the provider's new refresh token: this server refuses the
    used one, so a dropped one left the connector needing a new sign-in."""
    from desktop.core import health
    desk = Desk({"fakemail": FakeMail()}, app_home)
    settings = {"oauth_provider": "oidc", "oauth_issuer": rotating_server.issuer,
                "oauth_client_id": rotating_server.public_client, "oauth_scopes": MAIL_SCOPES}
    desk.save(Connector(name="team-mail", type="fakemail", settings=settings), {})
    assert desk.sign_in("team-mail", browser.open, timeout_s=20).ok
    for _ in range(2):
        kept = stored(desk)
        results, summary = health.validate_all(desk)
        assert [r.ok for r in results] == [True], results[0].error
        assert stored(desk) != kept
    assert desk.validate_saved("team-mail").ok


# -- hostile token endpoints during the sign-in's code exchange (requests, through oauthlib) ----------
def authorizing_provider(token_handler: Callable[[Peer], None]) -> Callable[[Peer], None]:
    """Discovery, an authorization endpoint that approves at once (302 back with a code and the state),
    and ``token_handler`` as the token endpoint."""
    import urllib.parse as up

    def handle(peer: Peer) -> None:
        request = peer.readline(5) or ""
        length = 0
        while (line := peer.readline(5)) not in (None, ""):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if length:
            peer.read_exact(length, 5)
        base = f"http://127.0.0.1:{peer.server.port}"
        target = request.split(" ")[1] if " " in request else "/"
        if target.startswith("/.well-known/openid-configuration"):
            http_answer(peer, "200 OK", json.dumps({"issuer": base, "authorization_endpoint": base + "/auth",
                                                    "token_endpoint": base + "/token"}).encode())
        elif target.startswith("/auth"):
            q = dict(up.parse_qsl(up.urlsplit(target).query))
            back = q["redirect_uri"] + "?" + up.urlencode({"code": "code-123456", "state": q["state"]})
            http_answer(peer, "302 Found", b"", f"Location: {back}\r\n")
        else:
            token_handler(peer)
    return handle


@pytest.mark.parametrize(("handler", "code"), [
    (lambda peer: peer.hang(), "timeout"),
    (garbage, "protocol_error"),
    (ms_error("AADSTS7000215: Invalid client secret provided.", "invalid_client"), "oauth_invalid_client"),
    (lambda peer: http_answer(peer, "302 Found", b"", "Location: http://127.0.0.1:9/elsewhere\r\n"),
     "protocol_error"),
])
def test_hostile_token_endpoint_during_sign_in(browser, handler, code):
    with ScriptedServer(authorizing_provider(handler)) as srv:
        t0 = time.monotonic()
        r, got = signed_in({"oauth_provider": "oidc", "oauth_issuer": f"http://127.0.0.1:{srv.port}",
                            "oauth_client_id": "c"}, {"oauth_client_secret": Secret("cs-during-sign-in-1")},
                           browser.open, timeout=4)
        assert got is None and r.error.code == code and r.error.step == "code", r.error
        assert time.monotonic() - t0 < 6
    no_token_in(r, Secret("cs-during-sign-in-1"), Secret("code-123456"))


def test_plain_http_code_exchange_only_to_a_loopback_peer(monkeypatch):
    """The requests session of a sign-in checks the connected peer, as web.opener does: a name that
    passed the loopback check but then connects elsewhere (DNS rebinding) gets nothing."""
    import socket as socket_module

    session = oauth_signin.http_session(None)
    real = socket_module.socket.getpeername
    monkeypatch.setattr(socket_module.socket, "getpeername", lambda self: ("203.0.113.5", 80))
    with ScriptedServer(garbage) as srv:
        with pytest.raises(Exception) as info:
            session.post(f"http://127.0.0.1:{srv.port}/token", data={"refresh_token": "rt-rebind-12345"}, timeout=5)
        monkeypatch.setattr(socket_module.socket, "getpeername", real)
        err = oauth_signin._requests_error(info.value, f"http://127.0.0.1:{srv.port}/token", Run(5), "x")
    assert err is not None and err.code == "plaintext_refused"
    assert b"rt-rebind" not in srv.received


def test_no_refresh_token_is_a_warning_and_nothing_is_kept(app_home, oauth_server, browser):
    r, got = signed_in(oidc(oauth_server, oauth_server.norefresh_client), {}, browser.open)
    assert r.ok and got is not None and got.refresh_token is None
    assert got.warnings and "offline_access" in got.warnings[0]
    desk = Desk({"fakemail": FakeMail()}, app_home)
    desk.save(Connector(name="team-mail", type="fakemail",
                        settings=oidc(oauth_server, oauth_server.norefresh_client)), {})
    kept = desk.sign_in("team-mail", browser.open, timeout_s=20)
    assert kept.error.code == "oauth_sign_in_required" and "offline_access" in kept.error.hint
    assert desk.vault.get("team-mail/oauth_refresh_token") is None
