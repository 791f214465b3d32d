"""One overall deadline and a cancel token for every network operation (DESIGN.md §4.5)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from desktop.core import errors
from desktop.core.errors import ConnectorError


class CancelToken:
    """Thread-safe cancel flag. Cancelling runs the registered callbacks (which close sockets,
    so a blocked read returns at once)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks = list(self._callbacks)
        for cb in callbacks:
            try:
                cb()
            except OSError:
                pass

    def on_cancel(self, cb: Callable[[], None]) -> Callable[[], None]:
        """Register ``cb``; returns a function that unregisters it."""
        with self._lock:
            run_now = self._event.is_set()
            if not run_now:
                self._callbacks.append(cb)
        if run_now:
            cb()

        def remove() -> None:
            with self._lock:
                if cb in self._callbacks:
                    self._callbacks.remove(cb)

        return remove

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if cancelled meanwhile."""
        return self._event.wait(max(0.0, seconds))

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise ConnectorError(errors.CANCELLED, "Cancelled.", "")


class Deadline:
    """An absolute point in (monotonic) time by which an operation must be over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.at = self.start + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def error(self, doing: str) -> ConnectorError:
        return ConnectorError(
            errors.TIMEOUT,
            f"The whole check took longer than its {self.seconds:g} s deadline while {doing}.",
            "The server accepted the connection but answered too slowly or not at all. "
            "Check that the port belongs to the service you chose, or raise the timeout.",
        )

    def check(self, doing: str) -> None:
        if self.expired:
            raise self.error(doing)
