"""StepList (the live steps of a check) and TranscriptPanel (the collapsible transcript)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QHeaderView,
    QPlainTextEdit,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.pipeline import RunResult, StepFinished, StepResult, StepStarted

SPINNER = "◐◓◑◒"



def step_state(step: StepResult) -> str:
    """"skipped" (a ✓ would claim it was checked), "warned" (passed, but not all of it: one bootstrap
    server of several unreachable — the check goes on), "ok" or "failed"."""
    if step.ok and step.detail.startswith("not checked"):
        return "skipped"
    if step.ok and step.detail.startswith("unreachable"):
        return "warned"
    return "ok" if step.ok else "failed"

class StepList(QTreeWidget):
    """Validation steps as they happen: a spinner while running, then ✓ or ✗ with the time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(4)
        self.setHeaderLabels(["", self.tr("Step"), self.tr("Time"), self.tr("Detail")])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        h = self.header()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(True)
        self._running: QTreeWidgetItem | None = None
        self._frame = 0
        self._timer = QTimer(self)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self._spin)
        self.setMinimumHeight(120)

    def restart(self) -> None:
        self.clear()
        self._running = None
        self._timer.stop()

    def on_event(self, event: object) -> None:
        if isinstance(event, StepStarted):
            item = QTreeWidgetItem([SPINNER[0], event.label, "", self.tr("running…")])
            self.addTopLevelItem(item)
            self._running = item
            self._timer.start()
            self.scrollToItem(item)
        elif isinstance(event, StepFinished):
            step = event.result
            running = self._running
            if running is None or running.text(1) != step.label:
                running = QTreeWidgetItem(["", step.label, "", ""])
                self.addTopLevelItem(running)
            self._set_done(running, step)
            self._running = None
            self._timer.stop()

    def _set_done(self, item: QTreeWidgetItem, step: StepResult) -> None:
        state = step_state(step)
        skipped, warned = state == "skipped", state == "warned"
        item.setText(0, "–" if skipped else "⚠" if warned else "✓" if step.ok else "✗")
        item.setToolTip(0, self.tr("Skipped") if skipped else self.tr("Passed with a warning") if warned else "")
        item.setForeground(0, Qt.GlobalColor.gray if skipped else Qt.GlobalColor.darkYellow if warned else
                           Qt.GlobalColor.darkGreen if step.ok else Qt.GlobalColor.red)
        item.setText(2, f"{step.ms:.0f} ms" if step.ms >= 1 else f"{step.ms:.1f} ms")
        item.setText(3, step.detail)
        item.setToolTip(3, step.detail)

    def show_result(self, result: RunResult) -> None:
        """Fill the list from a finished result (when no live events were shown)."""
        self.restart()
        for st in result.steps:
            item = QTreeWidgetItem(["", st.label, "", ""])
            self.addTopLevelItem(item)
            self._set_done(item, st)

    def _spin(self) -> None:
        if self._running is not None:
            self._frame = (self._frame + 1) % len(SPINNER)
            self._running.setText(0, SPINNER[self._frame])


class TranscriptPanel(QWidget):
    """A collapsible, read-only view of the (already redacted) protocol transcript."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setText(self.tr("Transcript (credentials hidden)"))
        self.toggle.setObjectName("transcriptToggle")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setObjectName("transcript")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(mono)
        self.text.setMinimumHeight(140)
        self.text.hide()
        self.toggle.toggled.connect(self._toggled)
        v.addWidget(self.toggle)
        v.addWidget(self.text)

    def _toggled(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.text.setVisible(on)

    def set_lines(self, lines: list[str]) -> None:
        self.text.setPlainText("\n".join(lines) if lines else self.tr("(nothing was exchanged)"))
