"""IMAP against hostile and misbehaving servers."""

from __future__ import annotations

import base64
import time

import pytest

from desktop.connectors import registry
from desktop.core.model import Connector
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests import leaks
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer, server_context

PASSWORD = "imap-canary-Pw-4409"


def leaked(srv: ScriptedServer) -> bool:
    return bool(leaks.leaked(srv.received, PASSWORD, "u@example.test"))


def conn(port: int, security: str = "starttls", timeout: int = 3, **extra: object) -> Connector:
    s = {"provider": "other", "host": "localhost", "port": port, "security": security, "verify_tls": True,
         "ca_file": None, "timeout_s": timeout, "auth": "password", "username": "u@example.test",
         "allow_plaintext": False, "mailbox": "INBOX", **extra}
    return Connector("hostile-imap", "imap", settings=s)


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


def check(desk: Desk, c: Connector):  # type: ignore[no-untyped-def]
    return desk.validate(c, {"password": Secret(PASSWORD)})


def test_starttls_stripped(desk):
    with ScriptedServer(scripted.imap(starttls=None)) as srv:
        r = check(desk, conn(srv.port))
    assert r.error.code == "starttls_unavailable" and not leaked(srv)


def test_preauth_on_a_starttls_port_is_a_failure_not_a_shortcut(desk):
    with ScriptedServer(scripted.imap(greeting="* PREAUTH welcome, no password needed")) as srv:
        r = check(desk, conn(srv.port))
    assert r.error.code == "starttls_unavailable" and "PREAUTH" in r.error.message
    assert b"LIST" not in srv.received


def test_hung_server_times_out(desk):
    with ScriptedServer(scripted.hung) as srv:
        t0 = time.monotonic()
        r = check(desk, conn(srv.port, timeout=2))
    assert r.error.code == "timeout" and time.monotonic() - t0 < 3


def test_slow_drip(desk):
    with ScriptedServer(scripted.slow_drip(b"* OK dripping greeting that never ends\r\n", 0.3)) as srv:
        t0 = time.monotonic()
        r = check(desk, conn(srv.port, timeout=2))
    assert r.error.code == "timeout" and time.monotonic() - t0 < 3


def test_garbage(desk):
    with ScriptedServer(scripted.silent_then_garbage) as srv:
        r = check(desk, conn(srv.port))
    assert r.error.code == "protocol_error" and "IMAP" in r.error.message


def test_literal_bomb_is_refused_without_reading_it(desk, certs):
    bomb = b'* LIST (\\HasNoChildren) "/" {9999999999}\r\n'
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(scripted.imap(list_lines=[bomb]), tls=ctx) as srv:
        r = check(desk, conn(srv.port, "tls", ca_file=str(certs.ca.ca_file)))
    assert r.error.code == "protocol_error" and "9,999,999,999" in r.error.message


def test_logindisabled_without_other_method(desk):
    with ScriptedServer(scripted.imap(caps=("IMAP4rev1", "LOGINDISABLED"))) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.error.code == "auth_method_unsupported" and "LOGINDISABLED" in r.error.message
    assert not leaked(srv)


def test_login_command_is_redacted_and_used_without_auth_plain(desk):
    with ScriptedServer(scripted.imap(caps=("IMAP4rev1",))) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.ok, r.error
    text = "\n".join(r.transcript)
    assert 'LOGIN "u@example.test" ********' in text and PASSWORD not in text


def test_literal_password_is_redacted(desk):
    # A password with a line break cannot be quoted: it goes as a literal, sent only after the
    # server's "+" — and the transcript shows ******** for it.
    commands: list[tuple[str, list[bytes]]] = []
    password = "two\nlines-" + PASSWORD
    with ScriptedServer(scripted.imap(caps=("IMAP4rev1",), commands=commands)) as srv:
        r = desk.validate(conn(srv.port, "none", allow_plaintext=True), {"password": Secret(password)})
    assert r.ok, r.error
    logins = [(line, lits) for line, lits in commands if line.split(" ")[1:2] == ["LOGIN"]]
    assert logins == [(f'a2 LOGIN "u@example.test" {{{len(password)}}}', [password.encode()])]
    text = "\n".join(r.transcript)
    assert f'C: a2 LOGIN "u@example.test" {{{len(password)}}}' in text and "S: + go ahead" in text
    assert text.split("S: + go ahead\n")[1].startswith("C: ********")
    assert "lines-" + PASSWORD not in text


def test_user_name_with_line_breaks_cannot_inject_a_command(desk):
    # From a catalogue written before the fix: the user name carries a second IMAP command.
    commands: list[tuple[str, list[bytes]]] = []
    user = "u@example.test\r\na9 LOGIN evil@example.test pw\r\na10 DELETE INBOX"
    with ScriptedServer(scripted.imap(caps=("IMAP4rev1",), commands=commands)) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True, username=user))
    assert r.ok, r.error
    verbs = [line.split(" ")[1].upper() for line, _ in commands]
    assert verbs.count("LOGIN") == 1 and "DELETE" not in verbs
    login = next(c for c in commands if c[0].split(" ")[1] == "LOGIN")
    assert login[1][0] == user.encode()  # the user name arrived whole, as one literal


