"""What a new administrator met walking the wizard, driven through the real main window: a description
the rest of the app refuses, Esc on the first page, a bounce mailbox that does not exist, the summary
showing what will be stored, and field errors that name their field."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QScrollArea

from tests.gui.test_wizard import field, fill_text, start_wizard, walk_to_summary
from tests.servers.ports import free_port

PASTED = "Line one\r\nLine two\x1b[31mred"


def _relay(window: Any, name: str = "relay", description: str = "Outbound mail") -> Any:
    """A saved SMTP connector without secrets, open in the wizard's Edit."""
    window.desk.import_document({"name": name, "type": "smtp", "description": description, "settings": {
        "host": "127.0.0.1", "port": 2525, "security": "none", "allow_plaintext": True, "auth": "none"}}, {})
    window.reload(select=name)
    return name


def _edit(qtbot: Any, window: Any) -> Any:
    window.edit_action.trigger()
    qtbot.waitUntil(lambda: getattr(window, "wizard", None) is not None and window.wizard.isVisible(), timeout=5000)
    return window.wizard


def _answer_real_question(qtbot: Any, button: QMessageBox.StandardButton, shoot: Any = None,
                          name: str = "") -> list[str]:
    """Answer the next real message box with ``button`` (after a screenshot of it); returns its text."""
    seen: list[str] = []
    tries = [100]  # 2 s: a question that never comes leaves no timer running into other tests

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            tries[0] -= 1
            if tries[0] > 0:
                QTimer.singleShot(20, answer)
            return
        seen.append(f"{box.windowTitle()} {box.text()}")
        if shoot is not None:
            shoot(box, name)
        box.button(button).click()
    QTimer.singleShot(20, answer)
    return seen


def test_the_first_page_refuses_the_description_import_refuses_and_keeps_it(qtbot, window, shoot):
    _relay(window)
    qtbot.waitUntil(lambda: window.selected_name() == "relay", timeout=5000)
    wiz = _edit(qtbot, window)
    basics = wiz.page_named("basics")
    QApplication.clipboard().setText(PASTED)
    basics.desc_edit.selectAll()
    basics.desc_edit.paste()
    typed = basics.desc_edit.text()
    assert "\x1b" in typed
    wiz.next()
    assert wiz.currentPage() is basics  # refused: an export of it could not be imported back
    assert not basics.desc_error.isHidden()
    assert basics.desc_error.text().startswith("⚠ Description may not contain control characters")
    assert basics.desc_edit.text() == typed  # what was pasted is kept to be corrected
    assert wiz.focusWidget() is basics.desc_edit  # where the correction is typed
    shoot(wiz, "wizard-1-description-control-chars")

    basics.desc_edit.setText("x" * 20_000)
    assert basics.desc_error.text() == "⚠ Description is too long (20,000 characters; at most 4,000)"
    wiz.next()
    assert wiz.currentPage() is basics
    shoot(wiz, "wizard-1-description-too-long")

    basics.desc_edit.setText("Line one — line two")
    assert basics.desc_error.isHidden()  # the complaint follows what is typed
    wiz.next()
    assert wiz.currentPage() is not basics
    wiz.reject()


def test_the_details_pane_keeps_a_long_description_in_its_width(qtbot, window, shoot):
    """A 4,000-character description (the most allowed), with no space in it: the pane wraps it and
    keeps the status in view, without scrolling sideways."""
    _relay(window, "long-words", "https://wiki.example.test/" + "a" * 3_974)
    qtbot.waitUntil(lambda: window.selected_name() == "long-words", timeout=5000)
    window.resize(1000, 640)
    pane = window.list_page.details
    qtbot.waitUntil(lambda: "long-words" in pane.text.text(), timeout=3000)
    qtbot.wait(50)
    scroll = pane.findChild(QScrollArea)
    assert scroll.horizontalScrollBar().maximum() == 0
    assert scroll.verticalScrollBar().maximum() == 0  # the status is not pushed below the fold
    assert "…" in pane.text.text() and "a" * 3_000 not in pane.text.text()
    shoot(window, "details-long-description")


