"""Validate from the main list (toolbar and Ctrl+R), through the real window, for every connector type,
passing and failing, against real servers; and a hung server while the user keeps working.

This is the everyday job of the tool: before these tests existed, pressing Validate on a selected
connector crashed the application (a layoutChanged without layoutAboutToBeChanged)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from desktop.connectors import registry
from desktop.core.service import Desk
from desktop.gui.main_window import MainWindow
from tests.conftest import imap_document, import_smtp_for, kafka_document, sendgrid_document, smtp_document
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer
from tests.servers.sendgrid_standin import make_key


def _window(qtbot, desk, select):  # type: ignore[no-untyped-def]
    win = MainWindow(desk)
    qtbot.addWidget(win)
    win.show()
    win.reload(select=select)
    qtbot.waitUntil(lambda: win.selected_name() == select, timeout=5000)
    return win


def _status(win, name):  # type: ignore[no-untyped-def]
    model = win.list_page.model
    return model.index(model.row_of(name), 3).data()


def _validate_and_wait(qtbot, win, name, trigger=None):  # type: ignore[no-untyped-def]
    win.list_page.select(name)
    (trigger or win.validate_action.trigger)()
    qtbot.waitUntil(lambda: _status(win, name) == "Validating…", timeout=2000)
    win.list_page.table.viewport().repaint()  # the paint that crashed
    qtbot.waitUntil(lambda: _status(win, name) != "Validating…", timeout=20000)
    assert win.selected_name() == name  # the selection stays on the connector
    return _status(win, name)


def test_validate_selected_smtp_from_toolbar_and_shortcut(qtbot, app_home, mail, certs):
    desk = Desk(registry(), app_home)
    import_smtp_for(desk, mail, certs, mail.users[0], "list-smtp")
    win = _window(qtbot, desk, "list-smtp")
    table = win.list_page.table
    for trigger in (win.validate_action.trigger,
                    lambda: qtbot.keyClick(table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)):
        status = _validate_and_wait(qtbot, win, "list-smtp", trigger)
        assert status.startswith("Valid at"), win.banner.title.text()
        assert "is valid" in win.banner.title.text()
    assert desk.get("list-smtp").status.state == "valid"  # recorded in the catalogue too
    win.runner.wait(3000)


def test_validate_each_type_from_the_list_passing_and_failing(qtbot, app_home, mailboxes, certs, kafka_plain,
                                                              sendgrid):
    desk = Desk(registry(), app_home)
    mail = mailboxes
    pw = mail.users[0].password
    desk.import_document(smtp_document(mail, certs, name="smtp-ok", env="PW"), {"PW": pw})
    desk.import_document(smtp_document(mail, certs, name="smtp-bad", env="PW"), {"PW": "wrong-password"})
    desk.import_document(imap_document(mail, certs, name="imap-ok", env="PW"), {"PW": pw})
    desk.import_document(imap_document(mail, certs, name="imap-bad", env="PW", mailbox="NoSuchFolder"), {"PW": pw})
    desk.import_document(kafka_document(kafka_plain.bootstrap, name="kafka-ok"), {})
    desk.import_document(kafka_document(kafka_plain.bootstrap, name="kafka-bad", topic="no-such-topic"), {})
    good_key = sendgrid.add_key(["mail.send", "verified_senders.read"])
    desk.import_document(sendgrid_document(sendgrid.base, name="sendgrid-ok", env="K"), {"K": good_key})
    desk.import_document(sendgrid_document(sendgrid.base, name="sendgrid-bad", env="K"), {"K": make_key()})
    win = _window(qtbot, desk, "smtp-ok")
    expected = {"smtp-ok": None, "imap-ok": None, "kafka-ok": None, "sendgrid-ok": None,
                "smtp-bad": "auth_failed", "imap-bad": "mailbox_not_found", "kafka-bad": "topic_not_found",
                "sendgrid-bad": "api_key_invalid"}
    for name, code in expected.items():
        status = _validate_and_wait(qtbot, win, name)
        if code is None:
            assert status.startswith("Valid at"), (name, win.banner.title.text(), win.banner.message.text())
        else:
            assert status.startswith("Failed at "), (name, status)
            assert desk.get(name).status.code == code, (name, desk.get(name).status)
            assert code in win.banner.message.text()
    assert win.count_label.text() == "8 connectors"
    win.runner.wait(3000)


@pytest.mark.timeout(60)
def test_a_hung_server_never_blocks_the_list(qtbot, app_home, mail, certs):
    desk = Desk(registry(), app_home)
    import_smtp_for(desk, mail, certs, mail.users[0], "fine-mail")
    with ScriptedServer(scripted.hung) as srv:
        doc = smtp_document(mail, certs, name="hung-mail", env="PW", port=srv.port, security="tls", timeout_s=4)
        doc["settings"]["host"] = "127.0.0.1"
        desk.import_document(doc, {"PW": "pw"})
        win = _window(qtbot, desk, "hung-mail")
        win.validate_action.trigger()
        qtbot.waitUntil(lambda: _status(win, "hung-mail") == "Validating…", timeout=2000)
        started = time.monotonic()
        # Meanwhile the user keeps working: clicks the other row, validates it, searches, clears the search.
        win.list_page.select("fine-mail")
        qtbot.keyClick(win.list_page.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: _status(win, "fine-mail") != "Never validated", timeout=2000)
        qtbot.waitUntil(lambda: _status(win, "fine-mail") != "Validating…", timeout=10000)
        assert _status(win, "fine-mail").startswith("Valid at"), _status(win, "fine-mail")
        assert _status(win, "hung-mail") == "Validating…"
        qtbot.keyClicks(win.list_page.search, "hung")
        qtbot.waitUntil(lambda: win.list_page.proxy.rowCount() == 1, timeout=2000)
        win.list_page.table.selectRow(0)
        assert win.selected_name() == "hung-mail"
        assert win.validate_action.text() == "Cancel &validation"  # its own check runs: pressing cancels it
        win.list_page.search.clear()
        qtbot.waitUntil(lambda: win.list_page.proxy.rowCount() == 2, timeout=2000)
        assert time.monotonic() - started < 4  # all of that happened while the check was still waiting
        qtbot.waitUntil(lambda: _status(win, "hung-mail") != "Validating…", timeout=10000)
        assert _status(win, "hung-mail").startswith("Failed at ")
        assert desk.get("hung-mail").status.code == "timeout"
        assert _status(win, "fine-mail").startswith("Valid at")
    win.runner.wait(3000)


def test_closing_the_window_during_a_check_is_safe(qtbot, app_home, mail, certs):
    """A window closed while its check waits on a hung server: the late result is dropped, nothing crashes."""
    desk = Desk(registry(), app_home)
    with ScriptedServer(scripted.hung) as srv:
        doc = smtp_document(mail, certs, name="hung-mail", env="PW", port=srv.port, security="tls", timeout_s=2)
        doc["settings"]["host"] = "127.0.0.1"
        desk.import_document(doc, {"PW": "pw"})
        for _ in range(3):
            win = MainWindow(desk)
            win.show()
            win.reload(select="hung-mail")
            qtbot.waitUntil(lambda w=win: w.selected_name() == "hung-mail", timeout=5000)
            win.validate_action.trigger()
            win.deleteLater()  # without closeEvent's cancel: the check runs on to its deadline
            del win
            qtbot.wait(50)
        qtbot.wait(2500)  # the late outcomes arrive for windows that are gone
    assert desk.get("hung-mail").status.code == "timeout"


def test_a_foreign_api_address_is_confirmed_once_before_the_key_goes_there(qtbot, app_home, sendgrid, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.gui import ask

    desk = Desk(registry(), app_home)
    key = sendgrid.add_key(["mail.send", "verified_senders.read"])
    desk.import_document(sendgrid_document(sendgrid.base, name="sg-foreign", env="K", api_base_confirmed=False),
                         {"K": key})
    win = _window(qtbot, desk, "sg-foreign")
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(ask, "warning", lambda *a, **k: (asked.append(a[2]), answer[0])[1])
    status = _validate_and_wait(qtbot, win, "sg-foreign")
    assert asked and "127.0.0.1" in asked[0]  # the address the key would go to is named
    assert status.startswith("Failed at ") and sendgrid.requests == []  # nothing was sent
    answer[0] = QMessageBox.StandardButton.Yes
    status = _validate_and_wait(qtbot, win, "sg-foreign")
    qtbot.waitUntil(lambda: _status(win, "sg-foreign").startswith("Valid at"), timeout=10000)
    assert desk.get("sg-foreign").settings["api_base_confirmed"] is True  # asked once, kept
    asked.clear()
    _validate_and_wait(qtbot, win, "sg-foreign")
    assert asked == [] and _status(win, "sg-foreign").startswith("Valid at")
    win.runner.wait(3000)


def test_sorting_by_a_header_keeps_the_selection(qtbot, app_home, mail, certs):
    desk = Desk(registry(), app_home)
    for n in ("alpha", "beta", "gamma"):
        desk.import_document(smtp_document(mail, certs, name=n, env="PW"), {"PW": "pw"})
    desk.catalogue.set_status("alpha", __import__("desktop.core.model", fromlist=["Status"]).Status(
        "failed", "2026-01-01T00:00:00+00:00", "auth_failed", "refused"))
    win = _window(qtbot, desk, "beta")
    header = win.list_page.table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=header.viewport().rect().center()
                     if False else __import__("PySide6.QtCore", fromlist=["QPoint"]).QPoint(
                         header.sectionViewportPosition(0) + 5, 5))
    model = win.list_page.model
    qtbot.waitUntil(lambda: model.name_at(0) == "gamma", timeout=2000)  # name, descending now
    assert win.selected_name() == "beta"
    win.list_page.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)  # status: "Failed at…" first
    assert model.name_at(0) == "alpha" and win.selected_name() == "beta"


def test_deleting_a_connector_while_it_is_checked(qtbot, app_home, mail, certs, monkeypatch):
    """The running check is stopped, and no failure banner appears later for a connector that is gone."""
    from PySide6.QtWidgets import QMessageBox

    from desktop.gui import ask

    desk = Desk(registry(), app_home)
    with ScriptedServer(scripted.hung) as srv:
        doc = smtp_document(mail, certs, name="going-mail", env="PW", port=srv.port, security="tls", timeout_s=20)
        doc["settings"]["host"] = "127.0.0.1"
        desk.import_document(doc, {"PW": "pw"})
        win = _window(qtbot, desk, "going-mail")
        win.validate_action.trigger()
        qtbot.waitUntil(lambda: _status(win, "going-mail") == "Validating…", timeout=2000)
        monkeypatch.setattr(ask, "warning", lambda *a, **k: QMessageBox.StandardButton.Yes)
        started = time.monotonic()
        win.delete_action.trigger()
        qtbot.waitUntil(lambda: win.model.total() == 0, timeout=5000)
        qtbot.waitUntil(lambda: not win.runner.tasks, timeout=5000)
        assert time.monotonic() - started < 5  # the check was cancelled, not left to its 20 s deadline
        qtbot.wait(200)
        assert not win.banner.isVisible() or "going-mail" not in win.banner.title.text()
    win.runner.wait(3000)


def test_a_single_check_shows_its_step_and_cancels_with_ctrl_r(qtbot, app_home, mail, certs, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.gui import ask
    desk = Desk(registry(), app_home)
    import_smtp_for(desk, mail, certs, mail.users[0], "billing-mail")
    with ScriptedServer(scripted.hung) as srv:
        doc = smtp_document(mail, certs, name="hung-mail", env="PW", port=srv.port, security="tls", timeout_s=30)
        doc["settings"]["host"] = "127.0.0.1"
        doc["settings"]["bounce_mailbox_connector"] = None
        desk.import_document(doc, {"PW": "pw"})
        win = _window(qtbot, desk, "hung-mail")
        qtbot.keyClick(win.list_page.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: "Checking “hung-mail”: " in win.statusBar().currentMessage(), timeout=3000)
        assert win.validate_action.text() == "Cancel &validation"
        pane = win.list_page.details.validate_btn
        assert not pane.isEnabled() and "Cancel validation stops it" in pane.toolTip()  # disabled, and says why
        started = time.monotonic()
        qtbot.keyClick(win.list_page.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: _status(win, "hung-mail") != "Validating…", timeout=5000)
        assert time.monotonic() - started < 3  # not its 30 s deadline
        assert _status(win, "hung-mail") == "Never validated"  # a cancelled check leaves the status as it was
        assert "was cancelled" in win.banner.title.text() and win.validate_action.text() == "&Validate"
        # Deleting a connector whose check runs says so.
        qtbot.keyClick(win.list_page.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: _status(win, "hung-mail") == "Validating…", timeout=3000)
        asked: list[str] = []
        monkeypatch.setattr(ask, "warning", lambda _p, _t, text, *a, **k: asked.append(text)
                            or QMessageBox.StandardButton.Cancel)
        win.delete_action.trigger()
        assert "Its running check is stopped." in asked[0]
        win.validate_action.trigger()  # cancel it
    win.runner.wait(3000)


def test_deleting_a_bounce_mailbox_names_the_senders_that_read_it(qtbot, app_home, mail, certs, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.gui import ask
    desk = Desk(registry(), app_home)
    desk.import_document(imap_document(mail, certs, name="billing-bounces", env="PW"), {"PW": "pw"})
    desk.import_document(smtp_document(mail, certs, name="billing-mail", env="PW",
                                       bounce_mailbox_connector="billing-bounces"), {"PW": "pw"})
    win = _window(qtbot, desk, "billing-bounces")
    asked: list[str] = []
    monkeypatch.setattr(ask, "warning", lambda _p, _t, text, *a, **k: asked.append(text)
                        or QMessageBox.StandardButton.Cancel)
    win.delete_action.trigger()
    assert "The Failed sends… of “billing-mail” read its mailbox for bounces" in asked[0]
    assert win.model.total() == 2  # Cancel: nothing deleted
    win.runner.wait(3000)
