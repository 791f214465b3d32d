"""Kafka dead letters on a real broker (tansu): records written with Spring Kafka's exact binary
header layout and with Kafka Connect's text headers, decoded; replay once; hostile records."""

from __future__ import annotations

import json
import os
import stat
import struct
import uuid
from typing import Any

import pytest

from desktop.connectors import registry
from desktop.core import health
from desktop.core.service import Desk
from tests.conftest import kafka_document
from tests.integration.test_cli import cli

ORIGINAL_TS = 1_764_000_000_123  # 2025-11-24T16:00:00.123Z


def spring_headers(topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    """What Spring Kafka's DeadLetterPublishingRecoverer writes (int32 / int64 big-endian)."""
    return [("kafka_dlt-original-topic", topic.encode()),
            ("kafka_dlt-original-partition", struct.pack(">i", partition)),
            ("kafka_dlt-original-offset", struct.pack(">q", offset)),
            ("kafka_dlt-original-timestamp", struct.pack(">q", ORIGINAL_TS)),
            ("kafka_dlt-original-timestamp-type", b"CreateTime"),
            ("kafka_dlt-original-consumer-group", b"billing-workers"),
            ("kafka_dlt-exception-fqcn", b"org.springframework.kafka.listener.ListenerExecutionFailedException"),
            ("kafka_dlt-exception-cause-fqcn", b"java.lang.IllegalStateException"),
            ("kafka_dlt-exception-message", "Listener failed; total €12.50 is negative".encode()),
            ("kafka_dlt-exception-stacktrace", b"java.lang.IllegalStateException: ...\n\tat ..."),
            ("trace-id", b"abc123")]


def connect_headers(topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    return [("__connect.errors.topic", topic.encode()), ("__connect.errors.partition", str(partition).encode()),
            ("__connect.errors.offset", str(offset).encode()),
            ("__connect.errors.connector.name", b"jdbc-sink"), ("__connect.errors.task.id", b"0"),
            ("__connect.errors.stage", b"VALUE_CONVERTER"),
            ("__connect.errors.class.name", b"org.apache.kafka.connect.json.JsonConverter"),
            ("__connect.errors.exception.class.name", b"org.apache.kafka.connect.errors.DataException"),
            ("__connect.errors.exception.message", b"Converting byte[] to Kafka Connect data failed")]


@pytest.fixture(scope="module")
def dlq(kafka_plain: Any) -> Any:
    """A fresh pair of topics (orders-N, orders-N.dlq) holding both styles and hostile records."""
    from kafka import KafkaProducer

    base = f"orders-{uuid.uuid4().hex[:6]}"
    kafka_plain.create_topics(base, f"{base}.dlq")
    p = KafkaProducer(**kafka_plain.client_config(), max_request_size=12 * 1024 * 1024)
    sends = [
        (b"order-1", b'{"order": 1, "total": -12.5}', spring_headers(base, 0, 41)),
        (b"order-2", b'{"order": 2 broken json', connect_headers(base, 0, 42)),
        (b"order-3", b"truncated", [("kafka_dlt-original-topic", base.encode()),
                                    ("kafka_dlt-original-partition", b"\x00\x00"),  # 2 of 4 bytes
                                    ("kafka_dlt-original-offset", b"\x00\x00\x00\x00\x00\x00\x00"),
                                    ("kafka_dlt-exception-fqcn", b"java.lang.RuntimeException")]),
        (b"order-4", b"x" * (10 * 1024 * 1024), spring_headers(base, 0, 44)),
        (b"order-5", b"no dead-letter headers at all", []),
    ]
    for key, value, headers in sends:
        p.send(f"{base}.dlq", key=key, value=value, headers=headers).get(timeout=20)
    p.close()
    return kafka_plain, base


def _desk(app_home: Any, broker: Any, base: str) -> Desk:
    desk = Desk(registry(), app_home)
    desk.import_document(kafka_document(broker.bootstrap, name="orders", topic=base, dead_letter_topic=f"{base}.dlq",
                                        timeout_s=20), {})
    return desk


def test_both_header_styles_decoded_with_original_coordinates(app_home, dlq):
    broker, base = dlq
    result = health.failures(_desk(app_home, broker, base), "orders")
    assert result.ok, result.error
    by_key = {f["key"]: f for f in result.info["failures"]}
    spring = by_key["order-1"]
    assert spring["source"] == "kafka_dead_letter" and spring["id"] == f"{base}.dlq:0:0"
    assert spring["original"] == {"topic": base, "partition": 0, "offset": 41,
                                  "timestamp": "2025-11-24T16:00:00.123+00:00", "consumer_group": "billing-workers"}
    assert spring["reason"] == ("org.springframework.kafka.listener.ListenerExecutionFailedException: "
                                "Listener failed; total €12.50 is negative")
    assert spring["detail"]["exception"]["cause"] == "java.lang.IllegalStateException"
    assert spring["detail"]["value_preview"] == '{"order": 1, "total": -12.5}'
    assert spring["detail"]["headers"] == ["trace-id"]
    connect = by_key["order-2"]
    assert connect["original"] == {"topic": base, "partition": 0, "offset": 42, "connector": "jdbc-sink"}
    assert connect["reason"].startswith("org.apache.kafka.connect.errors.DataException: Converting byte[]")
    assert connect["detail"]["header_style"] == "connect"


def test_truncated_headers_and_a_10_mb_record_are_shown_safely(app_home, dlq):
    broker, base = dlq
    result = health.failures(_desk(app_home, broker, base), "orders")
    by_key = {f["key"]: f for f in result.info["failures"]}
    broken = by_key["order-3"]
    assert broken["original"] == {"topic": base}
    assert broken["detail"]["problems"] == ["kafka_dlt-original-partition: 2 bytes, expected 4",
                                            "kafka_dlt-original-offset: 7 bytes, expected 8"]
    big = by_key["order-4"]
    assert big["detail"]["value_bytes"] == 10 * 1024 * 1024
    assert big["detail"]["value_preview"] == "x" * 200 + "…"
    assert len(json.dumps(result.info["failures"])) < 20_000


def test_replay_produces_to_the_original_topic_once(app_home, dlq):
    from kafka import KafkaConsumer, TopicPartition

    broker, base = dlq
    desk = _desk(app_home, broker, base)
    result = health.replay(desk, "orders", [f"{base}.dlq:0:0"])
    assert result.ok, result.error
    (done,) = result.info["replayed"]
    topic, partition, offset = done["to"].rsplit(":", 2)
    assert topic == base
    c = KafkaConsumer(**broker.client_config(), enable_auto_commit=False)
    tp = TopicPartition(base, int(partition))
    c.assign([tp])
    c.seek(tp, int(offset))
    records = []
    while not records:
        records = c.poll(timeout_ms=2000).get(tp, [])
    c.close()
    r = records[0]
    names = [k for k, _ in r.headers]
    assert r.key == b"order-1" and r.value == b'{"order": 1, "total": -12.5}'
    assert not any(n.startswith("kafka_dlt-") for n in names)
    assert dict(r.headers)["connector-desk-replayed-from"] == f"{base}.dlq:0:0".encode()
    assert "trace-id" in names
    log = app_home / "replays.json"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    again = health.replay(desk, "orders", [f"{base}.dlq:0:0"])
    assert again.error is not None and again.error.code == "already_replayed" and "--force" in again.error.hint
    assert health.replay(desk, "orders", [f"{base}.dlq:0:0"], force=True).ok


def test_replay_refuses_a_record_without_original_topic_and_foreign_ids(app_home, dlq, kafka_plain):
    broker, base = dlq
    desk = _desk(app_home, broker, base)
    foreign = health.replay(desk, "orders", ["other-topic:0:0"])
    assert foreign.error is not None and foreign.error.code == "bad_input" and "ids" in foreign.error.message
    anonymous = health.replay(desk, "orders", [f"{base}.dlq:0:4"])
    assert anonymous.error is not None and "does not name its original topic" in anonymous.error.message
    assert not (app_home / "replays.json").exists()
    missing = health.replay(desk, "orders", [f"{base}.dlq:0:999"])
    assert missing.error is not None and missing.error.code == "bad_input" and "does not exist" in missing.error.message


def test_cli_failures_json_and_replay_asks_first(app_home, dlq):
    broker, base = dlq
    _desk(app_home, broker, base)
    r = cli("failures", "orders", "--json", "--limit", "2", home=app_home)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["connector"] == "orders" and len(out["failures"]) == 2
    assert {"id", "source", "time", "key", "status", "reason", "original"} <= set(out["failures"][0])
    r = cli("replay", "orders", f"{base}.dlq:0:1", home=app_home)  # no terminal, no --yes
    assert r.returncode == 2 and "--yes" in r.stderr
    r = cli("replay", "orders", f"{base}.dlq:0:1", "--yes", home=app_home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"replayed {base}.dlq:0:1 → {base}:" in r.stdout
    logged = "".join(p.read_text() for p in (app_home / "logs").glob("*.log*"))
    assert f"replayed dead letter {base}.dlq:0:1 of orders to {base}:" in logged


def test_a_transactional_dead_letter_topic_is_read_to_its_end(app_home, kafka_plain):
    """Spring Kafka often writes dead letters in transactions: the commit markers take offsets no
    record is returned for. Reading must stop at the end, not wait for records that never come."""
    import time

    from kafka import KafkaProducer

    base = f"tx-{uuid.uuid4().hex[:6]}"
    kafka_plain.create_topics(base, f"{base}.dlq")
    p = KafkaProducer(**kafka_plain.client_config(), transactional_id=f"dlt-{base}")
    p.init_transactions()
    for i in range(2):
        p.begin_transaction()
        p.send(f"{base}.dlq", key=f"k{i}".encode(), value=b"v", headers=spring_headers(base, 0, i))
        p.commit_transaction()
    p.close()
    desk = _desk(app_home, kafka_plain, base)
    t0 = time.monotonic()
    result = health.failures(desk, "orders")
    assert result.ok, result.error
    assert sorted(f["key"] for f in result.info["failures"]) == ["k0", "k1"]
    assert time.monotonic() - t0 < 10  # the deadline is 20 s: it did not wait for it
