"""SIGKILL at random points while a process imports connectors: every import it reported as done
is still there afterwards, and the catalogue opens (and takes more writes) every time."""

from __future__ import annotations

import os
import random
import signal
import sys
import time

import pytest

from desktop.connectors import registry
from desktop.core.service import Desk
from desktop.core.store import Catalogue

TRIALS = 100


def _doc(name: str) -> dict[str, object]:
    return {"name": name, "type": "kafka", "description": "crash trial",
            "settings": {"bootstrap_servers": ["localhost:9092"], "security_protocol": "PLAINTEXT", "topic": "t"}}


def _importer(desk: Desk, trial: int, out: int) -> None:
    """In the forked child: import batches of 1–20 documents, then say which were saved."""
    rnd = random.Random(trial)
    n = 0
    while True:
        size = rnd.randint(1, 20)
        batch = [(_doc(f"t{trial}-{n + i}"), None) for i in range(size)]
        outcomes = desk.import_documents(batch, {}, replace=rnd.random() < 0.3)
        names = [o.name for o in outcomes if not isinstance(o, Exception)]
        os.write(out, ("\n".join(names) + "\n").encode())
        n += size


@pytest.mark.skipif(sys.platform == "win32", reason="fork and SIGKILL")
def test_sigkill_during_imports_never_loses_what_was_reported_saved(app_home):
    desk = Desk(registry(), app_home)
    desk.import_document(_doc("before"), {})
    rnd = random.Random(12)
    reported: set[str] = {"before"}
    for trial in range(TRIALS):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child is killed
            os.close(r)
            try:
                _importer(Desk(registry(), app_home), trial, w)
            finally:
                os._exit(0)
        os.close(w)
        time.sleep(rnd.uniform(0.0, 0.04))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(r, "rb") as f:
            reported |= {n for n in f.read().decode().split("\n") if n}
        present = Catalogue(app_home).names()  # opens every time
        missing = reported - present
        assert not missing, f"trial {trial}: reported saved but gone: {sorted(missing)[:5]}"
    assert len(reported) > TRIALS  # the kills did land after some imports, not only before
    desk.import_document(_doc("after"), {})
    assert "after" in Catalogue(app_home).names()
