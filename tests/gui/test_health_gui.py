"""The failures view (Kafka dead letters with Replay, SendGrid suppressions with Remove — both ask
first) and validate-all streaming results, driven as a user would."""

from __future__ import annotations

import time
import uuid
from typing import Any

from PySide6.QtCore import Qt

from desktop.connectors import registry
from desktop.core.service import Desk
from desktop.gui.health import FailuresDialog, ValidateAll
from desktop.gui.worker import TaskRunner
from tests.conftest import kafka_document, sendgrid_document
from tests.integration.test_dead_letters import spring_headers
from tests.servers import scripted
from tests.servers.ports import free_port
from tests.servers.scripted import ScriptedServer


class Answers:
    """Stands in for the Yes/No box: records each question, answers from a list."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, title: str, text: str, _yes: str = "") -> bool:
        self.asked.append(text)
        return self.answers.pop(0)


def _select_row(dialog: FailuresDialog, column: int, text: str) -> None:
    for row in range(dialog.table.rowCount()):
        if dialog.table.item(row, column).text() == text:
            dialog.table.selectRow(row)
            return
    raise AssertionError(f"no row with {text!r}")


def _orders_with_a_dead_letter(kafka_plain: Any, prefix: str, order: int) -> tuple[str, dict[str, Any]]:
    """A topic and its dead-letter topic holding one record Spring sent there (order ``order``), and
    the "orders" connector's document for them: (the topic, the document)."""
    from kafka import KafkaProducer
    base = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kafka_plain.create_topics(base, f"{base}.dlq")
    p = KafkaProducer(**kafka_plain.client_config())
    p.send(f"{base}.dlq", key=f"order-{order}".encode(), value=f'{{"order": {order}}}'.encode(),
           headers=spring_headers(base, 0, order)).get(timeout=20)
    p.close()
    return base, kafka_document(kafka_plain.bootstrap, name="orders", topic=base, dead_letter_topic=f"{base}.dlq",
                                timeout_s=20)


def test_dead_letters_shown_and_replayed_only_after_yes(qtbot, app_home, kafka_plain, shoot):
    base, document = _orders_with_a_dead_letter(kafka_plain, "gui", 9)
    desk = Desk(registry(), app_home)
    desk.import_document(document, {})
    dialog = FailuresDialog(desk, desk.get("orders"))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.replay_btn.isVisible() and not dialog.remove_btn.isVisible()
    dialog.refresh()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30000)
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 2).text() == "order-9" and dialog.table.item(0, 5).text() == f"{base}:0:9"
    assert "ListenerExecutionFailedException" in dialog.table.item(0, 4).text()
    assert not dialog.replay_btn.isEnabled()
    dialog.table.selectRow(0)
    assert dialog.replay_btn.isEnabled()
    assert "\nValue (12 bytes): {\"order\": 9}\n" in dialog.details.text() and "trace-id" in dialog.details.text()
    qtbot.wait(100)  # let the layout make room for the details
    shoot(dialog, "failures-kafka")
    dialog.ask = Answers(False, True)  # type: ignore[method-assign]
    qtbot.mouseClick(dialog.replay_btn, Qt.MouseButton.LeftButton)
    assert f"“{base}”" in dialog.ask.asked[0]  # type: ignore[attr-defined]
    assert not (app_home / "replays.json").exists()  # "No": nothing was replayed
    dialog.outcome = None
    qtbot.mouseClick(dialog.replay_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30000)
    assert dialog.outcome.ok, dialog.outcome.error
    assert "Replayed" in dialog.banner.title.text() and (app_home / "replays.json").exists()
    dialog.reject()
    dialog.runner.wait(3000)


def test_a_dead_letter_naming_no_original_topic_is_not_offered_for_replay(qtbot, app_home, kafka_plain):
    # A record put on the dead-letter topic without Spring's or Kafka Connect's headers: Replay used to
    # ask "Produce 1 dead letter(s) back to “?”?" and only then refuse.
    from kafka import KafkaProducer
    base = f"gui-{uuid.uuid4().hex[:6]}"
    kafka_plain.create_topics(f"{base}.dlq")
    p = KafkaProducer(**kafka_plain.client_config())
    p.send(f"{base}.dlq", key=b"order-17", value=b"failed record",
           headers=[("reason", b"schema mismatch")]).get(timeout=20)
    p.close()
    desk = Desk(registry(), app_home)
    desk.import_document(kafka_document(kafka_plain.bootstrap, name="bare", dead_letter_topic=f"{base}.dlq",
                                        timeout_s=20), {})
    dialog = FailuresDialog(desk, desk.get("bare"))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.refresh()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30000)
    assert dialog.table.rowCount() == 1
    dialog.ask = Answers()  # type: ignore[method-assign]  # any question would fail: none is left to pop
    dialog.table.selectRow(0)
    assert "not recorded" in dialog.table.item(0, dialog.table.columnCount() - 1).text()  # was "?:?:?"
    assert "Other headers: reason=schema mismatch" in dialog.details.text()  # the value, not just the name
    assert not dialog.replay_btn.isEnabled()
    assert "does not name its original topic" in dialog.replay_btn.toolTip()
    qtbot.mouseClick(dialog.replay_btn, Qt.MouseButton.LeftButton)
    assert dialog.ask.asked == []  # type: ignore[attr-defined]
    dialog.reject()
    dialog.runner.wait(3000)


