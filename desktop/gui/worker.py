"""The one background-work helper (Electrum's TaskThread, Picard's run_task).

``runner.run(fn, ...)`` calls ``fn(cancel_token, emit_progress)`` on a pool thread. Its outcome
arrives as the Task's ``finished`` / ``failed`` signals and its events as ``progress``, always on
the GUI thread (the worker's emissions are queued into the Task, which lives there). Workers
never touch widgets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from desktop.core.deadline import CancelToken

log = logging.getLogger(__name__)

Work = Callable[[CancelToken, Callable[[object], None]], Any]


class Task(QObject):
    """One piece of background work.

    Signals:
        progress(object): an event the work reported.
        finished(object): the work's return value.
        failed(object): the exception the work raised.
        done(): after finished or failed.
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    done = Signal()

    # Emitted from the pool thread, connected to this object's slots: Qt's automatic connection
    # queues each call into the thread this object lives in (the GUI thread). (Asking for
    # QueuedConnection explicitly would make PySide build the Qt namespace before the first paint.)
    _progress = Signal(object)
    _finished = Signal(object)
    _failed = Signal(object)

    def __init__(self, fn: Work, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.name = name
        self.token = CancelToken()
        self.running = True
        self._progress.connect(self._on_progress)
        self._finished.connect(self._on_finished)
        self._failed.connect(self._on_failed)

    def cancel(self) -> None:
        self.token.cancel()

    @Slot(object)
    def _on_progress(self, event: object) -> None:
        if self.running:
            self.progress.emit(event)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self.running = False
        self.finished.emit(result)
        self.done.emit()

    @Slot(object)
    def _on_failed(self, exc: object) -> None:
        self.running = False
        self.failed.emit(exc)
        self.done.emit()


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        task = self.task
        try:
            result = task.fn(task.token, task._progress.emit)
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
            if not isinstance(exc, Exception):
                raise
            if not hasattr(exc, "code"):
                log.error("background task %s failed", task.name, exc_info=exc)
            task._failed.emit(exc)
        else:
            task._finished.emit(result)


class TaskRunner(QObject):
    """Owns running tasks (so they live until done) and the thread pool they run on."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 16) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        # Network checks mostly wait, so 16 at once finish a batch quickly; many more runnable
        # Python threads convoy on the GIL and the GUI thread waits its turn behind them
        # (measured in bench/: 64 threads stalled the event loop up to 300 ms, 16 stay < 50 ms).
        self.pool.setMaxThreadCount(max_threads)
        self.tasks: set[Task] = set()

    def run(self, fn: Work, name: str, *, on_finished: Callable[[Any], None] | None = None,
            on_failed: Callable[[Any], None] | None = None,
            on_progress: Callable[[Any], None] | None = None) -> Task:
        task = Task(fn, name, self)
        if on_progress:
            task.progress.connect(on_progress)
        if on_finished:
            task.finished.connect(on_finished)
        if on_failed:
            task.failed.connect(on_failed)
        self.tasks.add(task)
        task.done.connect(lambda: self._forget(task))
        self.pool.start(_Runnable(task))
        return task

    def _forget(self, task: Task) -> None:
        self.tasks.discard(task)
        task.deleteLater()

    def cancel_all(self) -> None:
        for t in list(self.tasks):
            t.cancel()

    def wait(self, ms: int = 5000) -> bool:
        return self.pool.waitForDone(ms)
