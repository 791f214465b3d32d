"""SecretEdit: the one secret-entry widget — a password-style line edit with a Show/Hide toggle.
Used by the wizard's rendered forms and by the Rotate dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget


class SecretEdit(QWidget):
    """``edit`` holds the value, ``toggle`` shows or hides it; ``named()`` gives them object names.
    (Constructed with its parent only, as a Designer form's promoted widget is.)"""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.toggle = QToolButton()
        self.toggle.setText(self.tr("Show"))
        self.toggle.setCheckable(True)
        self.toggle.setToolTip(self.tr("Show or hide the value"))
        self.toggle.toggled.connect(self._shown)
        h.addWidget(self.edit, 1)
        h.addWidget(self.toggle)
        self.setFocusProxy(self.edit)

    def named(self, edit_name: str, toggle_name: str) -> SecretEdit:
        self.edit.setObjectName(edit_name)
        self.toggle.setObjectName(toggle_name)
        return self

    def _shown(self, on: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)
        self.toggle.setText(self.tr("Hide") if on else self.tr("Show"))
