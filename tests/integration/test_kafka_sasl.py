"""Kafka SASL against tansu with --authentication (SCRAM-SHA-512, SCRAM-SHA-256, OAUTHBEARER),
a plain tansu that does not want SASL, and hostile brokers during the sign-in."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from typing import Any

import pytest

from desktop.connectors import registry
from desktop.core.model import parse_document
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests.conftest import ROOT, kafka_document
from tests.servers import scripted
from tests.servers.ports import free_port
from tests.servers.scripted import Peer, ScriptedServer, server_context

PASSWORD = "kafka-pw-7f3a9c"  # unique: searched for in transcripts


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


def sasl_conn(bootstrap: str, mechanism: str, protocol: str = "SASL_PLAINTEXT", **kw: Any):  # type: ignore[no-untyped-def]
    return parse_document(kafka_document(bootstrap, protocol=protocol, sasl_mechanism=mechanism,
                                         username="alice", **kw), registry())[0]


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256"])
def test_scram_refused_by_the_broker_is_auth_failed_at_once(desk, kafka_auth, mechanism):
    t0 = time.monotonic()
    r = desk.validate(sasl_conn(kafka_auth.bootstrap, mechanism), {"password": Secret(PASSWORD)})
    elapsed = time.monotonic() - t0
    assert r.error.code == "auth_failed" and r.error.step == "sasl"
    # The broker's own RFC 5802 answer, not kafka-python's KeyError('v') or a bootstrap timeout.
    assert "e=unknown-user" in r.error.message and "“alice”" in r.error.message
    assert elapsed < 3
    text = "\n".join(r.transcript)
    assert "SaslHandshake" in text and "r=" in text and PASSWORD not in text
    assert not any(line.startswith("C: SaslAuthenticate c=") for line in r.transcript)  # the proof is masked


def test_mechanism_the_broker_does_not_offer(desk, kafka_auth):
    r = desk.validate(sasl_conn(kafka_auth.bootstrap, "PLAIN"), {"password": Secret(PASSWORD)})
    assert r.error.code == "auth_method_unsupported" and r.error.step == "sasl"
    # tansu hangs up on a mechanism it does not offer (Apache Kafka answers error 33 with its list).
    assert "sign in with PLAIN" in r.error.message and "does not offer" in r.error.message
    # PLAIN would carry the password itself: the handshake failed first, so it never left.
    assert not any(line.startswith("C: SaslAuthenticate") for line in r.transcript)


def test_sasl_against_a_listener_without_sign_in(desk, kafka_plain):
    r = desk.validate(sasl_conn(kafka_plain.bootstrap, "SCRAM-SHA-512"), {"password": Secret(PASSWORD)})
    assert r.error.code == "auth_method_unsupported"
    assert "PLAINTEXT" in r.error.hint


def test_plaintext_client_against_an_authenticating_broker(desk, kafka_auth):
    r = desk.validate(parse_document(kafka_document(kafka_auth.bootstrap, timeout_s=3), registry())[0], {})
    assert not r.ok and r.error.step == "metadata"
    assert r.error.code in ("timeout", "protocol_error") and "security protocol" in r.error.hint


def test_missing_password_names_the_field(desk, kafka_auth):
    r = desk.validate(sasl_conn(kafka_auth.bootstrap, "SCRAM-SHA-512"), {})
    assert r.error.code == "bad_input" and "secrets.password" in r.error.message


def test_cli_validate_spec_wrong_sasl_password(tmp_path, app_home, kafka_auth):
    spec = tmp_path / "kafka.json"
    doc = kafka_document(kafka_auth.bootstrap, protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                         username="alice")
    doc["secrets"] = {"password": {"env": "KAFKA_TEST_PW"}}
    spec.write_text(json.dumps(doc))
    proc = subprocess.run([sys.executable, "-m", "desktop", "validate", "--spec", str(spec), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "KAFKA_TEST_PW": PASSWORD})
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["error"]["code"] == "auth_failed" and out["error"]["step"] == "sasl"
    assert PASSWORD not in proc.stdout + proc.stderr


# -- hostile brokers during the sign-in ------------------------------------------------------------
def _read_frame(peer: Peer) -> bytes | None:
    peer.sock.settimeout(10)
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
        chunk = peer.sock.recv(4096)
        if not chunk:
            return None
        peer.server.record(chunk)
        data += chunk
    return data


def _handshake(peer: Peer, error: int = 0, mechs: tuple[bytes, ...] = (b"PLAIN", b"SCRAM-SHA-512")) -> None:
    frame = _read_frame(peer)
    assert frame is not None
    listed = b"".join(struct.pack(">h", len(m)) + m for m in mechs)
    body = frame[8:12] + struct.pack(">hi", error, len(mechs)) + listed
    peer.send(struct.pack(">i", len(body)) + body)


def test_unsupported_mechanism_lists_what_the_broker_offers(desk):
    """Apache Kafka's answer (error 33 with its enabled mechanisms), which tansu does not give."""
    def offers_scram_only(peer: Peer) -> None:
        _handshake(peer, 33, (b"SCRAM-SHA-256", b"SCRAM-SHA-512"))
        peer.hang()

    with ScriptedServer(offers_scram_only) as srv:
        r = desk.validate(sasl_conn(f"127.0.0.1:{srv.port}", "PLAIN", timeout_s=3), {"password": Secret(PASSWORD)})
        received = srv.received
    assert r.error.code == "auth_method_unsupported"
    assert "does not offer PLAIN; it offers SCRAM-SHA-256, SCRAM-SHA-512" in r.error.message
    assert PASSWORD.encode() not in received


def hung_after_handshake(peer: Peer) -> None:
    _handshake(peer)
    peer.hang()


