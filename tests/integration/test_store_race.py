"""Two real processes changing the same connector at once, with the real keychain (#12 item 6):
a delete racing ``import --replace`` never leaves the connector listed with its secret gone."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

from desktop.connectors import registry
from desktop.core.errors import ConnectorError
from desktop.core.service import Desk

ROUNDS = 50


def _doc() -> dict[str, Any]:
    return {"name": "race", "type": "smtp",
            "settings": {"host": "localhost", "port": 2525, "security": "starttls", "auth": "password",
                         "username": "ops@example.test"},
            "secrets": {"password": {"env": "RACE_PASSWORD"}}}


def _racer(home: str, role: str, barrier: Any, failures: Any) -> None:
    desk = Desk(registry(), Path(home))
    for r in range(ROUNDS):
        try:
            barrier.wait(60)
        except threading.BrokenBarrierError:
            return
        try:
            if role == "delete":
                desk.delete("race")
            else:
                desk.import_document(_doc(), {"RACE_PASSWORD": f"new-{r}"}, replace=True)
        except ConnectorError as exc:
            if role != "delete" or "no connector named" not in exc.message:  # already gone: fine
                failures.put(f"{role}: {exc}")
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            failures.put(f"{role}: {type(exc).__name__}: {exc}")
        try:
            barrier.wait(60)
        except threading.BrokenBarrierError:
            return


def test_delete_racing_import_replace_never_loses_a_listed_secret(app_home):
    ctx = multiprocessing.get_context("spawn")
    barrier, failures = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(str(app_home), role, barrier, failures))
             for role in ("delete", "import")]
    for p in procs:
        p.start()
    desk = Desk(registry(), app_home)
    broken, outcomes = [], set()
    try:
        for r in range(ROUNDS):
            desk.import_document(_doc(), {"RACE_PASSWORD": f"old-{r}"}, replace=True)
            barrier.wait(60)  # both go
            barrier.wait(60)  # both done
            if any(c.name == "race" for c in desk.list()):
                secrets = desk.load_secrets(desk.get("race"))
                outcomes.add("listed")
                # Listed means the import came last: its own new password, never none or the old one.
                if secrets.get("password") is None or secrets["password"].reveal() != f"new-{r}":
                    broken.append((r, secrets.get("password") and secrets["password"].reveal()))
            else:
                outcomes.add("deleted")
    finally:
        barrier.abort()  # a failure above must not leave the racers waiting
        for p in procs:
            p.join(60)
    assert not broken, f"listed with the wrong or no password in rounds {broken}"
    errors = []
    while not failures.empty():
        errors.append(failures.get())
    assert not errors and all(p.exitcode == 0 for p in procs)
