"""SMTP against hostile and misbehaving servers: each gives its code within the deadline, and
no credential reaches a server that must not get it."""

from __future__ import annotations

import base64
import socket
import threading
import time

import pytest

from desktop.connectors import registry
from desktop.core.deadline import CancelToken
from desktop.core.model import Connector
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests import leaks
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer, server_context

PASSWORD = "hostile-canary-Pw-7731"


def leaked(server: ScriptedServer) -> bool:
    return bool(leaks.leaked(server.received, PASSWORD, "user@example.test"))


def conn(port: int, security: str = "starttls", *, ca: str | None = None, timeout: int = 3,
         **extra: object) -> Connector:
    settings = {"provider": "other", "host": "localhost", "port": port, "security": security,
                "verify_tls": True, "ca_file": ca, "timeout_s": timeout, "auth": "password",
                "username": "user@example.test", "allow_plaintext": False,
                "from_address": "user@example.test", **extra}
    return Connector("hostile", "smtp", settings=settings)


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


def check(desk: Desk, c: Connector, to: str | None = None):  # type: ignore[no-untyped-def]
    if to:
        c.admin["test_recipient"] = to
    return desk.validate(c, {"password": Secret(PASSWORD)})


def test_hung_server_times_out_within_deadline(desk):
    with ScriptedServer(scripted.hung) as srv:
        t0 = time.monotonic()
        r = check(desk, conn(srv.port, timeout=2))
        elapsed = time.monotonic() - t0
    assert r.error.code == "timeout" and r.error.step == "greeting"
    assert 1.8 < elapsed < 3.0


def test_slow_drip_cannot_outlast_the_deadline(desk):
    with ScriptedServer(scripted.slow_drip(every=0.3)) as srv:
        t0 = time.monotonic()
        r = check(desk, conn(srv.port, timeout=2))
        elapsed = time.monotonic() - t0
    assert r.error.code == "timeout"
    assert elapsed < 3.0  # a per-read timeout would never fire: each byte comes in 0.3 s


def test_garbage_is_protocol_error(desk):
    with ScriptedServer(scripted.silent_then_garbage) as srv:
        r = check(desk, conn(srv.port))
    assert r.error.code == "protocol_error" and "did not answer like an SMTP server" in r.error.message


def test_starttls_stripped_stops_before_credentials(desk):
    # A man in the middle removed STARTTLS from EHLO; AUTH is offered in the clear.
    with ScriptedServer(scripted.smtp(starttls=None)) as srv:
        r = check(desk, conn(srv.port))
    assert r.error.code == "starttls_unavailable" and r.error.step == "starttls"
    assert not leaked(srv) and b"AUTH" not in srv.received


def test_starttls_refused_stops_before_credentials(desk, certs):
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(scripted.smtp(starttls=ctx, starttls_reply="454 4.7.0 TLS not available")) as srv:
        r = check(desk, conn(srv.port, ca=str(certs.ca.ca_file)))
    assert r.error.code == "starttls_unavailable"
    assert not leaked(srv)


def test_drop_after_ehlo_is_protocol_error(desk):
    with ScriptedServer(scripted.smtp(drop_after_ehlo=True)) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.error.code == "protocol_error" and "closed the connection" in r.error.message


@pytest.mark.parametrize(("pair", "code"), [("expired", "cert_expired"),
                                            ("wrong_name", "cert_hostname_mismatch"),
                                            ("self_signed", "cert_untrusted")])
def test_bad_certificates_over_implicit_tls(desk, certs, pair, code):
    cp = getattr(certs, pair)
    with ScriptedServer(scripted.smtp(), tls=server_context(str(cp.cert), str(cp.key))) as srv:
        r = check(desk, conn(srv.port, "tls", ca=str(certs.ca.ca_file)))
    assert r.error.code == code and r.error.step == "tls"
    assert not leaked(srv)


@pytest.mark.parametrize(("pair", "code"), [("expired", "cert_expired"),
                                            ("wrong_name", "cert_hostname_mismatch"),
                                            ("self_signed", "cert_untrusted")])
def test_bad_certificates_over_starttls(desk, certs, pair, code):
    cp = getattr(certs, pair)
    with ScriptedServer(scripted.smtp(starttls=server_context(str(cp.cert), str(cp.key)))) as srv:
        r = check(desk, conn(srv.port, "starttls", ca=str(certs.ca.ca_file)))
    assert r.error.code == code and r.error.step == "starttls"
    assert not leaked(srv)


def test_untrusted_without_ca_file_then_trusted_with_it(desk, certs):
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    with ScriptedServer(scripted.smtp(), tls=ctx) as srv:
        r1 = check(desk, conn(srv.port, "tls"))
        r2 = check(desk, conn(srv.port, "tls", ca=str(certs.ca.ca_file)))
    assert r1.error.code == "cert_untrusted" and "CA file" in r1.error.hint
    assert r2.ok, r2.error


