"""The Validate page: the whole check on the values in the form, storing nothing."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
)

from desktop.core import errors
from desktop.core import wizard as flowmod
from desktop.core.contract import Fix
from desktop.core.pipeline import RunResult
from desktop.gui.widgets import TranscriptPanel
from desktop.gui.wizard.check_page import CheckPage

if TYPE_CHECKING:
    from desktop.gui.wizard.window import ConnectorWizard


class ValidatePage(CheckPage):
    name = flowmod.VALIDATE

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.setTitle(self.tr("Live validation"))
        v = QVBoxLayout(self)
        buttons = QHBoxLayout()
        self.run_btn = QPushButton(self.tr("&Validate again"))
        self.run_btn.setObjectName("validate")
        self.cancel_btn = QPushButton(self.tr("&Cancel check"))
        self.cancel_btn.setObjectName("cancelValidation")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.setToolTip(self.tr("Available while a check runs"))
        self.run_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        buttons.addWidget(self.run_btn)
        buttons.addWidget(self.cancel_btn)
        buttons.addStretch(1)
        v.addLayout(buttons)
        v.addWidget(self.steps, 1)
        v.addWidget(self.banner)
        self.fixes = QHBoxLayout()  # one-click corrections the failure suggests ("Use ‘Sent’")
        self.fixes.setContentsMargins(0, 0, 0, 0)
        self.fixes.addStretch(1)
        v.addLayout(self.fixes)
        self.fix_buttons: list[QPushButton] = []
        self.facts = QLabel()
        self.facts.setObjectName("facts")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts.hide()
        v.addWidget(self.facts)
        self.transcript = TranscriptPanel()
        v.addWidget(self.transcript)

    def initializePage(self) -> None:
        what = self.flow.ctype.test_wording(self.flow.draft.settings).checks
        self.setSubTitle(what + self.tr(" — with the values in this form, storing nothing."))
        if not self.flow.validation_current:
            self.start()
        elif self.flow.result is not None:
            self.steps.show_result(self.flow.result)
            self.finished(self.flow.result)

    def start(self) -> None:
        form = None if self.task is not None else self.form_connector()
        if form is None:
            return
        conn, secrets = form
        self.transcript.set_lines([])
        desk = self.wiz.desk
        self.launch(lambda token, emit: desk.validate(conn, secrets, token, emit),
                    self.tr("Checking {0}…").format(self.flow.ctype.server_label(conn.settings)))

    def busy_changed(self) -> None:
        self.run_btn.setEnabled(self.task is None)
        self.cancel_btn.setEnabled(self.task is not None)
        self.completeChanged.emit()

    def _show_fixes(self, result: RunResult) -> None:
        for b in self.fix_buttons:
            self.fixes.removeWidget(b)
            b.deleteLater()
        self.fix_buttons = []
        if result.error is None:
            return
        ctype = self.flow.ctype
        for fix in ctype.fixes(result.error):
            b = QPushButton(self.tr("Use ‘{0}’").format(fix.value))
            b.setObjectName(f"use_{fix.field}")
            b.setToolTip(self.tr("Set the {0} to “{1}” and validate again").format(
                ctype.field(fix.field).label.lower(), fix.value))
            b.clicked.connect(lambda _=False, f=fix: self._use(f))
            self.fixes.insertWidget(len(self.fix_buttons), b)
            b.show()
            self.fix_buttons.append(b)

    def _use(self, fix: Fix) -> None:
        self.flow.set_setting(fix.field, fix.value)
        auth = self.wiz.page_named(flowmod.AUTH)
        if auth.form is not None:
            auth.refresh()
        self.start()

    def finished(self, result: RunResult) -> None:
        self.flow.record_validation(result)
        self._show_fixes(result)
        self.transcript.set_lines(result.transcript)
        facts = result.facts()
        self.facts.setText("<br>".join(f"<b>{html.escape(k)}:</b> {html.escape(v)}" for k, v in facts))
        self.facts.setVisible(bool(facts))
        if result.ok:
            nxt = self.flow.ctype.wording.next_step
            from desktop.gui.step_list import step_state
            states = [step_state(st) for st in result.steps]
            title = self.tr("All checks passed in {0:.0f} ms").format(result.ms)
            if states.count("skipped"):
                title += self.tr(" ({0} not checked)").format(states.count("skipped"))
            if states.count("warned"):
                title += self.tr(" ({0} with a warning)").format(states.count("warned"))
            self.banner.success(title, nxt)
        elif result.error is not None:
            if result.error.code == errors.CANCELLED:
                self.banner.info(self.tr("Check cancelled"), self.tr("Nothing was changed. Validate again "
                                                                     "when ready."))
            else:
                self.banner.error(result.error, self.tr("Validation failed"))

    def isComplete(self) -> bool:
        return self.task is None

    def busy_focus(self) -> QWidget | None:
        return self.steps  # Enter there presses the (disabled) Next: nothing, not "< Back"

    def done_focus(self) -> QWidget | None:
        nxt = self.wiz.button(QWizard.WizardButton.NextButton)
        return nxt if nxt.isEnabled() else self.run_btn
