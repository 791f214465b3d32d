"""Start-up: the window is on screen first (toolbar, "Loading connectors…"), the connector list
follows right after. (How long it takes is measured in bench/, never asserted here.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel

from desktop.connectors import registry
from desktop.core.service import Desk
from desktop.gui.main_window import MainWindow
from tests.conftest import ROOT, kafka_document

# Runs the real start-up (run_gui, as `connector-desk --smoke` does) in a fresh interpreter and
# reports what the window looked like at its first paint.
AT_FIRST_PAINT = """
import json, sys
from PySide6 import QtCore
from desktop.gui import firstpaint
from desktop.gui.main_window import MainWindow
seen = {}
watch = firstpaint.FirstPaint.eventFilter
def spy(self, obj, event):
    if event.type() == QtCore.QEvent.Type.Paint and isinstance(obj, MainWindow) and not seen:
        page = obj.stack.currentWidget()
        seen.update(qt_namespace_built="Qt" in vars(QtCore), page=page.text() if hasattr(page, "text") else "",
                    list_built=obj.list_page is not None, title=obj.windowTitle(),
                    actions={a.text(): a.shortcut().toString() for a in obj.findChildren(type(obj.new_action))
                             if a.text()})
    return watch(self, obj, event)
firstpaint.FirstPaint.eventFilter = spy
from desktop.gui.app import run_gui
rc = run_gui(smoke=True)
print(json.dumps({"rc": rc, **seen}))
"""


def _catalogue_with_one_connector(home: Path) -> None:
    Desk(registry(), home).import_document(kafka_document("localhost:9092", name="orders"), {})


def test_the_window_is_on_screen_before_the_list_is_built(app_home):
    _catalogue_with_one_connector(app_home)
    out = subprocess.run([sys.executable, "-c", AT_FIRST_PAINT], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "CONNECTOR_DESK_HOME": str(app_home)})
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["rc"] == 0 and seen["title"] == "Connector Desk"
    assert seen["page"] == "Loading connectors…" and not seen["list_built"]
    assert seen["actions"]["&New…"] == "Ctrl+N" and seen["actions"]["&Validate"] == "Ctrl+R"
    # PySide builds the Qt namespace's ~90 enums (~15 ms) on first touch; the first paint must not
    # wait for it (see main_window's docstring for how the window avoids it).
    assert not seen["qt_namespace_built"], "something on the start-up path touched PySide6.QtCore.Qt"


def test_the_list_follows_the_first_paint(qtbot, app_home):
    _catalogue_with_one_connector(app_home)
    win = MainWindow(Desk(registry(), app_home))
    qtbot.addWidget(win)
    assert isinstance(win.stack.currentWidget(), QLabel) and win.list_page is None
    assert not win.edit_action.isEnabled() and "select a connector first" in win.edit_action.toolTip()
    win.show()
    qtbot.waitUntil(lambda: win.loaded, timeout=5000)
    assert win.stack.currentWidget() is win.list_page
    assert win.model.connectors[0].name == "orders"
    assert win.new_action.toolTip() == "Create a connector (Ctrl+N)"  # the shortcut as the platform writes it
    win.list_page.table.selectRow(0)
    assert win.edit_action.isEnabled() and win.edit_action.toolTip() == "Edit the selected connector (Return)"


def test_loads_that_finish_before_the_first_paint_are_kept_newest_last(qtbot, app_home):
    _catalogue_with_one_connector(app_home)
    win = MainWindow(Desk(registry(), app_home))
    qtbot.addWidget(win)
    win.reload(select="orders")
    assert win.runner.wait(5000)
    qtbot.waitUntil(lambda: not win.runner.tasks, timeout=5000)  # both results have arrived, unshown
    assert win.list_page is None and not win.loaded
    win.show()
    qtbot.waitUntil(lambda: win.loaded, timeout=5000)
    assert win.selected_name() == "orders"
