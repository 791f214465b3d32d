"""SendGrid suppressions, removal and stats against the stand-in, every request and response checked
against SendGrid's OpenAPI documents (tsg_suppressions_v3.json, tsg_stats_v3.json)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from desktop.connectors import registry
from desktop.core import health
from desktop.core.failures import read_outcome
from desktop.core.service import Desk
from tests.conftest import sendgrid_document
from tests.integration.test_cli import cli
from tests.servers.sendgrid_standin import Contract

LISTS = ("bounces", "blocks", "invalid_emails", "spam_reports", "unsubscribes")
READ = ["mail.send", *(f"suppression.{k}.read" for k in LISTS), "stats.read"]
DELETE = ["suppression.bounces.delete", "suppression.spam_reports.delete", "asm.suppressions.global.delete"]
NOW = int(time.time())


def seed(standin: Any) -> None:
    standin.suppressions = {
        "bounces": [{"created": NOW - 60, "email": "gone@example.com", "reason": "550 5.1.1 The email account "
                     "that you tried to reach does not exist.", "status": "5.1.1"}],
        "blocks": [{"created": NOW - 120, "email": "blocked@example.com", "reason": "554 rejected due to policy",
                    "status": "4.0.0"}],
        "invalid_emails": [{"created": NOW - 180, "email": "bad@example", "reason": "Mail domain mentioned in email "
                            "address is unknown"}],
        "spam_reports": [{"created": NOW - 240, "email": "angry@example.com", "ip": "192.0.2.7"}],
        "unsubscribes": [{"created": NOW - 300, "email": "bye@example.com"}],
    }
    today = datetime.now(UTC).date()
    standin.stats = {(today - timedelta(days=i)).isoformat(): {"requests": 10 + i, "delivered": 8, "deferred": 1,
                                                               "bounces": 1, "blocks": 0}
                     for i in range(3)}


def _desk(app_home: Any, standin: Any, scopes: list[str], name: str = "sg-mail") -> Desk:
    desk = Desk(registry(), app_home)
    key = standin.add_key(scopes)
    desk.import_document(sendgrid_document(standin.base, name=name, env="K"), {"K": key})
    return desk


def test_every_list_read_with_reason_time_and_status_and_stats(app_home, sendgrid):
    seed(sendgrid)
    result = health.failures(_desk(app_home, sendgrid, READ), "sg-mail")
    assert result.ok, result.error
    found = result.info["failures"]
    assert [f["source"] for f in found] == ["sendgrid_bounce", "sendgrid_block", "sendgrid_invalid_email",
                                            "sendgrid_spam_report", "sendgrid_unsubscribe"]  # newest first
    bounce = found[0]
    assert bounce["recipient"] == "gone@example.com" and bounce["status"] == "5.1.1"
    assert bounce["reason"].startswith("550 5.1.1") and bounce["id"] == "bounces/gone@example.com"
    assert bounce["time"] == datetime.fromtimestamp(NOW - 60, UTC).isoformat(timespec="milliseconds")
    assert found[3]["reason"] == "marked the message as spam"
    assert [d["requests"] for d in result.info["stats"]] == [12, 11, 10]
    assert result.info["notes"] == [] and result.info["unread"] == []
    assert sendgrid.violations == []


def test_a_key_without_read_scopes_is_told_which_scope_to_add(app_home, sendgrid):
    seed(sendgrid)
    result = health.failures(_desk(app_home, sendgrid, ["mail.send"]), "sg-mail")
    assert result.error is not None and result.error.code == "api_key_missing_scope"
    assert "may not read suppressions" in result.error.message
    assert "suppression.bounces.read" in result.error.hint
    partial = health.failures(_desk(app_home, sendgrid, ["mail.send", "suppression.bounces.read"], "sg-b"), "sg-b")
    assert partial.ok and [f["source"] for f in partial.info["failures"]] == ["sendgrid_bounce"]
    assert [u["what"] for u in partial.info["unread"]] == ["blocks", "invalid emails", "spam reports", "unsubscribes"]
    assert "“suppression.blocks.read”" in partial.info["unread_hint"]
    assert any("stats.read" in n for n in partial.info["notes"])
    outcome = read_outcome(partial.info)  # a part was read: never the all-clear "No failed sends"
    assert outcome.state == "partial" and "4 of 5 lists could not be read" in outcome.title
    assert outcome.message.startswith("Read: bounces — 1 failed send in bounces. Not read: blocks, invalid emails, "
                                      "spam reports, unsubscribes (this key may not read them).")
    assert read_outcome(health.failures(_desk(app_home, sendgrid, READ, "sg-all"), "sg-all").info).state == "found"


def test_fifty_thousand_entries_are_read_in_documented_pages(app_home, sendgrid):
    sendgrid.suppressions = {"bounces": [{"created": NOW - i, "email": f"u{i}@example.com", "reason": "550 5.1.1",
                                          "status": "5.1.1"} for i in range(50_000)]}
    desk = _desk(app_home, sendgrid, ["suppression.bounces.read"])
    conn = desk.get("sg-mail")
    conn.settings["timeout_s"] = 120
    desk.save(conn, desk.load_secrets(conn), old_name="sg-mail")
    result = health.failures(desk, "sg-mail", limit=50_000)
    assert result.ok, result.error
    assert len(result.info["failures"]) == 50_000
    assert len({f["recipient"] for f in result.info["failures"]}) == 50_000
    pages = [r for r in sendgrid.requests if r["path"] == "/v3/suppression/bounces"]
    assert len(pages) == 100  # 500 a page, the documented maximum
    assert sendgrid.violations == []


def test_unsuppress_removes_one_and_needs_the_delete_scope(app_home, sendgrid):
    seed(sendgrid)
    desk = _desk(app_home, sendgrid, READ)
    refused = health.unsuppress(desk, "sg-mail", "bounces", "gone@example.com")
    assert refused.error is not None and refused.error.code == "api_key_missing_scope"
    assert "suppression.bounces.delete" in refused.error.hint
    assert len(sendgrid.suppressions["bounces"]) == 1
    key = sendgrid.add_key(READ + DELETE)
    desk.import_document(sendgrid_document(sendgrid.base, name="sg-admin", env="K"), {"K": key})
    done = health.unsuppress(desk, "sg-admin", "bounces", "gone@example.com")
    assert done.ok, done.error
    assert sendgrid.suppressions["bounces"] == []
    assert health.unsuppress(desk, "sg-admin", "unsubscribes", "bye@example.com").ok
    assert sendgrid.suppressions["unsubscribes"] == []
    missing = health.unsuppress(desk, "sg-admin", "bounces", "nobody@example.com")
    assert missing.error is not None and missing.error.code == "bad_input" and "not on the bounces list" in \
        missing.error.message
    assert sendgrid.violations == []


def test_cli_unsuppress_asks_and_warns_for_spam_reports(app_home, sendgrid):
    seed(sendgrid)
    key = sendgrid.add_key(READ + DELETE)
    Desk(registry(), app_home).import_document(sendgrid_document(sendgrid.base, env="K"), {"K": key})
    r = cli("unsuppress", "sg-mail", "angry@example.com", "--list", "spam_reports", home=app_home)
    assert r.returncode == 2 and "--yes" in r.stderr
    assert len(sendgrid.suppressions["spam_reports"]) == 1
    r = cli("unsuppress", "sg-mail", "angry@example.com", "--list", "spam_reports", "--yes", home=app_home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sendgrid.suppressions["spam_reports"] == []
    r = cli("failures", "sg-mail", "--json", home=app_home)
    assert r.returncode == 0
    assert {f["recipient"] for f in json.loads(r.stdout)["failures"]} == {
        "gone@example.com", "blocked@example.com", "bad@example", "bye@example.com"}
    assert key not in r.stdout


def test_the_stand_in_catches_an_undocumented_page_size():
    contract = Contract()
    problems = contract.check_request("GET", "/v3/suppression/blocks", {"limit": ["501"]},
                                      {"Authorization": "Bearer x"}, b"")
    assert any("maximum" in p for p in problems), problems
    problems = contract.check_request("GET", "/v3/suppression/bounces", {}, {"Authorization": "Bearer x"}, b"")
    assert any("Accept" in p for p in problems)



def _in_terminal(args: list[str], answer: bytes, home: Any) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stdout, typing ``answer`` at the prompt."""
    import os
    import pty
    import select
    import subprocess
    import sys

    from tests.conftest import ROOT
    main, side = pty.openpty()
    env = {**os.environ, "CONNECTOR_DESK_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "desktop", *args], stdin=side, stdout=side, stderr=side,
                            cwd=ROOT, env=env)
    os.close(side)
    out = b""
    deadline = time.monotonic() + 30
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not answered and b"[y/N]" in out:
                os.write(main, answer)
                answered = True
        elif proc.poll() is not None:
            break
    rc = proc.wait(timeout=30)
    os.close(main)
    return rc, out.decode("utf-8", "replace")


