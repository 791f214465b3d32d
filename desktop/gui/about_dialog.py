"""AboutDialog: version, Qt, Python, the data folder and the keychain in use."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from desktop.core.service import Desk
from desktop.gui.worker import TaskRunner


class AboutDialog(QDialog):
    """Version, Qt and PySide, Python, the data folder and the keychain in use (looked up in a worker:
    opening the keychain can wait on a D-Bus service)."""

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        import PySide6
        from PySide6 import QtCore
        from PySide6.QtGui import QIcon

        from desktop import APP_NAME, __version__
        from desktop.core.resources import resource

        super().__init__(parent)
        self.setWindowTitle(self.tr("About Connector Desk"))
        self.setObjectName("about")
        head = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(QIcon(str(resource("icons", "connector-desk.svg"))).pixmap(64, 64))
        head.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"<b style='font-size:15pt'>{APP_NAME}</b><br>{self.tr('Version')} {__version__}<br>"
                       + self.tr("Sets up and checks the mail and messaging connectors a workflow platform uses."))
        title.setWordWrap(True)
        head.addWidget(title, 1)
        form = QFormLayout()
        import platform

        self.keychain = QLabel(self.tr("checking…"))
        self.keychain.setWordWrap(True)
        self.keychain.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        folder = QLabel(self.fontMetrics().elidedText(str(desk.folder), Qt.TextElideMode.ElideMiddle, 380))
        folder.setToolTip(str(desk.folder))  # the whole path; the label keeps its middle out when long
        folder.setObjectName("data_folder")
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.tr("Qt / PySide:"), QLabel(f"{QtCore.qVersion()} / {PySide6.__version__}"))
        form.addRow(self.tr("Python:"), QLabel(platform.python_version()))
        form.addRow(self.tr("Data folder:"), folder)
        form.addRow(self.tr("Keychain:"), self.keychain)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addLayout(head)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

        def look_up(_token: Any, _emit: Any) -> str:
            from desktop.core import about
            return str(about.facts(desk)["keychain_backend"])

        runner.run(look_up, "about", on_finished=self.keychain.setText,
                   on_failed=lambda exc: self.keychain.setText(self.tr("unavailable: %s") % exc))
