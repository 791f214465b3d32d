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

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSizePolicy, QStackedWidget, QToolBar, QWidget

from desktop import APP_NAME
from desktop.core.errors import ConnectorError
from desktop.core.model import Connector
from desktop.core.service import Desk
from desktop.gui.firstpaint import FirstPaint
from desktop.gui.worker import TaskRunner

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.deadline import CancelToken
    from desktop.core.pipeline import RunResult
    from desktop.core.wizard import WizardFlow
    from desktop.gui.banner import ResultBanner
    from desktop.gui.connector_list import ConnectorList, ConnectorModel, EmptyState
    from desktop.gui.wizard import ConnectorWizard


class MainWindow(QMainWindow):
    """The connector list is built once the window has painted (``self.list_page`` is None until
    then; a catalogue that loads sooner waits for it)."""

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.runner = TaskRunner(self)
        self.setWindowTitle(APP_NAME)
        self.setObjectName("mainWindow")
        self.resize(960, 600)
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
        FirstPaint(self, self._build_body)
        self.reload()

    # -- building --------------------------------------------------------------------------
    def _build_actions(self) -> None:
        tb = QToolBar(self.tr("Connectors"))
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
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.about_action = action(self.tr("&About"), QKeySequence.StandardKey.HelpContents, self.show_about,
                                   self.tr("Version, Qt and the keychain in use"))
        self.plain_actions = [self.new_action, self.about_action]
        self.selection_actions = [self.edit_action, self.dup_action, self.delete_action, self.validate_action,
                                  self.roundtrip_action, self.rotate_action]

    def _build_body(self) -> None:
        """The list page and the empty state (after the first paint)."""
        if self.list_page is not None:
            return
        from desktop.gui.connector_list import ConnectorList, EmptyState

        self.empty_page = EmptyState()
        self.empty_page.create_requested.connect(self.new_connector)
        self.list_page = ConnectorList(self.desk)
        self.list_page.selection_changed.connect(self._update_actions)
        self.list_page.filtered.connect(self._show_count)
        self.list_page.activated.connect(self.edit_connector)
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

    def reload(self, select: str | None = None) -> None:
        """Load the catalogue in a worker; the selection is kept (or moved to ``select``)."""
        self._generation += 1
        generation = self._generation
        select = select or self.selected_name()
        self.runner.run(lambda _t, _e: self.desk.list(), "load",
                        on_finished=lambda conns: self._when_built(lambda: self._loaded(conns, select, generation)),
                        on_failed=lambda exc: self._when_built(lambda: self._load_failed(exc)))

    def _when_built(self, fn: Callable[[], None]) -> None:
        if self.list_page is not None:
            fn()
        else:
            self._waiting.append(fn)

    def _loaded(self, connectors: list[Connector], select: str | None, generation: int) -> None:
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
        self.statusBar().showMessage(text)

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
        wiz.saved.connect(lambda c: self.reload(select=c.name))
        wiz.saved.connect(lambda c: self.statusBar().showMessage(self.tr("Saved “{0}”").format(c.name), 5000))
        wiz.setModal(True)
        wiz.show()
        self.wizard = wiz
        return wiz

    def new_connector(self) -> ConnectorWizard:
        from desktop.core.wizard import WizardFlow
        taken = {c.name for c in self.connectors}
        return self._open_wizard(WizardFlow(self.desk.types, taken))

    def _with_secrets(self, name: str, then: Any, doing: str) -> None:
        conn = next((c for c in self.connectors if c.name == name), None)
        if conn is None:
            return
        self.statusBar().showMessage(self.tr("Reading the keychain…"))
        self.runner.run(lambda _t, _e: self.desk.load_secrets(conn), doing,
                        on_finished=lambda secrets: self._keychain_read(conn, secrets, then),
                        on_failed=lambda exc: self.banner.error(exc, self.tr("Could not read the keychain")))

    def edit_connector(self) -> None:
        name = self.selected_name()
        if name:
            from desktop.core.wizard import WizardFlow
            taken = {c.name for c in self.connectors}
            self._with_secrets(name, lambda c, s: self._open_wizard(
                WizardFlow(self.desk.types, taken, existing=c, secrets=s)), "edit")

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
            self._open_wizard(WizardFlow(self.desk.types, taken, existing=copy, secrets=secrets, duplicate=True))
        self._with_secrets(name, open_copy, "duplicate")

    def _keychain_read(self, conn: Connector, secrets: Any, then: Any) -> None:
        self.statusBar().clearMessage()
        then(conn, secrets)

    def _deleted(self, name: str) -> None:
        self.reload()
        self.statusBar().showMessage(self.tr("Deleted “{0}”").format(name), 5000)

    def delete_connector(self) -> None:
        name = self.selected_name()
        if not name:
            return
        answer = QMessageBox.warning(
            self, self.tr("Delete connector?"),
            self.tr("Delete “{0}” and remove its secrets from the keychain? Workflows that use it will "
                    "stop working. This cannot be undone.").format(name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.runner.run(lambda _t, _e: self.desk.delete(name), "delete",
                        on_finished=lambda _r: self._deleted(name),
                        on_failed=lambda exc: self.banner.error(exc, self.tr("Not deleted")))

    def validate_selected(self) -> None:
        name = self.selected_name()
        if not name or name in self.model.busy:
            return
        self.model.set_busy(name, True)

        def work(token: CancelToken, _emit: object) -> tuple[RunResult, Connector | None]:
            result = self.desk.validate_saved(name, token)
            try:
                return result, self.desk.get(name)  # with the status just recorded
            except ConnectorError:
                return result, None  # deleted meanwhile (by another process)
        self.runner.run(work, "validate",
                        on_finished=lambda r: self._validated(name, *r),
                        on_failed=lambda exc: self._validate_failed(name, exc))

    def _validated(self, name: str, result: RunResult, conn: Connector | None) -> None:
        self.model.set_busy(name, False)
        if result.ok:
            self.banner.success(self.tr("“{0}” is valid").format(name),
                                self.tr("All {0} steps passed in {1:.0f} ms.").format(len(result.steps), result.ms))
        elif result.error is not None:
            self.banner.error(result.error, self.tr("“{0}” failed validation").format(name))
        if conn is None:
            self.reload()
        elif self.list_page is not None:
            self.list_page.update_connector(conn)  # only this row changes; the selection stays

    def _validate_failed(self, name: str, exc: BaseException) -> None:
        self.model.set_busy(name, False)
        self.banner.error(exc, self.tr("“{0}” could not be validated").format(name))

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
