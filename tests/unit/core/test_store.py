from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from desktop.connectors import registry
from desktop.core.model import Connector, Status
from desktop.core.secret import Secret
from desktop.core.service import Desk
from desktop.core.store import SCHEMA, Catalogue, CatalogueError
from desktop.core.vault import Vault


def _add(folder: str, prefix: str, n: int) -> None:
    cat = Catalogue(Path(folder))
    for i in range(n):
        cat.put([(Connector(f"{prefix}-{i}", "smtp", settings={"host": "h"}), None, False)])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _json_catalogue(path: Path, *names: str, schema: int = 1) -> None:
    path.write_text(json.dumps({"schema": schema, "connectors": [
        {"name": n, "type": "smtp", "description": f"about {n}", "settings": {"host": "h"},
         "admin": {}, "secret_names": ["password"], "status": {"state": "valid", "at": "2026-01-01T00:00:00+00:00"}}
        for n in names]}))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add, args=(str(tmp_path), p, 15)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    names = {c.name for c in Catalogue(tmp_path).load()}
    assert names == {f"{p}-{i}" for p in "ab" for i in range(15)}


def test_entries_round_trip_in_order_with_secrets_and_status(tmp_path):
    cat = Catalogue(tmp_path)
    one = Connector("one", "smtp", "d", {"host": "h", "port": 587}, {"email": "a@b.c"}, ["password", "token"],
                    Status("failed", "2026-01-01T00:00:00+00:00", "auth_failed", "no"), {"password": "2027-01-01"})
    cat.put([(one, None, False), (Connector("two", "kafka"), None, False)])
    assert cat.load() == [one, Connector("two", "kafka")]
    assert cat.set_status("two", Status("valid", "x")) and not cat.set_status("gone", Status())
    assert cat.get("two").status == Status("valid", "x")
    # A rename keeps the place in the list; the secrets' rows follow the entry.
    renamed = one.copy()
    renamed.name = "uno"
    cat.put([(renamed, "one", False)])
    assert [c.name for c in cat.load()] == ["uno", "two"] and cat.get("uno").secret_names == ["password", "token"]
    cat.remove("uno")
    assert cat.names() == {"two"}


def test_files_are_private(tmp_path):
    folder = tmp_path / "data"
    cat = Catalogue(folder)
    cat.put([(Connector("one", "smtp"), None, False)])
    db = sqlite3.connect(cat.path, isolation_level=None)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute("BEGIN IMMEDIATE")  # while a write is open, the -wal and -shm files exist
    db.execute("INSERT INTO connectors (name, type, doc) VALUES ('two', 'smtp', '{}')")
    with cat.locked():
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        files = list(folder.iterdir())
        assert {f.name for f in files} >= {"catalogue.db", "catalogue.db-wal", "catalogue.db-shm", "catalogue.lock"}
        for f in files:
            assert oct(f.stat().st_mode & 0o777) == "0o600", f
    db.execute("ROLLBACK")
    db.close()


def test_a_newer_database_is_read_but_never_written(tmp_path):
    cat = Catalogue(tmp_path)
    cat.put([(Connector("one", "smtp"), None, False)])
    db = sqlite3.connect(cat.path)
    db.execute(f"PRAGMA user_version = {SCHEMA + 1}")
    db.close()
    before = _digest(cat.path)
    assert [c.name for c in Catalogue(tmp_path).load()] == ["one"]  # list and validate still work
    for write in (lambda: cat.put([(Connector("two", "smtp"), None, False)]),
                  lambda: cat.set_status("one", Status("valid")), lambda: cat.remove("one")):
        with pytest.raises(CatalogueError) as exc:
            write()
        assert f"schema {SCHEMA + 1}" in exc.value.message and exc.value.field == "catalogue"
    with pytest.raises(CatalogueError, match=f"schema {SCHEMA + 1}"), cat.locked():
        pass
    assert _digest(cat.path) == before


