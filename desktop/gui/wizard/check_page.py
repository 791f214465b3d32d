"""CheckPage: a page that runs one check in the background (live steps, a banner, the transcript)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QApplication,
    QPushButton,
    QWidget,
)

from desktop.core.errors import InputErrors
from desktop.core.model import Connector
from desktop.core.pipeline import RunResult
from desktop.gui.banner import ResultBanner
from desktop.gui.check_runner import CheckRunner
from desktop.gui.widgets import StepList
from desktop.gui.wizard.page import Page

if TYPE_CHECKING:
    from desktop.gui.wizard.window import ConnectorWizard


class CheckPage(Page):
    """A page that runs one check in the background: live steps, a result banner, Cancel.
    Subclasses build the widgets, call ``launch()`` and render the outcome in ``finished()``."""

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.steps = StepList()
        self.banner = ResultBanner()
        self.check = CheckRunner(wiz.runner, self.steps, self.banner)
        self._return_focus: QWidget | None = None

    @property
    def task(self) -> Any:
        """The running check's task, or None."""
        return self.check.task

    def launch(self, work: Any, busy: str) -> None:
        self.steps.show()
        self.banner.labels = self.wiz.field_labels()
        focused = QApplication.focusWidget()
        self._return_focus = focused if isinstance(focused, QPushButton) and self.isAncestorOf(focused) else None
        self.check.launch(work, self.name, busy, self._finished, self._failed)
        self.busy_changed()
        self._settle_focus()

    def busy_focus(self) -> QWidget | None:
        """Where the keyboard focus goes while a check runs (its button is disabled)."""
        return None

    def done_focus(self) -> QWidget | None:
        """Where the keyboard focus goes when a check that no button started ends."""
        return None

    def _settle_focus(self, done: bool = False) -> None:
        """Disabling a focused button hands the focus on, often to "< Back", where Enter goes back.
        While a check runs the focus goes to the page's own safe widget; when it ends, back to the
        button that started it."""
        focused = QApplication.focusWidget()
        if focused is not None and focused.window() is not self.window():
            return  # the user is elsewhere (another window): leave their focus alone
        back = self._return_focus
        if done and back is not None and back.isEnabled() and back.isVisible():
            back.setFocus()
            return
        if focused is not None and self.isAncestorOf(focused) and focused.isEnabled():
            return
        target = self.done_focus() if done else self.busy_focus()
        if target is not None:
            target.setFocus()

    def form_connector(self) -> tuple[Connector, dict[str, Any]] | None:
        """The connector and secrets exactly as the form has them, or None (the banner says why)."""
        try:
            return self.flow.connector(), dict(self.flow.needed_secrets())
        except InputErrors as exc:
            self.banner.error(exc, self.tr("Some fields need attention"), self.wiz.field_labels())
            return None

    def cancel(self) -> None:
        self.check.cancel()

    def cleanupPage(self) -> None:
        self.cancel()

    def _finished(self, result: RunResult) -> None:
        self.finished(result)
        self.busy_changed()
        self._settle_focus(done=True)

    def _failed(self, exc: BaseException) -> None:
        self.banner.error(exc)
        self.busy_changed()
        self._settle_focus(done=True)

    def finished(self, result: RunResult) -> None:
        raise NotImplementedError

    def busy_changed(self) -> None:
        """Update buttons when a check starts or ends."""