def test_suppressions_removed_with_the_spam_warning(qtbot, app_home, sendgrid, shoot):
    now = int(time.time())
    sendgrid.suppressions = {"spam_reports": [{"created": now, "email": "angry@example.com", "ip": "192.0.2.7"}],
                             "bounces": [{"created": now - 5, "email": "gone@example.com", "reason": "550 5.1.1",
                                          "status": "5.1.1"}]}
    key = sendgrid.add_key(["suppression.spam_reports.read", "suppression.bounces.read",
                            "suppression.spam_reports.delete"])
    desk = Desk(registry(), app_home)
    desk.import_document(sendgrid_document(sendgrid.base, env="K"), {"K": key})
    dialog = FailuresDialog(desk, desk.get("sg-mail"))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.refresh()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=15000)
    assert dialog.table.rowCount() == 2 and dialog.remove_btn.isVisible() and not dialog.replay_btn.isVisible()
    assert "suppression.blocks.read" in dialog.banner.hint.text() and dialog.banner.property("state") == "partial"
    _select_row(dialog, 2, "angry@example.com")
    qtbot.wait(100)
    shoot(dialog, "failures-sendgrid")
    dialog.ask = Answers(True)  # type: ignore[method-assign]
    dialog.outcome = None
    qtbot.mouseClick(dialog.remove_btn, Qt.MouseButton.LeftButton)
    assert "This should be avoided unless a recipient indicates" in dialog.ask.asked[0]  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: sendgrid.suppressions["spam_reports"] == [], timeout=15000)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=15000)
    assert dialog.table.item(0, 2).text() == "gone@example.com"
    dialog.reject()
    dialog.runner.wait(3000)


def test_validate_all_streams_each_row_and_summarises(qtbot, app_home):
    desk = Desk(registry(), app_home)
    with ScriptedServer(scripted.hung) as hung:
        for name, port, timeout in (("hung", hung.port, 2), ("refused-a", free_port(), 5),
                                    ("refused-b", free_port(), 5)):
            desk.import_document({"name": name, "type": "smtp", "settings": {
                "host": "127.0.0.1", "port": port, "security": "none", "allow_plaintext": True, "auth": "none",
                "timeout_s": timeout}}, {})
        runner = TaskRunner()
        controller = ValidateAll(desk, runner)
        rows: list[Any] = []
        summaries: list[Any] = []
        controller.result.connect(lambda r: rows.append((r.connector, time.monotonic())))
        controller.finished.connect(summaries.append)
        t0 = time.monotonic()
        controller.start()
        qtbot.waitUntil(lambda: bool(summaries), timeout=15000)
    assert {n for n, _ in rows} == {"hung", "refused-a", "refused-b"}
    refused_at = max(t for n, t in rows if n.startswith("refused"))
    assert refused_at - t0 < 1.5  # shown long before the hung one gives up
    assert summaries[0].failed == 3 and summaries[0].by_code == {"connect_refused": 2, "timeout": 1}
    runner.wait(3000)


def test_scheduled_recheck_is_off_by_default_and_runs_when_set(qtbot, app_home):
    from desktop.gui.health import recheck
    desk = Desk(registry(), app_home)
    desk.import_document({"name": "refused", "type": "smtp", "settings": {
        "host": "127.0.0.1", "port": free_port(), "security": "none", "allow_plaintext": True, "auth": "none",
        "timeout_s": 2}}, {})
    runner = TaskRunner()
    controller = ValidateAll(desk, runner)
    finished: list[Any] = []
    controller.finished.connect(finished.append)
    schedule = recheck(controller)
    assert schedule.interval_s == 0 and not schedule.timer.isActive()
    qtbot.wait(300)
    assert finished == []
    schedule.set_interval(0.2)
    qtbot.waitUntil(lambda: len(finished) >= 2, timeout=10000)
    schedule.set_interval(0)
    assert desk.get("refused").status.code == "connect_refused"
    runner.wait(3000)


