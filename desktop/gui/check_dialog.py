"""CheckDialog: a dialog that runs one check (a CheckRunner), with a run button beside Close."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core.pipeline import RunResult
from desktop.gui.banner import ResultBanner
from desktop.gui.check_runner import CheckRunner
from desktop.gui.widgets import StepList
from desktop.gui.worker import TaskRunner


class CheckDialog(QDialog):
    """A dialog that runs one check in the background: live steps, a result banner, a run button
    beside Close, and Cancel on close."""

    def __init__(self, parent: QWidget | None, run_label: str, run_name: str) -> None:
        super().__init__(parent)
        self.runner = TaskRunner(self)
        self.steps = StepList()
        self.banner = ResultBanner()
        self.check = CheckRunner(self.runner, self.steps, self.banner)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.run_btn = self.buttons.addButton(run_label, QDialogButtonBox.ButtonRole.ActionRole)
        self.run_btn.setObjectName(run_name)
        self.run_btn.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        self.outcome: RunResult | None = None

    def add_check_widgets(self, layout: QVBoxLayout) -> None:
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.banner)
        layout.addWidget(self.buttons)

    def start(self) -> None:
        raise NotImplementedError

    def reject(self) -> None:
        self.runner.cancel_all()
        super().reject()
