"""Kafka against a real Kafka-compatible broker (tansu), over TLS through stunnel, and hostile brokers."""

from __future__ import annotations

import json
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
from tests.conftest import ROOT, kafka_document
from tests.servers import scripted
from tests.servers.kafka import Broker
from tests.servers.scripted import ScriptedServer, server_context


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


def conn(bootstrap: str, **kw: object):  # type: ignore[no-untyped-def]
    return parse_document(kafka_document(bootstrap, **kw), registry())[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_plaintext_topic_and_dead_letter_ok(desk, kafka_plain):
    r = desk.validate(conn(kafka_plain.bootstrap, dead_letter_topic="orders.dlq"), {})
    assert r.ok, r.error
    names = [s.name for s in r.steps]
    assert names[0] == "settings" and names[-3:] == ["advertised", "topic", "dead_letter_topic"]
    assert r.info["cluster"]["brokers"] == [kafka_plain.bootstrap]


def test_plaintext_steps_promise_no_sign_in_and_no_certificate(desk, kafka_plain):
    # PLAINTEXT has neither: the steps the administrator watches must not claim them.
    r = desk.validate(conn(kafka_plain.bootstrap), {})
    assert r.ok, r.error
    labels = {s.name: s.label for s in r.steps}
    assert labels["settings"] == "Check the settings" and labels["metadata"] == "Read the cluster metadata"
    assert not any("sign in" in label.lower() or "certificate" in label.lower() for label in labels.values())


def test_missing_topic_names_the_close_one(desk, kafka_plain):
    r = desk.validate(conn(kafka_plain.bootstrap, topic="invoices"), {})
    assert r.error.code == "topic_not_found" and "“Invoices”" in r.error.hint and "case-sensitive" in r.error.hint


def test_missing_dead_letter_topic(desk, kafka_plain):
    r = desk.validate(conn(kafka_plain.bootstrap, dead_letter_topic="orders.deadletter"), {})
    assert r.error.code == "topic_not_found" and r.error.step == "dead_letter_topic"


def test_consumer_group_is_described(desk, kafka_plain):
    r = desk.validate(conn(kafka_plain.bootstrap, consumer_group="workflow-orders"), {})
    assert r.ok, r.error
    assert "workflow-orders" in r.steps[-1].detail


def test_refused_port_fails_fast(desk):
    t0 = time.monotonic()
    r = desk.validate(conn(f"127.0.0.1:{closed_port()}"), {})
    assert r.error.code == "connect_refused" and time.monotonic() - t0 < 1


def test_one_dead_bootstrap_server_of_two_is_tolerated(desk, kafka_plain):
    c = conn(kafka_plain.bootstrap)
    c.settings["bootstrap_servers"] = [f"127.0.0.1:{closed_port()}", kafka_plain.bootstrap]
    r = desk.validate(c, {})
    assert r.ok, r.error
    assert "unreachable" in r.steps[1].detail


def test_hung_broker_times_out_within_the_deadline(desk):
    with ScriptedServer(scripted.hung) as srv:
        t0 = time.monotonic()
        r = desk.validate(conn(f"127.0.0.1:{srv.port}", timeout_s=3), {})
        elapsed = time.monotonic() - t0
    assert r.error.code == "timeout" and elapsed < 4


def test_garbage_broker(desk):
    with ScriptedServer(scripted.silent_then_garbage) as srv:
        r = desk.validate(conn(f"127.0.0.1:{srv.port}", timeout_s=3), {})
    assert r.error.code in ("protocol_error", "timeout")
    assert r.error.step == "metadata"


def test_advertised_listener_unreachable_gets_its_hint(desk, tmp_path):
    broker = Broker(tmp_path / "adv", advertise_unreachable=True).start()
    try:
        r = desk.validate(conn(broker.bootstrap), {})
    finally:
        broker.stop()
    assert r.error.code == "connect_refused" and r.error.step == "advertised"
    assert "advertised.listeners" in r.error.hint and "advertises" in r.error.message


def test_tls_through_stunnel(desk, kafka_tls, certs):
    r = desk.validate(conn(kafka_tls.bootstrap, protocol="SSL", ca_file=str(certs.ca.ca_file)), {})
    assert r.ok, r.error
    assert r.info["tls"]["issuer"] == "Connector Desk Test CA"


def test_tls_without_the_ca_is_untrusted(desk, kafka_tls):
    r = desk.validate(conn(kafka_tls.bootstrap, protocol="SSL"), {})
    assert r.error.code == "cert_untrusted" and r.error.step.startswith("reach:")


@pytest.mark.parametrize(("pair", "code"), [("expired", "cert_expired"), ("wrong_name", "cert_hostname_mismatch"),
                                            ("self_signed", "cert_untrusted")])
def test_wrong_certificates(desk, certs, pair, code):
    cp = getattr(certs, pair)
    with ScriptedServer(scripted.hung, tls=server_context(str(cp.cert), str(cp.key))) as srv:
        r = desk.validate(conn(f"localhost:{srv.port}", protocol="SSL", ca_file=str(certs.ca.ca_file)), {})
    assert r.error.code == code


def test_plaintext_client_against_tls_port_is_explained(desk, kafka_tls):
    r = desk.validate(conn(kafka_tls.bootstrap, timeout_s=3), {})
    assert r.error.code in ("timeout", "protocol_error") and r.error.step == "metadata"
    assert "security protocol" in r.error.hint


def test_client_key_that_does_not_match_is_reported_before_connecting(desk, certs, kafka_tls):
    c = conn(kafka_tls.bootstrap, protocol="SSL", ca_file=str(certs.ca.ca_file),
             client_cert_file=str(certs.good.cert), client_key_file=str(certs.expired.key))
    r = desk.validate(c, {})
    assert r.error.code == "bad_input" and "client_key_file" in r.error.message and r.error.step == "settings"
    assert len(r.steps) == 1


def test_malformed_client_certificate(desk, tmp_path, certs, kafka_tls):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    c = conn(kafka_tls.bootstrap, protocol="SSL", client_cert_file=str(bad), client_key_file=str(bad))
    r = desk.validate(c, {})
    assert r.error.code == "bad_input" and "client_cert_file" in r.error.message


def test_pkcs12_client_certificate_is_converted(desk, tmp_path, certs, kafka_tls):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509 import load_pem_x509_certificate
    key = serialization.load_pem_private_key(certs.good.key.read_bytes(), None)
    cert = load_pem_x509_certificate(certs.good.cert.read_bytes())
    p12 = tmp_path / "client.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"client", key, cert, None, serialization.BestAvailableEncryption(b"p12-pass")))
    c = conn(kafka_tls.bootstrap, protocol="SSL", ca_file=str(certs.ca.ca_file), client_cert_file=str(p12))
    assert desk.validate(c, {"client_key_password": Secret("p12-pass")}).ok
    r = desk.validate(c, {"client_key_password": Secret("wrong")})
    assert r.error.code == "bad_input" and "PKCS#12" in r.error.message


def test_produce_and_read_back(desk, kafka_plain):
    r = desk.produce(conn(kafka_plain.bootstrap), {})
    assert r.ok, r.error
    assert r.info["latency_ms"] > 0 and [s.name for s in r.steps][-2:] == ["produce", "read_back"]


def test_dead_letter_peek(desk, kafka_plain):
    r = desk.peek(conn(kafka_plain.bootstrap, dead_letter_topic="orders.dlq"), {}, 2)
    assert r.ok, r.error
    recs = r.info["records"]
    assert len(recs) == 2 and recs[0]["key"] == "order-17" and recs[0]["headers"] == {"reason": "schema mismatch"}
    assert recs[0]["value"].startswith("failed record")


def test_cli_validate_spec(tmp_path, app_home, kafka_plain):
    env = {**os.environ, "CONNECTOR_DESK_HOME": str(app_home)}

    def run(**kw: object) -> tuple[int, dict]:  # type: ignore[type-arg]
        spec = tmp_path / "k.json"
        spec.write_text(json.dumps(kafka_document(kafka_plain.bootstrap, **kw)))
        r = subprocess.run([sys.executable, "-m", "desktop", "validate", "--spec", str(spec), "--json"],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
        return r.returncode, json.loads(r.stdout)
    assert run()[0] == 0
    rc, out = run(topic="nope")
    assert rc == 1 and out["error"]["code"] == "topic_not_found"
    rc, out = run(dead_letter_topic="nope.dlq")
    assert rc == 1 and out["error"]["code"] == "topic_not_found"
    spec = tmp_path / "refused.json"
    spec.write_text(json.dumps(kafka_document(f"127.0.0.1:{closed_port()}")))
    r = subprocess.run([sys.executable, "-m", "desktop", "validate", "--spec", str(spec), "--json"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["code"] == "connect_refused"


def test_cli_produce_and_peek(tmp_path, app_home, kafka_plain):
    env = {**os.environ, "CONNECTOR_DESK_HOME": str(app_home)}
    spec = tmp_path / "k.json"
    spec.write_text(json.dumps(kafka_document(kafka_plain.bootstrap, dead_letter_topic="orders.dlq")))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "desktop", *args, "--spec", str(spec)], capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=60)
    r = cli("produce")
    assert r.returncode == 0 and "Produce → read back" in r.stdout, r.stdout + r.stderr
    r = cli("peek", "--count", "2")
    assert r.returncode == 0 and "key=order-17" in r.stdout and "reason=schema mismatch" in r.stdout


def test_an_invalid_topic_name_is_refused_before_any_network(desk):
    """A saved or hand-made connector whose topic Kafka cannot have: a field error naming “Topic”
    at the settings step, never a live look-up for “There is no topic named …”."""
    c = conn(f"127.0.0.1:{closed_port()}")
    c.settings["topic"] = "ord ers!"
    r = desk.validate(c, {})
    assert r.error.code == "bad_input" and r.error.step == "settings" and r.error.field == "settings.topic"
    assert r.error.message.startswith("Topic: “ord ers!” is not a valid topic name")
    assert [s.name for s in r.steps] == ["settings"]
    c.settings.update(topic="orders", dead_letter_topic="x" * 250)
    r = desk.validate(c, {})
    assert r.error.field == "settings.dead_letter_topic"
    assert r.error.message.startswith("Dead-letter topic: is too long (250 characters")
