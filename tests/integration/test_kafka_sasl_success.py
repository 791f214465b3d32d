"""Kafka sign-ins that succeed: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN and OAUTHBEARER, through our own SASL
step and then kafka-python's (metadata, topics, produce, read back), and the refusals a real listener gives.

The broker side is tansu behind the SASL *test front* of tests/servers/kafka_sasl_front.py (scramp's SCRAM
server with stored users, PLAIN checked directly, OAUTHBEARER tokens introspected at the real oidc-provider):
a test front, not a broker — this tansu build cannot keep a SCRAM user (DESIGN.md §5)."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from desktop.connectors import registry
from desktop.core.model import parse_document
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests.conftest import ROOT, Certs, kafka_document
from tests.servers.kafka_sasl_front import FrontedBroker, introspecting
from tests.servers.scripted import server_context

PASSWORD = "front-pw-4c1d8e"  # unique: searched for in transcripts and outputs
MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]


@pytest.fixture(scope="module")
def fronted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontedBroker]:
    broker = FrontedBroker(tmp_path_factory.mktemp("kafka-front"), {"alice": PASSWORD}).start()
    broker.create_topics("orders")
    yield broker
    broker.stop()


@pytest.fixture
def front(fronted: FrontedBroker) -> Iterator[Any]:
    """The front, with this test's events only."""
    assert fronted.front is not None
    fronted.front.events.clear()
    yield fronted.front


@pytest.fixture
def oauth_front(front: Any, oauth_server: Any) -> Iterator[Any]:
    """The front also offering OAUTHBEARER, checking tokens by introspection at the oidc-provider."""
    front.token_check = introspecting(f"http://127.0.0.1:{oauth_server.port}/token/introspection",
                                      oauth_server.client_id, oauth_server.client_secret)
    yield front
    front.token_check = None


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


def sasl_conn(bootstrap: str, mechanism: str, username: str = "alice", **kw: Any):  # type: ignore[no-untyped-def]
    return parse_document(kafka_document(bootstrap, protocol=kw.pop("protocol", "SASL_PLAINTEXT"),
                                         sasl_mechanism=mechanism, username=username, **kw), registry())[0]


def signed_in(events: list[str], who: str) -> list[str]:
    return [e for e in events if e.startswith(f"signed in {who}")]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_sign_in_then_metadata_and_topic(desk, fronted, front, mechanism):
    r = desk.validate(sasl_conn(fronted.bootstrap, mechanism), {"password": Secret(PASSWORD)})
    assert r.ok, r.error
    steps = {s.name: s for s in r.steps}
    assert steps["sasl"].detail.startswith(f"signed in as “alice” with {mechanism}")
    assert steps["metadata"].label == "Sign in and read the cluster metadata"
    if mechanism != "PLAIN":  # our SCRAM client checked scramp's server signature
        assert "the broker proved it knows the password" in steps["sasl"].detail
    assert steps["advertised"].ok and fronted.bootstrap in steps["advertised"].detail  # the front, not tansu
    assert steps["topic"].ok and "“orders”" in steps["topic"].detail
    # Our own step (SaslAuthenticate v1), then kafka-python's connections with the same values
    # (it negotiates v2, the flexible encoding, from tansu's ApiVersions).
    ours, *kafka_python = signed_in(front.events, f"{mechanism} alice")
    assert ours.endswith("(SaslAuthenticate v1)")
    assert kafka_python and all(e.endswith("(SaslAuthenticate v2)") for e in kafka_python)
    assert not [e for e in front.events if e.startswith(("refused", "closed"))]
    assert PASSWORD not in "\n".join(r.transcript)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_produce_and_read_back_signed_in(desk, fronted, front, mechanism):
    r = desk.produce(sasl_conn(fronted.bootstrap, mechanism), {"password": Secret(PASSWORD)})
    assert r.ok, r.error
    assert [s.name for s in r.steps][-2:] == ["produce", "read_back"] and r.info["latency_ms"] > 0
    assert len(signed_in(front.events, f"{mechanism} alice")) >= 3  # ours, admin, producer, consumer
    assert PASSWORD not in "\n".join(r.transcript)


