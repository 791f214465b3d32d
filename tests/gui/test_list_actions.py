"""List actions through the real main window, on a real catalogue with the real keychain and servers:
Edit with a rename (the old name's secrets must go), and Save without a passing check."""

from __future__ import annotations

import keyring
from PySide6.QtWidgets import QMessageBox

from desktop.core.vault import service_name
from desktop.gui import ask
from tests.conftest import import_smtp_for
from tests.gui.test_wizard import walk_to_summary


def _answer(monkeypatch, button):  # type: ignore[no-untyped-def]
    """Every question the window asks is answered with ``button`` (a modal box would block the test)."""
    asked: list[str] = []

    def reply(*args, **_kw):  # type: ignore[no-untyped-def]
        asked.append(str(args[2]) if len(args) > 2 else "")
        return button
    for name in ("question", "warning", "information"):
        monkeypatch.setattr(QMessageBox, name, reply)
    for name in ("question", "warning"):  # the window's own questions (desktop.gui.ask)
        monkeypatch.setattr(ask, name, reply)
    return asked


def test_edit_with_a_rename_moves_the_secrets(qtbot, window, app_home, mail, certs, monkeypatch):
    user = mail.users[1]
    import_smtp_for(window.desk, mail, certs, user, "old-name")
    window.reload(select="old-name")
    qtbot.waitUntil(lambda: window.selected_name() == "old-name", timeout=5000)
    window.edit_action.trigger()
    qtbot.waitUntil(lambda: getattr(window, "wizard", None) is not None and window.wizard.isVisible(), timeout=5000)
    wiz = window.wizard
    assert wiz.flow.secrets["password"].reveal() == user.password  # read from the keychain in a worker
    basics = wiz.page_named("basics")
    basics.name_edit.clear()
    qtbot.keyClicks(basics.name_edit, "new-name")
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    walk_to_summary(qtbot, wiz)
    assert wiz.flow.result is not None and wiz.flow.result.ok, wiz.flow.result
    wiz.accept()
    qtbot.waitUntil(lambda: [c.name for c in window.model.connectors] == ["new-name"], timeout=10000)
    assert window.selected_name() == "new-name"
    service = service_name(app_home)
    assert keyring.get_password(service, "new-name/password") == user.password
    assert keyring.get_password(service, "old-name/password") is None  # nothing left under the old name
    assert window.desk.get("new-name").status.state == "valid"
    assert all("new-name" not in q for q in asked) or asked  # (any rename warning was answered)


def test_save_without_a_passing_check_asks_and_lists_the_failure(qtbot, window, mail, certs, monkeypatch):
    from tests.gui.test_wizard import walk_to_validation

    wiz = walk_to_validation(qtbot, window, mail, certs, "unchecked-mail", "not-the-password")
    assert wiz.flow.result.error.code == "auth_failed"
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    walk_to_summary(qtbot, wiz)
    wiz.accept()  # Cancel in "Save without a passing check?": nothing is saved, the wizard stays open
    assert asked and wiz.isVisible()
    qtbot.wait(300)
    assert window.model.rowCount() == 0
    _answer(monkeypatch, QMessageBox.StandardButton.Save)
    wiz.accept()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10000)
    status = window.list_page.model.index(0, 3).data()
    assert status.startswith("Failed at ") and "rejected" in status, status
    assert window.desk.get("unchecked-mail").status.code == "auth_failed"