def test_eight_bit_user_name_goes_as_a_literal(desk):
    commands: list[tuple[str, list[bytes]]] = []
    with ScriptedServer(scripted.imap(caps=("IMAP4rev1",), commands=commands)) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True, username="jürgen@example.test"))
    assert r.ok, r.error
    login = next(c for c in commands if c[0].split(" ")[1] == "LOGIN")
    assert login[1][0] == "jürgen@example.test".encode()


def test_nul_in_the_user_name_is_refused_before_login(desk):
    with ScriptedServer(scripted.imap(caps=("IMAP4rev1",))) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True, username="u\0x@example.test"))
    assert r.error.code == "bad_input" and r.error.step == "authenticate"
    assert b"LOGIN" not in srv.received and not leaked(srv)


def test_authenticate_plain_without_sasl_ir_waits_for_the_continuation(desk):
    commands: list[tuple[str, list[bytes]]] = []
    with ScriptedServer(scripted.imap(caps=("IMAP4rev1", "AUTH=PLAIN"), commands=commands)) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.ok, r.error
    auth = next(c for c in commands if c[0].split(" ")[1] == "AUTHENTICATE")
    assert auth[0] == "a2 AUTHENTICATE PLAIN"
    assert base64.b64decode(auth[1][0]) == f"\0u@example.test\0{PASSWORD}".encode()
    text = "\n".join(r.transcript)
    assert "C: a2 AUTHENTICATE PLAIN\nS: + \nC: ********" in text
    assert leaks.leaked(text.encode(), PASSWORD, "u@example.test") == []


@pytest.mark.parametrize("reply", ["NO STARTTLS is not available now", "BAD command unknown"])
def test_starttls_refused_stops_before_credentials(desk, certs, reply):
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(scripted.imap(starttls=ctx, starttls_reply=reply)) as srv:
        r = check(desk, conn(srv.port, ca_file=str(certs.ca.ca_file)))
    assert r.error.code == "starttls_unavailable" and r.error.step == "starttls"
    assert b"LOGIN" not in srv.received and b"AUTHENTICATE" not in srv.received and not leaked(srv)


def test_starttls_answer_with_injected_lines_stops_before_credentials(desk, certs):
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    reply = "OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR"
    with ScriptedServer(scripted.imap(starttls=ctx, starttls_reply=reply)) as srv:
        r = check(desk, conn(srv.port, ca_file=str(certs.ca.ca_file)))
    assert r.error.code == "tls_failed" and "man-in-the-middle" in r.error.hint
    assert b"AUTHENTICATE" not in srv.received and not leaked(srv)


def test_a_line_over_the_limit_is_a_protocol_error(desk):
    with ScriptedServer(scripted.imap(greeting="* OK " + "x" * 70_000)) as srv:
        r = check(desk, conn(srv.port))
    assert r.error.code == "protocol_error" and "longer than 65536 bytes" in r.error.message


def test_literals_up_to_the_limit_are_read_and_one_byte_more_is_refused(desk):
    ok = [b'* LIST (\\HasNoChildren) "/" {5}\r\nINBOX\r\n']
    with ScriptedServer(scripted.imap(list_lines=ok)) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.ok, r.error
    over = [b'* LIST (\\HasNoChildren) "/" {1000001}\r\n' + b"x" * 1_000_001 + b"\r\n"]
    with ScriptedServer(scripted.imap(list_lines=over)) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.error.code == "protocol_error" and "1,000,001-byte literal" in r.error.message


@pytest.mark.parametrize(("pair", "code"), [("expired", "cert_expired"), ("wrong_name", "cert_hostname_mismatch"),
                                            ("self_signed", "cert_untrusted")])
def test_bad_certificates(desk, certs, pair, code):
    cp = getattr(certs, pair)
    with ScriptedServer(scripted.imap(), tls=server_context(str(cp.cert), str(cp.key))) as srv:
        r = check(desk, conn(srv.port, "tls", ca_file=str(certs.ca.ca_file)))
    assert r.error.code == code and not leaked(srv)


def test_no_permission_to_open(desk):
    handler = scripted.imap(examine_reply="NO [NOPERM] You may not read this mailbox")
    with ScriptedServer(handler) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.error.code == "not_authorized" and r.error.step == "examine"


def test_refused_unknown_host_and_cancel(desk):
    import socket
    import threading

    from desktop.core.deadline import CancelToken
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert check(desk, conn(port)).error.code == "connect_refused"
    assert check(desk, conn(993, host="no-such-host.invalid")).error.code == "dns_failed"
    with ScriptedServer(scripted.hung) as srv:
        token = CancelToken()
        threading.Timer(0.2, token.cancel).start()
        t0 = time.monotonic()
        r = desk.validate(conn(srv.port, timeout=30), {"password": Secret(PASSWORD)}, cancel=token)
    assert r.error.code == "cancelled" and time.monotonic() - t0 < 1


def test_gmail_app_password_hint(desk):
    reply = "NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833"
    with ScriptedServer(scripted.imap(login_reply=reply)) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True, provider="gmail"))
    assert r.error.code == "auth_failed" and "App Password" in r.error.hint


def test_temporary_unavailable(desk):
    with ScriptedServer(scripted.imap(login_reply="NO [UNAVAILABLE] Temporary authentication failure")) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.error.code == "server_error" and "temporary" in r.error.hint


def test_bye_greeting(desk):
    with ScriptedServer(scripted.imap(greeting="* BYE too many connections")) as srv:
        r = check(desk, conn(srv.port))
    assert r.error.code == "server_error" and r.error.step == "greeting"
