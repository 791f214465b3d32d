"""CheckRunner: one check at a time in the background — the step list restarted and fed live, the
banner busy, the outcome handed on. Shared by the wizard's check pages and the check dialogs
(Round trip, Rotate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop.core.pipeline import RunResult
from desktop.gui.banner import ResultBanner
from desktop.gui.widgets import StepList
from desktop.gui.worker import TaskRunner


class CheckRunner:
    def __init__(self, runner: TaskRunner, steps: StepList, banner: ResultBanner) -> None:
        self.runner = runner
        self.steps = steps
        self.banner = banner
        self.task: Any = None

    @property
    def running(self) -> bool:
        return self.task is not None

    def launch(self, work: Callable[[Any, Any], RunResult], name: str, busy: str,
               on_finished: Callable[[RunResult], None], on_failed: Callable[[BaseException], None]) -> Any:
        """Run ``work(cancel_token, emit)`` on the pool; its steps show live in the step list."""
        self.steps.restart()
        self.banner.busy(busy)

        def finished(result: RunResult) -> None:
            self.task = None
            on_finished(result)

        def failed(exc: BaseException) -> None:
            self.task = None
            on_failed(exc)
        self.task = self.runner.run(work, name, on_progress=self.steps.on_event, on_finished=finished,
                                    on_failed=failed)
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
