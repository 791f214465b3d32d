"""Validate from the main list (toolbar and Ctrl+R), through the real window, against real servers.

This is the everyday job of the tool: before this test existed, pressing Validate on a selected
connector crashed the application (a layoutChanged without layoutAboutToBeChanged)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from desktop.connectors import registry
from desktop.core.service import Desk
from desktop.gui.main_window import MainWindow
from tests.conftest import import_smtp_for


def _window(qtbot, desk, select):  # type: ignore[no-untyped-def]
    win = MainWindow(desk)
    qtbot.addWidget(win)
    win.show()
    win.reload(select=select)
    qtbot.waitUntil(lambda: win.selected_name() == select, timeout=5000)
    return win


def test_validate_selected_smtp_from_toolbar_and_shortcut(qtbot, app_home, mail, certs):
    desk = Desk(registry(), app_home)
    import_smtp_for(desk, mail, certs, mail.users[0], "list-smtp")
    win = _window(qtbot, desk, "list-smtp")
    table = win.list_page.table
    for trigger in (win.validate_action.trigger,
                    lambda: qtbot.keyClick(table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)):
        trigger()
        qtbot.waitUntil(lambda: "Validating" in win.list_page.model.index(0, 3).data(), timeout=2000)
        table.viewport().repaint()  # the paint that crashed
        qtbot.waitUntil(lambda: "Validating" not in win.list_page.model.index(0, 3).data(), timeout=15000)
        assert win.list_page.model.index(0, 3).data().startswith("Valid at"), win.banner.title.text()
        assert "is valid" in win.banner.title.text()
        assert win.selected_name() == "list-smtp"
    win.runner.wait(3000)
