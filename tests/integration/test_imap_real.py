"""The IMAP connector against real Dovecot (and the round trip through real Postfix)."""

from __future__ import annotations

import imaplib
import json
import os
import ssl
import subprocess
import sys

import pytest

from desktop.connectors import registry
from desktop.core.model import parse_document
from desktop.core.mutf7 import decode, encode
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests.conftest import ROOT, imap_document, smtp_document


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


def conn(mail, certs, **kw):  # type: ignore[no-untyped-def]
    return parse_document(imap_document(mail, certs, **kw), registry())[0]


def pw(mail):  # type: ignore[no-untyped-def]
    return {"password": Secret(mail.users[0].password)}


def test_modified_utf7_round_trips():
    assert encode("Entwürfe") == "Entw&APw-rfe" and decode("Entw&APw-rfe") == "Entwürfe"
    assert encode("A&B") == "A&-B" and decode("A&-B") == "A&B"
    assert decode(encode("日本語/メール")) == "日本語/メール"
    assert decode("&broken") == "&broken"  # a hostile name never raises


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_validate_inbox(desk, mailboxes, certs, security):
    r = desk.validate(conn(mailboxes, certs, security=security), pw(mailboxes))
    assert r.ok, r.error
    names = [s.name for s in r.steps]
    assert names[-3:] == ["list", "examine", "logout"] and "authenticate" in names
    assert ("starttls" in names) == (security == "starttls")
    assert r.info["mailbox"]["messages"] >= 3 and r.info["mailbox"]["uidvalidity"] > 0
    text = "\n".join(r.transcript)
    assert "AUTHENTICATE PLAIN ********" in text and mailboxes.users[0].password not in text


def test_non_ascii_mailbox_is_found(desk, mailboxes, certs):
    r = desk.validate(conn(mailboxes, certs, mailbox="Entwürfe"), pw(mailboxes))
    assert r.ok, r.error
    assert r.info["mailbox"]["name"] == "Entwürfe"
    assert any(f["name"] == "Archive/2025" for f in r.info["folders"])


def test_wrong_case_names_the_mailbox_meant(desk, mailboxes, certs):
    r = desk.validate(conn(mailboxes, certs, mailbox="sent"), pw(mailboxes))
    assert r.error.code == "mailbox_not_found" and r.error.step == "list"
    assert "“Sent”" in r.error.hint and "case-sensitive" in r.error.hint


def test_close_name_is_suggested(desk, mailboxes, certs):
    r = desk.validate(conn(mailboxes, certs, mailbox="Entwurfe"), pw(mailboxes))
    assert r.error.code == "mailbox_not_found" and "Entwürfe" in r.error.hint


def test_noselect_folder_is_reported_as_such(desk, mailboxes, certs):
    r = desk.validate(conn(mailboxes, certs, mailbox="Archive"), pw(mailboxes))
    assert r.error.code == "mailbox_not_found"
    assert "\\Noselect" in r.error.message and "Archive/2025" in r.error.hint


def test_inbox_is_case_insensitive_as_the_rfc_says(desk, mailboxes, certs):
    assert desk.validate(conn(mailboxes, certs, mailbox="inbox"), pw(mailboxes)).ok


def test_wrong_password(desk, mailboxes, certs):
    r = desk.validate(conn(mailboxes, certs), {"password": Secret("wrong-password")})
    assert r.error.code == "auth_failed" and r.error.step == "authenticate"


def test_plaintext_password_is_refused(desk, mailboxes, certs):
    r = desk.validate(conn(mailboxes, certs, security="none"), pw(mailboxes))
    assert r.error.code == "plaintext_refused"


def test_folders_show_special_use_and_selectability(desk, mailboxes, certs):
    r = desk.folders(conn(mailboxes, certs), pw(mailboxes))
    folders = {f["name"]: f for f in r.info["folders"]}
    assert folders["Sent"]["special_use"] == ["\\Sent"] and folders["Trash"]["special_use"] == ["\\Trash"]
    assert folders["Archive"]["selectable"] is False and folders["Entwürfe"]["selectable"] is True


def test_peek_reads_without_marking_as_read(desk, mailboxes, certs):
    r = desk.peek(conn(mailboxes, certs), pw(mailboxes), count=2)
    assert r.ok, r.error
    uids = [m["uid"] for m in r.info["messages"]]
    assert len(uids) == 2 and uids[0] > uids[1]  # newest first
    assert all(m["from"] and m["subject"] and m["date"] for m in r.info["messages"])
    ctx = ssl.create_default_context(cafile=str(certs.ca.ca_file))
    c = imaplib.IMAP4("localhost", mailboxes.ports["imap"])
    c.starttls(ssl_context=ctx)
    c.login(mailboxes.users[0].address, mailboxes.users[0].password)
    c.select("INBOX", readonly=True)
    _typ, data = c.search(None, "SEEN")
    c.logout()
    assert data == [b""]  # nothing was marked as read


def test_round_trip_through_postfix_and_dovecot(desk, mailboxes, certs):
    smtp = parse_document(smtp_document(mailboxes, certs, name="out"), registry())[0]
    imap = conn(mailboxes, certs, name="in")
    r = desk.roundtrip(smtp, pw(mailboxes), imap, pw(mailboxes))
    assert r.ok, r.error
    assert r.info["delivery_ms"] > 0
    names = [s.name for s in r.steps]
    assert "send.authenticate" in names and "receive.authenticate" in names and names[-1] == "receive.logout"
    assert r.steps[-2].label == "Receive: Wait for the test message"


def test_cli_validate_spec_wrong_case_and_entwuerfe(tmp_path, app_home, mailboxes, certs):
    env = {**os.environ, "CD_TEST_IMAP_PASSWORD": mailboxes.users[0].password, "CONNECTOR_DESK_HOME": str(app_home)}

    def run(mailbox: str) -> subprocess.CompletedProcess[str]:
        spec = tmp_path / f"{abs(hash(mailbox))}.json"
        spec.write_text(json.dumps(imap_document(mailboxes, certs, mailbox=mailbox)), encoding="utf-8")
        return subprocess.run([sys.executable, "-m", "desktop", "validate", "--spec", str(spec), "--json"],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    bad = run("entwürfe")
    assert bad.returncode == 1
    err = json.loads(bad.stdout)["error"]
    assert err["code"] == "mailbox_not_found" and "Entwürfe" in err["hint"]
    good = run("Entwürfe")
    assert good.returncode == 0, good.stdout


def test_cli_roundtrip_and_peek(tmp_path, app_home, mailboxes, certs):
    env = {**os.environ, "CD_TEST_IMAP_PASSWORD": mailboxes.users[0].password,
           "CD_TEST_SMTP_PASSWORD": mailboxes.users[0].password, "CONNECTOR_DESK_HOME": str(app_home)}
    (tmp_path / "s.json").write_text(json.dumps(smtp_document(mailboxes, certs, name="rt-out")))
    (tmp_path / "i.json").write_text(json.dumps(imap_document(mailboxes, certs, name="rt-in")))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=90)
    assert cli("import", str(tmp_path / "s.json"), str(tmp_path / "i.json")).returncode == 0
    r = cli("roundtrip", "rt-out", "rt-in")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Delivered in" in r.stdout
    r = cli("peek", "rt-in", "--count", "1")
    assert r.returncode == 0 and "Connector Desk test: rt-out" in r.stdout
    r = cli("roundtrip", "rt-in", "rt-out")
    assert r.returncode == 2 and "does not send" in r.stdout
