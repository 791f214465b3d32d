"""Run a blocking library call (sendgrid, kafka-python) under a run's overall deadline and cancel
token. The call runs in a helper thread; we stop waiting at the deadline or on Cancel (the thread
ends on its own socket timeouts, which callers set to what is left of the deadline)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from desktop.core.pipeline import Run

T = TypeVar("T")


def bounded(run: Run, doing: str, fn: Callable[[], T]) -> T:
    """``fn()``'s result, or its exception re-raised here; TIMEOUT / CANCELLED if it takes too long."""
    box: list[T | BaseException] = []
    done = threading.Event()
    if run.deadline.remaining() <= 0:
        raise run.deadline.error(doing)

    def work() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box.append(exc)
        done.set()

    threading.Thread(target=work, name=doing, daemon=True).start()
    while not done.wait(min(0.05, max(run.deadline.remaining(), 0))):
        run.cancel.raise_if_cancelled()
        if run.deadline.expired:
            raise run.deadline.error(doing)
    run.cancel.raise_if_cancelled()
    outcome = box[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
