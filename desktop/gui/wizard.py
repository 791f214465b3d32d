"""The connector wizard: Qt pages attached to core.wizard.WizardFlow. Validation and the test
send run in workers on the values in the form; a failure never clears the form."""

from __future__ import annotations

import html
import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from desktop.core import contract, errors
from desktop.core import wizard as flowmod
from desktop.core.contract import Action
from desktop.core.errors import ConnectorError, FieldError, InputErrors
from desktop.core.model import Connector, Status, check_name
from desktop.core.pipeline import RunResult
from desktop.core.service import Desk
from desktop.core.wizard import WizardFlow
from desktop.gui.banner import ResultBanner, describe_input
from desktop.gui.widgets import FieldForm, StepList, TranscriptPanel
from desktop.gui.worker import TaskRunner

PAGE_IDS = {name: i for i, name in enumerate(flowmod.ALL_PAGES)}


def _wrap(label: QLabel) -> QLabel:
    label.setWordWrap(True)
    return label


class _Page(QWizardPage):
    name = ""

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__()
        self.wiz = wiz
        self.flow = wiz.flow

    def nextId(self) -> int:
        nxt = self.flow.next_page(self.name)
        return PAGE_IDS[nxt] if nxt else -1


class BasicsPage(_Page):
    name = flowmod.BASICS

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.setTitle(self.tr("Name and type"))
        self.setSubTitle(self.tr("Give the connector a name your workflows will refer to, and choose what it "
                                 "connects to."))
        form = QFormLayout(self)
        self.name_edit = QLineEdit(self.flow.draft.name)
        self.name_edit.setObjectName("name")
        self.name_edit.setPlaceholderText("billing-mail")
        self.name_error = QLabel()
        self.name_error.setProperty("role", "error")
        self.name_error.hide()
        # Alt+N belongs to "Next >": the name's mnemonic is M.
        lab = QLabel(self.tr("Na&me:"))
        lab.setBuddy(self.name_edit)
        self.rename_note = _wrap(QLabel())
        self.rename_note.setObjectName("renameNote")
        self.rename_note.setProperty("role", "warning")
        self.rename_note.hide()
        box = QVBoxLayout()
        box.addWidget(self.name_edit)
        box.addWidget(self.name_error)
        box.addWidget(self.rename_note)
        form.addRow(lab, box)
        self.name_edit.textChanged.connect(self._name_edited)
        self.desc_edit = QLineEdit(self.flow.draft.description)
        self.desc_edit.setObjectName("description")
        self.desc_edit.setPlaceholderText(self.tr("What it is for, e.g. outbound mail for invoices"))
        dl = QLabel(self.tr("&Description:"))
        dl.setBuddy(self.desc_edit)
        form.addRow(dl, self.desc_edit)
        self.types = QButtonGroup(self)
        tbox = QVBoxLayout()
        for type_name, ctype in sorted(self.flow.types.items()):
            rb = QRadioButton(f"{ctype.label} — {ctype.summary}")
            rb.setObjectName(f"type_{type_name}")
            rb.setProperty("type_name", type_name)
            rb.setChecked(type_name == self.flow.draft.type)
            rb.setEnabled(not self.flow.editing)
            self.types.addButton(rb)
            tbox.addWidget(rb)
        if self.flow.editing:
            tbox.addWidget(_wrap(QLabel(self.tr("The type of a saved connector cannot change; duplicate it "
                                                "to make a connector of another type."))))
        form.addRow(self.tr("Type:"), tbox)

    def _name_edited(self, text: str) -> None:
        if self.name_error.isVisible():  # once a problem is shown, it follows what is typed
            try:
                check_name(text, self.flow.taken)
                self.name_error.hide()
            except FieldError as exc:
                self.name_error.setText("⚠ " + exc.problem)
        renamed = self.flow.editing and text.strip() != self.flow.original_name
        self.rename_note.setText(self.tr("Workflows refer to this connector by its name “{0}”. After renaming, "
                                         "change the name in every workflow that uses it, or they stop "
                                         "working.").format(self.flow.original_name))
        self.rename_note.setVisible(renamed)

    def validatePage(self) -> bool:
        btn = self.types.checkedButton()
        self.flow.set_basics(self.name_edit.text(), self.desc_edit.text(),
                             btn.property("type_name") if btn else self.flow.draft.type)
        problems = self.flow.problems(self.name)
        self.name_error.setText("⚠ " + problems.get("name", ""))
        self.name_error.setVisible("name" in problems)
        if problems:
            self.name_edit.setFocus()
        return not problems


