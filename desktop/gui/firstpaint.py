"""Run work once a window has painted for the first time.

Start-up shows the window first and does the rest after: the connector list is built, and the log
file set up, once the window is on screen; ``--smoke`` quits there.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer


class FirstPaint(QObject):
    """Queues each of ``then`` once ``window`` has painted for the first time (or, ``at_once``,
    calls them from within that paint)."""

    def __init__(self, window: QObject, *then: Callable[[], None], at_once: bool = False) -> None:
        super().__init__(window)
        self.then = then
        self.at_once = at_once
        window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if self.then and event.type() == QEvent.Type.Paint:
            for fn in self.then:
                if self.at_once:
                    fn()
                else:
                    QTimer.singleShot(0, fn)
            self.then = ()
            obj.removeEventFilter(self)
        return False
