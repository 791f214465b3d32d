"""The plug-in shape: a sixth, test-only connector type (tests/plugins/echo.py), loaded through
CONNECTOR_DESK_CONNECTORS, works in the CLI (validate --spec, import, list, export, peek) and in
documents, with no change outside its own module."""

from __future__ import annotations

import json

from desktop.core.model import parse_document, to_document
from tests.integration.test_cli import cli
from tests.plugins.echo import CONNECTOR as ECHO

PLUGIN = {"CONNECTOR_DESK_CONNECTORS": "tests.plugins.echo", "CD_ECHO_TOKEN": "t0ken-t0ken"}


def echo_document(name: str = "echo-1", phrase: str = "hello") -> dict[str, object]:
    return {"name": name, "type": "echo", "description": "Test-only type",
            "settings": {"host": "echo.example.com", "port": 7007, "phrase": phrase},
            "secrets": {"token": {"env": "CD_ECHO_TOKEN"}}}


def test_documents_of_the_plugin_type_round_trip_and_name_its_fields():
    conn, refs = parse_document(echo_document(), {"echo": ECHO})
    assert conn.type == "echo" and conn.settings["port"] == 7007 and "token" in refs
    assert to_document(conn, ["token"])["settings"] == {"host": "echo.example.com", "port": 7007, "phrase": "hello"}
    bad = echo_document()
    bad["settings"] = {"host": "echo.example.com", "port": 70000, "phrase": "x"}
    try:
        parse_document(bad, {"echo": ECHO})
    except Exception as exc:  # noqa: BLE001 - the message is what is checked
        assert "port" in str(exc).lower()
    else:
        raise AssertionError("a port out of range was accepted")


def test_cli_validates_imports_lists_exports_and_peeks_the_plugin_type(app_home, tmp_path):
    spec = tmp_path / "echo.json"
    spec.write_text(json.dumps(echo_document()))
    r = cli("validate", "--spec", str(spec), "--json", home=app_home, env=PLUGIN)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["type"] == "echo" and out["steps"][0]["name"] == "greet"

    r = cli("validate", "--spec", str(spec), home=app_home, env=PLUGIN)
    assert "Echo: “hello”, 3 times" in r.stdout  # the type's own fact, in its own words

    r = cli("validate", "--spec", str(spec), "--json", home=app_home, env={**PLUGIN, "CD_ECHO_TOKEN": "wrong"})
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["code"] == "auth_failed"

    r = cli("import", str(spec), home=app_home, env=PLUGIN)
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli("list", "--json", home=app_home, env=PLUGIN)
    assert r.returncode == 0, r.stdout + r.stderr
    listed = json.loads(r.stdout)
    rows = listed if isinstance(listed, list) else listed.get("connectors", [])
    assert any(c.get("name") == "echo-1" and c.get("type") == "echo" for c in rows), r.stdout

    r = cli("peek", "echo-1", "--count", "2", home=app_home, env=PLUGIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "#1 HELLO" in r.stdout and "#2 hello" in r.stdout  # its own listing, printed by the CLI

    out_file = tmp_path / "out.json"
    r = cli("export", "echo-1", "--out", str(out_file), home=app_home, env=PLUGIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "t0ken-t0ken" not in out_file.read_text() and '"echo"' in out_file.read_text()


def test_without_the_plugin_the_type_is_refused_by_name(app_home, tmp_path):
    spec = tmp_path / "echo.json"
    spec.write_text(json.dumps(echo_document()))
    r = cli("validate", "--spec", str(spec), home=app_home, env={"CD_ECHO_TOKEN": "x"})
    assert r.returncode == 2 and "echo" in (r.stdout + r.stderr)