class ProviderPage(_Page):
    name = flowmod.PROVIDER

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.setTitle(self.tr("Provider"))
        self.setSubTitle(self.tr("Choose the service; Connector Desk fills in its server settings and knows its "
                                 "pitfalls."))
        self.layout_ = QVBoxLayout(self)
        self.group = QButtonGroup(self)

    def initializePage(self) -> None:
        for b in self.group.buttons():
            self.group.removeButton(b)
        while self.layout_.count():
            item = self.layout_.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        current = self.flow.preset_id or "other"
        for p in self.flow.ctype.presets():
            rb = QRadioButton(p.label)
            rb.setObjectName(f"preset_{p.id}")
            rb.setProperty("preset", p.id)
            rb.setChecked(p.id == current)
            self.group.addButton(rb)
            self.layout_.addWidget(rb)
            if p.notes:
                note = _wrap(QLabel(p.notes))
                note.setProperty("role", "help")
                note.setContentsMargins(24, 0, 0, 8)
                self.layout_.addWidget(note)
        self.layout_.addStretch(1)

    def validatePage(self) -> bool:
        btn = self.group.checkedButton()
        if btn is not None and btn.property("preset") != self.flow.preset_id:
            self.flow.apply_preset(btn.property("preset"))
        return True


class _FormPage(_Page):
    """A page whose fields come from the connector type's declarations."""

    def __init__(self, wiz: ConnectorWizard, title: str, subtitle: str) -> None:
        super().__init__(wiz)
        self.setTitle(title)
        self.setSubTitle(subtitle)
        outer = QVBoxLayout(self)
        self.notes = _wrap(QLabel())
        self.notes.setProperty("role", "note")
        self.notes.hide()
        outer.addWidget(self.notes)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(self.scroll_area, 1)
        self.warnings = _wrap(QLabel())
        self.warnings.setProperty("role", "warning")
        self.warnings.hide()
        outer.addWidget(self.warnings)
        self.form: FieldForm | None = None
        self._built_for: str | None = None

    def build_form(self) -> FieldForm:
        raise NotImplementedError

    def initializePage(self) -> None:
        if self._built_for != self.flow.draft.type:
            self.form = self.build_form()
            self.form.changed.connect(self._changed)
            self.scroll_area.setWidget(self._decorate(self.form))
            self._built_for = self.flow.draft.type
        self.refresh()

    def _decorate(self, form: FieldForm) -> QWidget:
        return form

    def refresh(self) -> None:
        if self.form is None:  # not built yet: initializePage fills it from the draft
            return
        self.form.set_values(self.flow.draft.settings,
                             {k: v.reveal() for k, v in self.flow.secrets.items()})
        self.form.update_visibility(self.flow.draft.settings)
        for name in self.form.rows:
            text = self.flow.ctype.field_help(name, self.flow.draft.settings)
            if text is not None:
                self.form.set_help(name, text)
        warnings = self.flow.ctype.warnings(self.flow.draft.settings)
        self.warnings.setText("\n".join("⚠ " + w for w in warnings))
        self.warnings.setVisible(bool(warnings))

    def _changed(self, name: str, value: Any) -> None:
        if name in self.form.secret_fields:  # type: ignore[union-attr]
            self.flow.set_secret(name, value or "")
        else:
            self.flow.set_setting(name, value)
        self.refresh()

    def validatePage(self) -> bool:
        problems = self.flow.problems(self.name)
        if self.form is not None:
            self.form.show_problems(problems)
        return not problems


