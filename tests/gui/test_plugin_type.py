"""The plug-in shape in the GUI: the test-only "echo" type (tests/plugins/echo.py) goes through the
whole wizard — its own page titles, fields, facts, peek button, listing columns — and into the list,
with no change outside its own module."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QTreeWidget

from tests.gui.test_wizard import field, fill_text, start_wizard
from tests.plugins.echo import CONNECTOR as ECHO


@pytest.fixture
def echo_window(qtbot, app_home):  # type: ignore[no-untyped-def]
    from desktop.connectors import registry
    from desktop.core.service import Desk
    from desktop.gui.main_window import MainWindow

    win = MainWindow(Desk({**registry(), "echo": ECHO}, app_home))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.loaded, timeout=5000)
    yield win
    win.runner.cancel_all()
    win.runner.wait(3000)


def test_the_plugin_type_walks_the_wizard_and_lands_in_the_list(qtbot, echo_window):
    wiz = start_wizard(echo_window, "echo-gui", "echo")
    assert wiz.currentPage().title() == "Echo server"  # its own wording, no provider page (no presets)
    fill_text(field(wiz, "server", "host"), "echo.example.com")
    wiz.next()
    fill_text(field(wiz, "auth", "phrase"), "marco")
    fill_text(field(wiz, "auth", "token"), "t0ken")
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=10000)
    assert wiz.flow.result.ok, wiz.flow.result.error
    validate = wiz.page_named("validate")
    assert validate.subTitle().startswith("Connector Desk greets the echo server")
    facts = validate.findChild(QLabel, "facts")
    assert "“marco”, 3 times" in facts.text()

    wiz.next()
    admin = wiz.page_named("admin")
    assert admin.title() == "Admin details and echo"
    peek = admin.findChild(QPushButton, "peek")
    produce = admin.findChild(QPushButton, "produce")
    send = admin.findChild(QPushButton, "sendTest")
    assert peek.isVisible() and peek.text() == "&Hear the echo"
    assert not produce.isVisible() and not send.isVisible()  # capabilities the type does not declare
    qtbot.mouseClick(peek, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=10000)
    tree = admin.findChild(QTreeWidget, "peekMessages")
    assert [tree.headerItem().text(i) for i in range(tree.columnCount())] == ["No.", "Echoed line"]
    assert tree.topLevelItem(0).text(1) == "MARCO" and tree.topLevelItem(0).font(1).bold()

    wiz.next()
    with qtbot.waitSignal(wiz.saved, timeout=10000):
        wiz.accept()
    qtbot.waitUntil(lambda: echo_window.model.rowCount() == 1, timeout=5000)
    shown = [str(echo_window.model.data(echo_window.model.index(0, col))) for col in range(4)]
    assert "echo-gui" in shown and any("echo://echo.example.com:7" in s for s in shown), shown
