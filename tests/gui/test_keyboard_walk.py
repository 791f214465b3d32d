"""A new administrator's keyboard walk through the real window: the search field and the list (Down,
Enter, Tab), the questions' buttons (Alt+letter), "Connect to a team vault" (Enter connects; each
label's Alt+letter goes to its field)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QMessageBox, QWizard

from desktop.gui.ask import mnemonic
from tests.gui.test_wizard import field, fill_text, start_wizard
from tests.servers.ports import free_port


def _kafka(window: Any, *names: str) -> None:
    from tests.conftest import kafka_document
    for name in names:
        window.desk.import_document(kafka_document("127.0.0.1:1", name=name), {})


def _smtp(window: Any, *names: str) -> None:
    for name in names:
        window.desk.import_document({"name": name, "type": "smtp", "settings": {
            "host": "localhost", "port": 1, "security": "none", "auth": "none",
            "from_address": "a@example.test", "timeout_s": 2}, "secrets": {}}, {})


def _focus_window(qtbot: Any, w: Any) -> None:
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow(), timeout=3000)


class BoxAnswer:
    """Answers the next modal question box with Alt+``letter``, as a user would; if the box is still
    open a moment later (the letter did nothing), it is closed with Esc and ``pressed`` stays False."""

    def __init__(self, qtbot: Any, letter: Qt.Key, shoot: Any = None, shot: str = "", wait_s: float = 5) -> None:
        self.qtbot, self.letter, self.shoot, self.shot = qtbot, letter, shoot, shot
        self.title = ""
        self.buttons: list[str] = []
        self.pressed = False
        self.tries = int(wait_s * 20)  # for the box to come
        QTimer.singleShot(50, self._act)

    def _act(self) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            self.tries -= 1
            if self.tries:
                QTimer.singleShot(50, self._act)
            return
        self.title = box.windowTitle()
        self.buttons = [b.text() for b in box.buttons()]
        if self.shoot is not None:
            self.shoot(box, self.shot)
        _focus_window(self.qtbot, box)
        self.qtbot.keyClick(box, self.letter, Qt.KeyboardModifier.AltModifier)
        self.qtbot.wait(400)  # a mnemonic "animates" the click: it lands a moment later
        if box.isVisible():
            self.qtbot.keyClick(box, Qt.Key.Key_Escape)
        else:
            self.pressed = True


def test_down_and_enter_from_the_search_reach_the_first_match(qtbot, window, shoot):
    _smtp(window, "billing-mail", "alerts-mail")
    _kafka(window, "orders-kafka")
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=5000)
    _focus_window(qtbot, window)
    page = window.list_page
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert page.search.hasFocus()
    qtbot.keyClicks(page.search, "kafka")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)
    assert window.selected_name() is None
    # Down: into the list, on the one match.
    qtbot.keyClick(page.search, Qt.Key.Key_Down)
    assert page.table.hasFocus()
    assert window.selected_name() == "orders-kafka"
    assert window.list_page.details.text.text().count("orders-kafka") >= 1
    shoot(window, "keyboard-search-down")
    # Enter on the row: Edit… (the window's Enter), the same as before.
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: getattr(window, "wizard", None) is not None and window.wizard.isVisible(), timeout=5000)
    assert window.wizard.flow.original_name == "orders-kafka"
    window.wizard.reject()

    # Enter in the search field, nothing selected: the first match opens as Enter on it would.
    window.wizard = None
    page.table.clearSelection()
    page.search.setFocus()
    page.search.clear()
    qtbot.keyClicks(page.search, "mail")
    qtbot.keyClick(page.search, Qt.Key.Key_Return)  # before the search's pause: it is applied first
    assert window.model.rowCount() == 2
    assert window.selected_name() == "alerts-mail"  # the first shown (sorted by name)
    qtbot.waitUntil(lambda: getattr(window, "wizard", None) is not None and window.wizard.isVisible(), timeout=5000)
    assert window.wizard.flow.original_name == "alerts-mail"
    window.wizard.reject()

    # Down again with a row selected: the next row.
    page.search.setFocus()
    qtbot.keyClick(page.search, Qt.Key.Key_Down)
    assert window.selected_name() == "billing-mail"

    # Enter in the search field with a row selected: that row opens, once (not also the first match).
    opened: list[str] = []
    page.activated.connect(lambda: opened.append("list"))
    window.edit_action.triggered.connect(lambda: opened.append("edit"))
    window.wizard = None
    page.search.setFocus()
    qtbot.keyClick(page.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: getattr(window, "wizard", None) is not None and window.wizard.isVisible(), timeout=5000)
    assert window.wizard.flow.original_name == "billing-mail" and len(opened) == 1, opened
    window.wizard.reject()


def test_tab_into_the_list_selects_its_row(qtbot, window):
    _smtp(window, "billing-mail", "alerts-mail")
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=5000)
    _focus_window(qtbot, window)
    page = window.list_page
    page.table.clearSelection()
    page.search.setFocus()
    assert window.selected_name() is None
    qtbot.keyClick(page.search, Qt.Key.Key_Tab)
    assert page.table.hasFocus()
    assert window.selected_name() == "alerts-mail"
    assert window.edit_action.isEnabled()  # Enter now edits it: no Space needed first


def test_discard_is_alt_d(qtbot, window, shoot):
    wiz = window.new_connector()
    qtbot.waitExposed(wiz)
    wiz.page_named("basics").name_edit.setText("half-done")
    wiz.next()
    answer = BoxAnswer(qtbot, Qt.Key.Key_D, shoot, "ask-discard")
    qtbot.keyClick(wiz, Qt.Key.Key_Escape)
    assert answer.title == "Discard this connector?"
    assert answer.pressed, answer.buttons
    assert not wiz.isVisible()
    letters = [mnemonic(t) for t in answer.buttons]
    assert None not in letters and len(set(letters)) == len(letters), answer.buttons


def test_save_without_a_passing_check_is_alt_s(qtbot, window, shoot):
    wiz = start_wizard(window, "unchecked", "smtp")
    wiz.next()  # provider: any other server
    fill_text(field(wiz, "server", "host"), "localhost")
    sec = field(wiz, "server", "security")
    sec.setCurrentIndex(sec.findData("none"))
    field(wiz, "server", "port").setValue(free_port())  # nothing listens: the check fails
    wiz.next()
    how = field(wiz, "auth", "auth")
    how.setCurrentIndex(how.findData("none"))
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=20000)
    assert not wiz.flow.result.ok
    while wiz.currentPage() is not wiz.page_named("summary"):
        wiz.next()
    _focus_window(qtbot, wiz)
    answer = BoxAnswer(qtbot, Qt.Key.Key_S, shoot, "ask-save-unchecked")
    wiz.button(QWizard.WizardButton.FinishButton).click()
    assert answer.title == "Save without a passing check?"
    assert answer.pressed, answer.buttons
    letters = [mnemonic(t) for t in answer.buttons]
    assert None not in letters and len(set(letters)) == len(letters), answer.buttons
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10000)
    assert window.desk.get("unchecked").status.state == "failed"


def test_delete_is_alt_d_and_cancel_alt_c(qtbot, window, shoot):
    _smtp(window, "to-delete")
    window.reload(select="to-delete")
    qtbot.waitUntil(lambda: window.selected_name() == "to-delete", timeout=5000)
    _focus_window(qtbot, window)
    answer = BoxAnswer(qtbot, Qt.Key.Key_C)
    window.delete_action.trigger()
    assert answer.title == "Delete connector?" and answer.pressed
    qtbot.wait(200)
    assert window.model.rowCount() == 1  # Cancel: kept
    answer = BoxAnswer(qtbot, Qt.Key.Key_D, shoot, "ask-delete")
    window.delete_action.trigger()
    assert answer.pressed and "&Delete" in answer.buttons
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=5000)


def test_two_buttons_of_one_question_never_share_a_letter(qtbot):
    import pytest

    from desktop.gui import ask
    with pytest.raises(ValueError, match="share Alt\\+C"):
        ask.question(None, "Clash", "?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                     QMessageBox.StandardButton.Cancel, {QMessageBox.StandardButton.Yes: "&Clear"})


def test_team_vault_dialog_enter_connects_and_labels_have_letters(qtbot, window, monkeypatch, shoot):
    from PySide6.QtWidgets import QFileDialog
    browsed: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (browsed.append("browse"), ("", ""))[1])
    window.connect_team_vault()
    dialog = window.workspace_dialog
    qtbot.waitExposed(dialog)
    _focus_window(qtbot, dialog)
    shoot(dialog, "workspace-dialog-keys")
    assert dialog.connect_button.isDefault() and not dialog.browse_button.autoDefault()
    # Every field's label has its own Alt+letter, which goes to that field.
    labels = [lab for lab in dialog.findChildren(QLabel) if lab.buddy() is not None]
    assert len(labels) == 8
    letters = [mnemonic(lab.text()) for lab in labels]
    buttons = [mnemonic(b.text()) for b in (dialog.connect_button, dialog.browse_button, dialog.use_token,
                                             dialog.use_password)]
    assert None not in letters + buttons and len(set(letters + buttons)) == len(letters + buttons)
    dialog.name.setFocus()
    qtbot.keyClick(dialog, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
    assert dialog.focusWidget() is dialog.address
    qtbot.keyClick(dialog, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    assert dialog.focusWidget() is dialog.ca_file
    # Enter in a field is Connect (the form is checked: no token given), never the CA file browser.
    dialog.name.setFocus()
    qtbot.keyClicks(dialog.name, "team")
    dialog.address.setText("https://vault.invalid:8200")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    assert browsed == []
    assert dialog.error.isVisible() and "Token" in dialog.error.text()
    assert isinstance(dialog.focusWidget(), QLineEdit)
    dialog.reject()
