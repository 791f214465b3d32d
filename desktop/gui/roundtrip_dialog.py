"""RoundTripDialog: send through a connector that sends mail, wait for it in one that receives it.
Its fixed part is the Designer form ui/roundtrip.ui (compiled by `make ui`)."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QLineEdit, QVBoxLayout, QWidget

from desktop.core import errors
from desktop.core.contract import Action
from desktop.core.model import Connector
from desktop.core.pipeline import RunResult
from desktop.core.service import Desk
from desktop.gui.check_dialog import CheckDialog
from desktop.gui.forms.ui_roundtrip import Ui_RoundTripForm


class RoundTripDialog(CheckDialog):
    """Send a tagged message through a connector that sends mail and wait for it in one that receives it."""

    def __init__(self, desk: Desk, connectors: list[Connector], selected: Connector,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, parent.tr("&Run") if parent else "&Run", "runRoundTrip")
        self.desk = desk
        self.by_name = {c.name: c for c in connectors}
        self.ui: Any = cast(Any, Ui_RoundTripForm())  # generated, untyped: its widgets are named in ui/roundtrip.ui
        self.ui.setupUi(self)
        sending = desk.types[selected.type].can(Action.SEND)
        senders = [c for c in connectors if desk.types[c.type].can(Action.SEND)]
        # Receivers that passed their last check first, then unchecked ones, failing ones last.
        order = {"valid": 0, "never": 1, "failed": 2}
        receivers = sorted((c for c in connectors if desk.types[c.type].can(Action.RECEIVE)),
                           key=lambda c: order.get(c.status.state, 1))
        v: QVBoxLayout = self.ui.layout
        self.sender_box: QComboBox = self.ui.sender
        self.receiver: QComboBox = self.ui.receiver
        for combo, items in ((self.sender_box, senders), (self.receiver, receivers)):
            for c in items:
                state = {"valid": "", "failed": self.tr(" — last check failed"),
                         "never": self.tr(" — not checked yet")}.get(c.status.state, "")
                combo.addItem(f"{c.name} ({desk.types[c.type].server_label(c.settings)}){state}", c.name)
        self.sender_box.setCurrentIndex(max(0, self.sender_box.findData(selected.name)) if sending else 0)
        self.receiver.setCurrentIndex(0 if sending else max(0, self.receiver.findData(selected.name)))
        self.to: QLineEdit = self.ui.to
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
            self.banner.info(self.tr("A round trip needs a connector that sends mail ({0}) and one that receives it "
                                     "({1})").format(self._labels(Action.SEND), self._labels(Action.RECEIVE)),
                             self.tr("Create the missing one first."))
        elif nothing is not None:
            self.run_btn.setToolTip(f"“{sender.name}” {nothing.state}")
            self.banner.info(f"“{sender.name}” {nothing.state}: " + self.tr("nothing can arrive"), nothing.advice)
        else:
            self.run_btn.setToolTip("")
            self.banner.hide()

    def _labels(self, action: Action) -> str:
        return self.tr(" or ").join(sorted(t.label for t in self.desk.types.values() if t.can(action)))

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
