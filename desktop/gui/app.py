"""Application start-up. Heavy modules are imported only when used."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop import APP_ID, APP_NAME, __version__
from desktop.connectors import registry
from desktop.core.resources import resource
from desktop.core.service import Desk
from desktop.gui.main_window import MainWindow


class _FirstPaint(QObject):
    """Quits the application once the watched window has painted (``--smoke``)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, QApplication.instance().quit)
        return False


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
    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()


def run_gui(smoke: bool = False) -> int:
    # Hand the GIL back to the GUI thread sooner while workers run Python protocol code.
    sys.setswitchinterval(0.001)
    app = make_app()
    desk = Desk(registry())
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
    if smoke:
        watcher = _FirstPaint(window)
        window.installEventFilter(watcher)
        QTimer.singleShot(10_000, lambda: app.exit(1))  # never hang a smoke test
    window.show()
    QTimer.singleShot(0, _start_logging)  # after the first paint: start-up shows the window first
    rc = app.exec()
    window.runner.cancel_all()
    window.runner.wait(3000)
    return int(rc)


def main() -> int:
    return run_gui()
