"""The details pane's "Last check (this session)" after the wizard saved the connector, against tansu:
it was the check from before the edit (✗ no topic named “Orders”) under a status that said valid."""

from __future__ import annotations

from typing import Any

from tests.conftest import kafka_document
from tests.gui.test_wizard import field, fill_text, walk_to_summary


def _pane(window: Any) -> str:
    return window.list_page.details.text.text()


def _edit(qtbot: Any, window: Any, name: str) -> Any:
    window.reload(select=name)
    qtbot.waitUntil(lambda: window.selected_name() == name, timeout=5000)
    window.wizard = None
    window.edit_connector()
    qtbot.waitUntil(lambda: getattr(window, "wizard", None) is not None and window.wizard.isVisible(), timeout=5000)
    return window.wizard


def _save(qtbot: Any, wiz: Any) -> None:
    walk_to_summary(qtbot, wiz)
    with qtbot.waitSignal(wiz.saved, timeout=10000):
        wiz.accept()


def _checked_from_the_list(qtbot: Any, window: Any, name: str) -> None:
    """Select ``name`` and validate it from the list, until its last check shows in the pane."""
    window.reload(select=name)
    qtbot.waitUntil(lambda: window.selected_name() == name, timeout=5000)
    window.validate_selected()
    qtbot.waitUntil(lambda: "Last check" in _pane(window) and "Validating" not in _pane(window), timeout=30000)


def _checked_in_the_wizard(qtbot: Any, window: Any, name: str, setting: str, value: str) -> None:
    """Edit ``name``: ``setting`` (on the sign-in page) set to ``value``, checked (it must pass), saved."""
    wiz = _edit(qtbot, window, name)
    while wiz.currentPage() is not wiz.page_named("auth"):
        wiz.next()
    fill_text(field(wiz, "auth", setting), value)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=30000)
    assert wiz.flow.result.ok, wiz.flow.result.error
    _save(qtbot, wiz)
    qtbot.waitUntil(lambda: "Valid at" in _pane(window), timeout=10000)
    qtbot.wait(100)


def test_last_check_follows_the_wizard_save_and_the_rename(qtbot, window, kafka_plain, shoot):
    window.desk.import_document(kafka_document(kafka_plain.bootstrap, topic="Orders", timeout_s=20), {})
    _checked_from_the_list(qtbot, window, "orders-trigger")
    assert "There is no topic named" in _pane(window) and "Failed at" in _pane(window)

    # Edit: the topic fixed, checked in the wizard, saved.
    _checked_in_the_wizard(qtbot, window, "orders-trigger", "topic", "orders")
    shoot(window, "last-check-after-wizard-save")
    pane = _pane(window)
    assert "There is no topic named" not in pane  # the old check is gone…
    assert "Last check (this session)" in pane and "✗" not in pane  # …and the wizard's passing one is shown

    # Renamed: the check goes with the connector; a new connector given the old name has none.
    wiz = _edit(qtbot, window, "orders-trigger")
    wiz.page_named("basics").name_edit.setText("orders-main")
    _save(qtbot, wiz)
    qtbot.waitUntil(lambda: window.selected_name() == "orders-main", timeout=10000)
    window.desk.import_document(kafka_document(kafka_plain.bootstrap, topic="Invoices"), {})
    window.reload(select="orders-trigger")
    qtbot.waitUntil(lambda: window.selected_name() == "orders-trigger", timeout=5000)
    assert "Never validated" in _pane(window)
    assert "Last check" not in _pane(window)  # was the check of the renamed one's old settings


def test_a_save_without_a_check_of_its_values_drops_the_old_last_check(qtbot, window, kafka_plain, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.gui import ask
    window.desk.import_document(kafka_document(kafka_plain.bootstrap, topic="Orders", timeout_s=20), {})
    _checked_from_the_list(qtbot, window, "orders-trigger")
    wiz = _edit(qtbot, window, "orders-trigger")
    while wiz.currentPage() is not wiz.page_named("validate"):
        wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=30000)
    wiz.back()  # the check was of "Orders"; the topic changes after it
    assert wiz.currentPage() is wiz.page_named("auth")
    fill_text(field(wiz, "auth", "topic"), "Invoices")
    assert not wiz.flow.validation_current
    monkeypatch.setattr(ask, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    with qtbot.waitSignal(wiz.saved, timeout=10000):
        wiz.accept()
    qtbot.waitUntil(lambda: window.selected_name() == "orders-trigger" and window.model.rowCount() == 1,
                    timeout=10000)
    qtbot.wait(200)
    assert "Last check" not in _pane(window)  # it was of another topic


def test_imap_last_check_follows_the_mailbox_changed_in_the_wizard(qtbot, window, mailboxes, certs):
    from tests.conftest import imap_document
    env = {"CD_LC_PW": mailboxes.users[0].password}
    window.desk.import_document(imap_document(mailboxes, certs, name="inbox-watch", env="CD_LC_PW",
                                              mailbox="Archive/2024"), env)
    _checked_from_the_list(qtbot, window, "inbox-watch")
    assert "Archive/2024" in _pane(window) and "Failed at" in _pane(window)
    _checked_in_the_wizard(qtbot, window, "inbox-watch", "mailbox", "Archive/2025")
    pane = _pane(window)
    assert "Archive/2024" not in pane and "✗" not in pane  # the check of the old folder is gone
    assert "Last check (this session)" in pane
