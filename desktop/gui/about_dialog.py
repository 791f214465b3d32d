"""AboutDialog: version, Qt, Python, the data folder and the keychain in use. Its layout is the
Designer form ui/about.ui (compiled by `make ui` into gui/forms/ui_about.py)."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QWidget

from desktop.core.service import Desk
from desktop.gui.forms.ui_about import Ui_AboutForm
from desktop.gui.worker import TaskRunner


class AboutDialog(QDialog):
    """Version, Qt and PySide, Python, the data folder and the keychain in use (looked up in a worker:
    opening the keychain can wait on a D-Bus service)."""

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        import platform

        import PySide6
        from PySide6 import QtCore
        from PySide6.QtGui import QIcon

        from desktop import APP_NAME, __version__
        from desktop.core.resources import resource

        super().__init__(parent)
        self.ui: Any = cast(Any, Ui_AboutForm())  # generated, untyped: its widgets are named in ui/about.ui
        self.ui.setupUi(self)
        self.setWindowTitle(self.tr("About Connector Desk"))
        self.ui.logo.setPixmap(QIcon(str(resource("icons", "connector-desk.svg"))).pixmap(64, 64))
        self.ui.title.setText(f"<b style='font-size:15pt'>{APP_NAME}</b><br>{self.tr('Version')} {__version__}<br>"
                              + self.tr("Sets up and checks the mail and messaging connectors a workflow platform "
                                        "uses."))
        self.ui.qtVersion.setText(f"{QtCore.qVersion()} / {PySide6.__version__}")
        self.ui.pythonVersion.setText(platform.python_version())
        folder = self.ui.data_folder
        folder.setText(self.fontMetrics().elidedText(str(desk.folder), Qt.TextElideMode.ElideMiddle, 380))
        folder.setToolTip(str(desk.folder))  # the whole path; the label keeps its middle out when long
        keychain = self.ui.keychain

        def look_up(_token: Any, _emit: Any) -> str:
            from desktop.core import about
            return str(about.facts(desk)["keychain_backend"])

        def show(backend: str) -> None:
            from desktop.core.about import keychain_words
            keychain.setText(keychain_words(backend))
            keychain.setToolTip(backend)

        runner.run(look_up, "about", on_finished=show,
                   on_failed=lambda exc: keychain.setText(self.tr("unavailable: %s") % exc))
