from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from desktop.core.model import Connector
from desktop.core.store import Catalogue


def _add(folder: str, prefix: str, n: int) -> None:
    cat = Catalogue(Path(folder))
    for i in range(n):
        cat.update(lambda cs, i=i: cs.append(Connector(f"{prefix}-{i}", "smtp", settings={"host": "h"})))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add, args=(str(tmp_path), p, 15)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    names = {c.name for c in Catalogue(tmp_path).load()}
    assert names == {f"{p}-{i}" for p in "ab" for i in range(15)}


def test_damaged_catalogue_falls_back_to_last_good_copy(tmp_path):
    cat = Catalogue(tmp_path)
    cat.update(lambda cs: cs.append(Connector("one", "smtp")))
    cat.update(lambda cs: cs.append(Connector("two", "smtp")))
    cat.path.write_text('{"schema": 1, "connectors": [')  # a crash mid-write by something else
    loaded = cat.load()
    assert [c.name for c in loaded] == ["one"]
    assert cat.report.recovered_from_backup and "damaged" in cat.report.problem
    # Writing again keeps the good backup rather than copying the damaged file over it.
    cat.update(lambda cs: cs.append(Connector("three", "smtp")))
    assert [c["name"] for c in json.loads(cat.backup.read_text())["connectors"]] == ["one"]
    assert [c.name for c in cat.load()] == ["one", "three"]


def test_writes_are_atomic_and_private(tmp_path):
    cat = Catalogue(tmp_path)
    cat.update(lambda cs: cs.append(Connector("one", "smtp")))
    assert oct(cat.path.stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob(".catalogue.json.*.tmp"))
    assert json.loads(cat.path.read_text())["schema"] == 1


def test_a_failed_change_leaves_the_file_untouched(tmp_path):
    cat = Catalogue(tmp_path)
    cat.update(lambda cs: cs.append(Connector("one", "smtp")))
    before = cat.path.read_bytes()

    def boom(cs: list[Connector]) -> None:
        cs.clear()
        raise RuntimeError("crash in the middle")
    try:
        cat.update(boom)
    except RuntimeError:
        pass
    assert cat.path.read_bytes() == before
