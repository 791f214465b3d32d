"""Health through the real main window: Validate all (rows change as results arrive, a hung server
does not hold the others, a summary, Cancel), the details pane, and Failed sends… for a Kafka
dead-letter topic on a real broker."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from desktop.connectors import registry
from desktop.core.service import Desk
from desktop.gui.main_window import MainWindow
from tests.conftest import import_smtp_for, kafka_document, smtp_document
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer


def _window(qtbot, desk, select=None):  # type: ignore[no-untyped-def]
    win = MainWindow(desk)
    qtbot.addWidget(win)
    win.show()
    win.reload(select=select)
    qtbot.waitUntil(lambda: win.loaded and win.model.total() > 0, timeout=5000)
    return win


def _status(win, name):  # type: ignore[no-untyped-def]
    model = win.list_page.model
    return model.index(model.row_of(name), 3).data()


@pytest.mark.timeout(60)
def test_validate_all_updates_row_by_row_and_sums_up(qtbot, app_home, mail, certs, shoot):
    desk = Desk(registry(), app_home)
    import_smtp_for(desk, mail, certs, mail.users[0], "a-good")
    desk.import_document(smtp_document(mail, certs, name="b-bad", env="PW"), {"PW": "wrong-password"})
    with ScriptedServer(scripted.hung) as srv:
        doc = smtp_document(mail, certs, name="c-hung", env="PW", port=srv.port, security="tls", timeout_s=3)
        doc["settings"]["host"] = "127.0.0.1"
        desk.import_document(doc, {"PW": "pw"})
        win = _window(qtbot, desk, "a-good")
        started = time.monotonic()
        qtbot.keyClick(win.list_page.table, Qt.Key.Key_A,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        qtbot.waitUntil(lambda: _status(win, "c-hung") == "Validating…", timeout=2000)
        assert "Cancel" in win.validate_all_action.text()
        # the quick ones arrive while the hung one still waits
        qtbot.waitUntil(lambda: _status(win, "a-good").startswith("Valid at"), timeout=10000)
        qtbot.waitUntil(lambda: _status(win, "b-bad").startswith("Failed at"), timeout=10000)
        assert _status(win, "c-hung") == "Validating…" and time.monotonic() - started < 3
        shoot(win, "validate-all-running")
        qtbot.waitUntil(lambda: "Cancel" not in win.validate_all_action.text(), timeout=15000)
        assert _status(win, "c-hung").startswith("Failed at")
        assert win.banner.title.text() == "Checked 3 connectors"
        summary = win.banner.message.text()
        assert "1 passed, 2 failed" in summary and "auth_failed 1" in summary and "timeout 1" in summary
        assert desk.get("c-hung").status.code == "timeout"  # recorded in the catalogue as well
        win.list_page.select("b-bad")
        text = win.list_page.details.text.text()
        assert "b-bad" in text and "Failed at" in text and "auth_failed" in text
        assert "Last check (this session)" in text and "Sign in" in text  # its steps, with times
        shoot(win, "details-pane-failed")
    win.runner.wait(3000)


def test_validate_all_can_be_cancelled(qtbot, app_home, mail, certs):
    desk = Desk(registry(), app_home)
    with ScriptedServer(scripted.hung) as srv:
        for i in range(3):
            doc = smtp_document(mail, certs, name=f"hung-{i}", env="PW", port=srv.port, security="tls", timeout_s=30)
            doc["settings"]["host"] = "127.0.0.1"
            desk.import_document(doc, {"PW": "pw"})
        win = _window(qtbot, desk)
        win.validate_all_action.trigger()
        qtbot.waitUntil(lambda: _status(win, "hung-0") == "Validating…", timeout=2000)
        qtbot.wait(300)
        started = time.monotonic()
        win.validate_all_action.trigger()  # now "Cancel validate all"
        qtbot.waitUntil(lambda: "Cancel" not in win.validate_all_action.text(), timeout=5000)
        assert time.monotonic() - started < 3
        assert "3 cancelled" in win.banner.message.text()
        assert all(_status(win, f"hung-{i}") == "Never validated" for i in range(3))  # nothing recorded
    win.runner.wait(3000)


def test_failed_sends_of_a_kafka_dead_letter_topic_from_the_window(qtbot, app_home, kafka_plain, shoot):
    desk = Desk(registry(), app_home)
    desk.import_document(kafka_document(kafka_plain.bootstrap, name="orders-in", dead_letter_topic="orders.dlq"), {})
    desk.import_document(kafka_document(kafka_plain.bootstrap, name="plain-in"), {})
    win = _window(qtbot, desk, "plain-in")
    qtbot.waitUntil(lambda: win.selected_name() == "plain-in", timeout=5000)
    assert not win.failures_action.isEnabled() and "names no dead-letter topic" in win.failures_action.toolTip()
    assert not win.rotate_action.isEnabled() and "keeps no secret" in win.rotate_action.toolTip()
    assert not win.roundtrip_action.isEnabled() and "sends or receives mail" in win.roundtrip_action.toolTip()
    assert not win.list_page.details.failures_btn.isEnabled()
    win.list_page.select("orders-in")
    assert win.failures_action.isEnabled()
    qtbot.mouseClick(win.list_page.details.failures_btn, Qt.MouseButton.LeftButton)
    dialog = win.failures_dialog
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 3, timeout=15000)
    assert "failed record" in dialog.table.item(0, 4).text() + dialog.table.item(0, 5).text() + \
        dialog.details.text() or dialog.table.item(0, 2).text() == "order-17"
    shoot(dialog, "failures-from-window")
    dialog.reject()
    win.runner.wait(3000)


def test_a_connector_imported_elsewhere_shows_after_f5_and_validate_all_checks_what_is_listed(
        qtbot, app_home, mail, certs):
    desk = Desk(registry(), app_home)
    import_smtp_for(desk, mail, certs, mail.users[0], "a-listed")
    win = _window(qtbot, desk, "a-listed")
    # `connector-desk import` in a terminal meanwhile (another Desk over the same catalogue):
    import_smtp_for(Desk(registry(), app_home), mail, certs, mail.users[0], "b-imported")
    qtbot.keyClick(win.list_page.table, Qt.Key.Key_A,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "Cancel" not in win.validate_all_action.text(), timeout=15000)
    assert win.banner.title.text() == "✓ The connector is valid"  # what the list shows, not a hidden one
    assert desk.get("b-imported").status.state == "never"
    qtbot.keyClick(win.list_page.table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: win.model.total() == 2, timeout=5000)
    assert win.selected_name() == "a-listed"  # the selection stays
    win.runner.wait(3000)


def test_the_first_window_fits_a_small_screen():
    from desktop.gui.main_window import first_size
    assert first_size(None) == (1180, 660)
    assert first_size((1920, 1040)) == (1180, 660)
    assert first_size((1024, 700)) == (1000, 652)  # About and the count stay on screen
    assert first_size((640, 400)) == (820, 480)  # never under the window's minimum
