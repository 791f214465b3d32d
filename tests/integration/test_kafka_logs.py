"""Kafka's log capture is per check (issue #12, item 14): concurrent checks each see only their own
kafka-python lines, and the global ``kafka`` logger's level, propagation and handlers are left alone."""

from __future__ import annotations

import logging
import re
import threading

import pytest

from desktop.connectors import registry
from desktop.core.model import parse_document
from desktop.core.service import Desk
from tests.conftest import kafka_document
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


def _state() -> tuple[int, bool, list[logging.Handler]]:
    logger = logging.getLogger("kafka")
    return logger.level, logger.propagate, list(logger.handlers)


def test_concurrent_checks_see_only_their_own_lines(desk, kafka_plain, caplog):
    caplog.set_level(logging.INFO)  # as in the application: kafka-python's INFO lines are emitted
    before = _state()
    results: dict[str, object] = {}
    with ScriptedServer(scripted.silent_then_garbage) as g1, ScriptedServer(scripted.silent_then_garbage) as g2:
        targets = {"tansu": kafka_plain.bootstrap, "g1": f"127.0.0.1:{g1.port}", "g2": f"127.0.0.1:{g2.port}"}

        def check(name: str) -> None:
            c = parse_document(kafka_document(targets[name], name=f"k-{name}", timeout_s=4), registry())[0]
            results[name] = desk.validate(c, {})

        threads = [threading.Thread(target=check, args=(n,)) for n in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert results["tansu"].ok, results["tansu"].error  # type: ignore[attr-defined]
    ports = {n: t.rpartition(":")[2] for n, t in targets.items()}
    for name in ("g1", "g2"):
        message = results[name].error.message  # type: ignore[attr-defined]
        assert "Kafka said" in message and ports[name] in message, message  # its own lines are there
        others = [p for n, p in ports.items() if n != name]
        assert not any(re.search(rf"[:\[]{p}\b", message) for p in others), message  # and no one else's
    assert _state() == before  # level, propagation and handlers untouched