def test_cli_asks_in_a_terminal_with_sendgrids_warning(app_home, sendgrid):
    seed(sendgrid)
    key = sendgrid.add_key(READ + DELETE)
    Desk(registry(), app_home).import_document(sendgrid_document(sendgrid.base, env="K"), {"K": key})
    args = ["unsuppress", "sg-mail", "angry@example.com", "--list", "spam_reports"]
    rc, out = _in_terminal(args, b"\n", app_home)  # Enter: the default is No
    assert rc == 2 and "This should be avoided unless a recipient indicates" in out and "nothing was changed" in out
    assert len(sendgrid.suppressions["spam_reports"]) == 1
    rc, out = _in_terminal(args, b"y\n", app_home)
    assert rc == 0, out
    assert sendgrid.suppressions["spam_reports"] == []


def test_failures_across_all_connectors(app_home, sendgrid):
    from tests.conftest import kafka_document
    from tests.servers.ports import free_port
    seed(sendgrid)
    desk = _desk(app_home, sendgrid, READ)
    desk.import_document(kafka_document(f"127.0.0.1:{free_port()}", name="down", dead_letter_topic="x.dlq",
                                        timeout_s=3), {})
    desk.import_document(kafka_document(f"127.0.0.1:{free_port()}", name="no-dlq", timeout_s=3), {})
    r = cli("failures", "--all", "--json", home=app_home)
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert {f["connector"] for f in out["failures"]} == {"sg-mail"} and len(out["failures"]) == 5
    assert [(e["connector"], e["error"]["code"]) for e in out["errors"]] == [("down", "connect_refused")]
    r = cli("failures", home=app_home)
    assert r.returncode == 2 and "--all" in r.stderr