class ServerPage(_FormPage):
    name = flowmod.SERVER

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz, wiz.tr("Server and security"), "")

    def initializePage(self) -> None:
        follows = any(f.default_from for f in self.flow.fields_for(self.name))
        wording = self.flow.ctype.wording
        self.setTitle(wording.server_title)
        text = wording.server_text
        if follows:
            text += " " + self.tr("The port follows the security you choose.")
        self.setSubTitle(text)
        super().initializePage()

    def build_form(self) -> FieldForm:
        fields = [f for f in self.flow.fields_for(self.name) if f.page == "server"]
        advanced = [f for f in self.flow.fields_for(self.name) if f.page == "advanced"]
        form = FieldForm(fields + advanced)
        self._advanced = advanced
        return form

    def _decorate(self, form: FieldForm) -> QWidget:
        # Advanced rows are in the same form (one set of values); a heading separates them.
        if self._advanced:
            first = self._advanced[0].name
            position: Any = form.layout_.getWidgetPosition(form.rows[first])  # (row, role); stubs say object
            row = int(position[0])
            heading = QLabel(self.tr("Advanced"))
            heading.setProperty("role", "heading")
            form.layout_.insertRow(row, heading)
        return form


class AuthPage(_FormPage):
    name = flowmod.AUTH

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz, wiz.tr("Sign-in"),
                         wiz.tr("How Connector Desk signs in. Secrets go to the system keychain, never to a "
                                "file."))

    pick_task: Any = None

    def build_form(self) -> FieldForm:
        form = FieldForm(self.flow.fields_for(self.name), list(self.flow.ctype.secrets))
        form.pick_requested.connect(self.pick)
        return form

    def cleanupPage(self) -> None:
        self.cancel_pick()

    def cancel_pick(self) -> None:
        if self.pick_task is not None:
            self.pick_task.cancel()

    def pick(self, field: str) -> None:
        """Sign in with the values on the form and let the administrator choose (the folder picker).
        While it signs in, the same button cancels the look-up."""
        if self.form is None:
            return
        if self.pick_task is not None:
            self.cancel_pick()
            return
        problems = {k: v for k, v in self.flow.problems(flowmod.SERVER).items()}
        problems.update({k: v for k, v in self.flow.problems(self.name).items() if k != field})
        if problems:
            self.form.show_problems(problems)
            labels = {f.name: f.label for f in self.flow.ctype.fields}
            labels.update({sf.name: sf.label for sf in self.flow.ctype.secrets})
            self.notes.setText(self.tr("To list the folders, fill in the server and sign-in first: {0}.").format(
                ", ".join(labels.get(p, p) for p in problems)))
            self.notes.show()
            return
        self._show_preset_note()
        conn, secrets = self.flow.connector(), self.flow.needed_secrets()
        button = self.form.pick_buttons[field]
        button.setText(self.tr("Cancel look-up"))
        button.setToolTip(self.tr("Signing in to list the folders; click to stop"))
        self.notes.setText(self.tr("Signing in to list the folders…"))
        self.notes.show()
        desk = self.wiz.desk
        self.pick_task = self.wiz.runner.run(lambda token, emit: desk.folders(conn, secrets, token, emit),
                                             "folders", on_finished=lambda r: self._picked(field, r),
                                             on_failed=lambda exc: self._picked(field, None, exc))

    def _picked(self, field: str, result: RunResult | None, exc: BaseException | None = None) -> None:
        from desktop.gui.dialogs import FolderDialog
        self.pick_task = None
        if self.form is None:
            return
        button = self.form.pick_buttons[field]
        button.setText(self.tr("Choose…"))
        button.setToolTip(self.tr("Sign in and pick from the account's list"))
        self._show_preset_note()
        if result is not None and result.error is not None and result.error.code == errors.CANCELLED:
            self.notes.setText(self.tr("Folder look-up cancelled."))
            self.notes.show()
            self._focus_field(field)
            return
        if result is None or not result.ok:
            err = exc if result is None else result.error
            message, hint = (describe_input(err, self.wiz.field_labels()) if isinstance(err, ConnectorError)
                             else None) or (getattr(err, "message", str(err)), getattr(err, "hint", ""))
            self.form.show_problems({field: f"{message} — {hint}" if hint else message})
            return
        dialog = FolderDialog(result.info.get("folders", []), str(self.flow.draft.settings.get(field) or ""), self)
        dialog.accepted.connect(lambda: self._chosen(field, dialog.selected()))
        dialog.finished.connect(lambda _r: self._focus_field(field))
        dialog.open()

    def _focus_field(self, field: str) -> None:
        """Back to the field itself: never leave the focus on "< Back", where Enter goes back."""
        if self.form is None:
            return
        editor = self.form.editors[field]
        (editor.property("line_edit") or editor).setFocus()

    def _chosen(self, field: str, value: str | None) -> None:
        if value:
            self.flow.set_setting(field, value)
            self.refresh()
            if self.form is not None:
                self.form.show_problems({})

    def initializePage(self) -> None:
        super().initializePage()
        self._show_preset_note()

    def _show_preset_note(self) -> None:
        preset = self.flow.ctype.preset(self.flow.preset_id)
        note = preset.notes if preset is not None and preset.id != "other" else ""
        self.notes.setText(note)
        self.notes.setVisible(bool(note))


