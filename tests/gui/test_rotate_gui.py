"""The Rotate dialog against real Postfix + Dovecot: a wrong value changes nothing; a right one
becomes current with the previous kept and restorable."""

from __future__ import annotations

import secrets

import keyring
from PySide6.QtCore import Qt

from desktop.connectors import registry
from desktop.core.service import Desk
from desktop.core.vault import service_name
from desktop.gui.main_window import MainWindow
from tests.conftest import import_smtp_for


def test_rotate_dialog(qtbot, app_home, mail, certs, shoot):
    user = mail.users[2]
    desk = Desk(registry(), app_home)
    import_smtp_for(desk, mail, certs, user, "rot-gui")
    win = MainWindow(desk)
    qtbot.addWidget(win)
    win.show()
    win.reload(select="rot-gui")
    qtbot.waitUntil(lambda: win.selected_name() == "rot-gui", timeout=5000)
    win.rotate()
    dialog = win.rotate_dialog
    assert not dialog.run_btn.isEnabled() and "new value" in dialog.run_btn.toolTip()
    assert not dialog.rollback_btn.isEnabled() and "No previous" in dialog.rollback_btn.toolTip()
    dialog.value.setText("definitely-wrong")
    qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=15000)
    assert dialog.outcome.error.code == "auth_failed"
    assert "unchanged" in dialog.banner.title.text()
    shoot(dialog, "rotate-failed")
    old, new = user.password, "carol-" + secrets.token_hex(8)
    mail.set_password(user.address, new)
    try:
        dialog.outcome = None
        dialog.value.setText(new)
        qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=15000)
        assert dialog.outcome.ok, dialog.outcome.error
        assert keyring.get_password(service_name(app_home), "rot-gui/password") == new
        assert dialog.rollback_btn.isEnabled() and dialog.value.text() == ""
        shoot(dialog, "rotate-ok")
        qtbot.mouseClick(dialog.rollback_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "restored" in dialog.banner.title.text(), timeout=5000)
        assert keyring.get_password(service_name(app_home), "rot-gui/password") == old
        # The same value again: the problem names the field as the dialog labels it, not "new_value".
        dialog.value.setText(old)
        qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "same as the current" in dialog.banner.message.text(), timeout=5000)
        assert dialog.banner.message.text().startswith("New value is the same as the current value")
        assert "new_value" not in dialog.banner.message.text() + dialog.banner.hint.text()
        assert "“New value”" in dialog.banner.hint.text()
    finally:
        mail.set_password(user.address, old)
    dialog.reject()
    win.runner.wait(3000)
