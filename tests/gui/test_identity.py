"""Application identity: the About dialog (version, Qt/PySide, keychain in use) and single-instance
behaviour (a second launch raises the running window instead of opening another)."""

from __future__ import annotations

import os
import subprocess
import sys

import PySide6
from PySide6.QtCore import QCoreApplication, QEventLoop
from PySide6.QtWidgets import QLabel

from desktop import __version__
from desktop.gui.single import SingleInstance
from tests.conftest import ROOT


def test_about_shows_version_qt_and_the_keychain_backend(qtbot, window, shoot):
    window.about_action.trigger()
    dialog = window.about_dialog
    keychain = dialog.findChild(QLabel, "keychain")
    qtbot.waitUntil(lambda: "Secret Service" in keychain.text(), timeout=10000)
    assert "SecretService" in keychain.toolTip()  # the back-end's own name, for a bug report
    texts = " ".join(w.text() for w in dialog.findChildren(QLabel))
    assert __version__ in texts and PySide6.__version__ in texts
    assert dialog.findChild(QLabel, "data_folder").toolTip() == str(window.desk.folder)
    shoot(dialog, "about")
    dialog.close()
    shoot(window, "main-window-toolbar")


def test_a_second_launch_raises_the_first(qtbot, app_home):
    raised: list[bool] = []
    first = SingleInstance(app_home)
    assert first.listen(lambda: raised.append(True))
    # The second launch is a real process over the same data folder: it hands over and exits 0.
    proc = subprocess.Popen([sys.executable, "-m", "desktop"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "CONNECTOR_DESK_HOME": str(app_home)})
    deadline_ms = 20000
    qtbot.waitUntil(lambda: bool(raised) or proc.poll() is not None and _pump(), timeout=deadline_ms)
    out, _ = proc.communicate(timeout=20)
    qtbot.waitUntil(lambda: bool(raised), timeout=5000)
    assert proc.returncode == 0 and "already running" in out


def test_another_data_folder_is_another_instance(app_home, tmp_path):
    assert SingleInstance(app_home).name != SingleInstance(tmp_path).name


def _pump() -> bool:
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return False
