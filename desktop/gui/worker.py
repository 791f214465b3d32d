"""The one background-work helper (Electrum's TaskThread, Picard's run_task).

``runner.run(fn, ...)`` calls ``fn(cancel_token, emit_progress)`` on a pool thread. Its outcome
arrives as the Task's ``finished`` / ``failed`` signals and its events as ``progress``, always on
the GUI thread. Workers never touch widgets.

Object lifetimes across threads (the rules this module keeps; breaking them crashed the app):

- A worker thread never holds a Qt object nor calls Qt. The pool runs a plain function that knows
  only a task number; every result and event goes on a Python queue of one process-wide ``_Bridge``
  that lives on the GUI thread, is never deleted, and drains it with a timer while tasks run. A
  task's final outcome also wakes the bridge at once: the worker writes a byte to a pipe (no Qt
  call), which a socket notifier of the bridge's, on the GUI thread, reads. The bridge hands each
  outcome to the ``Task`` if that still exists (``shiboken6.isValid``), otherwise drops it: a
  window closed while its check was running is fine.
- A worker thread never drops the last reference to the work function (whose closure usually holds
  a widget: letting a pool thread free it would delete that widget on the wrong thread). The GUI
  thread keeps the function in the ``Task`` until the outcome has been delivered, and the worker lets
  go of its own reference *before* it posts the outcome. Exceptions are posted without their
  traceback (whose frames would hold the closure too); unexpected ones are logged with it first.
- Tasks are deleted only on the GUI thread (``deleteLater`` after delivery).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from desktop.core.deadline import CancelToken

log = logging.getLogger(__name__)

Work = Callable[[CancelToken, Callable[[object], None]], Any]


class Task(QObject):
    """One piece of background work, living on the GUI thread.

    Its outcome goes to the callables given to ``TaskRunner.run`` — kept here in Python, not
    connected to Qt signals: PySide would release a connected lambda inside the Task's own C++
    destructor, and a lambda holding the last reference to a window (``self`` of a closed window)
    would then delete that window, and with it this Task a second time (a crash, seen in the GUI
    tests). The bridge drops these references on the GUI thread, outside any destructor.

    Signals:
        done(): after the outcome was delivered.
    """

    done = Signal()

    def __init__(self, fn: Work, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn: Work | None = fn
        self.name = name
        self.token = CancelToken()
        self.running = True
        self.on_progress: Callable[[Any], None] | None = None
        self.on_finished: Callable[[Any], None] | None = None
        self.on_failed: Callable[[Any], None] | None = None

    def cancel(self) -> None:
        self.token.cancel()


class _Bridge(QObject):
    """Carries worker outcomes into the GUI thread. One per process, created on the GUI thread,
    never deleted.

    Pool threads only put ``(task number, kind, payload)`` on a Python queue — they call nothing of
    Qt's. A timer on the GUI thread drains it while tasks run. (Emitting a signal from a pool thread
    deadlocked: Qt held a connection lock while PySide waited for the GIL to copy the Python
    argument, and the GUI thread, holding the GIL, waited for that lock while building a widget.)
    A final outcome is not left waiting for the next tick (up to TICK_MS, e.g. the catalogue read
    the list waits for at start-up): the pool thread also writes a byte to a pipe — a plain system
    call, no Qt — and a ``QSocketNotifier`` of the bridge's drains the queue when it is readable.
    Progress events stay on the tick (a flood of them is handled in batches).
    """

    TICK_MS = 10  # how often outcomes are looked for while tasks run (idle: the timer is stopped)
    BATCH = 500  # outcomes handled per tick at most, so a flood of progress never stalls the window

    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[int, Task] = {}
        self.lock = threading.Lock()
        self.jobs: dict[int, tuple[Work, CancelToken]] = {}
        self.outcomes: queue.SimpleQueue[tuple[int, str, object]] = queue.SimpleQueue()
        self.timer = QTimer(self)
        self.timer.setInterval(self.TICK_MS)
        self.timer.timeout.connect(self._drain)
        # The wake: a pipe — a socket pair only on Windows, where a notifier watches sockets only (the
        # socket module would be one more import before the window paints, ~3 ms). Never closed: the
        # bridge lives as long as the process.
        self._send_wake: Callable[[], object]
        self._read_wakes: Callable[[], bytes]
        if os.name == "nt":
            import socket
            ends = socket.socketpair()
            for end in ends:
                end.setblocking(False)
            self._wake_ends = ends
            fd = ends[0].fileno()
            self._send_wake, self._read_wakes = lambda: ends[1].send(b"\0"), lambda: ends[0].recv(4096)
        else:
            fd, out = os.pipe()
            os.set_blocking(fd, False)
            os.set_blocking(out, False)
            self._send_wake, self._read_wakes = lambda: os.write(out, b"\0"), lambda: os.read(fd, 4096)
        self.notifier = QSocketNotifier(fd, QSocketNotifier.Type.Read, self)
        self.notifier.activated.connect(self._woken)
        self._draining = False

    def take(self, number: int) -> tuple[Work, CancelToken] | None:  # any thread
        with self.lock:
            return self.jobs.get(number)

    def post(self, number: int, kind: str, payload: object) -> None:  # any thread
        self.outcomes.put((number, kind, payload))
        if kind != "progress":
            # Full (BlockingIOError): earlier wakes are unread, and they drain this outcome too.
            with contextlib.suppress(OSError):
                self._send_wake()

    def _woken(self, *_: object) -> None:  # GUI thread: a final outcome was posted
        with contextlib.suppress(OSError):  # BlockingIOError: all read
            while self._read_wakes():
                pass
        self._drain()

    def watch(self) -> None:  # GUI thread: a task was started
        if not self.timer.isActive():
            self.timer.start()

    def _drain(self) -> None:
        # Not within itself: a callback's own event loop (a message box) can let the notifier fire
        # (a timer never fires inside its own timeout); the outcomes wait, in order, until it returns.
        if self._draining:
            return
        self._draining = True
        try:
            for _ in range(self.BATCH):
                try:
                    number, kind, payload = self.outcomes.get_nowait()
                except queue.Empty:
                    break
                self._deliver(number, kind, payload)
                del payload
        finally:
            self._draining = False
        if not self.tasks and self.outcomes.empty():
            self.timer.stop()

    def _deliver(self, number: int, kind: str, payload: object) -> None:
        task = self.tasks.get(number)
        if task is None:
            return
        if kind == "progress":
            if shiboken6.isValid(task) and task.running and task.on_progress is not None:
                task.on_progress(payload)
            return
        alive = shiboken6.isValid(task)  # False: its owner (a closed window) took it along
        callback = task.on_finished if kind == "finished" else task.on_failed
        kept = (task.on_progress, task.on_finished, task.on_failed, task.fn)
        task.running = False
        task.on_progress = task.on_finished = task.on_failed = task.fn = None
        self._release(number)
        if alive and callback is not None:
            callback(payload)
        if alive and shiboken6.isValid(task):  # (the callback may have closed its owner)
            task.done.emit()
            task.deleteLater()
        # The work function and the callbacks (whose closures may hold the last reference to a
        # closed window) are let go here, on the GUI thread and outside any Qt destructor.
        del kept, callback

    def _release(self, number: int) -> None:
        """Forget a finished task: only after its final outcome, when the worker no longer holds
        the work function, so the last reference to it goes on this (the GUI) thread."""
        self.tasks.pop(number, None)
        with self.lock:
            self.jobs.pop(number, None)


_bridge: _Bridge | None = None
_numbers = itertools.count(1)


def _the_bridge() -> _Bridge:
    global _bridge
    if _bridge is None:
        _bridge = _Bridge()
    return _bridge


def _strip_tracebacks(exc: BaseException) -> None:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        e.__traceback__ = None
        e = e.__cause__ or e.__context__


def _work(bridge: _Bridge, number: int) -> None:
    """Runs on a pool thread: holds no Qt object and posts the outcome last."""
    job = bridge.take(number)
    if job is None:
        return
    fn, token = job
    del job

    def emit(event: object) -> None:
        bridge.post(number, "progress", event)

    kind, payload = "finished", None
    try:
        payload = fn(token, emit)
    except Exception as exc:  # handed to the GUI thread
        if not hasattr(exc, "code"):
            log.error("background task failed", exc_info=exc)
        _strip_tracebacks(exc)
        kind, payload = "failed", exc
    del fn
    bridge.post(number, kind, payload)


class TaskRunner(QObject):
    """Starts tasks on its own thread pool; owns them (as Qt children) until they are done."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 16) -> None:
        super().__init__(parent)
        # Network checks mostly wait, so 16 at once finish a batch quickly; many more runnable
        # Python threads convoy on the GIL and the GUI thread waits its turn behind them
        # (measured in bench/: 64 threads stalled the event loop up to 300 ms, 16 stay < 50 ms).
        self.pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="connector-desk-worker")
        self.bridge = _the_bridge()
        self._futures: set[Future[None]] = set()
        self._futures_lock = threading.Lock()

    @property
    def tasks(self) -> list[Task]:
        """The tasks of this runner still running."""
        return [t for t in self.bridge.tasks.values() if shiboken6.isValid(t) and t.parent() is self and t.running]

    def run(self, fn: Work, name: str, *, on_finished: Callable[[Any], None] | None = None,
            on_failed: Callable[[Any], None] | None = None,
            on_progress: Callable[[Any], None] | None = None) -> Task:
        task = Task(fn, name, self)
        task.on_progress, task.on_finished, task.on_failed = on_progress, on_finished, on_failed
        number = next(_numbers)
        self.bridge.tasks[number] = task
        with self.bridge.lock:
            self.bridge.jobs[number] = (fn, task.token)
        self.bridge.watch()
        future = self.pool.submit(_work, self.bridge, number)
        with self._futures_lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return task

    def _forget(self, future: Future[None]) -> None:  # on the pool thread
        with self._futures_lock:
            self._futures.discard(future)

    def cancel_all(self) -> None:
        for t in self.tasks:
            t.cancel()

    def wait(self, ms: int = 5000) -> bool:
        """Wait for this runner's work to end (its outcomes are delivered by the event loop later)."""
        with self._futures_lock:
            futures = list(self._futures)
        _done, pending = wait_futures(futures, timeout=ms / 1000)
        return not pending
