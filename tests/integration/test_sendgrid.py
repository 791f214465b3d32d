"""SendGrid against a stand-in built from SendGrid's OpenAPI documents, and hostile endpoints."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time

import pytest

from desktop.connectors import registry
from desktop.core.model import parse_document
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests.conftest import ROOT, sendgrid_document
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer
from tests.servers.sendgrid_standin import Contract, make_key

FULL = ["mail.send", "verified_senders.read", "alerts.read"]


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


def conn(base: str, **settings: object):  # type: ignore[no-untyped-def]
    return parse_document(sendgrid_document(base, **settings), registry())[0]


def key(k: str) -> dict[str, Secret]:
    return {"api_key": Secret(k)}


def test_valid_key_with_scopes_and_verified_sender(desk, sendgrid):
    k = sendgrid.add_key(FULL)
    r = desk.validate(conn(sendgrid.base), key(k))
    assert r.ok, r.error
    assert r.info["scopes"] == sorted(FULL) and r.info["sender_verified"] is True
    assert [s.name for s in r.steps] == ["address", "key", "scopes", "sender"]
    assert "is a verified sender" in r.steps[-1].detail


def test_unverified_sender_is_said_plainly(desk, sendgrid):
    k = sendgrid.add_key(FULL)
    r = desk.validate(conn(sendgrid.base, from_address="other@example.com"), key(k))
    assert r.ok and r.info["sender_verified"] is False
    assert "not among the verified senders" in r.steps[-1].detail


def test_key_that_cannot_read_senders_says_so(desk, sendgrid):
    r = desk.validate(conn(sendgrid.base), key(sendgrid.add_key(["mail.send"])))
    assert r.ok and r.info["sender_verified"] is None and "not checked" in r.steps[-1].detail


def test_unknown_key_is_api_key_invalid(desk, sendgrid):
    r = desk.validate(conn(sendgrid.base), key(make_key()))
    assert r.error.code == "api_key_invalid" and r.error.step == "scopes"


def test_missing_mail_send_lists_the_scopes_the_key_has(desk, sendgrid):
    r = desk.validate(conn(sendgrid.base), key(sendgrid.add_key(["alerts.read", "stats.read"])))
    assert r.error.code == "api_key_missing_scope"
    assert "alerts.read, stats.read" in r.error.message and r.info["scopes"] == ["alerts.read", "stats.read"]
    assert "Mail Send" in r.error.hint


def test_rate_limited_says_when_to_retry(desk, sendgrid):
    r = desk.validate(conn(sendgrid.base), key(sendgrid.add_key(FULL, rate_limited=5, reset_in=42)))
    assert r.error.code == "rate_limited" and "Retry in" in r.error.message
    assert 40 <= r.error.retry_after <= 43


def test_key_shape_is_checked_before_any_request(desk, sendgrid):
    r = desk.validate(conn(sendgrid.base), key("not-a-sendgrid-key"))
    assert r.error.code == "bad_input" and r.error.step == "key" and r.error.field == "secrets.api_key"
    assert r.error.message.startswith("API key: this does not look like a SendGrid API key")
    assert "secrets." not in r.error.message and "“SG.”" in r.error.hint
    assert sendgrid.requests == []


def test_api_base_must_be_https_unless_loopback(desk, sendgrid):
    k = sendgrid.add_key(FULL)
    r = desk.validate(conn("http://api.example.com"), key(k))
    assert r.error.code == "bad_input" and r.error.step == "address" and r.error.field == "settings.api_base"
    assert r.error.message.startswith("API address override: must be https")


def test_connect_refused(desk):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    r = desk.validate(conn(f"http://127.0.0.1:{port}"), key(make_key()))
    assert r.error.code == "connect_refused" and time.monotonic() - t0 < 1


def test_unknown_host_is_dns_failed(desk):
    r = desk.validate(conn("https://no-such-host.invalid"), key(make_key()))
    assert r.error.code == "dns_failed"


def test_hung_api_times_out_within_the_deadline(desk):
    with ScriptedServer(scripted.hung) as srv:
        t0 = time.monotonic()
        r = desk.validate(conn(f"http://127.0.0.1:{srv.port}", timeout_s=2), key(make_key()))
    assert r.error.code == "timeout" and time.monotonic() - t0 < 3


def test_garbage_is_protocol_error(desk):
    with ScriptedServer(scripted.silent_then_garbage) as srv:
        r = desk.validate(conn(f"http://127.0.0.1:{srv.port}"), key(make_key()))
    assert r.error.code == "protocol_error"


def test_sandbox_send_is_validated_not_delivered(desk, sendgrid):
    r = desk.test_send(conn(sendgrid.base), key(sendgrid.add_key(FULL)), "you@example.com")
    assert r.ok, r.error
    assert sendgrid.sent[-1]["sandbox"] is True and "sandbox" in r.steps[-1].detail
    assert sendgrid.sent[-1]["headers"]["X-Connector-Desk-Test"] == r.info["tag"]


def test_live_send_shows_the_message_id(desk, sendgrid):
    r = desk.test_send(conn(sendgrid.base, sandbox=False), key(sendgrid.add_key(FULL)), "you@example.com")
    assert r.ok and r.info["message_id"] and r.info["message_id"] in r.steps[-1].detail
    assert sendgrid.sent[-1]["sandbox"] is False


def test_send_retries_after_the_rate_limit_resets(desk, sendgrid):
    k = sendgrid.add_key(FULL, rate_limited=1, reset_in=2)  # X-RateLimit-Reset: whole seconds
    t0 = time.monotonic()
    r = desk.test_send(conn(sendgrid.base, timeout_s=10), key(k), "you@example.com")
    assert r.ok, r.error
    assert [a["ok"] for a in r.info["attempts"]] == [False, True]
    assert r.info["attempts"][0]["code"] == "rate_limited"
    assert time.monotonic() - t0 >= 1.0  # it waited for the reset (between 1 and 2 s away)


def test_send_that_exhausts_its_retries_lists_every_attempt(desk, sendgrid):
    k = sendgrid.add_key(FULL, server_errors=10)
    r = desk.test_send(conn(sendgrid.base, timeout_s=20), key(k), "you@example.com")
    assert r.error.code == "server_error"
    assert [a["attempt"] for a in r.info["attempts"]] == [1, 2, 3]


def test_send_without_scope_is_missing_scope(desk, sendgrid):
    r = desk.test_send(conn(sendgrid.base), key(sendgrid.add_key(["alerts.read"])), "you@example.com")
    assert r.error.code == "api_key_missing_scope"


def test_the_contract_catches_a_malformed_request():
    c = Contract()
    bad = c.check_request("POST", "/v3/mail/send", {}, {"Authorization": "Bearer x",
                                                        "Content-Type": "application/json"},
                          json.dumps({"from": {"email": "a@example.com"}}).encode())
    assert any("personalizations" in p for p in bad)


def test_the_key_never_appears_in_logs_or_output(desk, sendgrid, caplog):
    k = sendgrid.add_key(FULL)
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    r1 = desk.validate(conn(sendgrid.base), key(k))
    r2 = desk.test_send(conn(sendgrid.base), key(k), "you@example.com")
    r3 = desk.validate(conn(sendgrid.base), key(k[:-1] + "Z"))  # an invalid key echoed nowhere either
    text = caplog.text + json.dumps([r.to_dict() for r in (r1, r2, r3)])
    assert k not in text and k[3:25] not in text and k[:-1] + "Z" not in text
    assert sendgrid.requests[0]["headers"]["Authorization"] == f"Bearer {k}"  # it was really sent


@pytest.mark.parametrize(("case", "code", "rc"), [("ok", None, 0), ("invalid", "api_key_invalid", 1),
                                                  ("scope", "api_key_missing_scope", 1),
                                                  ("limited", "rate_limited", 1), ("refused", "connect_refused", 1)])
def test_cli_validate_spec(tmp_path, app_home, sendgrid, case, code, rc):
    base = sendgrid.base
    k = {"ok": lambda: sendgrid.add_key(FULL), "invalid": make_key,
         "scope": lambda: sendgrid.add_key(["alerts.read"]),
         "limited": lambda: sendgrid.add_key(FULL, rate_limited=3, reset_in=30),
         "refused": make_key}[case]()
    if case == "refused":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = f"http://127.0.0.1:{s.getsockname()[1]}"
    spec = tmp_path / "sg.json"
    spec.write_text(json.dumps(sendgrid_document(base)))
    env = {**os.environ, "CD_TEST_SENDGRID_KEY": k, "CONNECTOR_DESK_HOME": str(app_home)}
    r = subprocess.run([sys.executable, "-m", "desktop", "validate", "--spec", str(spec), "--json"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert r.returncode == rc, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert (out["error"] or {}).get("code") == code
    assert k not in r.stdout + r.stderr


def test_cli_sandbox_and_live_test_sends(tmp_path, app_home, sendgrid):
    k = sendgrid.add_key(FULL)
    env = {**os.environ, "CD_TEST_SENDGRID_KEY": k, "CONNECTOR_DESK_HOME": str(app_home)}
    for sandbox, expect in ((True, "sandbox"), (False, "X-Message-Id")):
        spec = tmp_path / f"sg-{sandbox}.json"
        spec.write_text(json.dumps(sendgrid_document(sendgrid.base, sandbox=sandbox)))
        cmd = [sys.executable, "-m", "desktop", "test-send", "--spec", str(spec), "--to", "you@example.com"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
        assert r.returncode == 0 and expect in r.stdout, r.stdout + r.stderr


# -- redirects and the API address override (issue #12, item 12) ---------------------------------------
@pytest.fixture
def https_redirect(certs, monkeypatch):  # type: ignore[no-untyped-def]
    """An https stand-in (test CA, trusted through SSL_CERT_FILE) answering 302 to a plain-http
    stand-in, which records whatever reaches it."""
    from tests.servers.sendgrid_standin import StandIn
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca.ca_file))
    target = StandIn()
    target.start()
    hostile = StandIn(redirect=f"{target.base}/v3/scopes?\x1b]0;x\x07")
    hostile.start(tls=certs.good)
    yield hostile, target
    hostile.stop()
    target.stop()


def test_a_redirect_is_not_followed_with_the_key(desk, https_redirect):
    hostile, target = https_redirect
    k = make_key()
    r = desk.validate(conn(hostile.base), key(k))
    assert r.error.code == "protocol_error" and r.error.step == "scopes"
    assert f"“{target.base}/v3/scopes?\\x1b]0;x\\x07”" in r.error.message  # named, escaped
    assert "\x1b" not in r.error.message and "302" in r.error.message
    assert len(hostile.requests) == 1 and hostile.requests[0]["headers"]["Authorization"] == f"Bearer {k}"
    assert target.requests == []  # the key went nowhere else


def test_a_redirect_during_a_send_is_not_followed(desk, https_redirect):
    hostile, target = https_redirect
    r = desk.test_send(conn(hostile.base), key(make_key()), "you@example.com")
    assert r.error.code == "protocol_error" and target.base in r.error.message
    assert [q["path"] for q in hostile.requests] == ["/v3/mail/send"] and target.requests == []


def test_a_long_redirect_target_is_cut_short(desk, https_redirect):
    hostile, target = https_redirect
    hostile.redirect = f"{target.base}/" + "a" * 5000
    r = desk.validate(conn(hostile.base), key(make_key()))
    assert r.error.code == "protocol_error" and "…" in r.error.message and len(r.error.message) < 600
    assert target.requests == []


def test_an_unconfirmed_api_base_gets_no_key(desk, sendgrid):
    k = sendgrid.add_key(FULL)
    r = desk.validate(conn(sendgrid.base, api_base_confirmed=False), key(k))
    assert r.error.code == "confirmation_required" and r.error.step == "address"
    assert r.error.message.startswith(f"API address override: “{sendgrid.base}” is not SendGrid's address")
    assert "settings." not in r.error.message
    assert "Tick “Send the API key to this API address override”" in r.error.hint
    assert sendgrid.requests == []
    r = desk.test_send(conn(sendgrid.base, api_base_confirmed=False), key(k), "you@example.com")
    assert r.error.code == "confirmation_required" and sendgrid.requests == []


def test_a_foreign_api_base_is_a_warning():
    ctype = registry()["sendgrid"]
    assert ctype.warnings({"region": "eu"}) == []
    assert ctype.warnings({"api_base": "https://api.sendgrid.com"}) == []
    warned = ctype.warnings({"api_base": "https://collector.evil.test"})
    assert len(warned) == 1 and "collector.evil.test" in warned[0] and "not yet confirmed" in warned[0]
    assert "not yet confirmed" not in ctype.warnings({"api_base": "https://proxy.example.test",
                                                      "api_base_confirmed": True})[0]


def test_cli_trust_api_base_confirms_for_the_run(tmp_path, app_home, sendgrid):
    k = sendgrid.add_key(FULL)
    spec = tmp_path / "sg.json"
    spec.write_text(json.dumps(sendgrid_document(sendgrid.base, api_base_confirmed=False)))
    env = {**os.environ, "CD_TEST_SENDGRID_KEY": k, "CONNECTOR_DESK_HOME": str(app_home)}
    cmd = [sys.executable, "-m", "desktop", "validate", "--spec", str(spec), "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["code"] == "confirmation_required"
    assert sendgrid.requests == []
    r = subprocess.run([*cmd, "--trust-api-base"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_an_imported_confirmation_is_dropped_unless_trusted(tmp_path, app_home, sendgrid):
    k = sendgrid.add_key(FULL)
    doc = tmp_path / "sg.json"
    doc.write_text(json.dumps(sendgrid_document(sendgrid.base)))  # carries api_base_confirmed: true
    env = {**os.environ, "CD_TEST_SENDGRID_KEY": k, "CONNECTOR_DESK_HOME": str(app_home)}

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "desktop", *argv], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=60)

    assert cli("import", str(doc)).returncode == 0
    r = cli("validate", "sg-mail", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["code"] == "confirmation_required"
    assert sendgrid.requests == []  # the file alone could not send the key to its address
    assert cli("import", "--replace", "--trust-api-base", str(doc)).returncode == 0
    r = cli("validate", "sg-mail", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