def garbage_after_handshake(peer: Peer) -> None:
    _handshake(peer)
    _read_frame(peer)
    peer.send(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    peer.hang()


def huge_frame(peer: Peer) -> None:
    _read_frame(peer)
    peer.send(struct.pack(">i", 2_000_000_000))
    peer.hang()


def scram_iteration_bomb(peer: Peer) -> None:
    _handshake(peer)
    frame = _read_frame(peer)
    assert frame is not None
    client_first = frame[frame.index(b"n,,") + 3:].decode()
    nonce = dict(p.split("=", 1) for p in client_first.split(","))["r"]
    reply = f"r={nonce}server,s=c2FsdA==,i=2000000000".encode()
    body = frame[8:12] + b"\0\0" + b"\xff\xff" + struct.pack(">i", len(reply)) + reply + b"\0" * 8
    peer.send(struct.pack(">i", len(body)) + body)
    peer.hang()


@pytest.mark.parametrize(("handler", "code"), [(hung_after_handshake, "timeout"),
                                               (garbage_after_handshake, "protocol_error"),
                                               (huge_frame, "protocol_error"),
                                               (scram_iteration_bomb, "protocol_error"),
                                               (scripted.slow_drip(b"\x00\x00\x00\x10abcdefghijklmnop"), "timeout")])
def test_hostile_broker_during_sign_in(desk, handler, code):
    with ScriptedServer(handler) as srv:
        t0 = time.monotonic()
        r = desk.validate(sasl_conn(f"127.0.0.1:{srv.port}", "SCRAM-SHA-512", timeout_s=3),
                          {"password": Secret(PASSWORD)})
        elapsed = time.monotonic() - t0
        received = srv.received
    assert r.error.code == code and r.error.step == "sasl", r.error
    assert elapsed < 4
    assert PASSWORD.encode() not in received


def test_plain_password_never_goes_to_an_untrusted_certificate(desk, certs):
    with ScriptedServer(scripted.hung, tls=server_context(str(certs.self_signed.cert),
                                                          str(certs.self_signed.key))) as srv:
        r = desk.validate(sasl_conn(f"localhost:{srv.port}", "PLAIN", protocol="SASL_SSL"),
                          {"password": Secret(PASSWORD)})
        received = srv.received
    assert r.error.code == "cert_untrusted"
    assert PASSWORD.encode() not in received


# -- OAUTHBEARER: a token from a real authorization server, then the broker ----------------------
def oauth_conn(bootstrap: str, endpoint: str, **kw: Any):  # type: ignore[no-untyped-def]
    return parse_document(kafka_document(bootstrap, protocol="SASL_PLAINTEXT", sasl_mechanism="OAUTHBEARER",
                                         oauth_token_endpoint=endpoint, oauth_client_id="kafka-client",
                                         oauth_scope="kafka", **kw), registry())[0]


def test_oauthbearer_token_is_fetched_and_the_broker_verdict_reported(desk, kafka_auth, oauth_server):
    r = desk.validate(oauth_conn(kafka_auth.bootstrap, oauth_server.token_endpoint),
                      {"oauth_client_secret": Secret(oauth_server.client_secret)})
    steps = {s.name: s for s in r.steps}
    assert steps["token"].ok and steps["token"].detail == "token received"
    # tansu has no token validator configured: it refuses every token with Kafka error 58.
    assert r.error.code == "auth_failed" and r.error.step == "sasl"
    assert "rejected the OAUTHBEARER sign-in" in r.error.message
    text = "\n".join(r.transcript)
    assert "grant_type=client_credentials client_id=kafka-client scope=kafka" in text
    assert "HTTP 200" in text and oauth_server.client_secret not in text and "Bearer " not in text


def test_oauthbearer_wrong_client_secret_stops_at_the_token_endpoint(desk, kafka_auth, oauth_server):
    r = desk.validate(oauth_conn(kafka_auth.bootstrap, oauth_server.token_endpoint),
                      {"oauth_client_secret": Secret("not-the-secret")})
    assert r.error.code == "auth_failed" and r.error.step == "token"
    assert "invalid_client" in r.error.message and "client id and client secret" in r.error.hint
    assert not any(s.name.startswith("reach:") for s in r.steps)  # the broker was never contacted


def test_oauthbearer_token_endpoint_down(desk, kafka_auth):
    r = desk.validate(oauth_conn(kafka_auth.bootstrap, f"http://127.0.0.1:{free_port()}/token"),
                      {"oauth_client_secret": Secret("x-secret")})
    assert r.error.code == "connect_refused" and r.error.step == "token" and "token endpoint" in r.error.hint


def test_oauthbearer_token_endpoint_must_be_https(desk, kafka_auth):
    r = desk.validate(oauth_conn(kafka_auth.bootstrap, "http://login.example.com/token"),
                      {"oauth_client_secret": Secret("x-secret")})
    assert r.error.code == "bad_input" and "settings.oauth_token_endpoint" in r.error.message


def html_page(peer: Peer) -> None:
    while peer.readline(5) not in (None, ""):
        pass
    body = b"<html>Sign in</html>"
    peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    peer.hang()


@pytest.mark.parametrize(("handler", "code"), [(html_page, "protocol_error"), (scripted.hung, "timeout")])
def test_oauthbearer_hostile_token_endpoint(desk, kafka_auth, handler, code):
    with ScriptedServer(handler) as srv:
        t0 = time.monotonic()
        r = desk.validate(oauth_conn(kafka_auth.bootstrap, f"http://127.0.0.1:{srv.port}/token", timeout_s=3),
                          {"oauth_client_secret": Secret("x-secret")})
        elapsed = time.monotonic() - t0
    assert r.error.code == code and r.error.step == "token" and elapsed < 4
