"""Untrusted text is printed escaped (issue 12, item 11): a terminal never acts on an escape
sequence that came from a server, a document or the catalogue."""

from __future__ import annotations

import json

import pytest

from desktop import cli
from desktop.core.textsafe import escape, json_text, preview
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer

TITLE = "\x1b]0;pwned\x07"  # sets the terminal's window title
CSI = "\x9b2J"  # C1 control sequence introducer: clears the screen on some terminals


def test_escape_shows_controls_and_keeps_ordinary_text():
    assert escape("ops" + TITLE + "é “ok”") == "ops\\x1b]0;pwned\\x07é “ok”"
    assert escape("a\r\nb\x00\x9b\u202e") == "a\\x0d\\x0ab\\x00\\x9b\\u202e"
    assert escape("plain text") == "plain text"


def test_preview_is_short_and_escaped():
    shown = preview("\x1b" * 1_000_000)
    assert len(shown) < 250 and "\x1b" not in shown and "1,000,000 characters" in shown
    assert preview(10 ** 5000) == "a value of type int"  # repr() of such an int raises


def test_json_text_escapes_what_json_leaves_raw():
    text = json_text({"m": "a" + CSI + "\u202eb é"})
    assert "\x9b" not in text and "\u202e" not in text and "é" in text
    assert json.loads(text) == {"m": "a" + CSI + "\u202eb é"}


@pytest.fixture
def hostile_sender_rejection():  # type: ignore[no-untyped-def]
    reply = f"550 5.7.1 {TITLE}{CSI} go away"
    with ScriptedServer(scripted.smtp(auth=None, mail_replies=[reply])) as srv:
        yield srv


def _spec(tmp_path, port: int):  # type: ignore[no-untyped-def]
    doc = {"name": "hostile-echo", "type": "smtp",
           "settings": {"host": "127.0.0.1", "port": port, "security": "none", "auth": "none",
                        "from_address": "ops@example.test"}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc))
    return path


def test_cli_prints_a_servers_escape_sequences_escaped(app_home, tmp_path, capsys, hostile_sender_rejection):
    spec = _spec(tmp_path, hostile_sender_rejection.port)
    assert cli.main(["validate", "--spec", str(spec)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "\\x1b]0;pwned\\x07" in out and "sender_rejected" in out
    assert cli.main(["validate", "--spec", str(spec), "--json"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out
    assert TITLE in json.loads(out)["error"]["message"]


def test_cli_list_and_import_print_stored_text_escaped(app_home, tmp_path, capsys, hostile_sender_rejection):
    spec = _spec(tmp_path, hostile_sender_rejection.port)
    assert cli.main(["import", str(spec)]) == 0
    assert cli.main(["validate", "hostile-echo"]) == 1  # the failure (with the server's text) is recorded
    capsys.readouterr()
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "hostile-echo" in out and "\x1b" not in out and "\\x1b" in out


def test_cli_refuses_a_from_address_holding_a_terminal_escape(app_home, tmp_path, capsys):
    doc = {"name": "x", "type": "smtp", "settings": {"host": "127.0.0.1", "auth": "none",
                                                     "from_address": f"ops{TITLE}@example.test"}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    assert cli.main(["validate", "--spec", str(path)]) == 2
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "settings.from_address" in captured.err and "\\x1b" in captured.err