class _CheckPage(_Page):
    """A page that runs one check in the background: live steps, a result banner, Cancel.
    Subclasses build the widgets, call ``launch()`` and render the outcome in ``finished()``."""

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.steps = StepList()
        self.banner = ResultBanner()
        self.task: Any = None
        self._return_focus: QWidget | None = None

    def launch(self, work: Any, busy: str) -> None:
        self.steps.restart()
        self.steps.show()
        self.banner.labels = self.wiz.field_labels()
        self.banner.busy(busy)
        focused = QApplication.focusWidget()
        self._return_focus = focused if isinstance(focused, QPushButton) and self.isAncestorOf(focused) else None
        self.task = self.wiz.runner.run(work, self.name, on_progress=self.steps.on_event,
                                        on_finished=self._finished, on_failed=self._failed)
        self.busy_changed()
        self._settle_focus()

    def busy_focus(self) -> QWidget | None:
        """Where the keyboard focus goes while a check runs (its button is disabled)."""
        return None

    def done_focus(self) -> QWidget | None:
        """Where the keyboard focus goes when a check that no button started ends."""
        return None

    def _settle_focus(self, done: bool = False) -> None:
        """Disabling a focused button hands the focus on, often to "< Back", where Enter goes back.
        While a check runs the focus goes to the page's own safe widget; when it ends, back to the
        button that started it."""
        focused = QApplication.focusWidget()
        if focused is not None and focused.window() is not self.window():
            return  # the user is elsewhere (another window): leave their focus alone
        back = self._return_focus
        if done and back is not None and back.isEnabled() and back.isVisible():
            back.setFocus()
            return
        if focused is not None and self.isAncestorOf(focused) and focused.isEnabled():
            return
        target = self.done_focus() if done else self.busy_focus()
        if target is not None:
            target.setFocus()

    def form_connector(self) -> tuple[Connector, dict[str, Any]] | None:
        """The connector and secrets exactly as the form has them, or None (the banner says why)."""
        try:
            return self.flow.connector(), dict(self.flow.needed_secrets())
        except InputErrors as exc:
            self.banner.error(exc, self.tr("Some fields need attention"), self.wiz.field_labels())
            return None

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def cleanupPage(self) -> None:
        self.cancel()

    def _finished(self, result: RunResult) -> None:
        self.task = None
        self.finished(result)
        self.busy_changed()
        self._settle_focus(done=True)

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self.banner.error(exc)
        self.busy_changed()
        self._settle_focus(done=True)

    def finished(self, result: RunResult) -> None:
        raise NotImplementedError

    def busy_changed(self) -> None:
        """Update buttons when a check starts or ends."""