def test_verification_off_is_explicit_and_warned(desk, certs):
    cp = certs.self_signed
    with ScriptedServer(scripted.smtp(), tls=server_context(str(cp.cert), str(cp.key))) as srv:
        c = conn(srv.port, "tls", verify_tls=False)
        r = check(desk, c)
    assert r.ok, r.error
    assert any("verification is OFF" in w for w in registry()["smtp"].warnings(c.settings))
    assert any("verification is OFF" in line for line in r.transcript)


def test_reset_mid_handshake_is_tls_failed(desk):
    with ScriptedServer(scripted.reset_on_hello) as srv:
        r = check(desk, conn(srv.port, "tls"))
    assert r.error.code == "tls_failed"


def test_refused_port_fails_fast(desk):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    r = check(desk, conn(port))
    assert r.error.code == "connect_refused" and r.error.step == "connect"
    assert time.monotonic() - t0 < 1.0


def test_dropped_syn_is_connect_timeout(desk):
    # A listener whose accept queue is full: the kernel drops further SYNs, like a firewall.
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
        fillers.append(f)
    time.sleep(0.2)
    try:
        r = check(desk, conn(port, timeout=2))
    finally:
        for f in fillers:
            f.close()
        lsock.close()
    assert r.error.code == "connect_timeout" and r.error.step == "connect"


def test_unknown_host_is_dns_failed(desk):
    r = check(desk, conn(25, host="no-such-host.invalid"))
    assert r.error.code == "dns_failed" and r.error.step == "resolve"


def test_no_common_auth_mechanism(desk):
    with ScriptedServer(scripted.smtp(auth=["CRAM-MD5", "GSSAPI"])) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.error.code == "auth_method_unsupported" and "CRAM-MD5" in r.error.message
    assert not leaked(srv)


def test_no_auth_offered(desk):
    with ScriptedServer(scripted.smtp(auth=None)) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.error.code == "auth_method_unsupported"


def test_login_mechanism_is_used_and_redacted(desk):
    with ScriptedServer(scripted.smtp(auth=["LOGIN"])) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.ok, r.error
    assert base64.b64encode(PASSWORD.encode()) in srv.received  # it really was sent (allowed here)
    text = "\n".join(r.transcript)
    assert "C: AUTH LOGIN" in text and "C: ********" in text
    assert base64.b64encode(PASSWORD.encode()).decode() not in text


def test_microsoft_smtp_auth_disabled_hint(desk):
    reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."
    with ScriptedServer(scripted.smtp(auth_replies=[reply])) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True, provider="microsoft365"))
    assert r.error.code == "auth_failed"
    assert "Authenticated SMTP" in r.error.hint and "5.7.139" in r.error.hint


def test_microsoft_basic_auth_blocked_is_method_unsupported(desk):
    reply = "535 5.7.30 Basic authentication is not supported for Client Submission."
    with ScriptedServer(scripted.smtp(auth_replies=[reply])) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True, provider="microsoft365"))
    assert r.error.code == "auth_method_unsupported" and "OAuth2" in r.error.hint


def test_server_echoing_the_password_is_scrubbed(desk):
    with ScriptedServer(scripted.smtp(auth_replies=[f"535 5.7.8 bad password {PASSWORD}"])) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True))
    assert r.error.code == "auth_failed"
    assert PASSWORD not in r.error.message and PASSWORD not in "\n".join(r.transcript)
    assert PASSWORD not in str(r.to_dict())


def test_sender_rejected_with_provider_hint(desk):
    reply = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"
    with ScriptedServer(scripted.smtp(mail_replies=[reply])) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True, provider="microsoft365"))
    assert r.error.code == "sender_rejected" and "Send As" in r.error.hint


def test_sign_in_required_is_not_authorized(desk):
    with ScriptedServer(scripted.smtp(mail_replies=["530 5.7.0 Authentication required"])) as srv:
        r = check(desk, conn(srv.port, "none", auth="none"))
    assert r.error.code == "not_authorized"


def test_greeting_refusal_is_server_error(desk):
    with ScriptedServer(scripted.smtp(greeting="554 5.7.1 No SMTP service here")) as srv:
        r = check(desk, conn(srv.port))
    assert r.error.code == "server_error" and r.error.step == "greeting"


def test_cancel_stops_a_hung_check_at_once(desk):
    with ScriptedServer(scripted.hung) as srv:
        token = CancelToken()
        threading.Timer(0.3, token.cancel).start()
        t0 = time.monotonic()
        r = desk.validate(conn(srv.port, timeout=30), {"password": Secret(PASSWORD)}, cancel=token)
    assert r.error.code == "cancelled"
    assert time.monotonic() - t0 < 1.0


