"""ConnectorWizard: the QWizard holding the pages, the Save, Cancel and Enter manners."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QMessageBox,
    QWidget,
    QWizard,
)

from desktop.core import errors
from desktop.core import wizard as flowmod
from desktop.core.errors import ConnectorError, InputErrors
from desktop.core.model import Connector, Status
from desktop.core.service import Desk
from desktop.core.wizard import WizardFlow
from desktop.gui import ask
from desktop.gui.wizard.admin_page import AdminPage
from desktop.gui.wizard.basics import BasicsPage, ProviderPage
from desktop.gui.wizard.check_page import CheckPage
from desktop.gui.wizard.form_pages import AuthPage, ServerPage
from desktop.gui.wizard.page import PAGE_IDS, Page
from desktop.gui.wizard.summary_page import SummaryPage
from desktop.gui.wizard.validate_page import ValidatePage
from desktop.gui.worker import TaskRunner


class ConnectorWizard(QWizard):
    """New / Edit / Duplicate connector.

    Signals:
        saved(object): the stored Connector, after secrets and catalogue were written.
    """

    saved = Signal(object)

    def __init__(self, desk: Desk, runner: TaskRunner, flow: WizardFlow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.runner = runner
        self.flow = flow
        self.setObjectName("connectorWizard")
        self.setWindowTitle(self.tr("Edit connector “{0}”").format(flow.original_name) if flow.editing
                            else self.tr("New connector"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.resize(820, 640)
        self.setMinimumSize(680, 520)
        self.pages_: dict[str, Page] = {}
        for cls in (BasicsPage, ProviderPage, ServerPage, AuthPage, ValidatePage, AdminPage, SummaryPage):
            page = cls(self)
            self.pages_[cls.name] = page
            self.setPage(PAGE_IDS[cls.name], page)
        self.setStartId(PAGE_IDS[flowmod.BASICS])
        # Cancel (and Esc, and the window's close button) ask first when something would be lost.
        cancel = self.button(QWizard.WizardButton.CancelButton)
        cancel.clicked.disconnect()
        cancel.clicked.connect(self.request_close)

    def page_named(self, name: str) -> Any:
        return self.pages_[name]

    def field_labels(self) -> dict[str, str]:
        """Field name → label for the connector type being edited (errors name fields by them)."""
        return self.flow.ctype.labels()

    @property
    def busy(self) -> bool:
        auth: AuthPage = self.pages_[flowmod.AUTH]  # type: ignore[assignment]
        return auth.pick_task is not None or any(
            isinstance(p, CheckPage) and p.task is not None for p in self.pages_.values())

    def request_close(self) -> None:
        """The user's Cancel or Esc: discard only after asking, if there is something to lose."""
        if (self.flow.changed or self.busy) and not self._confirm_discard():
            return
        self.reject()

    def _confirm_discard(self) -> bool:
        text = self.tr("A check is still running; it will be stopped. ") if self.busy else ""
        text += (self.tr("The changes to “{0}” will be lost.").format(self.flow.original_name) if self.flow.editing
                 else self.tr("The values entered for this new connector will be lost."))
        answer = ask.question(self, self.tr("Discard this connector?") if not self.flow.editing
                              else self.tr("Discard the changes?"), text,
                              QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                              QMessageBox.StandardButton.Cancel,
                              {QMessageBox.StandardButton.Discard: self.tr("&Discard"),
                               QMessageBox.StandardButton.Cancel: self.tr("&Keep editing")})
        return answer == QMessageBox.StandardButton.Discard

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.request_close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: Any) -> None:
        # Only the window system's close button asks; a programmatic close() does not.
        if event.spontaneous() and self.isVisible() and (self.flow.changed or self.busy) \
                and not self._confirm_discard():
            event.ignore()
            return
        super().closeEvent(event)

    def accept(self) -> None:
        summary: SummaryPage = self.pages_[flowmod.SUMMARY]  # type: ignore[assignment]
        if summary.saving:
            return
        if not self.flow.validated_ok and not self._confirm_unvalidated():
            return
        try:
            conn = self.flow.connector()
        except InputErrors as exc:
            summary.banner.error(exc, self.tr("Some fields need attention"), self.field_labels())
            return
        summary.banner.labels = self.field_labels()
        secrets = self.flow.needed_secrets()
        status = self._status()
        old = self.flow.original_name
        summary.saving = True
        summary.completeChanged.emit()
        summary.banner.busy(self.tr("Saving — storing secrets in {0}…").format(self.flow.secrets_place))
        desk, cache = self.desk, self.flow.token_cache
        self.runner.run(lambda _t, _e: desk.save(conn, secrets, old_name=old, status=status, token_cache=cache), "save",
                        on_finished=self._saved, on_failed=self._save_failed)

    def _status(self) -> Status | None:
        r = self.flow.result
        if not self.flow.validation_current or r is None:
            return Status() if not self.flow.editing else None
        from datetime import UTC, datetime
        at = datetime.now(UTC).isoformat(timespec="seconds")
        if r.ok:
            return Status("valid", at)
        if r.error is None or r.error.code == errors.CANCELLED:
            return Status() if not self.flow.editing else None
        return Status("failed", at, r.error.code, r.error.message)

    def _confirm_unvalidated(self) -> bool:
        answer = ask.question(
            self, self.tr("Save without a passing check?"),
            self.tr("The last validation of these values did not pass (or was not run). Save the connector "
                    "anyway? It will be listed with its failure so you can fix it later."),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
            {QMessageBox.StandardButton.Save: self.tr("&Save anyway"),
             QMessageBox.StandardButton.Cancel: self.tr("&Cancel")})
        return answer == QMessageBox.StandardButton.Save

    def _saved(self, conn: Connector) -> None:
        summary: SummaryPage = self.pages_[flowmod.SUMMARY]  # type: ignore[assignment]
        summary.saving = False
        self.saved.emit(conn)
        super().accept()

    def _save_failed(self, exc: BaseException) -> None:
        summary: SummaryPage = self.pages_[flowmod.SUMMARY]  # type: ignore[assignment]
        summary.saving = False
        summary.completeChanged.emit()
        summary.banner.error(exc, self.tr("Not saved") if isinstance(exc, ConnectorError) else None)

    def reject(self) -> None:
        self.runner.cancel_all()
        super().reject()