def test_outbox_retried_in_the_background(qtbot, app_home):
    from desktop.core.outbox import Outbox
    from desktop.gui.health import outbox_retrier
    replies = ["451 4.3.0 Try again later"]
    with ScriptedServer(scripted.smtp(rcpt_replies=replies)) as srv:
        desk = Desk(registry(), app_home)
        desk.import_document({"name": "relay", "type": "smtp", "settings": {
            "host": "127.0.0.1", "port": srv.port, "security": "none", "allow_plaintext": True, "auth": "none",
            "from_address": "user@example.test", "timeout_s": 3}}, {})
        from desktop.core import health
        _, entry = health.test_send(desk, "relay", "dest@example.test")
        # Due now (as if its backoff had passed).
        box = Outbox(desk.folder)
        box._change(lambda es: [setattr(e, "next_attempt", None) for e in es])
        replies[:] = ["250 2.1.5 Ok"]
        runner = TaskRunner()
        done: list[Any] = []
        retrier = outbox_retrier(desk, runner, on_done=done.append)
        retrier.set_interval(0.2)
        qtbot.waitUntil(lambda: bool(done) and bool(done[0]), timeout=15000)
        retrier.set_interval(0)
        runner.wait(3000)
    assert done[0][0][1].ok and box.entries() == []


def test_replaying_a_dead_letter_again_asks_and_replays_on_purpose(qtbot, window, kafka_plain, shoot):
    # The second Replay said "[already_replayed] … add --force": a command-line flag, in the window.
    from tests.gui.test_keyboard_walk import BoxAnswer, _focus_window
    base, document = _orders_with_a_dead_letter(kafka_plain, "again", 5)
    window.desk.import_document(document, {})
    window.reload(select="orders")
    qtbot.waitUntil(lambda: window.selected_name() == "orders", timeout=5000)
    window.failures_action.trigger()
    dialog = window.failures_dialog
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30000)
    dialog.table.selectRow(0)
    _focus_window(qtbot, dialog)

    def replay(*answers: tuple[Qt.Key, str]) -> list[BoxAnswer]:
        dialog.outcome = None
        boxes = [BoxAnswer(qtbot, answers[0][0], shoot, answers[0][1])]
        qtbot.mouseClick(dialog.replay_btn, Qt.MouseButton.LeftButton)
        for key, shot in answers[1:]:
            boxes.append(BoxAnswer(qtbot, key, shoot, shot, wait_s=30))
            qtbot.waitUntil(lambda b=boxes[-1]: b.pressed or not b.tries, timeout=31000)
        return boxes

    first = replay((Qt.Key.Key_R, "replay-ask"))
    assert first[0].title == "Replay dead letters" and first[0].pressed
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30000)
    assert dialog.outcome.ok, dialog.outcome.error
    # Again, declined: nothing replayed, and no word of a command-line flag.
    boxes = replay((Qt.Key.Key_R, "replay-ask"), (Qt.Key.Key_C, "replay-again-ask"))
    assert boxes[1].title == "Replay it again?" and "&Replay again" in boxes[1].buttons and boxes[1].pressed
    assert "Not replayed again" in dialog.banner.title.text()
    assert "--force" not in dialog.banner.message.text() + dialog.banner.title.text()
    shoot(dialog, "replay-not-again")
    # Again, "Replay again" (Alt+R): replayed on purpose.
    boxes = replay((Qt.Key.Key_R, "replay-ask"), (Qt.Key.Key_R, "replay-again-ask"))
    assert boxes[1].pressed
    qtbot.waitUntil(lambda: dialog.outcome is not None and dialog.outcome.error is None, timeout=30000)
    assert dialog.outcome.ok and "Replayed" in dialog.banner.title.text()
    shoot(dialog, "replay-again-done")
    from kafka import KafkaConsumer
    c = KafkaConsumer(base, **kafka_plain.client_config(), auto_offset_reset="earliest", consumer_timeout_ms=5000)
    assert sum(1 for _ in c) == 2  # replayed twice: once, then once more on purpose
    c.close()


def test_suppressions_a_key_may_read_only_in_part_are_never_a_green_all_clear(qtbot, app_home, sendgrid, shoot):
    """Bounces read and empty, the other four lists not readable: not “✓ No failed sends” but what was
    read, what was not and why, and the scopes to add."""
    sendgrid.suppressions = {"blocks": [{"created": int(time.time()), "email": "blocked@example.com",
                                         "reason": "554 blocked"}]}  # there, but this key cannot see it
    key = sendgrid.add_key(["mail.send", "suppression.bounces.read"])
    desk = Desk(registry(), app_home)
    desk.import_document(sendgrid_document(sendgrid.base, env="K"), {"K": key})
    dialog = FailuresDialog(desk, desk.get("sg-mail"))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.refresh()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=15000)
    banner = dialog.banner
    assert dialog.table.rowCount() == 0
    assert banner.property("state") == "partial" and "✓" not in banner.title.text()
    assert "No failed sends" not in banner.title.text()
    assert "Only 1 of 5 lists could be read" in banner.title.text()
    assert banner.message.text().startswith("Read: bounces — no failed sends in bounces. Not read: blocks, invalid "
                                            "emails, spam reports, unsubscribes (this key may not read them).")
    assert "“suppression.blocks.read”" in banner.hint.text() and "Suppressions → Read Access" in banner.hint.text()
    shoot(dialog, "failures-sendgrid-partial")
    dialog.reject()
    dialog.runner.wait(3000)
