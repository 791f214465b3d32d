"""Application start-up. Heavy modules are imported only when used."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop import APP_ID, APP_NAME, __version__
from desktop.connectors import registry
from desktop.core.resources import resource
from desktop.core.service import Desk
from desktop.gui.firstpaint import FirstPaint
from desktop.gui.main_window import MainWindow


def apply_style(app: QApplication) -> None:
    icon = resource("icons", "connector-desk.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    style = resource("style.qss")
    if style.is_file():
        app.setStyleSheet(style.read_text(encoding="utf-8"))


def make_app() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_ID)
    app.setDesktopFileName(APP_ID)
    apply_style(app)
    return app


def _start_logging() -> None:
    from desktop.core.logsetup import setup_logging
    setup_logging()


def raise_window(window: MainWindow) -> None:
    from PySide6.QtCore import Qt  # not at import: PySide builds Qt's ~90 enums on first touch (~15 ms)

    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()


def run_gui(smoke: bool = False) -> int:
    # Hand the GIL back to the GUI thread sooner while workers run Python protocol code.
    sys.setswitchinterval(0.001)
    app = make_app()
    desk = Desk(registry)  # connector types load when first needed, after the first paint
    single = None
    if not smoke:  # --smoke is a self-test of painting; it neither hands over nor claims the instance
        from desktop.gui.single import SingleInstance

        single = SingleInstance(desk.folder, app)
        if single.hand_over():
            print("Connector Desk is already running; its window was brought to the front.")
            return 0
    window = MainWindow(desk)
    if single is not None:
        single.listen(lambda: raise_window(window))
    # --smoke leaves the event loop during the window's first paint, before the work the window
    # queued for after it (building the connector list): what it measures is the window on screen.
    # Otherwise the log file (logging.handlers) is set up once the window is there.
    if smoke:
        FirstPaint(window, lambda: app.exit(0), at_once=True)
        QTimer.singleShot(10_000, lambda: app.exit(1))  # never hang a smoke test
    else:
        FirstPaint(window, _start_logging)
    window.show()
    rc = app.exec()
    window.runner.cancel_all()
    window.runner.wait(3000)
    return int(rc)


def main() -> int:
    return run_gui()
