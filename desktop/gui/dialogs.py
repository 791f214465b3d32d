"""Dialogs: the folder picker (a mailbox account's folders as a tree) and the round trip."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core import errors
from desktop.core.contract import Action
from desktop.core.model import Connector
from desktop.core.pipeline import RunResult
from desktop.core.service import Desk
from desktop.gui.banner import ResultBanner
from desktop.gui.check_runner import CheckRunner
from desktop.gui.secret_edit import SecretEdit
from desktop.gui.timefmt import local_time
from desktop.gui.widgets import StepList
from desktop.gui.worker import TaskRunner

SPECIAL = {"\\sent": "Sent", "\\trash": "Trash", "\\drafts": "Drafts", "\\junk": "Junk", "\\archive": "Archive",
           "\\all": "All mail", "\\flagged": "Flagged", "\\important": "Important"}


class FolderDialog(QDialog):
    """Pick a mailbox from the account's folders (decoded names, special-use flags shown)."""

    def __init__(self, folders: list[dict[str, Any]], current: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Choose the mailbox"))
        self.setObjectName("folderDialog")
        self.resize(460, 420)
        v = QVBoxLayout(self)
        v.addWidget(QLabel(self.tr("Folders of this account. Greyed folders only hold other folders.")))
        self.tree = QTreeWidget()
        self.tree.setObjectName("folderTree")
        self.tree.setHeaderLabels([self.tr("Folder"), self.tr("Kind")])
        self.tree.setColumnWidth(0, 280)
        v.addWidget(self.tree, 1)
        self.items: dict[str, QTreeWidgetItem] = {}
        for f in sorted(folders, key=lambda f: (f["name"].upper() != "INBOX", f["name"].lower())):
            self._add(f)
        self.tree.expandAll()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)
        self.tree.currentItemChanged.connect(lambda *_: self._update())
        self.tree.itemDoubleClicked.connect(lambda item, _c: self.accept() if self._selectable(item) else None)
        if current in self.items:
            self.tree.setCurrentItem(self.items[current])
        self._update()

    def _add(self, f: dict[str, Any]) -> None:
        name, delim = f["name"], f["delimiter"]
        parent_name, _, leaf = name.rpartition(delim) if delim and delim in name else ("", "", name)
        parent = self.items.get(parent_name)
        kind = ", ".join(SPECIAL.get(s.lower(), s) for s in f["special_use"])
        item = QTreeWidgetItem([leaf, kind])
        item.setData(0, Qt.ItemDataRole.UserRole, name)
        item.setData(0, Qt.ItemDataRole.UserRole + 1, bool(f["selectable"]))
        item.setToolTip(0, name)
        if not f["selectable"]:
            item.setForeground(0, Qt.GlobalColor.gray)
            item.setToolTip(0, self.tr("{0} holds only other folders (\\Noselect)").format(name))
        if parent is not None:
            parent.addChild(item)
        else:
            self.tree.addTopLevelItem(item)
        self.items[name] = item

    @staticmethod
    def _selectable(item: QTreeWidgetItem | None) -> bool:
        return item is not None and bool(item.data(0, Qt.ItemDataRole.UserRole + 1))

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        can = self._selectable(self.tree.currentItem())
        ok.setEnabled(can)
        ok.setToolTip("" if can else self.tr("Choose a folder that holds messages"))

    def selected(self) -> str | None:
        item = self.tree.currentItem()
        return str(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None and self._selectable(item) else None


class _CheckDialog(QDialog):
    """A dialog that runs one check in the background: live steps, a result banner, a run button
    beside Close, and Cancel on close."""

    def __init__(self, parent: QWidget | None, run_label: str, run_name: str) -> None:
        super().__init__(parent)
        self.runner = TaskRunner(self)
        self.steps = StepList()
        self.banner = ResultBanner()
        self.check = CheckRunner(self.runner, self.steps, self.banner)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.run_btn = self.buttons.addButton(run_label, QDialogButtonBox.ButtonRole.ActionRole)
        self.run_btn.setObjectName(run_name)
        self.run_btn.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        self.outcome: RunResult | None = None

    def add_check_widgets(self, layout: QVBoxLayout) -> None:
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.banner)
        layout.addWidget(self.buttons)

    def start(self) -> None:
        raise NotImplementedError

    def reject(self) -> None:
        self.runner.cancel_all()
        super().reject()


