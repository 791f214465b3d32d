"""DiscoverPanel: an e-mail address → **Find settings** → staged progress, Stop, the servers found
(verified ones first, with their source and any warning) and **Use these settings**, which emits
``found`` with the chosen SMTP and IMAP candidates. The wizard's first page embeds it; the look-ups
run in core.discover on the TaskRunner, never on the GUI thread."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import errors
from desktop.core.contract import counted
from desktop.core.discover import Candidate, DiscoveryResult, discover
from desktop.gui.worker import Task, TaskRunner

SOURCE_LABELS = {"preset": "built-in provider", "autoconfig": "autoconfig", "srv": "DNS SRV",
                 "mx": "MX record", "probe": "usual name"}
SECURITY_LABELS = {"tls": "TLS", "starttls": "STARTTLS", "none": "no encryption"}


def describe(c: Candidate) -> str:
    mark = "✓" if c.verified else "✗"
    auth = ", ".join(c.auth) if c.auth else "no AUTH seen"
    text = (f"{mark} {c.type.upper()}  {c.host}:{c.port}  {SECURITY_LABELS.get(c.security, c.security)}  "
            f"({auth}) — {SOURCE_LABELS.get(c.source, c.source)}")
    if c.provider:
        text += f", {c.provider}"
    if not c.verified:
        text += f" — not verified: {c.reason}"
    if c.outside_domain:
        text = "⚠ " + text
    return text


def _provider_pick(result: DiscoveryResult, type_: str) -> Candidate | None:
    """With nothing verified (a firewall on this computer, say), a built-in provider's documented
    server (matched by domain or MX) is still a sound choice: pre-select it, marked ✗."""
    return next((c for c in result.candidates if c.type == type_ and c.source in ("preset", "mx")), None)


class DiscoverPanel(QWidget):
    """Signals:
        found(object): ``{"address", "smtp": Candidate | None, "imap": Candidate | None,
        "result": DiscoveryResult}`` when the user takes the chosen settings.
        finished(object): the DiscoveryResult, when a search ends (before anything is chosen).
    """

    found = Signal(object)
    finished = Signal(object)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None, *, deadline_s: float = 10.0,
                 ca_file: str | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.deadline_s = deadline_s
        self.ca_file = ca_file
        self.task: Task | None = None
        self.result: DiscoveryResult | None = None

        self.address = QLineEdit()
        self.address.setObjectName("discoverAddress")
        self.address.setPlaceholderText("name@example.com")
        self.address.setAccessibleName("E-mail address")
        self.find_btn = QPushButton("Find settings")
        self.find_btn.setObjectName("discoverFind")
        self.stop = QPushButton("Stop")
        self.stop.setObjectName("discoverStop")
        self.stop.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(QLabel("E-mail address"))
        row.addWidget(self.address, 1)
        row.addWidget(self.find_btn)
        row.addWidget(self.stop)

        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.progress = QListWidget()
        self.progress.setObjectName("discoverProgress")
        self.progress.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.progress.setMaximumHeight(140)
        self.candidates = QListWidget()
        self.candidates.setObjectName("discoverCandidates")
        self.candidates.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        self.candidates.setWordWrap(True)
        self.warning = QLabel()
        self.warning.setObjectName("discoverWarning")
        self.warning.setWordWrap(True)
        self.warning.hide()
        self.use = QPushButton("Use these settings")
        self.use.setObjectName("discoverUse")
        self.use.setEnabled(False)
        self.status = QLabel("Enter the service account's address: its SMTP and IMAP servers are looked up "
                             "and checked (no password is sent).")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.candidates, 1)
        layout.addWidget(self.warning)
        use_row = QHBoxLayout()
        use_row.addStretch(1)
        use_row.addWidget(self.use)
        layout.addLayout(use_row)
        layout.addStretch(0)  # spare height below while the lists are hidden; theirs once they show

        self.find_btn.clicked.connect(self.start)
        self.address.returnPressed.connect(self.start)
        self.stop.clicked.connect(self.cancel)
        self.use.clicked.connect(self.take)
        self.candidates.itemSelectionChanged.connect(self._selection_changed)
        for w in (self.progress, self.candidates, self.use):  # no empty boxes before a search
            w.hide()

    # -- running ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self) -> None:
        if self.task is not None:
            return
        address = self.address.text().strip()
        self.error.hide()
        self.progress.clear()
        self.candidates.clear()
        for w in (self.progress, self.candidates, self.use):
            w.show()
        self.warning.hide()
        self.use.setEnabled(False)
        self.result = None
        deadline, ca_file = self.deadline_s, self.ca_file
        self.find_btn.setEnabled(False)
        self.stop.setEnabled(True)
        self.status.setText(f"Looking for the mail servers of {address}…")
        self.task = self.runner.run(lambda token, emit: discover(address, deadline, emit, token, ca_file=ca_file),
                                    "discover", on_progress=self._on_event, on_finished=self._on_finished,
                                    on_failed=self._on_failed)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText("Stopping…")

    def _idle(self) -> None:
        self.task = None
        self.find_btn.setEnabled(True)
        self.stop.setEnabled(False)

    def _on_event(self, event: Any) -> None:
        if self.task is None or not isinstance(event, dict):
            return
        text = str(event.get("text", ""))
        stage = text.split("…")[0]
        # One line per stage and server: a later event of the same stage replaces the earlier line.
        for i in range(self.progress.count()):
            item = self.progress.item(i)
            if item.text().split("…")[0] == stage and event.get("stage") != "done":
                item.setText(text)
                return
        self.progress.addItem(text)
        self.progress.scrollToBottom()

    def _on_finished(self, result: DiscoveryResult) -> None:
        self._idle()
        self.result = result
        for c in result.candidates:
            item = QListWidgetItem(describe(c))
            item.setData(Qt.ItemDataRole.UserRole, c)
            if c.warning:
                item.setToolTip(c.warning)
            self.candidates.addItem(item)
        smtp, imap = (result.best(t) or _provider_pick(result, t) for t in ("smtp", "imap"))
        for i in range(self.candidates.count()):
            item = self.candidates.item(i)
            c = item.data(Qt.ItemDataRole.UserRole)
            if any(c is best for best in (smtp, imap) if best is not None):
                item.setSelected(True)
        verified = sum(c.verified for c in result.candidates)
        if verified:
            working = counted(verified, ("working server", "working servers"))
            self.status.setText(f"Found {working} in {result.ms / 1000:.1f} s. The chosen ones "
                                "are selected; pick others if you prefer, then “Use these settings”.")
        elif result.candidates:
            self.status.setText("Servers were found but none could be checked from this computer. You can still "
                                "use them, or enter the settings yourself.")
        else:
            self.status.setText("No mail servers were found for this address. Enter the settings yourself.")
        self._selection_changed()
        self.finished.emit(result)

    def _on_failed(self, exc: Any) -> None:
        self._idle()
        code = getattr(exc, "code", "")
        if code == errors.CANCELLED:
            self.status.setText("Stopped.")
            return
        fields = getattr(exc, "fields", None)
        if fields:
            self.error.setText("; ".join(f"{k}: {v}" for k, v in fields.items()))
        else:
            self.error.setText(getattr(exc, "message", str(exc)))
        self.error.show()
        self.status.setText("")

    # -- choosing --------------------------------------------------------------------------------
    def chosen(self) -> dict[str, Candidate | None]:
        """The first selected candidate of each type."""
        picked: dict[str, Candidate | None] = {"smtp": None, "imap": None}
        for i in range(self.candidates.count()):
            item = self.candidates.item(i)
            c = item.data(Qt.ItemDataRole.UserRole)
            if item.isSelected() and isinstance(c, Candidate) and picked.get(c.type) is None:
                picked[c.type] = c
        return picked

    def _selection_changed(self) -> None:
        picked = self.chosen()
        self.use.setEnabled(any(picked.values()))
        warnings = [c.warning for c in picked.values() if c is not None and c.warning]
        self.warning.setText("⚠ " + " ".join(warnings) if warnings else "")
        self.warning.setVisible(bool(warnings))

    def take(self) -> None:
        picked = self.chosen()
        if self.result is None or not any(picked.values()):
            return
        self.found.emit({"address": self.result.address, **picked, "result": self.result})
