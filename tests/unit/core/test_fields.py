"""Fields refuse what could become a second protocol command, stay bounded, and never echo a
hostile value back in full (issue 12, items 1 and 11)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from desktop.connectors import registry
from desktop.core.errors import FieldError, InputErrors
from desktop.core.model import parse_document
from tests.conftest import ROOT
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer

INJECTION = ("ops@example.test>\r\nRCPT TO:<attacker@evil.test>\r\nDATA\r\n"
             "Subject: injected\r\n\r\nsent by the attacker\r\n.\r\nQUIT")


def issue_document(port: int = 25) -> dict[str, object]:
    """The document from the audit: the user name carries a whole SMTP transaction; with
    ``auth: none`` the user name does not apply, and there is no from_address."""
    return {"name": "injected", "type": "smtp",
            "settings": {"host": "127.0.0.1", "port": port, "security": "none", "auth": "none",
                         "username": INJECTION},
            "admin": {"test_recipient": "ops@example.test"}}


def problems(doc: dict[str, object]) -> dict[str, str]:
    with pytest.raises(InputErrors) as e:
        parse_document(doc, registry())
    return e.value.fields


def test_the_issue_document_is_refused_naming_the_user_name():
    fields = problems(issue_document())
    assert set(fields) == {"settings.username"}
    assert "control characters" in fields["settings.username"]
    assert "\r" not in str(fields) and "\n" not in str(fields)


def test_the_issue_document_through_validate_spec_exits_2_and_sends_nothing(tmp_path):
    with ScriptedServer(scripted.smtp()) as srv:
        spec = tmp_path / "injected.json"
        spec.write_text(json.dumps(issue_document(srv.port)))
        r = subprocess.run([sys.executable, "-m", "desktop", "validate", "--spec", str(spec)],
                           capture_output=True, text=True, cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL,
                           env={**__import__("os").environ, "CONNECTOR_DESK_HOME": str(tmp_path / "home")})
        time.sleep(0.2)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "settings.username" in r.stderr and "control characters" in r.stderr
    assert srv.connections == 0 and b"RCPT" not in srv.received


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\0b", "a\x1b[2Jb", "a\x85b", "a\ud800b"])
@pytest.mark.parametrize("field", ["username", "host", "from_address", "ca_file", "provider"])
def test_no_field_of_any_kind_accepts_control_characters(bad, field):
    settings = {"host": "smtp.example.test", "auth": "password", "username": "u@example.test",
                field: bad.replace("a", "x@example.test" if field == "from_address" else "host", 1)}
    fields = problems({"name": "x", "type": "smtp", "settings": settings})
    assert "control characters" in fields[f"settings.{field}"]


def test_list_entries_and_imap_text_fields_refuse_line_breaks():
    doc = {"name": "x", "type": "imap",
           "settings": {"host": "imap.example.test", "username": "u", "mailbox": "INBOX\r\na9 DELETE x"}}
    assert "control characters" in problems(doc)["settings.mailbox"]
    kafka = registry()["kafka"]
    list_field = next(f for f in kafka.fields if f.kind == "list")
    with pytest.raises(FieldError) as e:
        list_field.coerce(["ok:9092", "bad\n:9092"])
    assert "control characters" in str(e.value)


def test_a_setting_that_does_not_apply_is_dropped_not_stored():
    doc = {"name": "x", "type": "smtp", "settings": {"host": "h.example.test", "auth": "none",
                                                     "username": "someone", "allow_plaintext": True}}
    conn, _ = parse_document(doc, registry())
    assert conn.settings["username"] is None  # not used with auth "none": not kept
    assert conn.settings["allow_plaintext"] is False  # applies only to security "none"


def test_description_may_hold_a_tab_but_no_other_control_character():
    base = {"name": "x", "type": "smtp", "settings": {"host": "h.example.test", "auth": "none"}}
    conn, _ = parse_document({**base, "description": "a\tb"}, registry())
    assert conn.description == "a\tb"
    for bad in ("a\nb", "a\x1b]0;title\x07b"):
        assert "control characters" in problems({**base, "description": bad})["description"]


def test_the_e_mail_check_refuses_control_characters():
    for bad in ("ops\x1b]0;pwned\x07@example.test", "a\x00@example.test", "a@exa\x9bmple.test"):
        doc = {"name": "x", "type": "smtp", "settings": {"host": "h.example.test", "auth": "none", "from_address": bad},
               "admin": {"email": bad}}
        fields = problems(doc)
        assert set(fields) == {"settings.from_address", "admin.email"}
        assert "\x1b" not in str(fields) and "\x00" not in str(fields)


def test_lengths_are_bounded_and_a_huge_value_is_not_echoed():
    huge = "a" * 10_000_000
    settings = {"host": "0" * 10_000_000, "username": huge, "from_address": huge + "@example.test",
                "auth": "password"}
    t0 = time.monotonic()
    fields = problems({"name": "x", "type": "smtp", "settings": settings, "description": huge})
    assert time.monotonic() - t0 < 1.0
    for name in ("settings.host", "settings.username", "settings.from_address", "description"):
        assert "too long" in fields[name] and len(fields[name]) < 200, name
    assert len(str(fields)) < 1000


def test_boundaries_of_host_and_address_lengths():
    label = "a" * 63
    host_253 = ".".join([label] * 3) + "." + "b" * 61  # 253 characters
    assert len(host_253) == 253
    ok = {"name": "x", "type": "smtp", "settings": {"host": host_253, "auth": "none",
                                                    "from_address": "u" * 64 + "@" + "d" * 184 + ".test"}}
    conn, _ = parse_document(ok, registry())
    assert conn.settings["host"] == host_253
    too_long = {**ok, "settings": {**ok["settings"], "host": host_253 + "c",
                                   "from_address": "u" * 65 + "@" + "d" * 184 + ".test"}}
    assert set(problems(too_long)) == {"settings.host", "settings.from_address"}


def test_ip_addresses_are_hosts_but_hex_runs_are_not():
    for good in ("127.0.0.1", "::1", "[::1]", "2001:db8::1", "fe80::1%eth0"):
        conn, _ = parse_document({"name": "x", "type": "smtp", "settings": {"host": good, "auth": "none"}},
                                 registry())
        assert conn.settings["host"] == good
    for bad in ("deadbeef:cafe:::", "1:2:3:4:5:6:7:8:9", "[example.test]"):
        assert "not a host name" in problems({"name": "x", "type": "smtp", "settings": {"host": bad}})["settings.host"]


def test_unicode_digits_are_not_a_port():
    for bad in ("²", "٣", "1" * 40):
        fields = problems({"name": "x", "type": "smtp", "settings": {"host": "h.example.test", "port": bad}})
        assert "whole number" in fields["settings.port"]
