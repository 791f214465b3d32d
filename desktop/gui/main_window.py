"""The main window: the toolbar, the connector list with status (gui.connector_list), and the
actions New / Edit / Duplicate / Delete / Validate / Round trip / Rotate / About. Catalogue and
keychain work runs in workers. (Over 300 lines: one action each, and the start-up path that must stay
in this one module — see ARCHITECTURE.md "Start-up".)

Start-up: the window paints first with its toolbar and "Loading connectors…", and builds the list
after that first paint. Nothing here touches PySide's ``Qt`` namespace before then (enum-typed
properties are set by name through Qt's property system), because its first use builds ~90 Python
enums (~15 ms) that the first paint does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from desktop import APP_NAME
from desktop.core import errors
from desktop.core.errors import ConnectorError
from desktop.core.model import Connector
from desktop.core.service import Desk
from desktop.gui import ask
from desktop.gui.firstpaint import FirstPaint
from desktop.gui.worker import TaskRunner

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.deadline import CancelToken
    from desktop.core.pipeline import RunResult
    from desktop.core.store import ListedRow
    from desktop.core.wizard import WizardFlow
    from desktop.gui.banner import ResultBanner
    from desktop.gui.connector_list import ConnectorList, ConnectorModel, EmptyState
    from desktop.gui.health import ValidateAll
    from desktop.gui.wizard import ConnectorWizard


def first_size(room: tuple[int, int] | None, wanted: tuple[int, int] = (1180, 660)) -> tuple[int, int]:
    """The window's first size: ``wanted``, made smaller to fit the screen's free ``room`` (a 1024×700
    screen hid About and the connector count off its right edge). The offscreen platform's pretend
    screen is nobody's: None keeps ``wanted``."""
    if room is None:
        return wanted
    return max(820, min(wanted[0], room[0] - 24)), max(480, min(wanted[1], room[1] - 48))