def kafka_refusal(mechanism: str) -> str:
    """Apache Kafka's message for a failed sign-in (SCRAM's reason is hidden, PLAIN's is not)."""
    if mechanism == "PLAIN":
        return "Authentication failed: Invalid username or password"
    return f"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password_is_auth_failed_at_once(desk, fronted, front, mechanism):
    t0 = time.monotonic()
    r = desk.validate(sasl_conn(fronted.bootstrap, mechanism, timeout_s=8), {"password": Secret("not-" + PASSWORD)})
    elapsed = time.monotonic() - t0
    assert r.error.code == "auth_failed" and r.error.step == "sasl", r.error
    assert elapsed < 2  # Kafka's answer, not kafka-python's retries until the 8 s deadline
    assert kafka_refusal(mechanism) in r.error.message and "user exists" in r.error.hint
    assert "metadata" not in [s.name for s in r.steps]  # kafka-python was never started with it
    assert front.events == [f"SaslHandshake v1 {mechanism}", f"refused {mechanism}: {kafka_refusal(mechanism)}"]
    assert "not-" + PASSWORD not in "\n".join(r.transcript)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_unknown_user_is_auth_failed(desk, fronted, front, mechanism):
    t0 = time.monotonic()
    r = desk.validate(sasl_conn(fronted.bootstrap, mechanism, username="mallory"), {"password": Secret(PASSWORD)})
    assert r.error.code == "auth_failed" and r.error.step == "sasl", r.error
    assert time.monotonic() - t0 < 2
    assert not signed_in(front.events, "")


def test_mechanism_not_enabled_lists_the_enabled_ones(desk, fronted, front, oauth_server):
    """Apache Kafka's answer to a mechanism it does not enable: error 33 with its list, then close."""
    r = desk.validate(oauth_conn(fronted.bootstrap, oauth_server, oauth_scope="kafka"),
                      {"oauth_client_secret": Secret(oauth_server.client_secret)})
    assert r.error.code == "auth_method_unsupported" and r.error.step == "sasl", r.error
    assert "does not offer OAUTHBEARER; it offers PLAIN, SCRAM-SHA-256, SCRAM-SHA-512" in r.error.message
    assert front.events == ["SaslHandshake v1 OAUTHBEARER"]


def run_cli(tmp_path, app_home, bootstrap: str, mechanism: str, password: str,  # type: ignore[no-untyped-def]
            command: str = "validate") -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "kafka.json"
    doc = kafka_document(bootstrap, protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism, username="alice")
    doc["secrets"] = {"password": {"env": "KAFKA_FRONT_PW"}}
    spec.write_text(json.dumps(doc))
    return subprocess.run([sys.executable, "-m", "desktop", command, "--spec", str(spec), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "CONNECTOR_DESK_HOME": str(app_home), "KAFKA_FRONT_PW": password})


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_cli_validate_spec_signs_in(tmp_path, app_home, fronted, front, mechanism):
    proc = run_cli(tmp_path, app_home, fronted.bootstrap, mechanism, PASSWORD)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] and {s["name"]: s["ok"] for s in out["steps"]}["sasl"]
    assert len(signed_in(front.events, f"{mechanism} alice")) >= 2
    assert PASSWORD not in proc.stdout + proc.stderr


def test_cli_produce_spec_signs_in(tmp_path, app_home, fronted, front):
    proc = run_cli(tmp_path, app_home, fronted.bootstrap, "SCRAM-SHA-512", PASSWORD, "produce")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [s["name"] for s in json.loads(proc.stdout)["steps"]][-2:] == ["produce", "read_back"]


def test_cli_validate_spec_wrong_password(tmp_path, app_home, fronted, front):
    t0 = time.monotonic()
    proc = run_cli(tmp_path, app_home, fronted.bootstrap, "SCRAM-SHA-256", "not-" + PASSWORD)
    assert time.monotonic() - t0 < 6  # interpreter start-up included; the deadline is 8 s
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["error"]["code"] == "auth_failed" and out["error"]["step"] == "sasl"
    assert PASSWORD not in proc.stdout + proc.stderr


# -- OAUTHBEARER: a token from the real oidc-provider, checked by introspection -------------------
def oauth_conn(bootstrap: str, oauth_server: Any, **kw: Any):  # type: ignore[no-untyped-def]
    return parse_document(kafka_document(bootstrap, protocol="SASL_PLAINTEXT", sasl_mechanism="OAUTHBEARER",
                                         oauth_token_endpoint=oauth_server.token_endpoint,
                                         oauth_client_id=oauth_server.client_id, **kw), registry())[0]


