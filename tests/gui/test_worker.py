"""The one worker helper: results arrive on the GUI thread, cancel works, and the Qt binding in
use survives many queued deliveries (PySide6 6.12.0 did not: it dropped a reference to True on
each one, and Python died after a few hundred)."""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Qt, Signal

from desktop.gui.worker import TaskRunner


def _is_immortal(obj: object) -> bool:
    """Python 3.12+ makes True (and other singletons) immortal: its reference count never changes."""
    before = sys.getrefcount(obj)
    refs = [obj] * 1000
    grew = sys.getrefcount(obj) - before
    del refs
    return grew < 1000


def test_queued_delivery_keeps_reference_counts(qapp):
    import PySide6

    # The broken release by number, whatever the Python (on 3.12+ the lost references to the immortal
    # True cannot be seen, and the count check below could not fail there).
    assert tuple(PySide6.__version_info__[:3]) != (6, 12, 0), "PySide6 6.12.0 corrupts reference counts"

    class Box(QObject):
        sig = Signal(object)

        def on(self, value: object) -> None:
            self.last = value

    box = Box()
    box.sig.connect(box.on, Qt.ConnectionType.QueuedConnection)
    mortal = object()
    watched = [True, mortal] if not _is_immortal(True) else [mortal]
    before = [sys.getrefcount(o) for o in watched]
    for i in range(50):
        box.sig.emit(i)
        box.sig.emit(mortal)
    qapp.processEvents()
    assert box.last is mortal
    del box
    after = [sys.getrefcount(o) for o in watched]
    for b, a in zip(before, after, strict=True):
        assert a - b > -10, "this Qt binding corrupts reference counts; see pyproject.toml"


def test_results_and_progress_arrive_on_the_gui_thread(qtbot):
    runner = TaskRunner()
    main = threading.get_ident()
    seen: list[tuple[str, int, object]] = []

    def work(token, emit):  # type: ignore[no-untyped-def]
        emit("step")
        return threading.get_ident()

    task = runner.run(work, "t", on_progress=lambda e: seen.append(("progress", threading.get_ident(), e)),
                      on_finished=lambda r: seen.append(("finished", threading.get_ident(), r)))
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=3000)
    assert [s[0] for s in seen] == ["progress", "finished"]
    assert all(s[1] == main for s in seen)  # handlers ran on the GUI thread
    assert seen[1][2] != main  # the work itself did not
    assert not task.running


def test_failure_and_cancel(qtbot):
    runner = TaskRunner()
    failures: list[BaseException] = []
    runner.run(lambda t, e: 1 / 0, "boom", on_failed=failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=3000)
    assert isinstance(failures[0], ZeroDivisionError)

    results: list[object] = []
    task = runner.run(lambda t, e: "cancelled" if t.wait(10) else "timed out", "wait", on_finished=results.append)
    task.cancel()
    qtbot.waitUntil(lambda: bool(results), timeout=2000)
    assert results == ["cancelled"]


def test_a_callback_holding_the_last_reference_to_its_window(qtbot):
    """A window closed (all its Python references dropped) while its work runs: the callback's closure
    holds the last reference. Releasing it used to happen inside the Task's own destructor, deleting the
    window — and the Task with it — a second time (heap corruption, seen in the GUI suite)."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QWidget

    results: list[str] = []
    for i in range(20):
        w = QWidget()
        w.setWindowTitle(f"window {i}")
        w.show()
        runner = TaskRunner(w)
        runner.run(lambda t, e: t.wait(0.02), "t", on_finished=lambda _r, w=w: results.append(w.windowTitle()))
        del w, runner
    qtbot.waitUntil(lambda: len(results) == 20, timeout=5000)
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    assert sorted(results) == sorted(f"window {i}" for i in range(20))


def test_a_result_arrives_without_waiting_for_the_next_tick(qtbot):
    """A final outcome wakes the GUI thread at once (the list at start-up waits for one); the timer
    is only what carries progress events."""
    runner = TaskRunner()
    bridge = runner.bridge
    bridge.timer.setInterval(60_000)
    try:
        results: list[object] = []
        runner.run(lambda t, e: 42, "t", on_finished=results.append)
        qtbot.waitUntil(lambda: results == [42], timeout=3000)
    finally:
        bridge.timer.setInterval(bridge.TICK_MS)


def test_outcomes_wait_for_a_callback_running_its_own_event_loop(qtbot):
    """A callback that runs an event loop of its own (a message box asking a question): the outcomes
    of other tasks finishing meanwhile are delivered after it returns, in order, never inside it."""
    from PySide6.QtCore import QEventLoop, QTimer

    runner = TaskRunner()
    order: list[str] = []
    first_called = threading.Event()

    def first_done(_r: object) -> None:
        order.append("first begins")
        first_called.set()  # the second task finishes while this "dialog" is open
        loop = QEventLoop()
        QTimer.singleShot(300, loop.quit)
        loop.exec()
        order.append("first ends")

    runner.run(lambda t, e: None, "first", on_finished=first_done)
    runner.run(lambda t, e: first_called.wait(5), "second", on_finished=lambda _r: order.append("second"))
    qtbot.waitUntil(lambda: len(order) == 3, timeout=5000)
    assert order == ["first begins", "first ends", "second"]