class MainWindow(QMainWindow):
    """The connector list is built once the window has painted (``self.list_page`` is None until
    then; a catalogue that loads sooner waits for it)."""

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.runner = TaskRunner(self)
        self.setWindowTitle(APP_NAME)
        self.setObjectName("mainWindow")
        self.resize(*first_size(self.screen().availableGeometry().size().toTuple()
                                if QGuiApplication.platformName() != "offscreen" else None))
        self.setMinimumSize(820, 480)
        self.list_page: ConnectorList | None = None
        self.empty_page: EmptyState | None = None
        self._waiting: list[Callable[[], None]] = []  # loads that finished before the list was built
        self._build_actions()
        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self.loading = QLabel(self.tr("Loading connectors…"))
        self.loading.setProperty("alignment", "AlignCenter")
        self.stack.addWidget(self.loading)
        self.statusBar().showMessage(self.tr("Loading connectors…"))
        self._update_actions()
        self.loaded = False
        self._generation = 0  # each reload supersedes the ones still on their way
        self._last: dict[str, RunResult] = {}  # the last check of each connector in this session
        self._banner_for: str | None = None  # the connector the result banner speaks of
        FirstPaint(self, self._build_body)

    # -- building --------------------------------------------------------------------------
    def _build_actions(self) -> None:
        tb = self.toolbar = QToolBar(self.tr("Connectors"))
        tb.setObjectName("toolbar")
        tb.setMovable(False)
        tb.setProperty("toolButtonStyle", "ToolButtonTextOnly")
        self.addToolBar(tb)

        def action(text: str, shortcut: QKeySequence | QKeySequence.StandardKey | str, slot: Any,
                   tip: str) -> QAction:
            keys = QKeySequence(shortcut)
            a = QAction(text, self)
            a.setProperty("shortcut", keys)  # QAction.setShortcut() would build the Qt namespace now
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            tb.addAction(a)
            return a

        self.new_action = action(self.tr("&New…"), QKeySequence.StandardKey.New, self.new_connector,
                                 self.tr("Create a connector"))
        self.edit_action = action(self.tr("&Edit…"), "Return", self.edit_connector,
                                  self.tr("Edit the selected connector"))
        self.dup_action = action(self.tr("&Duplicate…"), "Ctrl+D", self.duplicate_connector,
                                 self.tr("Copy the selected connector, secrets included"))
        self.delete_action = action(self.tr("De&lete"), QKeySequence.StandardKey.Delete, self.delete_connector,
                                    self.tr("Delete the selected connector and its secrets"))
        tb.addSeparator()
        self.validate_action = action(self.tr("&Validate"), "Ctrl+R", self.validate_selected,
                                      self.tr("Check the selected connector live"))
        self.roundtrip_action = action(self.tr("&Round trip…"), "Ctrl+T", self.round_trip,
                                       self.tr("Send through an SMTP connector and wait for the mail in an IMAP one"))
        self.rotate_action = action(self.tr("R&otate…"), "Ctrl+Shift+R", self.rotate,
                                    self.tr("Replace a secret of the selected connector, checked before it is used"))
        self.failures_action = action(self.tr("&Failed sends…"), "Ctrl+Shift+F", self.show_failures,
                                      self.tr("Dead letters, bounces or suppressions of the selected connector"))
        self.signin_action = action(self.tr("Sign &in again…"), "Ctrl+Shift+I", self.sign_in_again,
                                    self.tr("A new OAuth sign-in for the selected connector, kept once it "
                                            "validates"))
        tb.addSeparator()
        self.validate_all_action = action(self.tr("Validate &all"), "Ctrl+Shift+A", self.validate_all,
                                          self.tr("Check every connector at once, in parallel"))
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.about_action = action(self.tr("&About"), QKeySequence.StandardKey.HelpContents, self.show_about,
                                   self.tr("Version, Qt and the keychain in use"))
        # F5: read the catalogue again (a connector imported by `connector-desk import` meanwhile).
        self.reload_action = QAction(self.tr("Reload the list"), self)
        self.reload_action.setProperty("shortcut", QKeySequence("F5"))
        self.reload_action.setStatusTip(self.tr("Read the connectors again, with those added elsewhere"))
        self.reload_action.triggered.connect(lambda: self.reload(self.selected_name()))
        self.addAction(self.reload_action)
        self.plain_actions = [self.new_action, self.about_action, self.validate_all_action]
        self.selection_actions = [self.edit_action, self.dup_action, self.delete_action, self.validate_action,
                                  self.roundtrip_action, self.rotate_action, self.failures_action,
                                  self.signin_action]

    def _build_body(self) -> None:
        """The list page and the empty state (after the first paint)."""
        if self.list_page is not None:
            return
        from desktop.gui.connector_list import ConnectorList, EmptyState

        self.empty_page = EmptyState(secrets_place=self.desk.secrets_place())
        self.empty_page.create_requested.connect(self.new_connector)
        self.list_page = ConnectorList(self.desk)
        self.list_page.selection_changed.connect(self._update_actions)
        self.list_page.filtered.connect(self._show_count)
        self.list_page.activated.connect(self.edit_connector)
        self.count_label = QLabel()
        self.count_label.setObjectName("connectorCount")
        self.statusBar().addPermanentWidget(self.count_label)
        self.list_page.details.validate.connect(self.validate_selected)
        self.list_page.details.show_failures.connect(self.show_failures)
        self._build_health()
        self._build_workspaces()
        self.stack.addWidget(self.empty_page)
        self.stack.addWidget(self.list_page)
        for a in self.plain_actions + self.selection_actions:  # shortcuts as this platform writes them
            a.setProperty("keys", a.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
        for a in self.plain_actions:
            a.setToolTip(self._tip(a))
        self._update_actions()
        waiting, self._waiting = self._waiting, []
        for fn in waiting:
            fn()
        if self._generation == 0:  # the first load: after the body, not beside it (both need the GIL)
            self.reload()

    # -- state -----------------------------------------------------------------------------
    @property
    def model(self) -> ConnectorModel:
        if self.list_page is None:
            raise RuntimeError("the connector list is built after the first paint")
        return self.list_page.model

    @property
    def banner(self) -> ResultBanner:
        if self.list_page is None:
            raise RuntimeError("the connector list is built after the first paint")
        return self.list_page.banner

    @property
    def connectors(self) -> list[Connector]:
        return self.list_page.model.connectors if self.list_page is not None else []

    def selected_name(self) -> str | None:
        return self.list_page.selected_name() if self.list_page is not None else None

    @staticmethod
    def _tip(a: QAction) -> str:
        keys = a.property("keys")
        return f"{a.statusTip()} ({keys})" if keys else a.statusTip()

    def _update_actions(self) -> None:
        name = self.selected_name()
        for a in self.selection_actions:
            a.setEnabled(name is not None)
            a.setToolTip(self._tip(a) if name else self.tr("{0} — select a connector first").format(self._tip(a)))
        if self.list_page is None:
            return
        conn = self.list_page.connector(name)
        ctype = self.desk.types.get(conn.type) if conn is not None else None
        if conn is not None and not (ctype and ctype.has_failures(conn.settings)):
            self.failures_action.setEnabled(False)
            self.failures_action.setToolTip(self.tr("{0} — “{1}” names no dead-letter topic, bounce mailbox or "
                                                    "suppression list").format(self._tip(self.failures_action),
                                                                                conn.name))
        if conn is not None and not conn.secret_names:
            self.rotate_action.setEnabled(False)
            self.rotate_action.setToolTip(self.tr("{0} — “{1}” keeps no secret in {2}").format(
                self._tip(self.rotate_action), conn.name, self.desk.secrets_place()))
        if conn is not None:
            from desktop.core.contract import Action  # loaded with the connector types, when one is selected
            if not (ctype and ctype.actions & {Action.SEND, Action.RECEIVE}):
                self.roundtrip_action.setEnabled(False)
                self.roundtrip_action.setToolTip(self.tr("{0} — a round trip needs a connector that sends or "
                                                         "receives mail").format(self._tip(self.roundtrip_action)))
        if conn is not None and not self._signs_in_with_oauth(conn):
            self.signin_action.setEnabled(False)
            self.signin_action.setToolTip(self.tr("{0} — “{1}” does not sign in with OAuth").format(
                self._tip(self.signin_action), conn.name))
        checking = self._checking(name) is not None
        self.validate_action.setText(self.tr("Cancel &validation") if checking else self.tr("&Validate"))
        running = self.validate_all_action.property("running") is True
        self.validate_all_action.setEnabled(running or self.list_page.model.total() > 0)
        self.list_page.details.show_connector(conn, self._last.get(name or ""), busy=bool(name in self.model.busy))
        if self._banner_for is not None and self._banner_for != name:
            self.banner.hide()  # the last outcome was about another connector
            self._banner_for = None

    def reload(self, select: str | None = None) -> None:
        """Load the catalogue in a worker; the selection is kept (or moved to ``select``)."""
        self._generation += 1
        generation = self._generation
        select = select or self.selected_name()
        self.runner.run(lambda _t, _e: self.desk.listing(), "load",
                        on_finished=lambda conns: self._when_built(lambda: self._loaded(conns, select, generation)),
                        on_failed=lambda exc: self._when_built(lambda: self._load_failed(exc)))

    def _when_built(self, fn: Callable[[], None]) -> None:
        if self.list_page is not None:
            fn()
        else:
            self._waiting.append(fn)

    def _loaded(self, connectors: list[Connector] | list[ListedRow], select: str | None, generation: int) -> None:
        if generation != self._generation or self.list_page is None:
            return  # an older load finishing late: a newer one has the current catalogue
        self.loaded = True
        self.list_page.show_connectors(connectors, select)
        page = self.list_page if connectors else self.empty_page
        if page is not None:
            self.stack.setCurrentWidget(page)
        report = self.desk.catalogue.report
        if report.recovered_from_backup:
            self.banner.info(self.tr("The catalogue was restored from its last good copy"), report.problem)
        self._show_count()

    def _show_count(self) -> None:
        if self.list_page is None or not self.loaded:
            return
        shown, total = self.list_page.shown_count()
        if shown == total:
            text = self.tr("1 connector") if total == 1 else self.tr("{0} connectors").format(total)
        else:
            text = self.tr("{0} of {1} connectors shown").format(shown, total)
        self.count_label.setText(text)  # permanent: tool tips in the status bar do not hide it
        self.statusBar().clearMessage()

    def _load_failed(self, exc: BaseException) -> None:
        self.loaded = True
        if self.list_page is None:  # the load is started only once the list page exists
            return
        self.stack.setCurrentWidget(self.list_page)
        self.banner.error(exc, self.tr("The catalogue could not be read"))
        self.statusBar().clearMessage()

    # -- actions ---------------------------------------------------------------------------
    def _open_wizard(self, flow: WizardFlow) -> ConnectorWizard:
        from desktop.gui.wizard import ConnectorWizard  # its widgets load when first needed
        wiz = ConnectorWizard(self.desk, TaskRunner(), flow, self)
        wiz.runner.setParent(wiz)
        wiz.saved.connect(lambda c: self._wizard_saved(wiz, c))
        wiz.saved.connect(lambda c: self.statusBar().showMessage(self.tr("Saved “{0}”").format(c.name), 5000))
        wiz.setModal(True)
        wiz.show()
        self.wizard = wiz
        return wiz

    def _wizard_saved(self, wiz: ConnectorWizard, conn: Connector) -> None:
        """The pane's "Last check" follows the save: the wizard's check of exactly the saved values
        (if it ran one, and it was not cancelled) is the connector's last check; otherwise the one
        kept from before (of other settings, or of the old name) is dropped."""
        flow = wiz.flow
        self._last.pop(flow.original_name or "", None)
        self._last.pop(conn.name, None)
        result = flow.result
        if flow.validation_current and result is not None and not (
                result.error is not None and result.error.code == errors.CANCELLED):
            self._last[conn.name] = result
        if self._banner_for in (flow.original_name, conn.name):
            self.banner.hide()  # it spoke of the settings before the save
            self._banner_for = None
        self.reload(select=conn.name)

    def new_connector(self) -> ConnectorWizard:
        from desktop.core.wizard import WizardFlow
        taken = {c.name for c in self.connectors}
        return self._open_wizard(WizardFlow(self.desk.types, taken, saved_types=self._saved_types(),
                                            secrets_place=self.desk.secrets_place()))

    def _saved_types(self) -> dict[str, str]:
        return {c.name: c.type for c in self.connectors}

    def _with_secrets(self, name: str, then: Any, doing: str) -> None:
        conn = next((c for c in self.connectors if c.name == name), None)
        if conn is None:
            return
        self.statusBar().showMessage(self.tr("Reading the secrets from {0}…").format(self.desk.secrets_place()))
        self.runner.run(lambda _t, _e: self.desk.load_secrets(conn), doing,
                        on_finished=lambda secrets: self._keychain_read(conn, secrets, then),
                        on_failed=lambda exc: self.banner.error(exc, self.tr("Could not read the secrets")))

    def edit_connector(self) -> None:
        name = self.selected_name()
        if name:
            from desktop.core.wizard import WizardFlow
            taken = {c.name for c in self.connectors}
            self._with_secrets(name, lambda c, s: self._open_wizard(
                WizardFlow(self.desk.types, taken, existing=c, secrets=s, saved_types=self._saved_types(),
                           secrets_place=self.desk.secrets_place())), "edit")

    def duplicate_connector(self) -> None:
        name = self.selected_name()
        if not name:
            return
        from desktop.core.wizard import WizardFlow
        taken = {c.name for c in self.connectors}

        def open_copy(conn: Connector, secrets: Any) -> None:
            copy = conn.copy()
            copy.name = self.desk.duplicate_name(conn.name)
            copy.status = type(conn.status)()
            self._open_wizard(WizardFlow(self.desk.types, taken, existing=copy, secrets=secrets, duplicate=True,
                                         saved_types=self._saved_types(), secrets_place=self.desk.secrets_place()))
        self._with_secrets(name, open_copy, "duplicate")

    def _keychain_read(self, conn: Connector, secrets: Any, then: Any) -> None:
        self.statusBar().clearMessage()
        then(conn, secrets)

    def _deleted(self, name: str) -> None:
        self._last.pop(name, None)  # a new connector given this name has not been checked
        self.reload()
        self.statusBar().showMessage(self.tr("Deleted “{0}”").format(name), 5000)

    def delete_connector(self) -> None:
        name = self.selected_name()
        if not name:
            return
        also = ""
        if self._checking(name) is not None:
            also += self.tr(" Its running check is stopped.")
        users = [c.name for c in self.desk.linking(self.connectors, name)]
        if users:
            also += self.tr(" The Failed sends… of {0} read its mailbox for bounces and will stop working.").format(
                ", ".join(f"“{u}”" for u in users))
        answer = ask.warning(
            self, self.tr("Delete connector?"),
            self.tr("Delete “{0}” and remove its secrets from {1}? Workflows that use it will "
                    "stop working. This cannot be undone.").format(name, self.desk.secrets_place()) + also,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel, {QMessageBox.StandardButton.Yes: self.tr("&Delete")})
        if answer != QMessageBox.StandardButton.Yes:
            return
        running = self._checking(name)  # its running check has nothing left to check
        if running is not None:
            running.cancel()
        self.runner.run(lambda _t, _e: self.desk.delete(name), "delete",
                        on_finished=lambda _r: self._deleted(name),
                        on_failed=lambda exc: self.banner.error(exc, self.tr("Not deleted")))

    def _checking(self, name: str | None) -> Any:
        """The running single check of ``name`` (Validate), if any."""
        return next((t for t in self.runner.tasks if name and t.name == f"validate {name}"), None)

    def validate_selected(self) -> None:
        """Check the selected connector live; pressed again while that check runs, it cancels it."""
        name = self.selected_name()
        running = self._checking(name)
        if running is not None:
            running.cancel()
            self.statusBar().showMessage(self.tr("Cancelling the check of “{0}”…").format(name))
            return
        if not name or name in self.model.busy:
            return
        self.model.set_busy(name, True)

        def work(token: CancelToken, emit: Callable[[object], None]) -> tuple[RunResult, Connector | None]:
            result = self.desk.validate_saved(name, token, emit)
            try:
                return result, self.desk.get(name)  # with the status just recorded
            except ConnectorError:
                return result, None  # deleted meanwhile (by another process)
        self.runner.run(work, f"validate {name}",
                        on_progress=lambda event: self._validate_progress(name, event),
                        on_finished=lambda r: self._validated(name, *r),
                        on_failed=lambda exc: self._validate_failed(name, exc))
        self._update_actions()

    def _validate_progress(self, name: str, event: object) -> None:
        from desktop.core.pipeline import StepStarted
        if isinstance(event, StepStarted):
            self.statusBar().showMessage(self.tr("Checking “{0}”: {1}… (Ctrl+R again cancels)").format(
                name, event.label))

    def _validated(self, name: str, result: RunResult, conn: Connector | None) -> None:
        self.statusBar().clearMessage()
        self.model.set_busy(name, False)
        self._last[name] = result
        if conn is None:
            self.reload()
        elif self.list_page is not None:
            self.list_page.update_connector(conn)  # only this row changes; the selection stays
        self._update_actions()
        if conn is None:
            return  # deleted meanwhile: its outcome is of no use any more
        if result.error is not None and result.error.code == errors.CONFIRMATION_REQUIRED:
            self._confirm_and_validate(conn, result.error)
            return
        self._banner_for = name if name == self.selected_name() else None
        if result.error is not None and result.error.code == errors.CANCELLED:
            self.banner.info(self.tr("The check of “{0}” was cancelled").format(name),
                             self.tr("Its status is as it was."))
        elif result.ok:
            self.banner.success(self.tr("“{0}” is valid").format(name),
                                self.tr("All {0} steps passed in {1:.0f} ms.").format(len(result.steps), result.ms))
        elif result.error is not None:
            self.banner.error(result.error, self.tr("“{0}” failed validation").format(name))

    def _confirm_and_validate(self, conn: Connector, error: ConnectorError) -> None:
        """A secret would go to an address the connector's type does not know as its own (SendGrid's
        api_base): ask once; yes is kept with the connector, and the check runs again."""
        answer = ask.warning(
            self, self.tr("Send the secret to this address?"),
            self.tr("{0}\n\nOnly say yes if you run or trust this address: whoever runs it receives the "
                    "connector's key from {1}.").format(error.message, self.desk.secrets_place()),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
            {QMessageBox.StandardButton.Yes: self.tr("&Send it there")})
        if answer != QMessageBox.StandardButton.Yes:
            self.banner.error(error, self.tr("“{0}” was not checked").format(conn.name))
            return
        name = conn.name
        self.model.set_busy(name, True)

        def work(token: CancelToken, _emit: object) -> tuple[RunResult, Connector | None]:
            confirmed = conn.copy()
            confirmed.settings["api_base_confirmed"] = True
            self.desk.save(confirmed, self.desk.load_secrets(conn), old_name=name)
            return self.desk.validate_saved(name, token), self.desk.get(name)
        self.runner.run(work, "validate",
                        on_finished=lambda r: self._validated(name, *r),
                        on_failed=lambda exc: self._validate_failed(name, exc))

    def _validate_failed(self, name: str, exc: BaseException) -> None:
        self.statusBar().clearMessage()
        self.model.set_busy(name, False)
        self._update_actions()
        self.banner.error(exc, self.tr("“{0}” could not be validated").format(name))

    # -- health ----------------------------------------------------------------------------
    def _build_health(self) -> None:
        """The re-check choice; the validate-all job and its timer are made when first used (their
        module loads mail-parsing code the list does not need to get on screen)."""
        from PySide6.QtCore import QSettings

        self._validate_all_job: ValidateAll | None = None
        self.recheck_choice = QComboBox()
        self.recheck_choice.setObjectName("recheckEvery")
        self.recheck_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.recheck_choice.setToolTip(self.tr("Re-check every connector on a schedule while Connector Desk runs"))
        for minutes, text in ((0, self.tr("Re-check: off")), (15, self.tr("Re-check every 15 min")),
                              (60, self.tr("Re-check every hour")), (240, self.tr("Re-check every 4 hours"))):
            self.recheck_choice.addItem(text, minutes)
        settings = QSettings()
        chosen = self.recheck_choice.findData(int(str(settings.value("recheck_minutes", 0) or 0)))
        self.recheck_choice.setCurrentIndex(max(0, chosen))
        self.recheck_choice.currentIndexChanged.connect(self._recheck_changed)
        self._apply_recheck()
        self.toolbar.insertWidget(self.about_action, self.recheck_choice)

    @property
    def validate_all_job(self) -> ValidateAll:
        return self._validate_all_job or self._make_validate_all_job()

    def _make_validate_all_job(self) -> ValidateAll:
        from desktop.gui.health import ValidateAll, recheck
        job = self._validate_all_job = ValidateAll(self.desk, self.runner, self)
        job.result.connect(self._validated_one)
        job.finished.connect(self._validated_all)
        job.failed.connect(self._validate_all_failed)
        self.recheck = recheck(job, self)
        return job

    def _recheck_changed(self, *_: object) -> None:
        from PySide6.QtCore import QSettings
        QSettings().setValue("recheck_minutes", int(self.recheck_choice.currentData() or 0))
        self._apply_recheck()

    def _apply_recheck(self) -> None:
        minutes = int(self.recheck_choice.currentData() or 0)
        if minutes and self._validate_all_job is None:
            self._make_validate_all_job()
        if self._validate_all_job is not None:
            self.recheck.set_interval(minutes * 60)

    def validate_all(self) -> None:
        """Every connector at once (or Cancel while they run): rows change one by one as results arrive."""
        if self.validate_all_job.running:
            self.validate_all_job.cancel()
            return
        if not self.connectors:
            return
        for c in self.connectors:
            self.model.set_busy(c.name, True)
        self.validate_all_action.setProperty("running", True)
        self.validate_all_action.setText(self.tr("Cancel validate &all"))
        self.banner.busy(self.tr("Checking {0} connectors in parallel…").format(len(self.connectors))
                         if len(self.connectors) > 1 else self.tr("Checking the connector…"))
        self.validate_all_job.start([c.name for c in self.connectors])  # what the list shows, no more
        self._update_actions()

    def _validated_one(self, result: RunResult) -> None:
        from desktop.core.service import status_of
        self.model.set_busy(result.connector, False)
        self._last[result.connector] = result
        status = status_of(result)
        conn = self.list_page.connector(result.connector) if self.list_page is not None else None
        if conn is None:
            conn = next((c for c in self.connectors if c.name == result.connector), None)
        if conn is not None and status is not None and self.list_page is not None:
            updated = conn.copy()
            updated.status = status
            self.list_page.update_connector(updated)
        if result.connector == self.selected_name():
            self._update_actions()

    def _validate_all_ended(self) -> None:
        self.validate_all_action.setProperty("running", False)
        self.validate_all_action.setText(self.tr("Validate &all"))
        for name in list(self.model.busy):
            self.model.set_busy(name, False)
        self._update_actions()

    def _validated_all(self, summary: Any) -> None:
        self._validate_all_ended()
        if summary.total != len(self.connectors):  # a scheduled re-check found the catalogue changed
            self.reload(self.selected_name())
        by_code = ", ".join(f"{code} {n}" for code, n in sorted(summary.by_code.items()))
        text = self.tr("{0} passed, {1} failed{2}{3} — in {4:.1f} s").format(
            summary.passed, summary.failed, f" ({by_code})" if by_code else "",
            self.tr(", {0} cancelled").format(summary.cancelled) if summary.cancelled else "", summary.ms / 1000)
        from desktop.core.contract import counted
        checked = counted(summary.total, ("connector", "connectors"))
        title = (self.tr("The connector is valid") if summary.total == 1 else
                 self.tr("All {0} connectors are valid").format(summary.total)) if summary.failed == 0 and \
            not summary.cancelled else self.tr("Checked {0}").format(checked)
        (self.banner.success if summary.failed == 0 and not summary.cancelled else self.banner.info)(title, text)

    def _validate_all_failed(self, exc: BaseException) -> None:
        self._validate_all_ended()
        self.banner.error(exc, self.tr("The connectors could not be checked"))

    # -- workspaces --------------------------------------------------------------------------
    CONNECT = "\x00connect"  # the combo's "Connect to a team vault…" entry

    def _build_workspaces(self) -> None:
        self.workspace_choice = QComboBox()
        self.workspace_choice.setObjectName("workspaceChoice")
        self.workspace_choice.setToolTip(self.tr("Where connectors and their secrets live: this computer, or a "
                                                 "team vault (OpenBao / HashiCorp Vault) shared with others"))
        self.workspace_choice.setEnabled(False)
        self.workspace_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.workspace_choice.activated.connect(self._workspace_chosen)
        self.toolbar.insertWidget(self.validate_all_action, self.workspace_choice)
        self._workspace_name = "local" if self.desk.team is None else "?"
        self._fill_workspaces(open_current=True)

    def _fill_workspaces(self, open_current: bool = False, select: str | None = None) -> None:
        from desktop.core import workspace
        folder = self.desk.folder
        self.runner.run(lambda _t, _e: workspace.listing(folder), "workspaces",
                        on_finished=lambda r: self._workspaces_listed(*r, open_current=open_current, select=select),
                        on_failed=lambda exc: self.banner.error(exc, self.tr("The workspaces could not be read")))

    def _workspaces_listed(self, spaces: list[Any], chosen: str, *, open_current: bool, select: str | None) -> None:
        import os

        from desktop.core.workspace import ENV
        box = self.workspace_choice
        box.clear()
        for ws in spaces:
            box.addItem(self.tr("Local — this computer") if ws.name == "local" else
                        self.tr("Team vault “{0}”").format(ws.name), ws.name)
        box.addItem(self.tr("Connect to a team vault…"), self.CONNECT)
        wanted = select or (os.environ.get(ENV) or chosen if open_current else self._workspace_name)
        box.setCurrentIndex(max(0, box.findData(wanted)))
        box.setEnabled(True)
        if (open_current or select) and wanted != self._workspace_name and box.findData(wanted) >= 0:
            self.switch_workspace(wanted)

    def _workspace_chosen(self, index: int) -> None:
        name = self.workspace_choice.itemData(index)
        if name == self.CONNECT:
            self.workspace_choice.setCurrentIndex(max(0, self.workspace_choice.findData(self._workspace_name)))
            self.connect_team_vault()
        elif name and name != self._workspace_name:
            self.switch_workspace(str(name))

    def connect_team_vault(self) -> None:
        from desktop.gui.workspace_dialog import WorkspaceDialog
        dialog = WorkspaceDialog(self.runner, self.desk.folder, self)
        dialog.connected.connect(lambda name: self._fill_workspaces(select=name))
        self.workspace_dialog = dialog
        dialog.open()

    def switch_workspace(self, name: str) -> None:
        """Open another workspace (signing in to a team vault is network work: in a worker)."""
        from desktop.connectors import registry
        from desktop.core import workspace
        folder = self.desk.folder
        self.workspace_choice.setEnabled(False)
        self.statusBar().showMessage(self.tr("Opening the workspace “{0}”…").format(name))

        def work(_t: CancelToken, _e: object) -> Desk:
            desk = workspace.open_desk(registry, name, folder)
            workspace.use(name, folder)
            return desk
        self.runner.run(work, "workspace", on_finished=lambda desk: self._workspace_opened(name, desk),
                        on_failed=lambda exc: self._workspace_failed(name, exc))

    def _workspace_opened(self, name: str, desk: Desk) -> None:
        self.desk = desk
        self._workspace_name = name
        self._last.clear()
        if self.list_page is not None:
            self.list_page.model.desk = self.list_page.details.desk = desk
        if self._validate_all_job is not None:
            self._validate_all_job.desk = desk
        if self.empty_page is not None:
            self.empty_page.set_secrets_place(desk.secrets_place())
        self.workspace_choice.setEnabled(True)
        self.setWindowTitle(APP_NAME if name == "local" else f"{APP_NAME} — {name}")
        self.reload()

    def _workspace_failed(self, name: str, exc: BaseException) -> None:
        self.workspace_choice.setEnabled(True)
        self.workspace_choice.setCurrentIndex(max(0, self.workspace_choice.findData(self._workspace_name)))
        self.statusBar().clearMessage()
        self.banner.error(exc, self.tr("The workspace “{0}” could not be opened").format(name))

    def _signs_in_with_oauth(self, conn: Connector) -> bool:
        from desktop.core.service import REFRESH_TOKEN
        ctype = self.desk.types.get(conn.type)
        return bool(ctype and any(s.name == REFRESH_TOKEN and s.applies(conn.settings) for s in ctype.secrets))

    def sign_in_again(self) -> None:
        from desktop.gui.signin import SignInAgainDialog
        name = self.selected_name()
        conn = self.list_page.connector(name) if self.list_page is not None else None
        if conn is None or not self._signs_in_with_oauth(conn):
            return
        dialog = SignInAgainDialog(self.desk, conn, self)
        self.signin_dialog = dialog
        dialog.finished.connect(lambda _r: self.reload(select=name))
        dialog.open()

    def show_failures(self) -> None:
        from desktop.gui.health import FailuresDialog
        name = self.selected_name()
        conn = self.list_page.connector(name) if self.list_page is not None else None
        if conn is None:
            return
        dialog = FailuresDialog(self.desk, conn, self)
        self.failures_dialog = dialog
        dialog.open()
        dialog.refresh()  # read in a worker; the dialog shows "Reading failed sends…" meanwhile

    def round_trip(self) -> None:
        from desktop.gui.dialogs import RoundTripDialog
        name = self.selected_name()
        conn = next((c for c in self.connectors if c.name == name), None)
        if conn is None:
            return
        dialog = RoundTripDialog(self.desk, self.connectors, conn, self)
        self.roundtrip_dialog = dialog
        dialog.finished.connect(lambda _r: self.reload(select=name))
        dialog.open()

    def rotate(self) -> None:
        from desktop.gui.dialogs import RotateDialog
        name = self.selected_name()
        conn = next((c for c in self.connectors if c.name == name), None)
        if conn is None:
            return
        dialog = RotateDialog(self.desk, conn, self)
        self.rotate_dialog = dialog
        dialog.finished.connect(lambda _r: self.reload(select=name))
        dialog.open()

    def show_about(self) -> None:
        from desktop.gui.dialogs import AboutDialog
        self.about_dialog = AboutDialog(self.desk, self.runner, self)
        self.about_dialog.open()

    def closeEvent(self, event: Any) -> None:
        self.runner.cancel_all()
        self.runner.wait(3000)
        super().closeEvent(event)