class ValidatePage(_CheckPage):
    name = flowmod.VALIDATE

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.setTitle(self.tr("Live validation"))
        v = QVBoxLayout(self)
        buttons = QHBoxLayout()
        self.run_btn = QPushButton(self.tr("&Validate again"))
        self.run_btn.setObjectName("validate")
        self.cancel_btn = QPushButton(self.tr("&Cancel check"))
        self.cancel_btn.setObjectName("cancelValidation")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.setToolTip(self.tr("Available while a check runs"))
        self.run_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        buttons.addWidget(self.run_btn)
        buttons.addWidget(self.cancel_btn)
        buttons.addStretch(1)
        v.addLayout(buttons)
        v.addWidget(self.steps, 1)
        v.addWidget(self.banner)
        self.fixes = QHBoxLayout()  # one-click corrections the failure suggests ("Use ‘Sent’")
        self.fixes.setContentsMargins(0, 0, 0, 0)
        self.fixes.addStretch(1)
        v.addLayout(self.fixes)
        self.fix_buttons: list[QPushButton] = []
        self.facts = QLabel()
        self.facts.setObjectName("facts")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts.hide()
        v.addWidget(self.facts)
        self.transcript = TranscriptPanel()
        v.addWidget(self.transcript)

    def initializePage(self) -> None:
        what = self.flow.ctype.wording.checks
        self.setSubTitle(what + self.tr(" — with the values in this form, storing nothing."))
        if not self.flow.validation_current:
            self.start()
        elif self.flow.result is not None:
            self.steps.show_result(self.flow.result)
            self.finished(self.flow.result)

    def start(self) -> None:
        form = None if self.task is not None else self.form_connector()
        if form is None:
            return
        conn, secrets = form
        self.transcript.set_lines([])
        desk = self.wiz.desk
        self.launch(lambda token, emit: desk.validate(conn, secrets, token, emit),
                    self.tr("Checking {0}…").format(self.flow.ctype.server_label(conn.settings)))

    def busy_changed(self) -> None:
        self.run_btn.setEnabled(self.task is None)
        self.cancel_btn.setEnabled(self.task is not None)
        self.completeChanged.emit()

    def _show_fixes(self, result: RunResult) -> None:
        for b in self.fix_buttons:
            self.fixes.removeWidget(b)
            b.deleteLater()
        self.fix_buttons = []
        err = result.error
        if err is None or err.code != "mailbox_not_found" or "Did you mean" not in err.hint:
            return
        for name in re.findall(r"“([^”]+)”", err.hint.partition("Did you mean")[2])[:3]:
            b = QPushButton(self.tr("Use ‘{0}’").format(name))
            b.setObjectName("useMailbox")
            b.setToolTip(self.tr("Set the mailbox to “{0}” and validate again").format(name))
            b.clicked.connect(lambda _=False, n=name: self._use_mailbox(n))
            self.fixes.insertWidget(len(self.fix_buttons), b)
            b.show()
            self.fix_buttons.append(b)

    def _use_mailbox(self, name: str) -> None:
        self.flow.set_setting("mailbox", name)
        auth = self.wiz.page_named(flowmod.AUTH)
        if auth.form is not None:
            auth.refresh()
        self.start()

    def finished(self, result: RunResult) -> None:
        self.flow.record_validation(result)
        self._show_fixes(result)
        self.transcript.set_lines(result.transcript)
        facts = result.facts()
        self.facts.setText("<br>".join(f"<b>{html.escape(k)}:</b> {html.escape(v)}" for k, v in facts))
        self.facts.setVisible(bool(facts))
        if result.ok:
            nxt = self.flow.ctype.wording.next_step
            skipped = sum(1 for st in result.steps if st.detail.startswith("not checked"))
            title = self.tr("All checks passed in {0:.0f} ms").format(result.ms)
            if skipped:
                title += self.tr(" ({0} not checked)").format(skipped)
            self.banner.success(title, nxt)
        elif result.error is not None:
            if result.error.code == errors.CANCELLED:
                self.banner.info(self.tr("Check cancelled"), self.tr("Nothing was changed. Validate again "
                                                                     "when ready."))
            else:
                self.banner.error(result.error, self.tr("Validation failed"))

    def isComplete(self) -> bool:
        return self.task is None

    def busy_focus(self) -> QWidget | None:
        return self.steps  # Enter there presses the (disabled) Next: nothing, not "< Back"

    def done_focus(self) -> QWidget | None:
        nxt = self.wiz.button(QWizard.WizardButton.NextButton)
        return nxt if nxt.isEnabled() else self.run_btn


