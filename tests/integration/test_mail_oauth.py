"""OAuth sign-in on SMTP and IMAP (XOAUTH2 and OAUTHBEARER) against real servers: Dovecot's
``oauth2`` passdb checks each access token by introspection at the real npm oidc-provider, and
Postfix submission signs in through Dovecot. Access tokens are real: the oidc-provider issues them
(client-credentials grant, opaque, introspection carries the mailbox's ``email``; see
tests/servers/mailserver.py, MailOAuthProvider). The token side (``desktop.core.oauth_flow``,
refresh within the run's deadline) is stood in for by :class:`Tokens`, which hands the session a
token of the test's choosing as the step "token"; hostile cases use scripted servers."""

from __future__ import annotations

import base64
import json
import secrets
import sys
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest

from desktop.connectors import registry
from desktop.core.errors import InputErrors
from desktop.core.model import Connector, parse_document
from desktop.core.pipeline import Run, RunResult
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests import leaks
from tests.conftest import Certs
from tests.servers.mailserver import MailOAuthProvider, MailServers, MailUser, OAuthIntrospection
from tests.servers.scripted import Peer, ScriptedServer, server_context

DANA, ERIN = "dana@example.test", "erin@example.test"
CANARY = "hostile-token-canary-" + "Zq9" * 10


class Tokens:
    """Stands in for ``desktop.core.oauth_flow.access_token``: returns ``value`` as its own step
    and records the settings it was asked with."""

    def __init__(self) -> None:
        self.value = CANARY
        self.calls: list[dict[str, Any]] = []

    def access_token(self, run: Run, settings: dict[str, Any], secrets: dict[str, Secret], *,
                     protocol: str | None = None) -> Secret:
        self.calls.append({**settings, "protocol": protocol})
        with run.step("token", "Get an access token") as st:
            st.detail = "refreshed"
        return Secret(self.value)


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> Tokens:
    t = Tokens()
    module = types.ModuleType("desktop.core.oauth_flow")
    module.access_token = t.access_token  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "desktop.core.oauth_flow", module)
    return t


