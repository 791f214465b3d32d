"""Connector health in the window: the failures of one connector (dead letters, bounces,
suppressions) with Replay / Remove that ask first, and a validate-all controller that streams
results row by row. Thin: the work is :mod:`desktop.core.health`, run through the TaskRunner.
The main window wires these in (a toolbar action for Validate all, a Failures… action)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core import errors, health
from desktop.core.contract import counted
from desktop.core.describe import local_time
from desktop.core.failures import SPAM_REPORT_WARNING, read_outcome
from desktop.core.model import Connector
from desktop.core.pipeline import RunResult
from desktop.core.service import Desk
from desktop.core.textsafe import escape
from desktop.gui import ask
from desktop.gui.banner import ResultBanner
from desktop.gui.worker import TaskRunner

SOURCES = {"kafka_dead_letter": "Dead letter", "smtp_bounce": "Bounce", "sendgrid_bounce": "Bounce",
           "sendgrid_block": "Block", "sendgrid_invalid_email": "Invalid address",
           "sendgrid_spam_report": "Spam report", "sendgrid_unsubscribe": "Unsubscribed"}


def _original(f: dict[str, Any]) -> str:
    o = f.get("original") or {}
    if f["source"] == "kafka_dead_letter":
        if not o.get("topic"):
            return "not recorded (no dead-letter headers)"
        return ":".join(str(o.get(k, "?")) for k in ("topic", "partition", "offset"))
    if o.get("ours"):
        return f"our test send {o.get('message_id') or ''}".strip()
    return str(o.get("message_id") or o.get("list") or "")


def _details(f: dict[str, Any]) -> str:
    """The selected failure in words (plain text; every value escaped)."""
    d, o = f.get("detail") or {}, f.get("original") or {}
    lines = [f"Id: {f['id']}", f"Reason: {f.get('reason')}"]
    if f["source"] == "kafka_dead_letter":
        exc = d.get("exception") or {}
        if exc.get("cause"):
            lines.append(f"Cause: {exc['cause']}")
        if o.get("timestamp") or o.get("consumer_group"):
            lines.append(f"Original record: {o.get('timestamp') or '?'}, "
                         f"consumer group {o.get('consumer_group') or '?'}")
        lines.append(f"Value ({d.get('value_bytes')} bytes): {d.get('value_preview')}")
        if d.get("headers"):
            values = d.get("header_values") or {}
            lines.append("Other headers: " + ", ".join(f"{n}={values[n]}" if n in values else n for n in d["headers"]))
        lines += [f"Unreadable header: {p}" for p in d.get("problems", [])]
    elif f["source"] == "smtp_bounce":
        lines.append(f"Action: {d.get('action')}; reported by {d.get('reporting_mta')}; remote server "
                     f"{d.get('remote_mta')}")
        lines.append(f"Original message: {o.get('message_id')}" + (" (a Connector Desk test send)" if o.get("ours")
                                                                    else ""))
    return "\n".join(escape(str(x)) for x in lines)


class FailuresDialog(QDialog):
    """One connector's failed sends, newest first. Kafka: Replay the selected dead letters to their
    original topic. SendGrid: Remove the selected address from its suppression list. Both ask first."""

    COLUMNS = ("Time", "Kind", "Recipient / key", "Status", "Reason", "Original")

    def __init__(self, desk: Desk, conn: Connector, parent: QWidget | None = None, limit: int = 500) -> None:
        super().__init__(parent)
        self.desk, self.conn, self.limit = desk, conn, limit
        self.runner = TaskRunner(self)
        self.failures: list[dict[str, Any]] = []
        self.outcome: RunResult | None = None
        self.setObjectName("failuresDialog")
        self.setWindowTitle(self.tr("Failed sends of “{0}”").format(conn.name))
        self.resize(900, 480)
        v = QVBoxLayout(self)
        self.notes = QLabel()
        self.notes.setObjectName("failureNotes")
        self.notes.setWordWrap(True)
        self.notes.hide()
        v.addWidget(self.notes)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("failuresTable")
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in self.COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # fixed starting widths, draggable
        for col, width in enumerate((130, 110, 170, 60)):
            header.resizeSection(col, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)  # the reason gets the room left
        header.resizeSection(5, 160)
        self.table.itemSelectionChanged.connect(self._update)
        v.addWidget(self.table, 1)
        self.details = QLabel()
        self.details.setObjectName("failureDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        v.addWidget(self.details)
        self.banner = ResultBanner()
        v.addWidget(self.banner)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.refresh_btn = self.buttons.addButton(self.tr("&Refresh"), QDialogButtonBox.ButtonRole.ActionRole)
        self.refresh_btn.clicked.connect(self.refresh)
        self.replay_btn = self.buttons.addButton(self.tr("Re&play…"), QDialogButtonBox.ButtonRole.ActionRole)
        self.replay_btn.setObjectName("replay")
        self.replay_btn.clicked.connect(self.replay)
        ctype = desk.types.get(conn.type)  # what this type can do with a failure, asked, never named
        self.replay_btn.setVisible(callable(getattr(ctype, "replay", None)))
        self.remove_btn = self.buttons.addButton(self.tr("Re&move from list…"), QDialogButtonBox.ButtonRole.ActionRole)
        self.remove_btn.setObjectName("unsuppress")
        self.remove_btn.clicked.connect(self.remove)
        self.remove_btn.setVisible(callable(getattr(ctype, "unsuppress", None)))
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)
        self._update()

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> None:
        desk, name, limit = self.desk, self.conn.name, self.limit
        self.banner.busy(self.tr("Reading failed sends…"))
        self.refresh_btn.setEnabled(False)
        self.runner.run(lambda token, emit: health.failures(desk, name, limit, token, emit), "failures",
                        on_finished=self._loaded, on_failed=self._failed)

    def _loaded(self, result: RunResult) -> None:
        self.outcome = result
        self.refresh_btn.setEnabled(True)
        if not result.ok and result.error is not None:
            self.banner.error(result.error, self.tr("Could not read the failed sends"))
            return
        self.failures = list(result.info.get("failures", []))
        self.table.setRowCount(len(self.failures))
        for row, f in enumerate(self.failures):
            who = f.get("recipient") if "recipient" in f else f.get("key")
            when = local_time(f.get("time"), seconds=True, missing="")
            cells = (when, self.tr(SOURCES.get(f["source"], f["source"])), who or "",
                     f.get("status") or "", f.get("reason") or "", _original(f))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(escape(str(text)))
                if col == 4:
                    item.setToolTip(escape(str(text)))
                self.table.setItem(row, col, item)
        notes = list(result.info.get("notes", []))
        self.notes.setText("\n".join(escape(n) for n in notes))
        self.notes.setVisible(bool(notes))
        outcome = read_outcome(result.info)
        if outcome.state == "none":
            self.banner.success(outcome.title)
        elif outcome.state == "partial":  # some lists could not be read: never a green all-clear
            self.banner.partial(outcome.title, escape(outcome.message), escape(outcome.hint))
        else:
            self.banner.info(outcome.title)
        self._update()

    def _failed(self, exc: BaseException) -> None:
        self.refresh_btn.setEnabled(True)
        self.banner.error(exc, self.tr("Could not read the failed sends"))

    def selected(self) -> list[dict[str, Any]]:
        rows = sorted({i.row() for i in self.table.selectedItems()})
        return [self.failures[r] for r in rows if r < len(self.failures)]

    def _update(self) -> None:
        chosen = self.selected()
        self.details.setText(_details(chosen[0]) if len(chosen) == 1 else "")
        nowhere = [f for f in chosen if not (f.get("original") or {}).get("topic")]  # replay would refuse them
        self.replay_btn.setEnabled(bool(chosen) and not nowhere)
        self.replay_btn.setToolTip(
            self.tr("Select the dead letters to replay") if not chosen
            else self.tr("{0} does not name its original topic: it cannot be replayed").format(nowhere[0]["id"])
            if nowhere else "")
        self.remove_btn.setEnabled(len(chosen) == 1)
        self.remove_btn.setToolTip("" if len(chosen) == 1 else self.tr("Select one address"))

    # -- acting (asks first) ------------------------------------------------------------------
    def ask(self, title: str, text: str, yes: str = "") -> bool:
        """``yes`` (the action's verb, with its Alt+letter) or Cancel, Cancel by default (tests replace
        this to answer)."""
        answer = ask.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                              QMessageBox.StandardButton.Cancel, {QMessageBox.StandardButton.Yes: yes or "&Yes"})
        return answer == QMessageBox.StandardButton.Yes

    def replay(self) -> None:
        chosen = [f for f in self.selected() if f["source"] == "kafka_dead_letter"]
        if not chosen:
            return
        topics = sorted({str((f.get("original") or {}).get("topic") or "?") for f in chosen})
        text = self.tr("Produce {0} back to {1}? The consumers of that topic will process them "
                       "again. Each original record is replayed only once.").format(
            counted(len(chosen), ('dead letter', 'dead letters')),
            ", ".join(f"“{escape(t)}”" for t in topics))
        if not self.ask(self.tr("Replay dead letters"), text, self.tr("&Replay")):
            return
        self._replay([f["id"] for f in chosen], force=False)

    def _replay(self, ids: list[str], force: bool) -> None:
        desk, name = self.desk, self.conn.name
        self.banner.busy(self.tr("Replaying again…") if force else self.tr("Replaying…"))
        self.runner.run(lambda token, _emit: health.replay_or_queue(desk, name, ids, force, token)[0], "replay",
                        on_finished=lambda r: self._replayed(r, ids, force), on_failed=self._failed)

    def _replayed(self, result: RunResult, ids: list[str], forced: bool) -> None:
        """A dead letter replayed before is refused (core's hint is the command line's --force); here
        the window asks, and "Replay again" is that forced replay."""
        error = result.error
        if forced or error is None or error.code != errors.ALREADY_REPLAYED:
            self._acted(result)
            return
        self.outcome = result
        again = self.ask(self.tr("Replay it again?"), self.tr(
            "{0}\n\nReplaying it again produces the record to its topic once more: its consumers will process "
            "it a second time.").format(error.message), self.tr("&Replay again"))
        if again:
            self._replay(ids, force=True)
        else:
            self.banner.info(self.tr("Not replayed again"), escape(error.message))

    def remove(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1 or not chosen[0]["source"].startswith("sendgrid_"):
            return
        f = chosen[0]
        kind, email = str(f["original"].get("list")), str(f.get("recipient"))
        warning = SPAM_REPORT_WARNING + "\n\n" if kind == "spam_reports" else ""
        text = warning + self.tr("Remove {0} from the {1} list? SendGrid will send to this address again.").format(
            escape(email), kind.replace("_", " "))
        if not self.ask(self.tr("Remove from suppression list"), text, self.tr("&Remove")):
            return
        desk, name = self.desk, self.conn.name
        self.banner.busy(self.tr("Removing…"))
        self.runner.run(lambda token, _emit: health.unsuppress(desk, name, kind, email, token), "unsuppress",
                        on_finished=self._acted, on_failed=self._failed)

    def _acted(self, result: RunResult) -> None:
        self.outcome = result
        if not result.ok and result.error is not None:
            self.banner.error(result.error, self.tr("Nothing was changed"))
            return
        if result.action == "replay":
            done = ", ".join(f"{d['id']} → {d['to']}" for d in result.info.get("replayed", []))
            self.banner.success(self.tr("Replayed"), escape(done))
        else:
            self.banner.success(self.tr("Removed from the list"))
            self.refresh()

    def reject(self) -> None:
        self.runner.cancel_all()
        super().reject()


def _alive(task: Any) -> bool:
    """A TaskRunner task still running (a delivered task is deleted: never touch it then)."""
    import shiboken6
    return task is not None and shiboken6.isValid(task) and bool(task.running)


class ValidateAll(QObject):
    """Validate every saved connector (or ``names``) in the background; ``result`` per connector as
    it arrives (on the GUI thread), then ``finished`` with the summary. ``cancel()`` stops them.

    Signals:
        result(object): a RunResult.
        finished(object): the health.Summary.
        failed(object): the exception (e.g. an unknown name).
    """

    result = Signal(object)
    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.desk, self.runner = desk, runner
        self.task: Any = None

    def start(self, names: list[str] | None = None) -> None:
        desk = self.desk

        def work(token: Any, emit: Any) -> Any:
            return health.validate_all(desk, names, cancel=token, on_result=emit)[1]
        self.task = self.runner.run(work, "validate-all", on_progress=self.result.emit,
                                    on_finished=self.finished.emit, on_failed=self.failed.emit)

    @property
    def running(self) -> bool:
        return _alive(self.task)

    def cancel(self) -> None:
        if _alive(self.task):
            self.task.cancel()



class Scheduled(QObject):
    """Runs ``job()`` every ``interval_s`` seconds while the application runs; off (0) by default.
    Used for the scheduled re-check (``ValidateAll.start`` unless one is running) and for retrying
    the outbox. The interval is the user's choice; where it is kept is the caller's business."""

    def __init__(self, job: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtCore import QTimer
        self.job = job
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.interval_s = 0.0

    def set_interval(self, seconds: float) -> None:
        """0 turns it off."""
        self.interval_s = max(0.0, seconds)
        self.timer.stop()
        if self.interval_s > 0:
            self.timer.start(max(1, int(self.interval_s * 1000)))

    def _tick(self) -> None:
        self.job()


def recheck(controller: ValidateAll, parent: QObject | None = None) -> Scheduled:
    """A scheduled re-check of every connector (skipped while one is still running)."""
    return Scheduled(lambda: None if controller.running else controller.start(), parent)


def outbox_retrier(desk: Desk, runner: TaskRunner, parent: QObject | None = None,
                   on_done: Any = None) -> Scheduled:
    """Retries the outbox's due entries in the background (``on_done(list of (entry, result))``);
    a tick while the previous round still runs is skipped."""
    last: list[Any] = [None]

    def job() -> None:
        if _alive(last[0]):
            return
        last[0] = runner.run(lambda token, _emit: health.retry_outbox(desk, cancel=token), "outbox",
                             on_finished=on_done)
    return Scheduled(job, parent)
