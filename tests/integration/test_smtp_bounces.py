"""SMTP bounces: a REAL delivery status notification — Postfix bounces a test send to an unknown
user of example.test back into the sender's Dovecot mailbox — read through the IMAP connector the
SMTP connector names, without marking anything; and hostile reports."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from desktop.connectors import registry
from desktop.core import health
from desktop.core.errors import InputErrors
from desktop.core.failures import parse_dsn
from desktop.core.service import Desk
from tests.conftest import imap_document, smtp_document
from tests.integration.test_cli import cli


def _desk(app_home: Any, mail: Any, certs: Any) -> Desk:
    desk = Desk(registry(), app_home)
    user = mail.users[1]  # bob sends; his own mailbox receives the bounces
    env = {"PW": user.password}
    box = imap_document(mail, certs, name="bob-bounces", env="PW", username=user.address, timeout_s=10)
    desk.import_document(box, env)
    doc = smtp_document(mail, certs, name="bob-mail", env="PW", timeout_s=10, bounce_mailbox_connector="bob-bounces")
    doc["settings"]["username"] = doc["settings"]["from_address"] = user.address
    desk.import_document(doc, env)
    return desk


def _wait_for_bounce(desk: Desk, tag: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        result = health.failures(desk, "bob-mail")
        assert result.ok, result.error
        for f in result.info["failures"]:
            if f["original"].get("ours", {}).get("test_tag") == tag:
                return f
        if time.monotonic() > deadline:
            raise AssertionError(f"no bounce for {tag}: {result.info['failures']}")
        time.sleep(0.5)


def test_a_real_postfix_bounce_is_read_matched_to_our_test_send_and_left_unread(app_home, mail, certs):
    desk = _desk(app_home, mail, certs)
    conn = desk.get("bob-mail")
    sent = desk.test_send(conn, desk.load_secrets(conn), "no-such-user@example.test")
    assert sent.ok, sent.error
    tag = sent.info["tag"]
    bounce = _wait_for_bounce(desk, tag)
    assert bounce["source"] == "smtp_bounce"
    assert bounce["recipient"] == "no-such-user@example.test"
    assert bounce["status"] == "5.1.1"
    assert bounce["detail"]["action"] == "failed"
    assert bounce["detail"]["reporting_mta"] == "mail.example.test"
    assert bounce["detail"]["remote_mta"]  # the LMTP server that refused it
    assert "5.1.1" in bounce["reason"]
    assert bounce["original"]["message_id"].endswith("@example.test>")  # ours: the sender's domain
    # BODY.PEEK: the report is still unread (no \\Seen flag, so it sits in new/ or cur/ without S).
    folder = mail.maildir(mail.users[1].address)
    unread = [p for p in (folder / "new").iterdir()] + [p for p in (folder / "cur").iterdir() if ":2," in p.name
                                                        and "S" not in p.name.split(":2,")[1]]
    assert any(b"delivery-status" in p.read_bytes() for p in unread)


def test_without_a_bounce_mailbox_the_setting_is_named(app_home, mail, certs):
    desk = Desk(registry(), app_home)
    desk.import_document(smtp_document(mail, certs, name="plain", env="PW"), {"PW": mail.users[0].password})
    result = health.failures(desk, "plain")
    assert result.error is not None and result.error.code == "bad_input"
    assert "bounce_mailbox_connector" in result.error.message


def test_cli_failures_of_an_smtp_connector(app_home, mail, certs):
    desk = _desk(app_home, mail, certs)
    conn = desk.get("bob-mail")
    sent = desk.test_send(conn, desk.load_secrets(conn), "another-missing@example.test")
    _wait_for_bounce(desk, sent.info["tag"])
    r = cli("failures", "bob-mail", "--json", home=app_home)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "another-missing@example.test" in {f["recipient"] for f in out["failures"]}
    assert mail.users[1].password not in r.stdout
    r = cli("failures", "bob-mail", home=app_home)
    assert "another-missing@example.test 5.1.1" in r.stdout and "(our {'test_tag'" in r.stdout


# -- hostile reports (parsed without a server) ---------------------------------------------------
DSN = (b"From: MAILER-DAEMON@mx.example\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
       b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
       b"--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
       b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
       b"Reporting-MTA: dns; mx.example\r\n\r\n"
       b"Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
       b"Remote-MTA: dns; in.example.org\r\nDiagnostic-Code: smtp; 550 5.1.1 <gone@example.org>:\r\n"
       b" Recipient address rejected\r\n\r\n"
       b"Final-Recipient: rfc822; slow@example.org\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
       b"Final-Recipient: rfc822; fine@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
       b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <abc@x>\r\nSubject: hi\r\n\r\n--B--\r\n")


def test_a_well_formed_report_with_folded_diagnostic_and_mixed_actions():
    found = parse_dsn(DSN, "7")
    assert [(f.recipient, f.status, f.detail["action"]) for f in found] == [
        ("gone@example.org", "5.1.1", "failed"), ("slow@example.org", "4.4.1", "delayed")]
    assert found[0].reason == "550 5.1.1 <gone@example.org>: Recipient address rejected"
    assert found[0].detail["remote_mta"] == "in.example.org" and found[0].original["message_id"] == "<abc@x>"
    assert found[0].time == "2026-12-01T10:00:00+00:00"


@pytest.mark.parametrize("raw", [
    DSN.replace(b"message/delivery-status", b"text/plain"),                     # no status part
    DSN.replace(b"report-type=delivery-status", b"report-type=disposition-notification"),
    DSN.split(b"--B\r\nContent-Type: message/delivery-status")[0],              # cut before the status
    b"\xff\xfe\x00garbage" * 1000,
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\n"
    b"Content-Type: message/delivery-status\r\n\r\n\r\n\r\n--B--",                # empty status part
])
def test_malformed_reports_yield_nothing_and_never_raise(raw):
    assert parse_dsn(raw, "1") == []


def test_a_report_with_broken_fields_keeps_what_it_can():
    raw = DSN.replace(b"Status: 5.1.1", b"Status: five").replace(b"Date: Tue, 1 Dec 2026 10:00:00 +0000",
                                                                   b"Date: yesterday-ish")
    raw = raw.replace(b"Final-Recipient: rfc822; gone@example.org", b"Final-Recipient: " + b"x" * 5000)
    found = parse_dsn(raw, "2")
    assert found[0].status is None and found[0].time is None and len(found[0].recipient or "") == 500
    assert found[0].reason.startswith("550 5.1.1")


def test_a_hostile_bounce_mailbox_cannot_break_the_reader(app_home):
    """SEARCH answers with non-ASCII digits and absurd UIDs; one report is malformed, one is cut
    short by the partial fetch, one is fine: the fine one is shown, nothing raises."""
    from tests.servers import scripted
    from tests.servers.scripted import ScriptedServer

    fetched: list[str] = []
    reports = {"1": DSN, "3": b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\n\xff\xfe",
               "4": DSN[:400]}

    def other(peer: Any, tag: str, rest: str) -> None:
        if rest.upper().startswith("UID SEARCH"):
            peer.send("* SEARCH 1 \u00b2 3 4 99999999999999999999")
        elif rest.upper().startswith("UID FETCH"):
            uid = rest.split()[2]
            fetched.append(rest)
            body = reports.get(uid, b"")
            peer.send(f"* 1 FETCH (UID {uid} BODY[]<0> {{{len(body)}}}".encode() + b"\r\n" + body + b")\r\n")
        else:
            peer.send(f"{tag} BAD unknown")
            return
        peer.send(f"{tag} OK done")

    with ScriptedServer(scripted.imap(other=other)) as srv:
        desk = Desk(registry(), app_home)
        desk.import_document({"name": "box", "type": "imap", "settings": {
            "host": "127.0.0.1", "port": srv.port, "security": "none", "allow_plaintext": True, "auth": "password",
            "username": "u@example.test", "timeout_s": 5}, "secrets": {"password": {"env": "PW"}}}, {"PW": "pw-x"})
        desk.import_document({"name": "sender", "type": "smtp", "settings": {
            "host": "127.0.0.1", "port": 25, "security": "none", "allow_plaintext": True, "auth": "none",
            "bounce_mailbox_connector": "box"}}, {})
        result = health.failures(desk, "sender")
    assert result.ok, result.error
    by_id = {f["id"]: f["recipient"] for f in result.info["failures"]}
    assert by_id["1/0"] == "gone@example.org" and by_id["1/1"] == "slow@example.org"
    assert not any(i.startswith("3/") for i in by_id)  # the malformed one yields nothing
    # The one cut short keeps what it has (its first recipient), never more.
    assert {i for i in by_id if i.startswith("4/")} <= {"4/0"}
    assert all("BODY.PEEK[]<0.262144>" in f for f in fetched) and len(fetched) == 3


def test_a_bounce_mailbox_that_is_not_an_imap_connector_is_named(app_home, mail, certs):
    desk = Desk(registry(), app_home)
    desk.import_document(smtp_document(mail, certs, name="other", env="PW"), {"PW": mail.users[0].password})
    desk.import_document(smtp_document(mail, certs, name="plain", env="PW", bounce_mailbox_connector="other"),
                         {"PW": mail.users[0].password})
    with pytest.raises(InputErrors) as caught:
        health.failures(desk, "plain")
    assert caught.value.code == "bad_input"
    assert "settings.bounce_mailbox_connector: “other” is not an IMAP connector" in caught.value.message


def test_renaming_the_bounce_mailbox_updates_the_sender_that_names_it(app_home, mail, certs):
    desk = _desk(app_home, mail, certs)
    box = desk.get("bob-bounces")
    box.name = "bob-returns"
    desk.save(box, desk.load_secrets(desk.get("bob-bounces")), old_name="bob-bounces")
    assert desk.get("bob-mail").settings["bounce_mailbox_connector"] == "bob-returns"
    result = health.failures(desk, "bob-mail")
    assert result.ok, result.error  # still reads the (renamed) mailbox
