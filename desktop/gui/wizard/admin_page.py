"""The admin and test page: admin details, and the type's test actions (send, peek, produce),
offered and worded from the connector type's declared capabilities and Wording."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core import contract
from desktop.core import wizard as flowmod
from desktop.core.contract import Action
from desktop.core.pipeline import RunResult
from desktop.gui import ask
from desktop.gui.wizard.check_page import CheckPage

if TYPE_CHECKING:
    from desktop.gui.wizard.window import ConnectorWizard


class AdminPage(CheckPage):
    name = flowmod.ADMIN

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.setTitle(self.tr("Admin details and test send"))
        self.setSubTitle(self.tr("Who looks after this connector, and where test messages go. A test send "
                                 "delivers a real message."))
        v = QVBoxLayout(self)
        form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        for key, label, ph in (("email", self.tr("Admin &e-mail:"), "it-ops@example.com"),
                               ("name", self.tr("Admin na&me:"), "Jane Admin"),
                               ("test_recipient", self.tr("&Test recipient:"), "you@example.com")):
            le = QLineEdit()
            le.setObjectName(f"admin_{key}")
            le.setPlaceholderText(ph)
            err = QLabel()
            err.setProperty("role", "error")
            err.hide()
            box = QVBoxLayout()
            box.addWidget(le)
            box.addWidget(err)
            lab = QLabel(label)
            lab.setBuddy(le)
            form.addRow(lab, box)
            self.edits[key] = le
            self.errors[key] = err
            le.textChanged.connect(self.busy_changed)
        v.addLayout(form)
        row = QHBoxLayout()
        self.send_btn = QPushButton(self.tr("&Send test"))
        self.send_btn.setObjectName("sendTest")
        self.send_btn.clicked.connect(self.send)
        self.send_hint = QLabel()
        self.send_hint.setProperty("role", "help")
        row.addWidget(self.send_btn)
        row.addWidget(self.send_hint, 1)
        v.addLayout(row)
        self.form_rows = form
        # The read-only peek, for connectors that receive mail.
        peek_row = QHBoxLayout()
        self.peek_btn = QPushButton(self.tr("&Peek at the newest messages"))
        self.peek_btn.setObjectName("peek")
        self.peek_btn.clicked.connect(self.peek)
        self.peek_count = QSpinBox()
        self.peek_count.setObjectName("peekCount")
        self.peek_count.setRange(1, 200)
        self.peek_count.setValue(10)
        self.peek_count.valueChanged.connect(lambda _v: self._count_suffix())
        self.produce_btn = QPushButton(self.tr("P&roduce and read back"))
        self.produce_btn.setObjectName("produce")
        self.produce_btn.clicked.connect(self.produce)
        peek_row.addWidget(self.produce_btn)
        peek_row.addWidget(self.peek_btn)
        peek_row.addWidget(self.peek_count)
        peek_row.addStretch(1)
        peek_row.setContentsMargins(0, 0, 0, 0)  # aligned with the form above, not indented
        self.peek_box = QWidget()
        self.peek_box.setLayout(peek_row)
        v.addWidget(self.peek_box)
        self.messages = QTreeWidget()
        self.messages.setObjectName("peekMessages")
        self.messages.setRootIsDecorated(False)
        self.messages.hide()
        self.steps.hide()
        v.addWidget(self.steps, 1)
        v.addWidget(self.messages, 2)
        v.addWidget(self.banner)
        v.addStretch(0)

    @property
    def peeking(self) -> bool:
        return self.flow.ctype.test_action != Action.SEND

    def initializePage(self) -> None:
        for key, le in self.edits.items():
            if not le.text():
                le.setText(self.flow.draft.admin.get(key, ""))
        ctype = self.flow.ctype
        peeking = self.peeking
        self.form_rows.setRowVisible(2, not peeking)  # the test recipient
        self.send_btn.setVisible(not peeking)
        self.send_hint.setVisible(not peeking)
        self.peek_box.setVisible(peeking)
        self.peek_btn.setVisible(ctype.can(Action.PEEK))
        self.produce_btn.setVisible(ctype.can(Action.PRODUCE))
        self._count_suffix()
        wording = ctype.test_wording(self.flow.draft.settings)
        self.peek_btn.setText(wording.peek_button)
        self.setTitle(wording.test_title)
        self.setSubTitle(wording.test_text)
        self.busy_changed()

    def busy_focus(self) -> QWidget | None:
        return self.peek_count if self.peeking else self.edits["test_recipient"]

    def _count_suffix(self) -> None:
        n = self.peek_count.value()
        self.peek_count.setSuffix(" " + contract.plural(n, self.flow.ctype.wording.noun))

    def busy_changed(self) -> None:
        has_to = bool(self.edits["test_recipient"].text().strip())
        busy = self.task is not None
        self.send_btn.setEnabled(has_to and not busy)
        self.produce_btn.setEnabled(not busy)
        wording = self.flow.ctype.wording
        no_source = wording.peek_needs_source and not self.flow.draft.settings.get(wording.peek_source)
        self.peek_btn.setEnabled(not busy and not no_source)
        self.peek_btn.setToolTip(wording.peek_needs_hint if no_source else "")
        self.send_hint.setText(self.tr("Sending…") if busy else
                               ("" if has_to else self.tr("Enter a test recipient to send a test message.")))

    def produce(self) -> None:
        form = None if self.task is not None else self.form_connector()
        if form is None:
            return
        conn, secrets = form
        if not self._confirm_produce(str(conn.settings.get("topic"))):
            return
        self.messages.clear()
        self.messages.hide()
        desk = self.wiz.desk
        self.launch(lambda token, emit: desk.produce(conn, secrets, token, emit),
                    self.tr("Producing a test record to “{0}”…").format(conn.settings.get("topic")))

    def _confirm_produce(self, topic: str) -> bool:
        answer = ask.question(
            self, self.tr("Write a test record to “{0}”?").format(topic),
            self.tr("This produces one test record into the live topic “{0}” and reads it back. Every consumer "
                    "of “{0}” will receive it (its headers mark it as a Connector Desk test). Produce it?")
            .format(topic),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
            {QMessageBox.StandardButton.Yes: self.tr("&Produce it")})
        return answer == QMessageBox.StandardButton.Yes

    def peek(self) -> None:
        form = None if self.task is not None else self.form_connector()
        if form is None:
            return
        conn, secrets = form
        count = self.peek_count.value()
        self.messages.clear()
        self.messages.hide()
        desk = self.wiz.desk
        wording = self.flow.ctype.wording
        what = self.tr("Reading the newest {0} of “{1}”…").format(
            f"{count} " + contract.plural(count, wording.noun), conn.settings.get(wording.peek_source))
        self.launch(lambda token, emit: desk.peek(conn, secrets, count, token, emit), what)

    def _show_problems(self) -> dict[str, str]:
        self.flow.set_admin(self.edits["email"].text(), self.edits["name"].text(),
                            self.edits["test_recipient"].text())
        problems = self.flow.problems(self.name)
        for key, err in self.errors.items():
            err.setText("⚠ " + problems.get(key, ""))
            err.setVisible(key in problems)
        return problems

    def send(self) -> None:
        form = None if self._show_problems() or self.task is not None else self.form_connector()
        if form is None:
            return
        conn, secrets = form
        to = self.flow.draft.admin["test_recipient"]
        desk = self.wiz.desk
        self.launch(lambda token, emit: desk.test_send(conn, secrets, to, token, emit),
                    self.tr("Sending a test message to {0}…").format(to))

    def finished(self, result: RunResult) -> None:
        self.flow.test_result = result
        if result.action == Action.PEEK:
            self._show_peek(result)
            return
        if result.action == Action.PRODUCE:
            if result.ok:
                self.banner.success(self.tr("Produced and read back in {0:.0f} ms").format(result.info["latency_ms"]),
                                    self.flow.ctype.receipt(result.steps))
            elif result.error is not None:
                self.banner.error(result.error, self.tr("Test record failed"))
            return
        attempts = result.info.get("attempts", [])
        tries = self.tr(" after {0} attempts").format(len(attempts)) if len(attempts) > 1 else ""
        if result.ok and result.info.get("sandbox"):
            self.banner.success(self.tr("Test message accepted in sandbox mode{0} — nothing was delivered to {1}")
                                .format(tries, result.info.get("to")), self.flow.ctype.receipt(result.steps))
        elif result.ok:
            self.banner.success(self.tr("Test message sent to {0}{1}").format(result.info.get("to"), tries),
                                self.flow.ctype.receipt(result.steps))
        elif result.error is not None:
            self.banner.error(result.error, self.tr("Test send failed{0}").format(tries))

    def _show_peek(self, result: RunResult) -> None:
        if not result.ok:
            if result.error is not None:
                self.banner.error(result.error, self.tr("Peek failed"))
            return
        self.steps.hide()
        listing = self.flow.ctype.listing(result.info)
        if listing is None:
            self.banner.success(self.tr("Peek done"), "")
            return
        self.messages.setHeaderLabels(list(listing.columns))
        last = len(listing.columns) - 1
        for row in listing.rows:
            item = QTreeWidgetItem(list(row.cells))
            item.setToolTip(last, row.tooltip)
            if row.strong:  # unread in bold, as mail programs show it
                font = item.font(last)
                font.setBold(True)
                for col in range(len(listing.columns)):
                    item.setFont(col, font)
            self.messages.addTopLevelItem(item)
        shown = len(listing.rows)
        title, note = listing.title, listing.note
        for col in range(self.messages.columnCount() - 1):
            self.messages.resizeColumnToContents(col)
        self.messages.setVisible(bool(shown))
        self.banner.success(title, note)

    def validatePage(self) -> bool:
        return not self._show_problems()