def test_esc_on_the_first_page_asks_before_discarding_what_was_typed(qtbot, window, shoot):
    # A new connector: a name typed on the first page is something to lose.
    wiz = window.new_connector()
    qtbot.waitExposed(wiz)
    qtbot.keyClicks(wiz.page_named("basics").name_edit, "half-typed")
    seen = _answer_real_question(qtbot, QMessageBox.StandardButton.Cancel, shoot, "wizard-discard-first-page")
    qtbot.keyClick(wiz, Qt.Key.Key_Escape)
    assert seen and "will be lost" in seen[0]
    assert wiz.isVisible() and wiz.page_named("basics").name_edit.text() == "half-typed"
    seen = _answer_real_question(qtbot, QMessageBox.StandardButton.Discard)
    wiz.button(wiz.WizardButton.CancelButton).click()
    assert seen and not wiz.isVisible()

    # Edit: a changed description alone asks too; nothing changed closes at once.
    _relay(window)
    qtbot.waitUntil(lambda: window.selected_name() == "relay", timeout=5000)
    wiz = _edit(qtbot, window)
    basics = wiz.page_named("basics")
    qtbot.keyClicks(basics.desc_edit, " and bounces")
    seen = _answer_real_question(qtbot, QMessageBox.StandardButton.Cancel)
    wiz.request_close()
    assert seen and "changes to “relay” will be lost" in seen[0] and wiz.isVisible()
    basics.desc_edit.setText("Outbound mail")  # typed back as it was: nothing to lose
    wiz.request_close()
    assert not wiz.isVisible()
    wiz = _edit(qtbot, window)
    wiz.request_close()
    assert not wiz.isVisible()


def test_a_first_connector_may_not_name_a_bounce_mailbox_that_does_not_exist(qtbot, window, shoot):
    assert window.model.rowCount() == 0
    wiz = start_wizard(window, "first-mail", "smtp")
    wiz.next()  # provider → server
    server = wiz.page_named("server")
    fill_text(field(wiz, "server", "host"), "mail.example.test")
    fill_text(field(wiz, "server", "bounce_mailbox_connector"), "nosuch-imap")
    wiz.next()
    assert wiz.currentPage() is server
    error = server.form.errors["bounce_mailbox_connector"]
    assert not error.isHidden()
    assert error.text().startswith("⚠ Bounce mailbox (IMAP connector): no saved connector is named “nosuch-imap”")
    shoot(wiz, "wizard-3-bounce-mailbox")
    wiz.reject()


def test_the_summary_shows_the_user_name_as_it_will_be_stored(qtbot, window, shoot):
    wiz = start_wizard(window, "trimmed", "smtp")
    wiz.next()  # provider → server
    fill_text(field(wiz, "server", "host"), "127.0.0.1")
    field(wiz, "server", "port").setValue(free_port())  # nothing listens: validation fails at once
    field(wiz, "server", "timeout_s").setValue(3)
    wiz.next()
    fill_text(field(wiz, "auth", "username"), "  alice@example.test  ")
    fill_text(field(wiz, "auth", "password"), "pw")
    walk_to_summary(qtbot, wiz)
    summary = wiz.page_named("summary")
    values = [lab.text() for lab in summary.box.findChildren(QLabel)]
    assert "alice@example.test" in values
    assert not any(v != v.strip() for v in values), values
    assert wiz.flow.connector().settings["username"] == "alice@example.test"  # the same as is saved
    shoot(wiz, "wizard-4-summary")
    wiz.runner.cancel_all()
    wiz.reject()


def test_a_required_field_says_which_field_is_required(qtbot, window, shoot):
    wiz = window.new_connector()
    qtbot.waitExposed(wiz)
    basics = wiz.page_named("basics")
    wiz.next()
    assert basics.name_error.text() == "⚠ Name is required"
    basics.name_edit.setText("bad name!")
    assert basics.name_error.text().startswith("⚠ Name: use 1–64 letters")
    basics.name_edit.setText("required-fields")
    wiz.next()  # → provider
    wiz.next()  # → server
    fill_text(field(wiz, "server", "host"), "mail.example.test")
    wiz.next()  # → sign-in
    auth = wiz.page_named("auth")
    wiz.next()  # refused: both empty
    assert wiz.currentPage() is auth
    assert auth.form.errors["username"].text() == "⚠ User name is required"
    assert auth.form.errors["password"].text() == "⚠ Password is required"
    qtbot.wait(50)  # the layout settles
    shoot(wiz, "wizard-5-required")
    wiz.reject()
