from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget

from tests.servers.openbao import Bao


@pytest.fixture(autouse=True)
def styled(qapp):  # type: ignore[no-untyped-def]
    """The application's own style sheet and icon, as in the real app."""
    from desktop.gui.app import apply_style
    apply_style(qapp)


@pytest.fixture
def shoot():  # type: ignore[no-untyped-def]
    """Save a screenshot of a widget when CONNECTOR_DESK_SCREENSHOTS names a folder."""
    folder = os.environ.get("CONNECTOR_DESK_SCREENSHOTS")

    def take(widget: QWidget, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            widget.grab().save(str(Path(folder) / f"{name}.png"))
    return take


@pytest.fixture
def window(qtbot, app_home):  # type: ignore[no-untyped-def]
    """The main window over a fresh app folder, shown and loaded."""
    from desktop.connectors import registry
    from desktop.core.service import Desk
    from desktop.gui.main_window import MainWindow

    win = MainWindow(Desk(registry(), app_home))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.loaded, timeout=5000)
    yield win
    win.runner.cancel_all()
    win.runner.wait(3000)


@pytest.fixture
def bao(tmp_path: Path) -> Iterator[Bao]:
    """A real OpenBao dev server (the team vault of the workspace tests)."""
    server = Bao(tmp_path).start()
    yield server
    server.stop()