def test_json_catalogue_is_migrated_once_and_kept(tmp_path):
    _json_catalogue(tmp_path / "catalogue.json", "one", "two")
    _json_catalogue(tmp_path / "catalogue.last-good.json", "one")
    original = (tmp_path / "catalogue.json").read_text()
    cat = Catalogue(tmp_path)
    loaded = cat.load()
    assert [c.name for c in loaded] == ["one", "two"]
    assert loaded[0].secret_names == ["password"] and loaded[0].status.state == "valid"
    assert loaded[0].description == "about one"
    assert not (tmp_path / "catalogue.json").exists()
    assert (tmp_path / "catalogue.json.migrated").read_text() == original
    assert (tmp_path / "catalogue.last-good.json.migrated").exists()
    db = sqlite3.connect(cat.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # readers never block
    db.close()
    cat.remove("two")
    assert [c.name for c in Catalogue(tmp_path).load()] == ["one"]  # not migrated a second time


def test_damaged_json_catalogue_migrates_its_last_good_copy(tmp_path):
    (tmp_path / "catalogue.json").write_text('{"schema": 1, "connectors": [')
    _json_catalogue(tmp_path / "catalogue.last-good.json", "one")
    cat = Catalogue(tmp_path)
    assert [c.name for c in cat.load()] == ["one"]
    assert cat.report.recovered_from_backup and "damaged" in cat.report.problem


@pytest.mark.parametrize("backup", [None, "{broken", '{"schema": 1, "connectors": {"no": 1}}'])
def test_damaged_json_catalogue_without_a_good_copy_is_a_clear_error(tmp_path, backup):
    (tmp_path / "catalogue.json").write_text("[" * 5000)
    if backup is not None:
        (tmp_path / "catalogue.last-good.json").write_text(backup)
    with pytest.raises(CatalogueError, match="damaged and there is no usable last-good copy"):
        Catalogue(tmp_path).load()
    assert not (tmp_path / "catalogue.db").exists()


def test_newer_json_catalogue_is_never_touched(tmp_path):
    path = tmp_path / "catalogue.json"
    _json_catalogue(path, "one", schema=7)
    _json_catalogue(tmp_path / "catalogue.last-good.json", "old")
    before = _digest(path)
    cat = Catalogue(tmp_path)
    for attempt in (cat.load, lambda: cat.put([(Connector("two", "smtp"), None, False)])):
        with pytest.raises(CatalogueError, match="schema 7"):
            attempt()
    assert _digest(path) == before and not cat.path.exists()


def test_damaged_database_is_a_clear_error_and_left_alone(tmp_path):
    cat = Catalogue(tmp_path)
    cat.path.write_bytes(b"this is not a database" * 100)
    before = _digest(cat.path)
    for attempt in (cat.load, lambda: cat.put([(Connector("two", "smtp"), None, False)])):
        with pytest.raises(CatalogueError, match="is damaged"):
            attempt()
    assert _digest(cat.path) == before


def test_an_unreadable_entry_does_not_hide_the_others(tmp_path):
    cat = Catalogue(tmp_path)
    cat.put([(Connector("one", "smtp"), None, False), (Connector("two", "smtp"), None, False)])
    db = sqlite3.connect(cat.path)
    db.execute("UPDATE connectors SET doc = '{not json' WHERE name = 'one'")
    db.commit()
    db.close()
    assert [c.name for c in cat.load()] == ["two"]
    assert "“one” could not be read" in cat.report.notes[0]


def test_a_failed_batch_writes_nothing(tmp_path):
    cat = Catalogue(tmp_path)
    cat.put([(Connector("one", "smtp"), None, False)])
    bad = Connector("two", "smtp", description="\udc80")
    with pytest.raises(Exception, match="description"):
        cat.put([(Connector("three", "smtp"), None, False), (bad, None, False)])
    assert cat.names() == {"one"}


class Crash(BaseException):
    """A process dying at this point (nothing after it runs)."""


class CrashingVault(Vault):
    """A keychain kept in a dict that dies at its ``at``-th step (keychain writes and catalogue
    commits both count, see ``_crash_points``)."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}
        self.steps, self.at = 0, -1

    @property
    def backend_name(self) -> str:
        return "a dict in the test"

    def step(self) -> None:
        self.steps += 1
        if self.steps == self.at:
            raise Crash

    def get(self, key: str) -> Secret | None:
        return Secret(self.items[key]) if key in self.items else None

    def set(self, key: str, value: Secret) -> None:
        self.step()
        self.items[key] = value.reveal()

    def delete(self, key: str) -> None:
        self.step()
        self.items.pop(key, None)


def _crash_points(monkeypatch: pytest.MonkeyPatch, current: dict[str, CrashingVault]) -> None:
    """Catalogue commits are crash points too: just before and just after each."""
    for method in ("put", "unstage", "remove", "update"):  # update: the JSON catalogue's only writer
        original = getattr(Catalogue, method, None)
        if original is None:
            continue

        def wrapped(self: Catalogue, *a: object, _original: object = original) -> object:
            current["vault"].step()
            out = _original(self, *a)  # type: ignore[operator]
            current["vault"].step()
            return out
        monkeypatch.setattr(Catalogue, method, wrapped)


def _mailer(host: str) -> dict[str, object]:
    return {"name": "mailer", "type": "smtp", "settings": {"host": host, "port": 2525, "auth": "password",
                                                           "username": "ops@example.test"},
            "secrets": {"password": {"env": "PW"}}}


def _state(home: Path, vault: CrashingVault) -> tuple[str, str | None] | None:
    desk = Desk(registry(), home, vault)
    conn = desk.catalogue.get("mailer")
    if conn is None:
        return None
    value = desk.load_secrets(conn).get("password")
    return conn.settings["host"], value.reveal() if value else None


@pytest.mark.parametrize("action", ["replace", "delete", "rename"])
def test_every_crash_point_leaves_the_old_or_the_new_state(tmp_path, monkeypatch, action):
    """#12 item 6: keychain and catalogue steps in an order where dying at any one of them leaves
    the connector as it was or as it is after the change, never a mix (old settings with the new
    password, or listed with its password gone)."""
    current: dict[str, CrashingVault] = {}
    _crash_points(monkeypatch, current)
    trial = 0
    while True:
        trial += 1
        vault = current["vault"] = CrashingVault()
        home = tmp_path / f"t{trial}"
        home.mkdir()
        desk = Desk(registry(), home, vault)
        desk.import_document(_mailer("old.example.test"), {"PW": "old-password"})
        old = _state(home, vault)
        new = ("new.example.test", "new-password") if action == "replace" else None  # rename: checked below
        vault.steps, vault.at = 0, trial
        try:
            if action == "replace":
                desk.import_document(_mailer("new.example.test"), {"PW": "new-password"}, replace=True)
            elif action == "delete":
                desk.delete("mailer")
            else:
                conn = desk.get("mailer")
                conn.name = "renamed"
                desk.save(conn, {"password": Secret("old-password")}, old_name="mailer")
            finished = True
        except Crash:
            finished = False
        vault.at = -1
        after = _state(home, vault)
        assert after in (old, new), f"{action}: crash at step {trial} left {after}"
        if action == "rename":
            renamed = Desk(registry(), home, vault).catalogue.get("renamed")
            if renamed is not None:
                assert vault.items.get("renamed/password") == "old-password", f"crash at step {trial}"
            assert (renamed is None) == (after is not None), f"crash at step {trial}: both or neither"
        if finished:
            assert after == new
            break
    assert trial > 3  # the change has several steps, and every one of them was a crash point


def test_readers_are_not_blocked_by_a_writer(tmp_path):
    """WAL: the list loads while another process holds the write lock mid-transaction."""
    import threading
    cat = Catalogue(tmp_path)
    cat.put([(Connector("one", "smtp"), None, False)])
    writer = sqlite3.connect(cat.path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("INSERT INTO connectors (name, type, doc) VALUES ('two', 'smtp', '{}')")
    seen: list[list[str]] = []
    reader = threading.Thread(target=lambda: seen.append([c.name for c in Catalogue(tmp_path).load()]))
    reader.start()
    reader.join(3)
    writer.execute("ROLLBACK")
    writer.close()
    assert seen == [["one"]], "the reader waited for the writer"
