"""RotateDialog: replace a secret, checked before it is used; restore the previous one. Its fixed
part is the Designer form ui/rotate.ui (compiled by `make ui`); the check widgets are added below it."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QDoubleSpinBox, QLineEdit, QVBoxLayout, QWidget

from desktop.core.model import Connector
from desktop.core.pipeline import RunResult
from desktop.core.service import Desk
from desktop.gui.check_dialog import CheckDialog
from desktop.gui.forms.ui_rotate import Ui_RotateForm
from desktop.gui.timefmt import local_time


class RotateDialog(CheckDialog):
    """Replace a secret: the new value is validated before it becomes current; the previous one is
    kept for a grace period and can be restored."""

    def __init__(self, desk: Desk, conn: Connector, parent: QWidget | None = None) -> None:
        super().__init__(parent, parent.tr("&Check and rotate") if parent else "&Check and rotate", "rotate")
        self.desk = desk
        self.conn = conn
        self.ui: Any = cast(Any, Ui_RotateForm())  # generated, untyped: its widgets are named in ui/rotate.ui
        self.ui.setupUi(self)
        self.setWindowTitle(self.tr("Rotate a secret of “{0}”").format(conn.name))
        self.ui.intro.setText(self.tr(
            "The new value is checked live first. Only if the check passes does it replace the current one; the "
            "previous value stays in {0} for the grace period so it can be restored. If anything fails, nothing "
            "changes.").format(desk.secrets_place()))
        self.secret: QComboBox = self.ui.secretName
        labels = {s.name: s.label for s in desk.types[conn.type].secrets}
        for name in conn.secret_names:
            self.secret.addItem(labels.get(name, name), name)
        self.value: QLineEdit = self.ui.newValueRow.named("newValue", "showNewValue").edit
        self.grace: QDoubleSpinBox = self.ui.graceHours
        v: QVBoxLayout = self.ui.layout
        self.rollback_btn = self.buttons.addButton(self.tr("Restore &previous"), QDialogButtonBox.ButtonRole.ActionRole)
        self.rollback_btn.setObjectName("rollback")
        self.rollback_btn.clicked.connect(self.rollback)
        self.add_check_widgets(v)
        self._update()
        self.value.textChanged.connect(lambda _t: self._update())
        self.secret.currentIndexChanged.connect(lambda _i: self._update())

    def _update(self) -> None:
        oauth = self.secret.currentData() == "oauth_refresh_token"
        self.value.setPlaceholderText(self.tr("A new sign-in gives one: Sign in again… (Ctrl+Shift+I)") if oauth
                                      else "")
        has_value = bool(self.value.text())
        self.run_btn.setEnabled(has_value)
        self.run_btn.setToolTip("" if has_value else self.tr("Enter the new value first"))
        until = self.conn.previous_until.get(str(self.secret.currentData()))
        self.rollback_btn.setEnabled(bool(until))
        self.rollback_btn.setToolTip(self.tr("Kept until {0}").format(local_time(until)) if until else
                                     self.tr("No previous value is kept for this secret"))

    def start(self) -> None:
        from desktop.core.secret import Secret
        name, secret = self.conn.name, str(self.secret.currentData())
        value, grace = Secret(self.value.text()), self.grace.value()
        desk = self.desk
        self.check.launch(lambda token, emit: desk.rotate(name, secret, value, grace, token, emit), "rotate",
                          self.tr("Checking the new value…"), self._done, self._failed)
        self.run_btn.setEnabled(False)

    def _done(self, result: RunResult) -> None:
        self.outcome = result
        self._update()
        if result.ok:
            self.value.clear()
            self.conn.previous_until[str(self.secret.currentData())] = str(result.info.get("previous_until"))
            self._update()
            until = local_time(result.info.get("previous_until"))
            self.banner.success(self.tr("Rotated"), self.tr("The new value is current; the previous one is kept "
                                                            "until {0}.").format(until))
        elif result.error is not None:
            self.banner.error(result.error, self.tr("Not rotated — the current value is unchanged"))

    def _failed(self, exc: BaseException) -> None:
        self._update()
        self.banner.error(exc, self.tr("Not rotated — the current value is unchanged"))

    def rollback(self) -> None:
        name, secret, desk = self.conn.name, str(self.secret.currentData()), self.desk
        self.runner.run(lambda _t, _e: desk.rollback(name, secret), "rollback",
                        on_finished=lambda _r: self._rolled_back(), on_failed=self._failed)

    def _rolled_back(self) -> None:
        self.conn.previous_until.pop(str(self.secret.currentData()), None)
        self._update()
        self.banner.success(self.tr("Previous value restored"), self.tr("Validate the connector to confirm it."))
