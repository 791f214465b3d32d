"""The dead-letter topic as failures (headers decoded: Spring Kafka and Kafka Connect), and replay:
a dead letter produced back to its original topic without the dead-letter headers, once."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from desktop.connectors.kafka.session import KafkaChecks, _Capture, capture_kafka_logs, read_newest
from desktop.core import errors
from desktop.core.blocking import bounded
from desktop.core.contract import counted
from desktop.core.errors import ConnectorError, FieldError, InputErrors
from desktop.core.failures import (
    Failure,
    ReplayLog,
    dead_letter,
    is_dead_letter_header,
    parse_dead_letter_id,
    replay_key,
)
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

log = logging.getLogger("desktop.replay")
MAX_LIMIT = 10_000
REPLAYED_FROM = "connector-desk-replayed-from"
REPLAYED_AT = "connector-desk-replayed-at"


def _dlt(conn: Connector) -> str:
    topic = str(conn.settings.get("dead_letter_topic") or "")
    if not topic:
        raise FieldError("settings.dead_letter_topic", "is not set, so there are no dead letters to show")
    return topic


class DeadLetters(KafkaChecks):
    def _open(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, logs: _Capture,
              topic: str) -> dict[str, Any]:
        admin, cfg = self._admin(conn, secrets, run, logs)
        try:
            with run.step("dead_letter_topic", "The dead-letter topic exists") as st:
                self._require(self._topics(admin, run, logs), topic, "dead-letter topic")
                st.detail = f"“{topic}”"
        finally:
            admin.close()
        return {k: v for k, v in cfg.items() if k != "client_id"}

    def _consumer(self, cfg: dict[str, Any], run: Run, logs: _Capture) -> Any:
        from kafka import KafkaConsumer
        return bounded(run, "connecting the consumer", logs.bind(lambda: KafkaConsumer(
            **cfg, client_id=f"{logs.client_id}-consumer", enable_auto_commit=False,
            fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024)))

    def failures(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, limit: int) -> None:
        """The newest ``limit`` dead letters → ``run.info["failures"]`` (nothing is committed)."""

        topic, limit = _dlt(conn), max(1, min(limit, MAX_LIMIT))
        with capture_kafka_logs() as logs:
            cfg = self._open(conn, secrets, run, logs, topic)
            with run.step("dead_letters", f"Read the newest {limit} dead letters of “{topic}”") as st:
                consumer = self._consumer(cfg, run, logs)
                found: list[Failure] = []
                try:
                    read_newest(run, logs, consumer, topic, limit, lambda r: found.append(dead_letter(
                        r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, list(r.headers or []))),
                        "reading dead letters")  # each decoded at once: a large value is not kept
                finally:
                    consumer.close()
                found.sort(key=lambda f: f.time or "", reverse=True)
                run.info["failures"] = [f.to_dict() for f in found[:limit]]
                shown = counted(len(run.info["failures"]), ("dead letter", "dead letters"))
                st.detail = shown + "; nothing was committed"

    def _fetch(self, consumer: Any, ids: Sequence[tuple[str, int, int]], run: Run, logs: _Capture) -> list[Any]:
        from kafka import TopicPartition

        out = []
        for topic, partition, offset in ids:
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, offset)
            record = None
            while record is None:
                run.deadline.check(f"reading {topic}:{partition}:{offset}")
                batch = bounded(run, "reading the dead letter", logs.bind(lambda: consumer.poll(
                    timeout_ms=300, max_records=1)))
                for r in batch.get(tp, []):
                    if r.offset == offset:
                        record = r
                    elif r.offset > offset:
                        raise FieldError("ids", f"{topic}:{partition}:{offset} is no longer in the topic")
                if record is None:
                    ends = bounded(run, "reading offsets", logs.bind(partial(consumer.end_offsets, [tp])))
                    end = ends[tp]
                    if offset >= end:
                        raise FieldError("ids", f"{topic}:{partition}:{offset} does not exist (the partition "
                                                f"ends at offset {end})")
                    if consumer.position(tp) > offset:  # a transaction marker or a compacted record
                        raise FieldError("ids", f"{topic}:{partition}:{offset} holds no record")
            out.append(record)
        return out

    def replay(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, ids: Sequence[str],
               replays: ReplayLog, force: bool = False) -> None:
        """Produce each dead letter back to its original topic; ``run.info["replayed"]``."""
        from kafka import KafkaProducer

        topic = _dlt(conn)
        parsed = []
        for text in ids:
            p = parse_dead_letter_id(text)
            if p is None or p[0] != topic:
                raise InputErrors([FieldError("ids", f"“{text}” is not a dead letter of “{topic}” "
                                                     f"(give {topic}:PARTITION:OFFSET, as `failures` shows)")])
            parsed.append(p)
        with capture_kafka_logs() as logs:
            cfg = self._open(conn, secrets, run, logs, topic)
            with run.step("fetch", f"Read the {counted(len(parsed), ('dead letter', 'dead letters'))}") as st:
                consumer = self._consumer(cfg, run, logs)
                try:
                    records = self._fetch(consumer, parsed, run, logs)
                finally:
                    consumer.close()
                st.detail = ", ".join(f"{r.partition}:{r.offset}" for r in records)
            with run.step("check", "Check that each names its original topic and was not replayed yet") as st:
                plans = [self._plan(conn, r, replays, force) for r in records]
                st.detail = ", ".join(f"→ {p['to_topic']}" for p in plans)
            with run.step("replay", "Produce them back to their original topics") as st:
                producer = bounded(run, "connecting the producer", logs.bind(lambda: KafkaProducer(
                    **cfg, client_id=f"{logs.client_id}-producer", max_request_size=64 * 1024 * 1024)))
                done = []
                try:
                    for plan in plans:
                        done.append(self._produce(conn, producer, plan, run, logs, replays))
                finally:
                    producer.close(timeout=1)
                run.info["replayed"] = done
                st.detail = ", ".join(f"{d['id']} → {d['to']}" for d in done)

    @staticmethod
    def _plan(conn: Connector, r: Any, replays: ReplayLog, force: bool) -> dict[str, Any]:
        headers = list(r.headers or [])
        failure = dead_letter(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, headers)
        to_topic = failure.original.get("topic")
        if not to_topic:
            raise ConnectorError(errors.BAD_INPUT, f"The dead letter {failure.id} does not name its original topic "
                                                   "(no kafka_dlt-original-topic or __connect.errors.topic "
                                                   "header), so it cannot be replayed.", "")
        key = replay_key(conn.name, failure)
        before = replays.seen(key)
        if before is not None and not force:
            raise ConnectorError(errors.ALREADY_REPLAYED,
                                 f"The original record of {failure.id} was replayed already, at {before.get('at')} "
                                 f"(to {before.get('to')}).", "Replay it again only on purpose: add --force.")
        kept = [(k, v) for k, v in headers if not is_dead_letter_header(k) and k not in (REPLAYED_FROM, REPLAYED_AT)]
        return {"failure": failure, "key": key, "to_topic": to_topic, "record": r, "headers": kept}

    @staticmethod
    def _produce(conn: Connector, producer: Any, plan: dict[str, Any], run: Run, logs: _Capture,
                 replays: ReplayLog) -> dict[str, Any]:
        failure, r = plan["failure"], plan["record"]
        at = datetime.now(UTC).isoformat(timespec="seconds")
        headers = [*plan["headers"], (REPLAYED_FROM, failure.id.encode()), (REPLAYED_AT, at.encode())]
        meta = bounded(run, "producing", logs.bind(lambda: producer.send(
            plan["to_topic"], key=r.key, value=r.value, headers=headers).get(
                timeout=max(0.5, run.deadline.remaining()))))
        to = f"{meta.topic}:{meta.partition}:{meta.offset}"
        replays.remember(plan["key"], {"at": at, "from": failure.id, "to": to, "connector": conn.name})
        log.info("replayed dead letter %s of %s to %s", failure.id, conn.name, to)
        return {"id": failure.id, "to": to, "at": at}