class AdminPage(_CheckPage):
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
        answer = QMessageBox.question(
            self, self.tr("Write a test record to “{0}”?").format(topic),
            self.tr("This produces one test record into the live topic “{0}” and reads it back. Every consumer "
                    "of “{0}” will receive it (its headers mark it as a Connector Desk test). Produce it?")
            .format(topic),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
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
        if result.action == "peek":
            self._show_peek(result)
            return
        if result.action == "produce":
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


class SummaryPage(_Page):
    name = flowmod.SUMMARY

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.setTitle(self.tr("Summary"))
        self.setSubTitle(self.tr("Check the details, then save. Secrets go to the system keychain."))
        v = QVBoxLayout(self)
        self.box = QGroupBox()
        self.form = QFormLayout(self.box)
        v.addWidget(self.box)
        self.warnings = _wrap(QLabel())
        self.warnings.setProperty("role", "warning")
        v.addWidget(self.warnings)
        self.banner = ResultBanner()
        v.addWidget(self.banner)
        v.addStretch(1)
        self.setFinalPage(True)
        self.saving = False

    def initializePage(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        for label, value in self.flow.summary():
            val = _wrap(QLabel(value))
            val.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.form.addRow(QLabel(f"<b>{label}:</b>"), val)
        warnings = self.flow.ctype.warnings(self.flow.draft.settings)
        self.warnings.setText("\n".join("⚠ " + w for w in warnings))
        self.warnings.setVisible(bool(warnings))
        self.banner.hide()
        self.wiz.setButtonText(QWizard.WizardButton.FinishButton, self.tr("&Save"))

    def isComplete(self) -> bool:
        return not self.saving


class ConnectorWizard(QWizard):
    """New / Edit / Duplicate connector.

    Signals:
        saved(object): the stored Connector, after secrets and catalogue were written.
    """

    saved = Signal(object)

    def __init__(self, desk: Desk, runner: TaskRunner, flow: WizardFlow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.runner = runner
        self.flow = flow
        self.setObjectName("connectorWizard")
        self.setWindowTitle(self.tr("Edit connector “{0}”").format(flow.original_name) if flow.editing
                            else self.tr("New connector"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.resize(760, 620)
        self.pages_: dict[str, _Page] = {}
        for cls in (BasicsPage, ProviderPage, ServerPage, AuthPage, ValidatePage, AdminPage, SummaryPage):
            page = cls(self)
            self.pages_[cls.name] = page
            self.setPage(PAGE_IDS[cls.name], page)
        self.setStartId(PAGE_IDS[flowmod.BASICS])
        # Cancel (and Esc, and the window's close button) ask first when something would be lost.
        cancel = self.button(QWizard.WizardButton.CancelButton)
        cancel.clicked.disconnect()
        cancel.clicked.connect(self.request_close)

    def page_named(self, name: str) -> Any:
        return self.pages_[name]

    def field_labels(self) -> dict[str, str]:
        """Field name → label for the connector type being edited (errors name fields by them)."""
        ctype = self.flow.ctype
        return {**{f.name: f.label for f in ctype.fields}, **{s.name: s.label for s in ctype.secrets}}

    @property
    def busy(self) -> bool:
        auth: AuthPage = self.pages_[flowmod.AUTH]  # type: ignore[assignment]
        return auth.pick_task is not None or any(
            isinstance(p, _CheckPage) and p.task is not None for p in self.pages_.values())

    def request_close(self) -> None:
        """The user's Cancel or Esc: discard only after asking, if there is something to lose."""
        if (self.flow.changed or self.busy) and not self._confirm_discard():
            return
        self.reject()

    def _confirm_discard(self) -> bool:
        text = self.tr("A check is still running; it will be stopped. ") if self.busy else ""
        text += (self.tr("The changes to “{0}” will be lost.").format(self.flow.original_name) if self.flow.editing
                 else self.tr("The values entered for this new connector will be lost."))
        answer = QMessageBox.question(self, self.tr("Discard this connector?") if not self.flow.editing
                                      else self.tr("Discard the changes?"), text,
                                      QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Discard

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.request_close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: Any) -> None:
        # Only the window system's close button asks; a programmatic close() does not.
        if event.spontaneous() and self.isVisible() and (self.flow.changed or self.busy) \
                and not self._confirm_discard():
            event.ignore()
            return
        super().closeEvent(event)

    def accept(self) -> None:
        summary: SummaryPage = self.pages_[flowmod.SUMMARY]  # type: ignore[assignment]
        if summary.saving:
            return
        if not self.flow.validated_ok and not self._confirm_unvalidated():
            return
        try:
            conn = self.flow.connector()
        except InputErrors as exc:
            summary.banner.error(exc, self.tr("Some fields need attention"), self.field_labels())
            return
        summary.banner.labels = self.field_labels()
        secrets = self.flow.needed_secrets()
        status = self._status()
        old = self.flow.original_name
        summary.saving = True
        summary.completeChanged.emit()
        summary.banner.busy(self.tr("Saving — storing secrets in the keychain…"))
        desk = self.desk
        self.runner.run(lambda _t, _e: desk.save(conn, secrets, old_name=old, status=status), "save",
                        on_finished=self._saved, on_failed=self._save_failed)

    def _status(self) -> Status | None:
        r = self.flow.result
        if not self.flow.validation_current or r is None:
            return Status() if not self.flow.editing else None
        from datetime import UTC, datetime
        at = datetime.now(UTC).isoformat(timespec="seconds")
        if r.ok:
            return Status("valid", at)
        if r.error is None or r.error.code == errors.CANCELLED:
            return Status() if not self.flow.editing else None
        return Status("failed", at, r.error.code, r.error.message)

    def _confirm_unvalidated(self) -> bool:
        if getattr(self, "skip_confirmation", False):
            return True
        answer = QMessageBox.question(
            self, self.tr("Save without a passing check?"),
            self.tr("The last validation of these values did not pass (or was not run). Save the connector "
                    "anyway? It will be listed with its failure so you can fix it later."),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Save

    def _saved(self, conn: Connector) -> None:
        summary: SummaryPage = self.pages_[flowmod.SUMMARY]  # type: ignore[assignment]
        summary.saving = False
        self.saved.emit(conn)
        super().accept()

    def _save_failed(self, exc: BaseException) -> None:
        summary: SummaryPage = self.pages_[flowmod.SUMMARY]  # type: ignore[assignment]
        summary.saving = False
        summary.completeChanged.emit()
        summary.banner.error(exc, self.tr("Not saved") if isinstance(exc, ConnectorError) else None)

    def reject(self) -> None:
        self.runner.cancel_all()
        super().reject()
