"""Decoding failed sends without a server: dead-letter headers (both styles, hostile), ids, the
replay log, SendGrid entries."""

from __future__ import annotations

import os
import stat
import struct

from desktop.core.failures import (
    ReplayLog,
    dead_letter,
    decode_dead_letter_headers,
    parse_dead_letter_id,
    suppression,
)


def test_spring_numbers_are_big_endian_binary():
    out = decode_dead_letter_headers([("kafka_dlt-original-partition", struct.pack(">i", 258)),
                                      ("kafka_dlt-original-offset", struct.pack(">q", 2**40 + 1)),
                                      ("kafka_dlt-original-timestamp", struct.pack(">q", 0))])
    assert out["original"] == {"partition": 258, "offset": 2**40 + 1, "timestamp": "1970-01-01T00:00:00.000+00:00"}
    assert out["style"] == "spring" and out["problems"] == []


def test_hostile_headers_are_named_not_fatal():
    out = decode_dead_letter_headers([("kafka_dlt-original-offset", b"\x01"), ("kafka_dlt-original-partition", None),
                                      ("__connect.errors.offset", b"12; DROP"),
                                      ("__connect.errors.partition", "٣".encode()),
                                      ("kafka_dlt-original-timestamp", struct.pack(">q", 2**62)),
                                      ("kafka_dlt-exception-message", b"\xff" * 5000)])
    assert out["problems"] == ["kafka_dlt-original-offset: 1 bytes, expected 8",
                               "kafka_dlt-original-partition: 0 bytes, expected 4",
                               "__connect.errors.offset: not a number", "__connect.errors.partition: not a number"]
    assert out["original"] == {"timestamp": None}  # a timestamp out of range is unknown, not an error
    assert len(out["exception"]["message"]) <= 1001


def test_a_record_without_headers_or_value():
    f = dead_letter("t.dlq", 0, 3, None, None, None, [])
    assert f.id == "t.dlq:0:3" and f.reason == "no exception recorded" and f.key is None
    assert f.detail["value_preview"] is None and f.to_dict()["key"] is None and "recipient" not in f.to_dict()


def test_dead_letter_ids():
    assert parse_dead_letter_id("orders.dlq:2:17") == ("orders.dlq", 2, 17)
    assert parse_dead_letter_id("with:colon:1:2") == ("with:colon", 1, 2)
    for bad in ("orders.dlq", "orders.dlq:x:1", ":1:2", "t:1:" + "9" * 30):
        assert parse_dead_letter_id(bad) is None


def test_replay_log_is_private(tmp_path):
    log = ReplayLog(tmp_path)
    assert log.seen("k") is None
    log.remember("k", {"at": "now", "to": "t:0:1"})
    assert log.seen("k") == {"at": "now", "to": "t:0:1"}
    assert stat.S_IMODE(os.stat(tmp_path / "replays.json").st_mode) == 0o600
    (tmp_path / "replays.json").write_text("not json")
    assert log.seen("k") is None  # a damaged file refuses nothing it cannot read


def test_sendgrid_entries():
    f = suppression("blocks", {"created": 1764000000, "email": "a@b.example", "reason": "554 5.7.1 spam",
                               "status": "5.7.1"})
    assert (f.source, f.status, f.recipient, f.time) == ("sendgrid_block", "5.7.1", "a@b.example",
                                                         "2025-11-24T16:00:00.000+00:00")
    odd = suppression("unsubscribes", {"created": "yesterday", "email": None})
    assert odd.time is None and odd.recipient == "" and odd.reason == "unsubscribed from all mail"
