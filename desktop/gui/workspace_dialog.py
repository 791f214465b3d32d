"""“Connect to a team vault”: address, CA file, mount, prefix and sign-in (a token, or a user name
and password). The check runs on the TaskRunner (core.teamvault.connect_workspace); the workspace is
saved, and the token kept in the keychain, only once the vault answered. The main window's
workspace switcher opens it and listens to ``connected(name)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.contract import plural
from desktop.core.errors import ConnectorError, FieldError, InputErrors
from desktop.core.secret import Secret
from desktop.gui.worker import Task, TaskRunner


class WorkspaceDialog(QDialog):
    """Signals: connected(str) — the workspace's name, once saved."""

    connected = Signal(str)

    def __init__(self, runner: TaskRunner, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to a team vault")
        self.runner = runner
        self.folder = folder
        self.task: Task | None = None

        self.name = self._line("workspaceName", "Workspace name", "team")
        self.address = self._line("workspaceAddress", "Vault address", "https://vault.example.com:8200")
        self.ca_file = self._line("workspaceCaFile", "CA file", "the PEM of an internal CA (optional)")
        browse = self.browse_button = QPushButton("&Browse…")
        browse.setObjectName("workspaceBrowse")
        browse.setAutoDefault(False)  # Enter in the form is Connect, never the file browser
        browse.clicked.connect(self._browse)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(browse)
        self.mount = self._line("workspaceMount", "Mount", "")
        self.mount.setText("secret")
        self.prefix = self._line("workspacePrefix", "Path prefix", "")
        self.prefix.setText("connector-desk")

        self.use_token = QRadioButton("&Token")
        self.use_token.setChecked(True)
        self.use_password = QRadioButton("&User name and password")
        group = QButtonGroup(self)
        group.addButton(self.use_token)
        group.addButton(self.use_password)
        self.token = self._line("workspaceToken", "Token", "hvs.… or s.…", secret=True)
        self.username = self._line("workspaceUsername", "User name", "")
        self.password = self._line("workspacePassword", "Password", "", secret=True)
        self.use_token.toggled.connect(self._method_changed)

        form = QFormLayout()

        def label(text: str, buddy: QWidget) -> QLabel:  # Alt+its letter goes to the field
            lab = QLabel(text)
            lab.setBuddy(buddy)
            return lab
        form.addRow(label("Workspace &name", self.name), self.name)
        form.addRow(label("Vault a&ddress", self.address), self.address)
        form.addRow(label("C&A file", self.ca_file), ca_row)
        form.addRow(label("&Mount", self.mount), self.mount)
        form.addRow(label("Path &prefix", self.prefix), self.prefix)
        method = QHBoxLayout()
        method.addWidget(self.use_token)
        method.addWidget(self.use_password)
        method.addStretch(1)
        form.addRow("Sign in with", method)
        form.addRow(label("To&ken", self.token), self.token)
        form.addRow(label("Us&er name", self.username), self.username)
        form.addRow(label("Pass&word", self.password), self.password)

        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.status = QLabel("Connector Desk keeps connectors under <prefix>/connectors and their secrets "
                             "under <prefix>/secrets of a KV version 2 engine. The token is kept in the "
                             "keychain, never in a file.")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("&Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.connect_button.setObjectName("workspaceConnect")
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        # Only now, inside the dialog: set before, it was lost, and the dialog made the first
        # auto-default button of its focus chain (Browse…) the one Enter pressed.
        self.connect_button.setDefault(True)
        self._method_changed()

    def _line(self, object_name: str, label: str, placeholder: str, *, secret: bool = False) -> QLineEdit:
        line = QLineEdit()
        line.setObjectName(object_name)
        line.setAccessibleName(label)
        line.setPlaceholderText(placeholder)
        if secret:
            line.setEchoMode(QLineEdit.EchoMode.Password)
        return line

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CA file", "", "PEM certificates (*.pem *.crt);;All files (*)")
        if path:
            self.ca_file.setText(path)

    def _method_changed(self) -> None:
        token = self.use_token.isChecked()
        self.token.setEnabled(token)
        self.username.setEnabled(not token)
        self.password.setEnabled(not token)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def start(self) -> None:
        """Check the input, then sign in and list on the runner; the dialog stays open until then."""
        from desktop.core import workspace
        from desktop.core.teamvault import connect_workspace
        self.error.hide()
        try:
            ws = workspace.make(self.name.text().strip(), self.address.text().strip(), self.mount.text().strip(),
                                self.prefix.text().strip(), self.ca_file.text().strip())
        except FieldError as exc:
            labels = {"name": "Workspace name", "vault": "Vault address", "ca-file": "CA file", "mount": "Mount",
                      "prefix": "Path prefix"}
            self.show_error(f"{labels.get(exc.field, exc.field)}: {exc.problem}")
            return
        token = Secret(self.token.text()) if self.use_token.isChecked() and self.token.text() else None
        username = "" if self.use_token.isChecked() else self.username.text().strip()
        password = Secret(self.password.text()) if username and self.password.text() else None
        if token is None and not username:
            self.show_error("Token: give a token, or choose a user name and password." if self.use_token.isChecked()
                            else "User name: is required.")
            return
        folder = self.folder
        self.connect_button.setEnabled(False)
        self.status.setText(f"Connecting to {ws.url}…")
        self.task = self.runner.run(
            lambda _cancel, _emit: connect_workspace(ws, folder, token=token, username=username, password=password),
            "connect to a team vault", on_finished=lambda count: self._done(ws.name, count),
            on_failed=self._failed)

    def _done(self, name: str, count: Any) -> None:
        self.connect_button.setEnabled(True)
        self.status.setText(f"Connected: “{name}” holds {count} {plural(count, ('connector', 'connectors'))}.")
        self.connected.emit(name)
        self.accept()

    def _failed(self, exc: Any) -> None:
        self.connect_button.setEnabled(True)
        self.status.setText("Not connected; nothing was saved.")
        if isinstance(exc, InputErrors):
            self.show_error("; ".join(e.message for e in exc.errors))
        elif isinstance(exc, ConnectorError):
            self.show_error(f"{exc.message} ({exc.code})" + (f"\n{exc.hint}" if exc.hint else ""))
        else:
            self.show_error(f"Unexpected failure: {type(exc).__name__}")
