"""Hostile files and settings through the real command line (#12 items 5 and 7): exit 2 naming the
field, never a traceback, nothing written first; the catalogue of a newer version is left alone."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import keyring
import pytest

from desktop.core.store import SCHEMA
from desktop.core.vault import service_name
from tests.integration.test_cli import cli
from tests.servers.ports import free_port


def _smtp(name: str = "mailer", **settings: Any) -> dict[str, Any]:
    return {"name": name, "type": "smtp", "description": "outbound",
            "settings": {"host": "127.0.0.1", "port": free_port(), "security": "starttls", "auth": "password",
                         "username": "ops@example.test", **settings},
            "secrets": {"password": {"env": "CD_STORE_PASSWORD"}}}


def _write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _bad(r: Any, field: str) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "Traceback" not in out and field in out, out


ENV = {"CD_STORE_PASSWORD": "store-test-secret"}


def test_hostile_documents_exit_2_naming_the_field(app_home, tmp_path):
    deep = _write(tmp_path / "deep.json", '{"name": ' + "[" * 1000 + "]" * 1000 + "}")
    _bad(cli("validate", "--spec", str(deep), home=app_home), "spec")
    nested = "[" * 900 + "]" * 900
    shallower = _write(tmp_path / "shallower.json", '{"name": "x", "settings": {"port": ' + nested + "}}")
    _bad(cli("import", str(shallower), home=app_home), "file")
    huge = _write(tmp_path / "huge.json", json.dumps(_smtp(port="P")).replace('"port": "P"', '"port": ' + "9" * 5000))
    _bad(cli("validate", "--spec", str(huge), home=app_home, env=ENV), "spec")
    for port in ("²", "٣", "9" * 5000, "１２"):
        r = cli("validate", "--spec", str(_write(tmp_path / "port.json", _smtp(port=port))), "--json",
                home=app_home, env=ENV)
        _bad(r, "settings.port")
        assert json.loads(r.stdout)["error"]["fields"]["settings.port"].startswith("must be a whole number")


def test_a_lone_surrogate_is_refused_before_any_secret_is_stored(app_home, tmp_path):
    doc = _write(tmp_path / "surrogate.json", json.dumps(_smtp(name="surr")).replace('"outbound"', '"out\\udc80"'))
    _bad(cli("import", str(doc), home=app_home, env=ENV), "description")
    assert keyring.get_password(service_name(app_home), "surr/password") is None
    assert "surr" not in cli("list", home=app_home).stdout


def test_folders_where_files_belong(app_home, tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    _bad(cli("validate", "--spec", str(folder), home=app_home), "spec")
    _bad(cli("import", str(folder), home=app_home), "file")
    _bad(cli("export", "--out", str(folder), home=app_home), "out")
    not_a_folder = _write(tmp_path / "home-file", "x")
    _bad(cli("list", home=not_a_folder), "CONNECTOR_DESK_HOME")
    _bad(cli("--smoke", home=not_a_folder, env={"QT_QPA_PLATFORM": "offscreen"}), "CONNECTOR_DESK_HOME")
    assert not_a_folder.read_text() == "x"


@pytest.mark.parametrize("backup", [None, "{damaged too"])
def test_damaged_json_catalogue_without_a_good_copy(app_home, backup):
    _write(app_home / "catalogue.json", '{"schema": 1, "connectors": [')
    if backup is not None:
        _write(app_home / "catalogue.last-good.json", backup)
    r = cli("list", home=app_home)
    _bad(r, "catalogue")
    assert "no usable last-good copy" in r.stderr
    assert (app_home / "catalogue.json").read_text() == '{"schema": 1, "connectors": ['


def test_damaged_database(app_home, tmp_path):
    db = _write(app_home / "catalogue.db", "SQLite format 3\x00" + "garbage" * 500)
    before = db.read_bytes()
    for args in (("list",), ("import", str(_write(tmp_path / "d.json", _smtp())))):
        r = cli(*args, home=app_home, env=ENV)
        _bad(r, "catalogue")
        assert "is damaged" in r.stderr and "What to do" in r.stderr
    assert db.read_bytes() == before


@pytest.mark.parametrize("hours", ["nan", "1e300", "-1", "inf"])
def test_rotate_with_impossible_grace_hours_writes_nothing(app_home, tmp_path, hours):
    assert cli("import", str(_write(tmp_path / "m.json", _smtp())), home=app_home, env=ENV).returncode == 0
    r = cli("rotate", "mailer", "--from-env", "NEW_PW", "--grace-hours", hours, home=app_home,
            env={"NEW_PW": "a-new-password"})
    _bad(r, "grace_hours")
    service = service_name(app_home)
    assert keyring.get_password(service, "mailer/password#pending") is None
    assert keyring.get_password(service, "mailer/password") == ENV["CD_STORE_PASSWORD"]


def test_a_newer_catalogue_is_listed_read_only_and_never_written(app_home, tmp_path):
    assert cli("import", str(_write(tmp_path / "m.json", _smtp())), home=app_home, env=ENV).returncode == 0
    db = sqlite3.connect(app_home / "catalogue.db")
    db.execute(f"PRAGMA user_version = {SCHEMA + 3}")
    db.close()
    digest = hashlib.sha256((app_home / "catalogue.db").read_bytes()).hexdigest()
    r = cli("list", home=app_home)
    assert r.returncode == 0 and "mailer" in r.stdout and f"schema {SCHEMA + 3}" in r.stderr
    r = cli("validate", "mailer", home=app_home)  # checked (nothing listens there), its status not written
    assert r.returncode == 1 and "FAILED [" in r.stdout and "the outcome was not recorded" in r.stderr
    r = cli("import", str(_write(tmp_path / "n.json", _smtp(name="other"))), home=app_home, env=ENV)
    _bad(r, "catalogue")
    assert f"schema {SCHEMA + 3}" in r.stderr
    assert keyring.get_password(service_name(app_home), "other/password") is None  # refused before the keychain
    _bad(cli("rotate", "mailer", "--from-env", "NEW_PW", home=app_home, env={"NEW_PW": "x"}), "catalogue")
    assert keyring.get_password(service_name(app_home), "mailer/password#pending") is None
    assert hashlib.sha256((app_home / "catalogue.db").read_bytes()).hexdigest() == digest


def test_an_entry_of_an_unknown_type_does_not_break_the_list(app_home, tmp_path):
    assert cli("import", str(_write(tmp_path / "m.json", _smtp())), home=app_home, env=ENV).returncode == 0
    db = sqlite3.connect(app_home / "catalogue.db")
    db.execute("INSERT INTO connectors (name, type, doc) VALUES ('pigeon', 'carrier-pigeon', '{}')")
    db.commit()
    db.close()
    r = cli("list", home=app_home)
    assert r.returncode == 0 and "mailer" in r.stdout and "pigeon" not in r.stdout
    assert "skipped pigeon" in r.stderr and "carrier-pigeon" in r.stderr
    r = cli("list", "--json", home=app_home)
    assert r.returncode == 0 and [c["name"] for c in json.loads(r.stdout)] == ["mailer"]


def test_the_json_catalogue_of_an_earlier_version_is_migrated_once_and_kept(app_home):
    old = {"schema": 1, "connectors": [{"name": "legacy", "type": "smtp", "description": "from 0.x",
                                        "settings": _smtp()["settings"], "admin": {}, "secret_names": ["password"],
                                        "status": {"state": "valid", "at": "2026-11-01T10:00:00+00:00"}}]}
    original = json.dumps(old)
    _write(app_home / "catalogue.json", original)
    _write(app_home / "catalogue.last-good.json", original)
    keyring.set_password(service_name(app_home), "legacy/password", "kept-in-the-keychain")
    r = cli("list", "--json", home=app_home)
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert [c["name"] for c in listed] == ["legacy"] and listed[0]["status"]["state"] == "valid"
    assert (app_home / "catalogue.json.migrated").read_text() == original
    assert not (app_home / "catalogue.json").exists() and (app_home / "catalogue.db").exists()
    # Later writes go to the database, after the migrated entry.
    assert cli("import", str(_write(app_home.parent / "n.json", _smtp(name="newer"))), home=app_home,
               env=ENV).returncode == 0
    assert [c["name"] for c in json.loads(cli("list", "--json", home=app_home).stdout)] == ["legacy", "newer"]
    assert (app_home / "catalogue.json.migrated").read_text() == original  # migrated once, then left alone
