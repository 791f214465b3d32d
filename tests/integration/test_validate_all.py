"""validate --all: parallel checks against real Postfix and hung scripted servers, each under
its own deadline, results streamed and recorded, Cancel."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from desktop.connectors import registry
from desktop.core import health
from desktop.core.deadline import CancelToken
from desktop.core.service import Desk
from tests.conftest import smtp_document
from tests.integration.test_cli import cli
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer


@pytest.fixture
def hung_servers() -> Any:
    servers = [ScriptedServer(scripted.hung) for _ in range(5)]
    yield servers
    for s in servers:
        s.stop()


def _save(app_home: Any, mail: Any, certs: Any, hung_servers: list[ScriptedServer], good: int = 15,
          hung_timeout: int = 2) -> Desk:
    desk = Desk(registry(), app_home)
    env = {"PW": mail.users[0].password}
    for i in range(good):
        desk.import_document(smtp_document(mail, certs, name=f"good-{i:02d}", env="PW", timeout_s=2), env)
    for i, srv in enumerate(hung_servers):
        doc = smtp_document(mail, certs, name=f"hung-{i}", env="PW", security="none", port=srv.port,
                            allow_plaintext=True, timeout_s=hung_timeout)
        desk.import_document(doc, env)
    return desk


def test_twenty_with_five_hung_take_about_one_deadline_and_stream_results(app_home, mail, certs, hung_servers):
    desk = _save(app_home, mail, certs, hung_servers)
    arrived: list[tuple[str, float]] = []
    t0 = time.monotonic()
    results, summary = health.validate_all(desk, on_result=lambda r: arrived.append((r.connector, time.monotonic())))
    elapsed = time.monotonic() - t0
    # Five hung checks of 2 s each, one after another, would be 10 s; in parallel about 2 s.
    assert elapsed < 6.0, elapsed
    assert summary.total == 20 and summary.passed == 15 and summary.failed == 5
    assert summary.by_code == {"timeout": 5}
    assert [r.connector for r in results] == [c.name for c in desk.list()]
    # Results arrived one by one, the passing ones well before the hung ones gave up.
    assert len(arrived) == 20
    first_hung = min(t for n, t in arrived if n.startswith("hung-"))
    assert max(t for n, t in arrived if n.startswith("good-")) < first_hung
    statuses = {c.name: c.status for c in desk.list()}
    assert statuses["good-00"].state == "valid"
    assert statuses["hung-0"].state == "failed" and statuses["hung-0"].code == "timeout"


def test_cancel_stops_every_check_and_records_nothing(app_home, mail, certs, hung_servers):
    desk = _save(app_home, mail, certs, hung_servers, good=0, hung_timeout=60)
    token = CancelToken()
    threading.Timer(0.5, token.cancel).start()
    t0 = time.monotonic()
    results, summary = health.validate_all(desk, cancel=token)
    assert time.monotonic() - t0 < 3.0
    assert summary.cancelled == 5 and summary.failed == 0
    assert all(c.status.state != "failed" for c in desk.list())


def test_selected_names_only_and_unknown_name_is_bad_input(app_home, mail, certs, hung_servers):
    desk = _save(app_home, mail, certs, hung_servers, good=3)
    results, summary = health.validate_all(desk, ["good-01", "good-02"])
    assert [r.connector for r in results] == ["good-01", "good-02"] and summary.passed == 2
    with pytest.raises(Exception) as exc:
        health.validate_all(desk, ["good-01", "nope"])
    assert "names" in str(getattr(exc.value, "fields", exc.value)) and "nope" in str(exc.value.fields)


def test_cli_validate_all_json_and_lines(app_home, mail, certs, hung_servers):
    _save(app_home, mail, certs, hung_servers[:1], good=2)
    r = cli("validate", "--all", "--json", home=app_home)
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["summary"]["passed"] == 2 and out["summary"]["by_code"] == {"timeout": 1}
    assert {x["connector"] for x in out["results"]} == {"good-00", "good-01", "hung-0"}
    assert mail.users[0].password not in r.stdout
    r = cli("validate", "good-00", "good-01", home=app_home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "good-00" in r.stdout and "2 passed, 0 failed" in r.stdout
