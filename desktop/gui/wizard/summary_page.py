"""The Summary page: what will be saved, and the outcome of the checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWizard,
)

from desktop.core import wizard as flowmod
from desktop.gui.banner import ResultBanner
from desktop.gui.wizard.page import Page, wrap

if TYPE_CHECKING:
    from desktop.gui.wizard.window import ConnectorWizard


class SummaryPage(Page):
    name = flowmod.SUMMARY

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.setTitle(self.tr("Summary"))
        self.setSubTitle(self.tr("Check the details, then save. Secrets go to {0}.").format(wiz.flow.secrets_place))
        v = QVBoxLayout(self)
        self.box = QGroupBox()
        self.form = QFormLayout(self.box)
        v.addWidget(self.box)
        self.warnings = wrap(QLabel())
        self.warnings.setProperty("role", "warning")
        v.addWidget(self.warnings)
        self.banner = ResultBanner()
        v.addWidget(self.banner)
        v.addStretch(1)
        self.setFinalPage(True)
        self.saving = False

    def initializePage(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        for label, value in self.flow.summary():
            val = wrap(QLabel(value))
            val.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.form.addRow(QLabel(f"<b>{label}:</b>"), val)
        warnings = self.flow.ctype.warnings(self.flow.draft.settings)
        self.warnings.setText("\n".join("⚠ " + w for w in warnings))
        self.warnings.setVisible(bool(warnings))
        self.banner.hide()
        self.wiz.setButtonText(QWizard.WizardButton.FinishButton, self.tr("&Save"))

    def isComplete(self) -> bool:
        return not self.saving