@pytest.fixture(scope="module")
def oauth_mail(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[tuple[MailServers, Any]]:
    users = [MailUser(DANA, "dana-" + secrets.token_hex(8)), MailUser(ERIN, "erin-" + secrets.token_hex(8))]
    folder = tmp_path_factory.mktemp("oauth-mail")
    provider = MailOAuthProvider(folder / "oidc-provider.log", [u.address for u in users]).start()
    servers = MailServers(folder / "mail", certs.ca, users, oauth=provider.introspection)
    try:
        servers.start()
    except BaseException:
        provider.stop()
        raise
    yield servers, provider
    servers.stop()
    provider.stop()


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


def document(kind: str, servers: MailServers, provider: MailOAuthProvider | None, certs: Certs, *,
             mechanism: str = "XOAUTH2", security: str = "starttls", **settings: Any) -> dict[str, Any]:
    ports = {("smtp", "starttls"): servers.ports["submission"], ("smtp", "tls"): servers.ports["smtps"],
             ("imap", "starttls"): servers.ports["imap"], ("imap", "tls"): servers.ports["imaps"]}
    base: dict[str, Any] = {
        # 127.0.0.2: Dovecot treats us as a remote client (STARTTLS before any sign-in is offered)
        "host": servers.REMOTE if security == "starttls" else "127.0.0.1", "port": ports[(kind, security)],
        "security": security, "auth": "oauth2", "username": DANA, "ca_file": str(certs.ca.ca_file),
        "timeout_s": 8, "oauth_provider": "oidc",
        "oauth_issuer": f"http://127.0.0.1:{provider.port if provider else 9}",
        "oauth_client_id": "mail-0-normal", "oauth_scopes": ["mail"], "oauth_mechanism": mechanism}
    if kind == "smtp":
        base["from_address"] = DANA
    else:
        base["mailbox"] = "INBOX"
    return {"name": f"{kind}-oauth", "type": kind, "settings": {**base, **settings}}


def connector(*args: Any, **kw: Any) -> Connector:
    conn, _refs = parse_document(document(*args, **kw), registry())
    return conn


REFRESH = Secret("refresh-token-canary-" + secrets.token_hex(8))


def shown(result: RunResult) -> str:
    """Everything a user or a log could see of a result."""
    return json.dumps(result.to_dict()) + (result.error.hint if result.error else "")


def assert_no_token(result: RunResult, token: str) -> None:
    assert not leaks.leaked(shown(result).encode(), token)
    assert not leaks.leaked(shown(result).encode(), REFRESH.reveal())


# -- real Dovecot / Postfix -------------------------------------------------------------------
@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_smtp_validates_and_sends_with_a_token(desk, oauth_mail, certs, tokens, mechanism):
    servers, provider = oauth_mail
    tokens.value = provider.token(DANA)
    conn = connector("smtp", servers, provider, certs, mechanism=mechanism)
    result = desk.validate(conn, {"oauth_refresh_token": REFRESH})
    assert result.ok, result.error
    names = [s.name for s in result.steps]
    assert names == ["resolve", "connect", "greeting", "ehlo", "starttls", "ehlo_tls", "mechanism", "token",
                     "authenticate", "sender", "quit"]
    assert result.steps[names.index("authenticate")].detail == f"as {DANA} with {mechanism}"
    assert f"C: AUTH {mechanism} ********" in result.transcript
    assert_no_token(result, tokens.value)
    # The token side was asked with the connector's settings, for SMTP's scope.
    assert tokens.calls[-1]["oauth_client_id"] == "mail-0-normal" and tokens.calls[-1]["protocol"] == "smtp"

    sent = desk.test_send(conn, {"oauth_refresh_token": REFRESH}, ERIN)
    assert sent.ok, sent.error
    assert_no_token(sent, tokens.value)
    tag = sent.info["tag"]
    servers.wait_for_mail(ERIN, lambda m: m["X-Connector-Desk-Test"] == tag)


def test_smtp_over_implicit_tls_signs_in_with_a_token(desk, oauth_mail, certs, tokens):
    servers, provider = oauth_mail
    tokens.value = provider.token(DANA)
    result = desk.validate(connector("smtp", servers, provider, certs, security="tls",
                                     mechanism="OAUTHBEARER"), {})
    assert result.ok, result.error
    assert [s.name for s in result.steps][:6] == ["resolve", "connect", "tls", "greeting", "ehlo", "mechanism"]
    assert_no_token(result, tokens.value)


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_imap_validates_and_peeks_with_a_token(desk, oauth_mail, certs, tokens, mechanism, security):
    servers, provider = oauth_mail
    tokens.value = provider.token(DANA)
    conn = connector("imap", servers, provider, certs, mechanism=mechanism, security=security)
    result = desk.validate(conn, {"oauth_refresh_token": REFRESH})
    assert result.ok, result.error
    names = [s.name for s in result.steps]
    assert names[names.index("mechanism"):names.index("authenticate") + 1] == ["mechanism", "token", "authenticate"]
    if security == "starttls":  # as a remote client: nothing offered before STARTTLS, XOAUTH2 after it
        assert names.index("starttls") < names.index("mechanism")
    assert any(line.endswith(f"AUTHENTICATE {mechanism} ********") for line in result.transcript)  # SASL-IR
    assert_no_token(result, tokens.value)
    assert tokens.calls[-1]["protocol"] == "imap"
    peek = desk.peek(conn, {"oauth_refresh_token": REFRESH}, 5)
    assert peek.ok, peek.error
    assert peek.info["mailbox"]["name"] == "INBOX"


def test_a_microsoft_sized_token_signs_in_on_smtp_and_imap(desk, oauth_mail, certs, tokens):
    servers, provider = oauth_mail
    tokens.value = provider.token(DANA, "big")
    assert len(tokens.value) >= 1500
    smtp = desk.validate(connector("smtp", servers, provider, certs), {})
    assert smtp.ok, smtp.error
    # RFC 4954: the command would pass 512 characters, so the token goes as the continuation.
    i = smtp.transcript.index("C: AUTH XOAUTH2")
    assert smtp.transcript[i + 1].startswith("S: 334") and smtp.transcript[i + 2] == "C: ********"
    assert_no_token(smtp, tokens.value)
    imap = desk.validate(connector("imap", servers, provider, certs, mechanism="OAUTHBEARER"), {})
    assert imap.ok, imap.error
    assert_no_token(imap, tokens.value)


@pytest.mark.parametrize("kind", ["smtp", "imap"])
def test_a_wrong_token_is_auth_failed_with_the_servers_decoded_reason(desk, oauth_mail, certs, tokens, kind):
    servers, provider = oauth_mail
    tokens.value = "not-a-token-" + secrets.token_hex(16)
    result = desk.validate(connector(kind, servers, provider, certs), {})
    assert result.error.code == "auth_failed" and result.error.step == "authenticate"
    # Dovecot's XOAUTH2 challenge {"status":"401","schemes":"bearer","scope":"mail"}, decoded.
    assert "(XOAUTH2) (status 401; scope mail; schemes bearer)" in result.error.message
    assert "Sign in again" in result.error.hint
    # The challenge was answered with an empty line, as XOAUTH2 requires; then the server said no.
    i = next(n for n, line in enumerate(result.transcript) if line.startswith(("S: 334 ey", "S: + ey")))
    assert result.transcript[i + 1] == "C: "
    assert_no_token(result, tokens.value)


@pytest.mark.parametrize("kind", ["smtp", "imap"])
def test_oauthbearer_refusal_is_answered_with_x01(desk, oauth_mail, certs, tokens, kind):
    servers, provider = oauth_mail
    tokens.value = "not-a-token-" + secrets.token_hex(16)
    result = desk.validate(connector(kind, servers, provider, certs, mechanism="OAUTHBEARER"), {})
    assert result.error.code == "auth_failed"
    assert "(OAUTHBEARER) (status invalid_token)" in result.error.message
    assert any(line.endswith(": AQ==") for line in result.transcript)  # %x01, RFC 7628 §3.2.3
    assert_no_token(result, tokens.value)


def test_an_expired_token_is_auth_failed(desk, oauth_mail, certs, tokens):
    servers, provider = oauth_mail
    tokens.value = provider.token(DANA, "short")  # lives one second
    time.sleep(2.1)
    result = desk.validate(connector("imap", servers, provider, certs), {})
    assert result.error.code == "auth_failed" and "status 401" in result.error.message
    assert_no_token(result, tokens.value)


def test_a_token_without_the_mail_scope_is_auth_failed_naming_the_scope(desk, oauth_mail, certs, tokens):
    servers, provider = oauth_mail
    tokens.value = provider.token(DANA, scope=None)  # a real, active token, but no "mail" scope
    result = desk.validate(connector("smtp", servers, provider, certs), {})
    assert result.error.code == "auth_failed" and "scope mail" in result.error.message
    assert "scope mail" in result.error.hint


def test_a_token_of_another_mailbox_is_refused(desk, oauth_mail, certs, tokens):
    servers, provider = oauth_mail
    tokens.value = provider.token(ERIN)  # valid, but the connector signs in as dana
    result = desk.validate(connector("imap", servers, provider, certs), {})
    assert result.error.code == "auth_failed"
    assert DANA in result.error.hint


# -- scripted servers ---------------------------------------------------------------------------
def scripted_conn(kind: str, port: int, security: str = "starttls", *, ca: str | None = None,
                  **extra: Any) -> Connector:
    settings = {"provider": "other", "host": "localhost", "port": port, "security": security, "verify_tls": True,
                "ca_file": ca, "timeout_s": 3, "auth": "oauth2", "username": "user@example.test",
                "allow_plaintext": False, "oauth_provider": "microsoft", "oauth_client_id": "app-id",
                "oauth_mechanism": "XOAUTH2", **extra}
    if kind == "smtp":
        settings["from_address"] = "user@example.test"
    else:
        settings["mailbox"] = "INBOX"
    return Connector("hostile", kind, settings=settings)


def smtp_server(*, starttls: Any = None, auth: str = "XOAUTH2", on_auth: Any = None) -> Any:
    """An SMTP server offering ``auth``; ``on_auth(peer, line)`` plays the AUTH exchange."""
    def handle(peer: Peer) -> None:
        peer.send("220 scripted.example ESMTP")
        while (line := peer.readline()) is not None:
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                exts = ["scripted.example", f"AUTH {auth}"]
                if starttls is not None and not peer.tls:
                    exts.insert(1, "STARTTLS")
                for i, e in enumerate(exts):
                    peer.send(f"250{'-' if i < len(exts) - 1 else ' '}{e}")
            elif verb == "STARTTLS" and starttls is not None:
                peer.send("220 go ahead")
                if not peer.starttls(starttls):
                    return
            elif verb == "AUTH":
                if on_auth is None or on_auth(peer, line) is False:
                    return
            elif verb == "DATA":
                peer.send("354 go ahead")
                while peer.readline() not in (None, "."):
                    pass
                peer.send("250 2.0.0 queued")
            elif verb == "QUIT":
                peer.send("221 bye")
                return
            else:
                peer.send("250 ok")
    return handle


def test_starttls_stripped_no_token_is_fetched_or_sent(desk, tokens):
    with ScriptedServer(smtp_server(starttls=None, on_auth=lambda p, _line: p.send("235 ok"))) as srv:
        r = desk.validate(scripted_conn("smtp", srv.port), {})
    assert r.error.code == "starttls_unavailable"
    assert tokens.calls == [] and b"AUTH" not in srv.received and not leaks.leaked(srv.received, CANARY)


def test_imap_starttls_stripped_no_token_is_fetched_or_sent(desk, tokens):
    from tests.servers import scripted
    with ScriptedServer(scripted.imap(caps=("IMAP4rev1", "AUTH=XOAUTH2", "SASL-IR"))) as srv:
        r = desk.validate(scripted_conn("imap", srv.port), {})
    assert r.error.code == "starttls_unavailable"
    assert tokens.calls == [] and b"AUTHENTICATE" not in srv.received


def test_plaintext_connection_gets_no_token(desk, tokens):
    with ScriptedServer(smtp_server(on_auth=lambda p, _line: p.send("235 ok"))) as srv:
        r = desk.validate(scripted_conn("smtp", srv.port, "none"), {})
    assert r.error.code == "plaintext_refused" and r.error.step == "mechanism"
    assert "access token was not sent" in r.error.message
    assert tokens.calls == [] and not leaks.leaked(srv.received, CANARY)


def test_mechanism_not_offered_names_the_one_that_is(desk, tokens, certs):
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(smtp_server(starttls=ctx, auth="PLAIN OAUTHBEARER")) as srv:
        r = desk.validate(scripted_conn("smtp", srv.port, ca=str(certs.ca.ca_file)), {})
    assert r.error.code == "auth_method_unsupported"
    assert "does not offer XOAUTH2" in r.error.message and "OAUTHBEARER" in r.error.hint
    assert tokens.calls == []


def garbage_challenge(then: str) -> Any:
    def on_auth(peer: Peer, line: str) -> bool:
        peer.send("334 %%% not base64 {json} \x1b[31m")
        answer = peer.readline()
        if answer is None:
            return False
        if then == "again":
            while True:
                peer.send("334 more?")
                if peer.readline() is None:
                    return False
        if then == "hang":
            peer.hang()
            return False
        peer.send(then)
        return True
    return on_auth


def test_garbage_challenge_is_auth_failed_within_the_deadline(desk, tokens, certs):
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(smtp_server(starttls=ctx, on_auth=garbage_challenge("535 5.7.8 no"))) as srv:
        t0 = time.monotonic()
        r = desk.validate(scripted_conn("smtp", srv.port, ca=str(certs.ca.ca_file)), {})
    assert r.error.code == "auth_failed" and time.monotonic() - t0 < 3
    assert "its explanation could not be read" in r.error.message and "535 5.7.8 no" in r.error.message
    assert "\x1b" not in r.error.message


@pytest.mark.parametrize(("then", "code"), [("again", "protocol_error"), ("hang", "timeout")])
def test_a_server_that_will_not_end_the_exchange_is_stopped(desk, tokens, certs, then, code):
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(smtp_server(starttls=ctx, on_auth=garbage_challenge(then))) as srv:
        t0 = time.monotonic()
        r = desk.validate(scripted_conn("smtp", srv.port, ca=str(certs.ca.ca_file), timeout_s=2), {})
        elapsed = time.monotonic() - t0
    assert r.error.code == code and elapsed < 3.0


def imap_server(caps: str, on_auth: Any) -> Any:
    def handle(peer: Peer) -> None:
        peer.send("* OK ready")
        while (line := peer.readline()) is not None:
            tag, _, rest = line.partition(" ")
            verb = rest.split(" ", 1)[0].upper()
            if verb == "CAPABILITY":
                peer.send(f"* CAPABILITY IMAP4rev1 {caps}")
                peer.send(f"{tag} OK done")
            elif verb == "AUTHENTICATE":
                if on_auth(peer, tag, rest) is False:
                    return
            elif verb == "LOGOUT":
                peer.send(f"{tag} OK bye")
                return
            else:
                peer.send(f"{tag} BAD no")
    return handle


def test_imap_garbage_challenge_then_endless_continuations(desk, tokens, certs):
    def on_auth(peer: Peer, tag: str, rest: str) -> bool:
        peer.send("+ !!garbage!!")
        while peer.readline() is not None:
            peer.send("+ more")
        return False
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(imap_server("AUTH=XOAUTH2 SASL-IR", on_auth), tls=ctx) as srv:
        r = desk.validate(scripted_conn("imap", srv.port, "tls", ca=str(certs.ca.ca_file)), {})
    assert r.error.code == "protocol_error" and r.error.step == "authenticate"


def test_imap_without_sasl_ir_sends_the_token_after_the_continuation(desk, tokens, certs):
    got: list[str] = []

    def on_auth(peer: Peer, tag: str, rest: str) -> bool:
        got.append(rest)
        peer.send("+ ")
        payload = peer.readline()
        if payload is None:
            return False
        got.append(base64.b64decode(payload).decode())
        peer.send(f"{tag} NO [AUTHENTICATIONFAILED] nope")
        return True
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(imap_server("AUTH=XOAUTH2", on_auth), tls=ctx) as srv:
        r = desk.validate(scripted_conn("imap", srv.port, "tls", ca=str(certs.ca.ca_file)), {})
    assert got[0] == "AUTHENTICATE XOAUTH2"  # no initial response without SASL-IR
    assert got[1] == f"user=user@example.test\x01auth=Bearer {CANARY}\x01\x01"
    assert r.error.code == "auth_failed" and "AUTHENTICATIONFAILED" in r.error.message
    # No challenge: the Microsoft preset's advice would apply; "other" gives the generic one.
    assert "Sign in again" in r.error.hint
    assert "C: ********" in r.transcript and CANARY not in "\n".join(r.transcript)


def test_a_server_echoing_the_token_in_its_refusal_never_shows_it(desk, tokens, certs):
    def on_auth(peer: Peer, line: str) -> bool:
        challenge = base64.b64encode(json.dumps({"status": "401", "scope": CANARY}).encode()).decode()
        peer.send(f"334 {challenge}")
        if peer.readline() is None:
            return False
        peer.send(f"535 5.7.8 bad token {CANARY}")
        return True
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(smtp_server(starttls=ctx, on_auth=on_auth)) as srv:
        r = desk.validate(scripted_conn("smtp", srv.port, ca=str(certs.ca.ca_file)), {})
    assert r.error.code == "auth_failed"
    assert not leaks.leaked(shown(r).encode(), CANARY)


def test_microsoft_preset_hint_for_a_refused_token_is_not_password_advice(desk, tokens, certs):
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    refuse = lambda p, _line: p.send("535 5.7.3 Authentication unsuccessful")  # noqa: E731 - as Microsoft does
    with ScriptedServer(smtp_server(starttls=ctx, on_auth=refuse)) as srv:
        r = desk.validate(scripted_conn("smtp", srv.port, ca=str(certs.ca.ca_file), provider="microsoft365"), {})
    assert r.error.code == "auth_failed"
    assert "SMTP.Send" in r.error.hint and "password" not in r.error.hint.lower()


# -- declarations -----------------------------------------------------------------------------
def test_oauth_settings_are_declared_and_checked():
    doc = {"name": "g", "type": "imap", "settings": {"host": "imap.gmail.com", "port": 993, "security": "tls",
                                                       "auth": "oauth2", "username": "a@example.com",
                                                       "oauth_provider": "oidc"}}
    with pytest.raises(InputErrors) as exc:
        parse_document(doc, registry())
    fields = exc.value.fields
    assert set(fields) == {"settings.oauth_client_id", "settings.oauth_issuer"}
    doc["settings"].update(oauth_provider="microsoft", oauth_client_id="app")
    conn, _refs = parse_document(doc, registry())
    assert conn.settings["oauth_mechanism"] == "XOAUTH2" and conn.settings["oauth_issuer"] is None
    ctype = registry()["smtp"]
    assert "SMTP.SendAsApp" in ctype.field("oauth_scopes").help
    assert {s.name for s in ctype.secrets_needed({"auth": "oauth2"})} == set()  # both optional
    assert ctype.secrets_kept({"auth": "oauth2"}, {"oauth_refresh_token": "x"}) == ["oauth_refresh_token"]


def test_presets_choose_oauth_for_gmail_and_microsoft():
    for kind, scope in (("smtp", "https://outlook.office.com/SMTP.Send"),
                        ("imap", "https://outlook.office.com/IMAP.AccessAsUser.All")):
        ctype = registry()[kind]
        gmail, microsoft = ctype.preset("gmail"), ctype.preset("microsoft365")
        assert gmail.settings["auth"] == microsoft.settings["auth"] == "oauth2"
        assert gmail.settings["oauth_scopes"] == ["https://mail.google.com/"]
        assert microsoft.settings["oauth_scopes"] == [scope, "offline_access"]
        assert "oauth_auth_failed" in gmail.hints and "oauth_auth_failed" in microsoft.hints


def test_without_the_token_side_the_check_says_so(desk, monkeypatch, certs):
    monkeypatch.setitem(sys.modules, "desktop.core.oauth_flow", None)  # a build without it
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(smtp_server(starttls=ctx)) as srv:
        r = desk.validate(scripted_conn("smtp", srv.port, ca=str(certs.ca.ca_file)), {})
    assert r.error.code == "auth_method_unsupported" and "cannot get OAuth tokens" in r.error.message
    assert b"AUTH" not in srv.received


def test_plaintext_allowed_explicitly_sends_the_token_and_warns(desk, tokens):
    got: list[str] = []

    def on_auth(peer: Peer, line: str) -> bool:
        got.append(line)
        peer.send("235 2.7.0 ok")
        return True
    with ScriptedServer(smtp_server(on_auth=on_auth)) as srv:
        conn = scripted_conn("smtp", srv.port, "none", allow_plaintext=True)
        r = desk.validate(conn, {})
    assert r.ok, r.error
    assert r.steps[[s.name for s in r.steps].index("mechanism")].detail == "XOAUTH2 UNENCRYPTED"
    assert got and leaks.leaked(srv.received, CANARY)  # what the administrator allowed, and nothing else
    assert "The access token may be sent unencrypted." in registry()["smtp"].warnings(conn.settings)


def test_dovecot_that_cannot_check_tokens_now_is_a_temporary_failure_on_imap(desk, tmp_path, certs, tokens):
    """Dovecot's introspection endpoint is down (nothing listens there). IMAP says so
    ([UNAVAILABLE]: temporary, worth a retry); Postfix passes it on only as a plain 535."""
    from tests.servers.ports import free_port
    down = OAuthIntrospection(f"http://127.0.0.1:{free_port()}/token/introspection", "dovecot", "unused")
    servers = MailServers(tmp_path / "mail", certs.ca, [MailUser(DANA, "dana-" + secrets.token_hex(8))], oauth=down)
    servers.start()
    try:
        imap = desk.validate(connector("imap", servers, None, certs), {})
        smtp = desk.validate(connector("smtp", servers, None, certs), {})
    finally:
        servers.stop()
    assert imap.error.code == "server_error" and imap.error.temporary and "UNAVAILABLE" in imap.error.message
    assert smtp.error.code == "auth_failed" and "535" in smtp.error.message


def test_a_temporary_smtp_refusal_of_the_token_is_retried_by_a_test_send(desk, tokens, certs):
    replies = ["454 4.7.0 Temporary authentication failure", "235 2.7.0 ok"]

    def on_auth(peer: Peer, line: str) -> bool:
        peer.send(replies.pop(0) if len(replies) > 1 else replies[0])
        return True
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(smtp_server(starttls=ctx, on_auth=on_auth)) as srv:
        r = desk.test_send(scripted_conn("smtp", srv.port, ca=str(certs.ca.ca_file), timeout_s=8), {},
                           "someone@example.test")
    assert [a["ok"] for a in r.info["attempts"]] == [False, True], r.info["attempts"]
    assert r.info["attempts"][0]["code"] == "auth_failed"
    assert len(tokens.calls) == 1  # one token for every attempt


def test_a_token_with_a_control_character_is_never_sent(desk, tokens, certs):
    tokens.value = CANARY + "\x01user=evil@example.test"  # would end the XOAUTH2 field early
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(smtp_server(starttls=ctx, on_auth=lambda p, _line: p.send("235 ok"))) as srv:
        r = desk.validate(scripted_conn("smtp", srv.port, ca=str(certs.ca.ca_file)), {})
    assert r.error.code == "protocol_error" and r.error.step == "authenticate"
    assert b"AUTH" not in srv.received and not leaks.leaked(srv.received, CANARY)