def test_oauthbearer_token_is_handed_to_kafka_python(desk, fronted, oauth_front, oauth_server):
    r = desk.produce(oauth_conn(fronted.bootstrap, oauth_server, oauth_scope="kafka"),
                     {"oauth_client_secret": Secret(oauth_server.client_secret)})
    assert r.ok, r.error
    steps = {s.name: s for s in r.steps}
    assert steps["token"].ok and steps["sasl"].detail == "signed in with an OAuth token (OAUTHBEARER)"
    assert [s.name for s in r.steps][-2:] == ["produce", "read_back"]
    ours, *kafka_python = signed_in(oauth_front.events, "OAUTHBEARER")
    assert ours.endswith("(SaslAuthenticate v1)") and len(kafka_python) >= 2  # admin, producer, consumer
    text = "\n".join(r.transcript)
    assert oauth_server.client_secret not in text and "Bearer " not in text


def test_oauthbearer_token_without_the_scope_is_refused(desk, fronted, oauth_front, oauth_server):
    """The provider issues a token, the listener does not accept it: RFC 7628's error challenge, then 58."""
    t0 = time.monotonic()
    r = desk.validate(oauth_conn(fronted.bootstrap, oauth_server),
                      {"oauth_client_secret": Secret(oauth_server.client_secret)})
    assert r.error.code == "auth_failed" and r.error.step == "sasl", r.error
    assert "refused the OAuth token (insufficient_scope)" in r.error.message
    assert time.monotonic() - t0 < 3
    assert oauth_front.events[-1] == 'refused OAUTHBEARER: {"status": "insufficient_scope"}'


# -- SASL_SSL: the same front behind TLS -------------------------------------------------------------
def test_scram_over_tls(desk, tmp_path_factory, certs: Certs):
    broker = FrontedBroker(tmp_path_factory.mktemp("kafka-front-tls"), {"alice": PASSWORD},
                           tls=server_context(str(certs.good.cert), str(certs.good.key))).start()
    try:
        broker.create_topics("orders", ca_file=str(certs.ca.ca_file))
        r = desk.produce(sasl_conn(broker.bootstrap, "SCRAM-SHA-512", protocol="SASL_SSL",
                                   ca_file=str(certs.ca.ca_file)), {"password": Secret(PASSWORD)})
        assert r.ok, r.error
        assert r.info["tls"] and len(signed_in(broker.front.events, "SCRAM-SHA-512 alice")) >= 3
    finally:
        broker.stop()


# -- the front itself: SaslHandshake v0 (bare tokens), and nothing passes before sign-in ---------------
def _request(sock: socket.socket, api_key: int, version: int, body: bytes) -> bytes | None:
    header = struct.pack(">hhi", api_key, version, 7) + struct.pack(">h", 4) + b"test"
    sock.sendall(struct.pack(">i", len(header + body)) + header + body)
    return _reply(sock)


def _reply(sock: socket.socket) -> bytes | None:
    head = sock.recv(4, socket.MSG_WAITALL)
    if len(head) < 4:
        return None  # closed
    return sock.recv(struct.unpack(">i", head)[0], socket.MSG_WAITALL)


def test_front_speaks_handshake_v0_and_closes_before_sign_in(fronted, front):
    """The test front itself: a request other than the sign-in is not passed before it (the
    connection is closed, as Kafka does), and SaslHandshake v0's bare tokens work."""
    with socket.create_connection(("127.0.0.1", front.port), timeout=5) as s:
        assert _request(s, 3, 0, struct.pack(">i", 0)) is None  # Metadata before sign-in: closed
    with socket.create_connection(("127.0.0.1", front.port), timeout=5) as s:
        reply = _request(s, 17, 0, struct.pack(">h", 5) + b"PLAIN")
        assert reply is not None and reply[4:6] == b"\0\0" and b"SCRAM-SHA-512" in reply
        token = b"\0alice\0" + PASSWORD.encode()
        s.sendall(struct.pack(">i", len(token)) + token)
        assert _reply(s) == b""
        # Signed in: the next request reaches tansu (Metadata v0, every topic).
        assert b"orders" in (_request(s, 3, 0, struct.pack(">i", 0)) or b"")
    assert front.events == ["closed: request 3 v0 before sign-in", "SaslHandshake v0 PLAIN",
                            "signed in PLAIN alice (raw tokens)"]