def test_test_send_retries_temporary_failures_then_succeeds(desk):
    handler = scripted.smtp(rcpt_replies=["451 4.3.0 Try again later", "250 2.1.5 Ok"])
    with ScriptedServer(handler) as srv:
        c = conn(srv.port, "none", allow_plaintext=True, timeout=10)
        r = desk.test_send(c, {"password": Secret(PASSWORD)}, "dest@example.test")
    assert r.ok, r.error
    assert [a["ok"] for a in r.info["attempts"]] == [False, True]
    assert r.info["attempts"][0]["code"] == "recipient_rejected"
    assert srv.connections == 2


def test_test_send_gives_up_on_permanent_failure(desk):
    with ScriptedServer(scripted.smtp(data_replies=["554 5.6.0 Message rejected as spam"])) as srv:
        c = conn(srv.port, "none", allow_plaintext=True)
        r = desk.test_send(c, {"password": Secret(PASSWORD)}, "dest@example.test")
    assert r.error.code == "server_error" and "spam" in r.error.message
    assert len(r.info["attempts"]) == 1


def test_test_send_lists_every_attempt_when_retries_run_out(desk):
    with ScriptedServer(scripted.smtp(data_replies=["451 4.7.1 Greylisted, come back later"])) as srv:
        c = conn(srv.port, "none", allow_plaintext=True, timeout=10)
        r = desk.test_send(c, {"password": Secret(PASSWORD)}, "dest@example.test")
    assert r.error.code == "server_error"
    assert [a["attempt"] for a in r.info["attempts"]] == [1, 2, 3]


INJECTION = "ops@example.test>\r\nRCPT TO:<attacker@evil.test>\r\nDATA\r\nSubject: injected\r\n\r\nhi\r\n."


def test_user_name_injection_from_an_old_catalogue_sends_no_extra_command(desk):
    # As a catalogue written before the fix could hold it: auth "none", the user name carrying a
    # whole transaction, no sender address. MAIL FROM no longer falls back to such a user name.
    with ScriptedServer(scripted.smtp()) as srv:
        c = conn(srv.port, "none", auth="none", username=INJECTION, from_address=None)
        r = check(desk, c, to="ops@example.test")
    assert r.error.code == "bad_input" and "Sender (From) address" in r.error.message
    assert b"MAIL" not in srv.received and b"RCPT" not in srv.received and b"DATA" not in srv.received


def test_user_name_that_is_an_address_is_the_sender_when_none_is_set(desk):
    with ScriptedServer(scripted.smtp()) as srv:
        r = check(desk, conn(srv.port, "none", allow_plaintext=True, from_address=None), to="ops@example.test")
    assert r.ok, r.error
    assert b"MAIL FROM:<user@example.test>\r\n" in srv.received


def test_a_line_break_in_any_value_never_reaches_the_wire(desk):
    # The protocol writer is the last wall: a recipient holding CRLF (from an old catalogue) is
    # refused before anything of its line is sent.
    with ScriptedServer(scripted.smtp()) as srv:
        r = check(desk, conn(srv.port, "none", auth="none"), to="ops@example.test>\r\nDATA")
    assert r.error.code == "bad_input" and r.error.step == "recipient"
    assert b"MAIL FROM" in srv.received  # the session got that far …
    assert b"RCPT" not in srv.received and b"DATA" not in srv.received  # … and not one byte further


def test_starttls_answer_with_injected_lines_stops_before_credentials(desk, certs):
    # A man in the middle appends a line to the 220 answer, to be read as if it came after TLS.
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    reply = "220 2.0.0 Ready to start TLS\r\n250-injected AUTH PLAIN"
    with ScriptedServer(scripted.smtp(starttls=ctx, starttls_reply=reply)) as srv:
        r = check(desk, conn(srv.port, ca=str(certs.ca.ca_file)))
    assert r.error.code == "tls_failed" and "man-in-the-middle" in r.error.hint
    assert not leaked(srv) and b"AUTH" not in srv.received


def test_a_line_over_the_limit_is_a_protocol_error(desk):
    with ScriptedServer(scripted.smtp(greeting="220 " + "x" * 20_000)) as srv:
        r = check(desk, conn(srv.port))
    assert r.error.code == "protocol_error" and "longer than 8192 bytes" in r.error.message


def test_a_server_echoing_the_password_url_encoded_is_scrubbed(desk):
    import urllib.parse
    echo = urllib.parse.quote("a b/" + PASSWORD, safe="")
    with ScriptedServer(scripted.smtp(auth_replies=[f"535 5.7.8 bad: {echo}"])) as srv:
        r = desk.validate(conn(srv.port, "none", allow_plaintext=True), {"password": Secret("a b/" + PASSWORD)})
    assert r.error.code == "auth_failed"
    shown = (str(r.to_dict()) + "\n".join(r.transcript)).encode()
    assert leaks.leaked(shown, "a b/" + PASSWORD) == []
