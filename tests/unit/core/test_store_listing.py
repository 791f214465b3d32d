"""The list's reading of the catalogue (issue #18): summary columns written with each connector, one
SELECT without parsing documents, older databases upgraded and summarised when first listed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from desktop.connectors import registry
from desktop.core import describe
from desktop.core.model import Connector, Status
from desktop.core.service import Desk
from desktop.core.store import (
    NAME,
    SCHEMA,
    SERVER,
    SUMMARY_BY,
    TYPE_LABEL,
    WARNINGS,
    Catalogue,
    listed_connector,
)

# The schema-2 database as the previous version wrote it (no summary columns).
SCHEMA_2 = """
CREATE TABLE connectors (name TEXT PRIMARY KEY NOT NULL, type TEXT NOT NULL, doc TEXT NOT NULL,
    status_state TEXT NOT NULL DEFAULT 'never', status_at TEXT, status_code TEXT, status_message TEXT);
CREATE TABLE secrets (connector TEXT NOT NULL, name TEXT NOT NULL, staged INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connector, name));
PRAGMA user_version = 2;
"""


def _smtp(name: str, host: str, **settings: object) -> Connector:
    return Connector(name, "smtp", f"about {name}",
                     {"host": host, "port": 587, "security": "starttls", "auth": "password", "username": "u",
                      "from_address": "u@example.test", **settings},
                     {"owner": "ops@example.test"}, ["password"])


def _schema_2_database(folder: Path) -> None:
    db = sqlite3.connect(folder / "catalogue.db")
    db.executescript(SCHEMA_2)
    rows = [("plain", {"host": "mail.example.test", "port": 587, "security": "starttls", "auth": "password",
                       "username": "u", "from_address": "u@example.test"},
             ("valid", "2026-01-01T10:00:00+00:00", None, None), ["password"]),
            ("clear", {"host": "old.example.test", "port": 25, "security": "none", "auth": "none",
                       "from_address": "u@example.test"},
             ("failed", "2026-01-02T10:00:00+00:00", "auth_failed", "rejected"), []),
            ("two-secrets", {"host": "x.example.test", "port": 587, "security": "starttls", "auth": "password",
                             "username": "u", "from_address": "u@example.test"},
             ("never", None, None, None), ["password", "oauth_refresh_token"])]
    for name, settings, status, secrets in rows:
        doc = json.dumps({"description": f"about {name}", "settings": settings, "admin": {}})
        db.execute("INSERT INTO connectors VALUES (?, 'smtp', ?, ?, ?, ?, ?)", (name, doc, *status))
        db.executemany("INSERT INTO secrets (connector, name) VALUES (?, ?)", [(name, s) for s in secrets])
    db.commit()
    db.close()


def test_a_schema_2_database_is_upgraded_keeping_every_connector_status_and_secret(tmp_path):
    _schema_2_database(tmp_path)
    before = {c.name: c for c in Catalogue(tmp_path).load()}
    desk = Desk(registry(), tmp_path)
    rows = desk.listing()
    assert [r[NAME] for r in rows] == ["plain", "clear", "two-secrets"]
    listed = {r[NAME]: listed_connector(r) for r in rows}
    for name, old in before.items():  # every connector, its status, secrets (in order) and settings
        assert listed[name] == old
        assert desk.get(name) == old
    assert listed["clear"].status == Status("failed", "2026-01-02T10:00:00+00:00", "auth_failed", "rejected")
    assert listed["two-secrets"].secret_names == ["password", "oauth_refresh_token"]
    # Upgraded, and the summaries computed once are kept: the next listing reads them as they are.
    db = sqlite3.connect(tmp_path / "catalogue.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA == 3
    kept = dict(db.execute("SELECT name, server FROM connectors").fetchall())
    names = dict(db.execute("SELECT name, secret_names FROM connectors").fetchall())
    db.close()
    assert names == {"plain": "password", "clear": None, "two-secrets": "password\x1foauth_refresh_token"}
    assert kept == {"plain": "mail.example.test:587", "clear": "old.example.test:25",
                    "two-secrets": "x.example.test:587"}
    again = {r[NAME]: r for r in Desk(registry(), tmp_path).listing()}
    assert again["clear"][WARNINGS].startswith("Unencrypted connection")
    assert again["plain"][TYPE_LABEL] == "SMTP" and again["plain"][SUMMARY_BY] == describe.SUMMARY_OF


def test_summaries_of_another_version_are_computed_again(tmp_path, monkeypatch):
    desk = Desk(registry(), tmp_path)
    desk.catalogue.put([(_smtp("one", "a.example.test"), None, False)])  # type: ignore[union-attr]
    monkeypatch.setattr("desktop.core.describe.SUMMARY_OF", "9.9.9/1")  # as a newer version would
    row = Desk(registry(), tmp_path).listing()[0]
    assert row[SUMMARY_BY] == "9.9.9/1" and row[SERVER] == "a.example.test:587"
    db = sqlite3.connect(tmp_path / "catalogue.db")
    assert db.execute("SELECT summary_of FROM connectors").fetchone()[0] == "9.9.9/1"
    db.close()


def test_a_write_without_the_connector_types_loaded_is_summarised_when_listed(tmp_path):
    desk = Desk(registry, tmp_path)  # the types load when first needed (as in the app and the CLI)
    desk.catalogue.put([(_smtp("one", "a.example.test"), None, False)])  # type: ignore[union-attr]
    db = sqlite3.connect(tmp_path / "catalogue.db")
    assert db.execute("SELECT summary_of, server FROM connectors").fetchone() == (None, None)
    assert desk.listing()[0][SERVER] == "a.example.test:587"
    assert db.execute("SELECT summary_of, server FROM connectors").fetchone() == (describe.SUMMARY_OF,
                                                                                 "a.example.test:587")
    db.close()


def test_a_listed_connector_is_the_stored_connector(tmp_path):
    desk = Desk(registry(), tmp_path)
    conns = [_smtp("one", "a.example.test"), _smtp("two", "b.example.test", security="none", auth="none")]
    conns[0].previous_until = {"password": "2027-01-01T00:00:00+00:00"}
    conns[0].status = Status("failed", "2026-01-01T00:00:00+00:00", "auth_failed", "no")
    conns[1].secret_names = []
    desk.catalogue.put([(c, None, False) for c in conns])  # type: ignore[union-attr]
    rows = desk.listing()
    assert [listed_connector(r) for r in rows] == [desk.get("one"), desk.get("two")] == conns
    copy = listed_connector(rows[0]).copy()  # as the window copies one to show a new status
    copy.status = Status("valid", "2026-02-01T00:00:00+00:00")
    assert copy.settings == conns[0].settings and copy.status.state == "valid"


def test_secret_names_read_with_the_row_follow_every_write(tmp_path):
    desk = Desk(registry(), tmp_path)
    one = _smtp("one", "a.example.test")
    desk.catalogue.put([(one, None, False)])  # type: ignore[union-attr]
    assert listed_connector(desk.listing()[0]).secret_names == ["password"]
    one.secret_names = ["password", "oauth_refresh_token"]
    desk.catalogue.put([(one, None, False)])  # type: ignore[union-attr]
    assert listed_connector(desk.listing()[0]).secret_names == ["password", "oauth_refresh_token"]
    one.name, one.secret_names = "renamed", []
    desk.catalogue.put([(one, "one", False)])  # type: ignore[union-attr]
    assert [(c.name, c.secret_names) for c in map(listed_connector, desk.listing())] == [("renamed", [])]
    # A row another writer left without a current summary: its names come from the secrets rows.
    db = sqlite3.connect(tmp_path / "catalogue.db")
    db.execute("UPDATE connectors SET summary_of = NULL, secret_names = 'stale'")
    db.execute("INSERT INTO secrets (connector, name) VALUES ('renamed', 'password')")
    db.commit()
    db.close()
    assert listed_connector(desk.listing()[0]).secret_names == ["password"] == desk.get("renamed").secret_names


def test_a_status_write_shows_in_the_next_listing(tmp_path):
    desk = Desk(registry(), tmp_path)
    desk.catalogue.put([(_smtp("one", "a.example.test"), None, False)])  # type: ignore[union-attr]
    desk.catalogue.set_status("one", Status("failed", "2026-03-01T00:00:00+00:00", "tls_failed", "bad cert"))
    conn = listed_connector(desk.listing()[0])
    assert conn.status == Status("failed", "2026-03-01T00:00:00+00:00", "tls_failed", "bad cert")


def test_a_newer_database_is_listed_and_not_written(tmp_path):
    desk = Desk(registry(), tmp_path)
    desk.catalogue.put([(_smtp("one", "a.example.test"), None, False)])  # type: ignore[union-attr]
    db = sqlite3.connect(tmp_path / "catalogue.db")
    db.execute(f"PRAGMA user_version = {SCHEMA + 1}")
    db.execute("UPDATE connectors SET summary_of = 'from the future'")
    db.commit()
    db.close()
    before = (tmp_path / "catalogue.db").read_bytes()
    rows = Desk(registry(), tmp_path).listing()
    assert [r[SERVER] for r in rows] == ["a.example.test:587"]  # summarised here, not kept
    assert (tmp_path / "catalogue.db").read_bytes() == before


def test_an_unreadable_entry_is_skipped_in_the_listing_and_named(tmp_path):
    desk = Desk(registry(), tmp_path)
    desk.catalogue.put([(_smtp("one", "a.example.test"), None, False),  # type: ignore[union-attr]
                        (_smtp("two", "b.example.test"), None, False)])
    db = sqlite3.connect(tmp_path / "catalogue.db")
    db.execute("UPDATE connectors SET doc = '{not json', summary_of = NULL WHERE name = 'one'")
    db.commit()
    db.close()
    assert [r[NAME] for r in desk.listing()] == ["two"]
    assert "“one” could not be read" in desk.catalogue.report.notes[0]


def test_a_document_damaged_after_its_summary_is_listed_without_settings(tmp_path):
    desk = Desk(registry(), tmp_path)
    desk.catalogue.put([(_smtp("one", "a.example.test"), None, False)])  # type: ignore[union-attr]
    db = sqlite3.connect(tmp_path / "catalogue.db")
    db.execute("UPDATE connectors SET doc = '{not json'")
    db.commit()
    db.close()
    conn = listed_connector(desk.listing()[0])  # the summary is still shown
    assert (conn.name, conn.settings, conn.admin, conn.previous_until) == ("one", {}, {}, {})


@pytest.mark.parametrize("seconds", [False, True])
def test_local_time_is_formatted_as_before(seconds):
    from datetime import datetime
    at = "2026-07-04T09:05:03+00:00"
    expected = datetime.fromisoformat(at).astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    assert describe.local_time(at, seconds=seconds) == expected
