"""SecretEdit: the one secret-entry widget — a password-style line edit with a Show/Hide toggle.
Used by the wizard's rendered forms and by the Rotate dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget


class SecretEdit(QWidget):
    """``edit`` holds the value (objectName ``edit_name``); the toggle is ``show_<toggle_name>``."""

    def __init__(self, edit_name: str, toggle_name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setObjectName(edit_name)
        self.toggle = QToolButton()
        self.toggle.setText(self.tr("Show"))
        if toggle_name:
            self.toggle.setObjectName(toggle_name)
        self.toggle.setCheckable(True)
        self.toggle.setToolTip(self.tr("Show or hide the value"))
        self.toggle.toggled.connect(self._shown)
        h.addWidget(self.edit, 1)
        h.addWidget(self.toggle)
        self.setFocusProxy(self.edit)

    def _shown(self, on: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)
        self.toggle.setText(self.tr("Hide") if on else self.tr("Show"))
