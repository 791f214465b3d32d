"""Connector health benchmarks (issue #15), appended to bench/RESULTS.md:

1. validate --all of 200 saved connectors (190 against real Postfix, 10 against hung servers) versus
   the slowest single check among them (target: ≤ 1.5× the slowest single one).
2. failures of a Kafka dead-letter topic holding 10,000 records (Spring Kafka headers) on tansu,
   versus kafka-python reading the same records with no decoding.

Secrets live in an in-memory vault here (the keychain is not what is measured).
Run: PYTHONPATH=. .venv/bin/python bench/bench_health.py
"""

from __future__ import annotations

import platform
import struct
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop.connectors import registry  # noqa: E402
from desktop.core import health  # noqa: E402
from desktop.core.secret import Secret  # noqa: E402
from desktop.core.service import Desk  # noqa: E402
from desktop.core.vault import Vault  # noqa: E402
from tests.servers import scripted  # noqa: E402
from tests.servers.certs import TestCA  # noqa: E402
from tests.servers.kafka import Broker  # noqa: E402
from tests.servers.mailserver import MailServers, MailUser  # noqa: E402
from tests.servers.scripted import ScriptedServer  # noqa: E402

GOOD, HUNG, HUNG_DEADLINE = 190, 10, 3


class MemoryVault(Vault):
    def __init__(self) -> None:
        self.items: dict[str, Secret] = {}

    def get(self, key: str) -> Secret | None:
        return self.items.get(key)

    def set(self, key: str, value: Secret) -> None:
        self.items[key] = value

    def delete(self, key: str) -> None:
        self.items.pop(key, None)


def bench_validate_all(work: Path) -> list[str]:
    ca = TestCA(work / "ca")
    user = MailUser("bench@example.test", "bench-password-1")
    mail = MailServers(work / "mail", ca, [user])
    mail.start()
    hung = [ScriptedServer(scripted.hung) for _ in range(HUNG)]
    try:
        (work / "home").mkdir()
        desk = Desk(registry(), work / "home", MemoryVault())
        env = {"PW": user.password}
        for i in range(GOOD):
            desk.import_document({"name": f"mail-{i:03d}", "type": "smtp", "settings": {
                "host": "localhost", "port": mail.ports["submission"], "security": "starttls",
                "username": user.address, "from_address": user.address, "ca_file": str(ca.ca_file),
                "timeout_s": 10}, "secrets": {"password": {"env": "PW"}}}, env)
        for i, srv in enumerate(hung):
            desk.import_document({"name": f"hung-{i}", "type": "smtp", "settings": {
                "host": "127.0.0.1", "port": srv.port, "security": "none", "allow_plaintext": True,
                "username": user.address, "timeout_s": HUNG_DEADLINE}, "secrets": {"password": {"env": "PW"}}},
                env)
        singles = []
        for name in ["hung-0", "mail-000", "mail-100", "mail-189"]:
            t0 = time.perf_counter()
            desk.validate_saved(name)
            singles.append((time.perf_counter() - t0, name))
        slowest, which = max(singles)
        t0 = time.perf_counter()
        results, summary = health.validate_all(desk)
        wall = time.perf_counter() - t0
        arrivals = len(results)
    finally:
        for srv in hung:
            srv.stop()
        mail.stop()
    return ["### validate --all: 200 saved connectors (190 against Postfix, 10 hung, 3 s deadline)", "",
            f"- slowest single check: {slowest * 1000:.0f} ms ({which})",
            f"- validate --all (16 workers): {wall * 1000:.0f} ms; {summary.text()}; {arrivals} results",
            f"- ratio: **{wall / slowest:.2f}×** the slowest single check (target ≤ 1.5×)", ""]


def bench_dead_letters(work: Path, count: int = 10_000) -> list[str]:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    broker = Broker(work / "kafka").start()
    try:
        broker.create_topics("orders", "orders.dlq")
        p = KafkaProducer(**broker.client_config(), linger_ms=20)
        for i in range(count):
            p.send("orders.dlq", key=f"order-{i}".encode(), value=b'{"order": %d, "total": -1}' % i, headers=[
                ("kafka_dlt-original-topic", b"orders"), ("kafka_dlt-original-partition", struct.pack(">i", 0)),
                ("kafka_dlt-original-offset", struct.pack(">q", i)),
                ("kafka_dlt-original-timestamp", struct.pack(">q", 1_764_000_000_000 + i)),
                ("kafka_dlt-exception-fqcn", b"java.lang.IllegalStateException"),
                ("kafka_dlt-exception-message", b"total is negative")])
        p.flush()
        p.close()
        (work / "kafka-home").mkdir()
        desk = Desk(registry(), work / "kafka-home", MemoryVault())
        desk.import_document({"name": "orders", "type": "kafka", "settings": {
            "bootstrap_servers": [broker.bootstrap], "security_protocol": "PLAINTEXT", "topic": "orders",
            "dead_letter_topic": "orders.dlq", "timeout_s": 60}}, {})
        t0 = time.perf_counter()
        result = health.failures(desk, "orders", limit=count)
        ours = time.perf_counter() - t0
        assert result.ok, result.error
        n = len(result.info["failures"])
        t0 = time.perf_counter()
        c = KafkaConsumer(**broker.client_config(), enable_auto_commit=False)
        tp = TopicPartition("orders.dlq", 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        seen = 0
        while seen < count:
            for records in c.poll(timeout_ms=300).values():
                seen += len(records)
        c.close()
        bare = time.perf_counter() - t0
    finally:
        broker.stop()
    return [f"### failures of a dead-letter topic with {count:,} records (tansu)", "",
            f"- kafka-python reading them, no decoding: {bare * 1000:.0f} ms",
            f"- connector-desk failures (connect, checks, read, decode headers, sort): {ours * 1000:.0f} ms "
            f"for {n:,} failures",
            f"- ratio: **{ours / bare:.2f}×** the bare read", ""]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-health-") as tmp:
        work = Path(tmp)
        lines = [f"## Connector health — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
                 f"({platform.python_implementation()} {platform.python_version()}, {platform.machine()})", ""]
        lines += bench_validate_all(work)
        lines += bench_dead_letters(work)
    text = "\n".join(lines)
    print(text)
    results = ROOT / "bench" / "RESULTS.md"
    results.write_text(results.read_text().rstrip("\n") + "\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