class RoundTripDialog(_CheckDialog):
    """Send a tagged message through an SMTP connector and wait for it in an IMAP connector."""

    def __init__(self, desk: Desk, connectors: list[Connector], selected: Connector,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, parent.tr("&Run") if parent else "&Run", "runRoundTrip")
        self.desk = desk
        self.by_name = {c.name: c for c in connectors}
        self.setWindowTitle(self.tr("Round trip"))
        self.setObjectName("roundTripDialog")
        self.resize(680, 460)
        sending = desk.types[selected.type].can(Action.SEND)
        senders = [c for c in connectors if desk.types[c.type].can(Action.SEND)]
        # Receivers that passed their last check first, then unchecked ones, failing ones last.
        order = {"valid": 0, "never": 1, "failed": 2}
        receivers = sorted((c for c in connectors if desk.types[c.type].can(Action.RECEIVE)),
                           key=lambda c: order.get(c.status.state, 1))
        v = QVBoxLayout(self)
        v.addWidget(QLabel(self.tr("Sends a uniquely tagged message and waits until it arrives in the mailbox, "
                                   "reporting how long delivery took.")))
        form = QFormLayout()
        self.sender_box = QComboBox()
        self.sender_box.setObjectName("sender")
        self.receiver = QComboBox()
        self.receiver.setObjectName("receiver")
        for combo, items in ((self.sender_box, senders), (self.receiver, receivers)):
            for c in items:
                state = {"valid": "", "failed": self.tr(" — last check failed"),
                         "never": self.tr(" — not checked yet")}.get(c.status.state, "")
                combo.addItem(f"{c.name} ({desk.types[c.type].server_label(c.settings)}){state}", c.name)
        self.sender_box.setCurrentIndex(max(0, self.sender_box.findData(selected.name)) if sending else 0)
        self.receiver.setCurrentIndex(0 if sending else max(0, self.receiver.findData(selected.name)))
        self.to = QLineEdit()
        self.to.setObjectName("to")
        self.to.setPlaceholderText(self.tr("the mailbox's address (default: its user name)"))
        form.addRow(self.tr("Send through:"), self.sender_box)
        form.addRow(self.tr("Wait in:"), self.receiver)
        form.addRow(self.tr("To address:"), self.to)
        v.addLayout(form)
        self.cancel_btn = self.buttons.addButton(self.tr("Cancel &wait"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_btn.setObjectName("cancelRoundTrip")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.setToolTip(self.tr("Available while a round trip runs"))
        self.cancel_btn.clicked.connect(self.runner.cancel_all)
        self.add_check_widgets(v)
        self.running = False
        self.sender_box.currentIndexChanged.connect(lambda _i: self._update())
        self._update()

    def _update(self) -> None:
        """Run is possible with a sender and a receiver, and not through a sender that delivers nothing."""
        sender = self.by_name.get(self.sender_box.currentData())
        nothing = None if sender is None else self.desk.types[sender.type].undelivered(sender.settings)
        can = sender is not None and self.receiver.count() > 0 and nothing is None
        self.run_btn.setEnabled(can and not self.running)
        self.cancel_btn.setEnabled(self.running)
        if self.running:
            return
        if sender is None or not self.receiver.count():
            self.run_btn.setToolTip(self.tr("Needs a connector that sends and one that receives mail"))
            self.banner.info(self.tr("A round trip needs a connector that sends mail (SMTP or SendGrid) and an IMAP "
                                     "connector"), self.tr("Create the missing one first."))
        elif nothing is not None:
            self.run_btn.setToolTip(f"“{sender.name}” {nothing.state}")
            self.banner.info(f"“{sender.name}” {nothing.state}: " + self.tr("nothing can arrive"), nothing.advice)
        else:
            self.run_btn.setToolTip("")
            self.banner.hide()

    def start(self) -> None:
        sender = self.by_name.get(self.sender_box.currentData())
        receiver = self.by_name.get(self.receiver.currentData())
        if sender is None or receiver is None:
            return
        to = self.to.text().strip() or None
        desk = self.desk

        def work(token: Any, emit: Any) -> RunResult:
            return desk.roundtrip(sender, desk.load_secrets(sender), receiver, desk.load_secrets(receiver), to,
                                  token, emit)
        self.check.launch(work, "roundtrip", self.tr("Checking that “{0}” signs in, then sending and waiting "
                                                     "for delivery…").format(receiver.name), self._done, self._failed)
        self.running = True
        self._update()
        self.cancel_btn.setFocus()

    def _done(self, result: RunResult) -> None:
        self.outcome = result
        self.running = False
        self._update()
        if result.error is not None and result.error.code == errors.CANCELLED:
            self.banner.info(self.tr("Round trip cancelled"), self.tr("Stopped waiting. A message already sent "
                                                                    "may still arrive in the mailbox."))
        elif result.ok:
            self.banner.success(self.tr("Delivered in {0:.0f} ms").format(result.info["delivery_ms"]),
                                self.tr("The message went out through the sender and arrived in the mailbox."))
        elif result.error is not None:
            self.banner.error(result.error, self.tr("Round trip failed"))

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self._update()
        self.banner.error(exc)


class RotateDialog(_CheckDialog):
    """Replace a secret: the new value is validated before it becomes current; the previous one is
    kept for a grace period and can be restored."""

    def __init__(self, desk: Desk, conn: Connector, parent: QWidget | None = None) -> None:
        super().__init__(parent, parent.tr("&Check and rotate") if parent else "&Check and rotate", "rotate")
        self.desk = desk
        self.conn = conn
        self.setWindowTitle(self.tr("Rotate a secret of “{0}”").format(conn.name))
        self.setObjectName("rotateDialog")
        self.resize(640, 440)
        v = QVBoxLayout(self)
        intro = QLabel(self.tr("The new value is checked live first. Only if the check passes does it replace "
                               "the current one; the previous value stays in the keychain for the grace period "
                               "so it can be restored. If anything fails, nothing changes."))
        intro.setWordWrap(True)
        v.addWidget(intro)
        form = QFormLayout()
        self.secret = QComboBox()
        self.secret.setObjectName("secretName")
        labels = {s.name: s.label for s in desk.types[conn.type].secrets}
        for name in conn.secret_names:
            self.secret.addItem(labels.get(name, name), name)
        row = SecretEdit("newValue", "showNewValue")
        self.value = row.edit
        self.grace = QDoubleSpinBox()
        self.grace.setObjectName("graceHours")
        self.grace.setRange(0, 24 * 30)
        self.grace.setDecimals(0)
        self.grace.setValue(24)
        self.grace.setSuffix(self.tr(" hours"))
        form.addRow(self.tr("Secret:"), self.secret)
        form.addRow(self.tr("New value:"), row)
        form.addRow(self.tr("Keep the previous for:"), self.grace)
        v.addLayout(form)
        self.rollback_btn = self.buttons.addButton(self.tr("Restore &previous"), QDialogButtonBox.ButtonRole.ActionRole)
        self.rollback_btn.setObjectName("rollback")
        self.rollback_btn.clicked.connect(self.rollback)
        self.add_check_widgets(v)
        self._update()
        self.value.textChanged.connect(lambda _t: self._update())
        self.secret.currentIndexChanged.connect(lambda _i: self._update())

    def _update(self) -> None:
        has_value = bool(self.value.text())
        self.run_btn.setEnabled(has_value)
        self.run_btn.setToolTip("" if has_value else self.tr("Enter the new value first"))
        until = self.conn.previous_until.get(str(self.secret.currentData()))
        self.rollback_btn.setEnabled(bool(until))
        self.rollback_btn.setToolTip(self.tr("Kept until {0}").format(local_time(until)) if until else
                                     self.tr("No previous value is kept for this secret"))

    def start(self) -> None:
        from desktop.core.secret import Secret
        name, secret = self.conn.name, str(self.secret.currentData())
        value, grace = Secret(self.value.text()), self.grace.value()
        desk = self.desk
        self.check.launch(lambda token, emit: desk.rotate(name, secret, value, grace, token, emit), "rotate",
                          self.tr("Checking the new value…"), self._done, self._failed)
        self.run_btn.setEnabled(False)

    def _done(self, result: RunResult) -> None:
        self.outcome = result
        self._update()
        if result.ok:
            self.value.clear()
            self.conn.previous_until[str(self.secret.currentData())] = str(result.info.get("previous_until"))
            self._update()
            until = local_time(result.info.get("previous_until"))
            self.banner.success(self.tr("Rotated"), self.tr("The new value is current; the previous one is kept "
                                                            "until {0}.").format(until))
        elif result.error is not None:
            self.banner.error(result.error, self.tr("Not rotated — the current value is unchanged"))

    def _failed(self, exc: BaseException) -> None:
        self._update()
        self.banner.error(exc, self.tr("Not rotated — the current value is unchanged"))

    def rollback(self) -> None:
        name, secret, desk = self.conn.name, str(self.secret.currentData()), self.desk
        self.runner.run(lambda _t, _e: desk.rollback(name, secret), "rollback",
                        on_finished=lambda _r: self._rolled_back(), on_failed=self._failed)

    def _rolled_back(self) -> None:
        self.conn.previous_until.pop(str(self.secret.currentData()), None)
        self._update()
        self.banner.success(self.tr("Previous value restored"), self.tr("Validate the connector to confirm it."))


class AboutDialog(QDialog):
    """Version, Qt and PySide, Python, the data folder and the keychain in use (looked up in a worker:
    opening the keychain can wait on a D-Bus service)."""

    def __init__(self, desk: Desk, runner: TaskRunner, parent: QWidget | None = None) -> None:
        import PySide6
        from PySide6 import QtCore
        from PySide6.QtGui import QIcon

        from desktop import APP_NAME, __version__
        from desktop.core.resources import resource

        super().__init__(parent)
        self.setWindowTitle(self.tr("About Connector Desk"))
        self.setObjectName("about")
        head = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(QIcon(str(resource("icons", "connector-desk.svg"))).pixmap(64, 64))
        head.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"<b style='font-size:15pt'>{APP_NAME}</b><br>{self.tr('Version')} {__version__}<br>"
                       + self.tr("Sets up and checks the mail and messaging connectors a workflow platform uses."))
        title.setWordWrap(True)
        head.addWidget(title, 1)
        form = QFormLayout()
        import platform

        self.keychain = QLabel(self.tr("checking…"))
        self.keychain.setWordWrap(True)
        self.keychain.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        folder = QLabel(self.fontMetrics().elidedText(str(desk.folder), Qt.TextElideMode.ElideMiddle, 380))
        folder.setToolTip(str(desk.folder))  # the whole path; the label keeps its middle out when long
        folder.setObjectName("data_folder")
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.tr("Qt / PySide:"), QLabel(f"{QtCore.qVersion()} / {PySide6.__version__}"))
        form.addRow(self.tr("Python:"), QLabel(platform.python_version()))
        form.addRow(self.tr("Data folder:"), folder)
        form.addRow(self.tr("Keychain:"), self.keychain)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addLayout(head)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

        def look_up(_token: Any, _emit: Any) -> str:
            from desktop.core import about
            return str(about.facts(desk)["keychain_backend"])

        runner.run(look_up, "about", on_finished=self.keychain.setText,
                   on_failed=lambda exc: self.keychain.setText(self.tr("unavailable: %s") % exc))
