"""The application's own outbox: a test send that fails temporarily is kept (0600 file), retried with
backoff, sent once the server accepts; permanent failures stay listed; a replay to an unreachable
cluster is kept too."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta

from desktop.connectors import registry
from desktop.core import health
from desktop.core.errors import ConnectorError
from desktop.core.outbox import MAX_ATTEMPTS, Outbox, backoff
from desktop.core.service import Desk
from tests.conftest import kafka_document
from tests.integration.test_cli import cli
from tests.servers import scripted
from tests.servers.ports import free_port
from tests.servers.scripted import ScriptedServer


def _smtp(desk: Desk, port: int, name: str = "relay") -> None:
    desk.import_document({"name": name, "type": "smtp", "settings": {
        "host": "127.0.0.1", "port": port, "security": "none", "allow_plaintext": True, "auth": "password",
        "username": "user@example.test", "from_address": "user@example.test", "timeout_s": 3},
        "secrets": {"password": {"env": "PW"}}}, {"PW": "pw-not-secret-here"})


def test_a_temporary_failure_is_kept_retried_and_sent(app_home):
    replies = ["451 4.3.0 Try again later"]
    with ScriptedServer(scripted.smtp(rcpt_replies=replies)) as srv:
        desk = Desk(registry(), app_home)
        _smtp(desk, srv.port)
        result, entry = health.test_send(desk, "relay", "dest@example.test")
        assert result.error is not None and result.error.code == "recipient_rejected"
        assert entry is not None and entry.attempts == 1 and entry.state == "waiting"
        path = app_home / "outbox.json"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        # Survives a restart: a new Desk reads the same outbox.
        again = Desk(registry(), app_home)
        (kept,) = Outbox(again.folder).entries()
        assert kept.id == entry.id and kept.last_error["code"] == "recipient_rejected"
        assert datetime.fromisoformat(kept.next_attempt) > datetime.now(UTC) + timedelta(seconds=20)
        assert health.retry_outbox(again) == []  # not due yet
        replies[:] = ["250 2.1.5 Ok"]
        ((done, sent),) = health.retry_outbox(again, [entry.id])
        assert sent.ok, sent.error
        assert Outbox(again.folder).entries() == []
        assert b"dest@example.test" in srv.received


def test_a_permanent_failure_on_retry_stays_listed_and_can_be_removed(app_home):
    replies = ["451 4.3.0 Try again later"]
    with ScriptedServer(scripted.smtp(rcpt_replies=replies)) as srv:
        desk = Desk(registry(), app_home)
        _smtp(desk, srv.port)
        _, entry = health.test_send(desk, "relay", "dest@example.test")
        replies[:] = ["550 5.1.1 No such user"]
        ((_, result),) = health.retry_outbox(desk, [entry.id])
        assert result.error is not None and not result.error.temporary
    (kept,) = Outbox(desk.folder).entries()
    assert kept.state == "failed" and kept.attempts == 2 and kept.next_attempt is None
    r = cli("outbox", "--json", home=app_home)
    assert json.loads(r.stdout)["entries"][0]["state"] == "failed"
    r = cli("outbox", home=app_home)
    assert "failed: retry with --retry ID" in r.stdout and "pw-not-secret-here" not in r.stdout
    assert cli("outbox", "--remove", entry.id, home=app_home).returncode == 0
    assert Outbox(desk.folder).entries() == []
    assert cli("outbox", "--remove", "nope", home=app_home).returncode == 2


def test_a_replay_to_an_unreachable_cluster_is_kept(app_home):
    desk = Desk(registry(), app_home)
    desk.import_document(kafka_document(f"127.0.0.1:{free_port()}", name="orders", dead_letter_topic="orders.dlq",
                                        timeout_s=3), {})
    r = cli("replay", "orders", "orders.dlq:0:5", "--yes", home=app_home)
    assert r.returncode == 1 and "connect_refused" in r.stdout and "Kept in the outbox" in r.stdout
    (entry,) = Outbox(desk.folder).entries()
    assert entry.action == "replay" and entry.args == {"ids": ["orders.dlq:0:5"], "force": False}


def test_backoff_grows_is_capped_and_gives_up():
    assert [backoff(n) for n in (1, 2, 3)] == [30.0, 60.0, 120.0]
    assert backoff(20) == 3600.0 and backoff(1, retry_after=90) == 90


def test_attempts_run_out(tmp_path):
    box = Outbox(tmp_path)
    temporary = ConnectorError("server_error", "busy", temporary=True)
    entry = box.add("x", "test_send", {"to": "a@b.example"}, temporary)
    for _ in range(MAX_ATTEMPTS - 2):
        assert box.outcome(entry.id, temporary).state == "waiting"  # type: ignore[union-attr]
    assert box.outcome(entry.id, temporary).state == "failed"  # type: ignore[union-attr]
