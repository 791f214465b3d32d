"""Kafka's declarations and pure logic, without a cluster."""

from __future__ import annotations

import pytest

from desktop.connectors.kafka import CONNECTOR as KAFKA
from desktop.connectors.kafka import cluster_facts, record_listing
from desktop.connectors.kafka.session import parse_servers
from desktop.core.errors import FieldError


def test_bootstrap_servers_are_host_port_pairs():
    assert parse_servers("a:9092, [::1]:9093") == [("a", 9092), ("::1", 9093)]
    assert parse_servers(["b:1"]) == [("b", 1)]
    for bad in ("a", "a:0", "a:65536", "a:²", ":9092", ""):
        with pytest.raises(FieldError):
            parse_servers(bad)


def test_field_problems_name_the_bad_server():
    assert KAFKA.field_problems({"bootstrap_servers": "a:9092"}) == {}
    assert "“nope” is not host:port" in KAFKA.field_problems({"bootstrap_servers": "a:1, nope"})["bootstrap_servers"]


def test_server_label_and_warnings():
    assert KAFKA.server_label({"bootstrap_servers": "a:1, b:2", "topic": "orders"}) == "a:1 (+1) · orders"
    assert KAFKA.server_label({}) == "? · ?"
    assert KAFKA.warnings({"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN"}) == []
    assert "the password" in KAFKA.warnings({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"})[0]


def test_secrets_follow_the_mechanism():
    scram = {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256"}
    oauth = {"security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER"}
    assert [s.name for s in KAFKA.secrets_needed(scram)] == ["password"]
    assert [s.name for s in KAFKA.secrets_needed(oauth)] == ["oauth_client_secret"]
    assert KAFKA.secrets_needed({"security_protocol": "PLAINTEXT"}) == []


def test_facts_and_the_dead_letter_listing():
    assert cluster_facts({"cluster": {"id": "c1", "brokers": ["a:1"]}, "latency_ms": 12.4}) == [
        ("Cluster", "c1: brokers a:1"), ("Produce → read back", "12 ms")]
    record = {"partition": 0, "offset": 5, "timestamp": "2026-01-01T00:00:00+00:00", "key": None,
              "headers": {"x": "1"}, "value": "boom"}
    listing = record_listing({"records": [record]})
    assert listing.columns == ("Time", "Key", "Headers", "Value")
    from desktop.core.describe import local_time
    assert listing.rows[0].cells == (local_time("2026-01-01T00:00:00+00:00", seconds=True), "", "x=1", "boom")
    assert "T" not in listing.rows[0].cells[0]  # shown like every other time: local, no ISO "T"
    assert "partition 0, offset 5" in listing.rows[0].tooltip and listing.title == "1 newest dead-letter record"
    assert record_listing({}).note == "The dead-letter topic is empty."


def test_wording_checks_name_only_what_the_protocol_does() -> None:
    k = KAFKA  # the wizard's words follow the security protocol
    words = {p: k.test_wording({"security_protocol": p}) for p in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")}
    assert words["PLAINTEXT"].checks == "Connector Desk reaches each bootstrap server and checks the topic"
    assert words["SSL"].checks == "Connector Desk reaches each bootstrap server, negotiates TLS and checks the topic"
    assert "signs in (without encryption)" in words["SASL_PLAINTEXT"].checks
    assert "TLS" not in words["SASL_PLAINTEXT"].checks
    assert words["SASL_SSL"].checks == ("Connector Desk reaches each bootstrap server, negotiates TLS, signs in and "
                                        "checks the topic")
    assert [words[p].auth_title for p in words] == ["Topic", "Topic", "Sign-in and topic", "Sign-in and topic"]
    assert "certificate" in words["SSL"].auth_text and "certificate" not in words["PLAINTEXT"].auth_text


def test_topic_names_follow_kafkas_rule_in_documents_and_before_any_network():
    from desktop.connectors.kafka import CONNECTOR, topic_problem
    from desktop.core.errors import FieldError
    from desktop.core.fields import check_settings

    for good in ("orders", "orders.dlq", "a", "A-b_c.9", "x" * 249, "..."):
        assert topic_problem(good) is None, good
    for bad in ("ord ers!", ".", "..", "x" * 250, "café", "a/b", "a:b"):
        assert topic_problem(bad), bad
    raw = {**CONNECTOR.default_settings(), "bootstrap_servers": "b:9092", "topic": "ord ers!",
           "dead_letter_topic": "."}
    _settings, problems = check_settings(CONNECTOR.fields, raw)
    by_field = {p.field: p.problem for p in problems}
    assert "is not a valid topic name" in by_field["settings.topic"]
    assert "Kafka refuses" in by_field["settings.dead_letter_topic"]
    assert all(isinstance(p, FieldError) for p in problems)
