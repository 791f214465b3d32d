"""The main window: the connector list with status, search, an inviting empty state, and
New / Edit / Duplicate / Delete / Validate. Catalogue and keychain work runs in workers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.core.model import Connector
from desktop.core.service import Desk
from desktop.gui.banner import FAIL_COLOR, OK_COLOR, WARN_COLOR, ResultBanner
from desktop.gui.worker import TaskRunner

if TYPE_CHECKING:
    from desktop.core.pipeline import RunResult
    from desktop.core.wizard import WizardFlow
    from desktop.gui.wizard import ConnectorWizard

COLUMNS = ("Name", "Type", "Server", "Status")
Index = QModelIndex | QPersistentModelIndex


def _local(iso: str | None) -> str:
    if not iso:
        return "?"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class ConnectorModel(QAbstractTableModel):
    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.connectors: list[Connector] = []
        self.busy: set[str] = set()

    def set_connectors(self, connectors: list[Connector]) -> None:
        self.beginResetModel()
        self.connectors = sorted(connectors, key=lambda c: c.name.lower())
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.connectors)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(COLUMNS[section])
        return None

    def status_text(self, c: Connector) -> str:
        if c.name in self.busy:
            return self.tr("Validating…")
        st = c.status
        if st.state == "valid":
            return self.tr("Valid at {0}").format(_local(st.at))
        if st.state == "failed":
            return self.tr("Failed: {0}").format(st.message or st.code or "?")
        return self.tr("Never validated")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        c = self.connectors[index.row()]
        col = index.column()
        ctype = self.desk.types.get(c.type)
        warnings = ctype.warnings(c.settings) if ctype else []
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return ("⚠ " if warnings else "") + c.name
            if col == 1:
                return ctype.label if ctype else c.type
            if col == 2:
                return ctype.server_label(c.settings) if ctype else "?"
            return self.status_text(c)
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [c.description] if c.description else []
            parts += ["⚠ " + w for w in warnings]
            if col == 3 and c.status.state == "failed":
                parts.append(f"[{c.status.code}] {c.status.message}")
            return "\n".join(parts) or None
        if role == Qt.ItemDataRole.ForegroundRole and col == 3:
            color = {"valid": OK_COLOR, "failed": FAIL_COLOR}.get(c.status.state)
            return QBrush(QColor(color)) if color and c.name not in self.busy else None
        if role == Qt.ItemDataRole.ForegroundRole and col == 0 and warnings:
            return QBrush(QColor(WARN_COLOR))
        if role == Qt.ItemDataRole.UserRole:
            return c.name
        return None


class MainWindow(QMainWindow):
    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.runner = TaskRunner(self)
        self.setWindowTitle(APP_NAME)
        self.setObjectName("mainWindow")
        self.resize(960, 600)
        self.model = ConnectorModel(desk)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self._build_actions()
        self._build_body()
        self.loaded = False
        self._generation = 0  # each reload supersedes the ones still on their way
        self.reload()

    # -- building --------------------------------------------------------------------------
    def _build_actions(self) -> None:
        tb = QToolBar(self.tr("Connectors"))
        tb.setObjectName("toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(tb)

        def action(text: str, shortcut: QKeySequence | str, slot: Any, tip: str) -> QAction:
            a = QAction(text, self)
            a.setShortcut(QKeySequence(shortcut))
            a.setStatusTip(tip)
            a.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
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
        self.selection_actions = [self.edit_action, self.dup_action, self.delete_action, self.validate_action,
                                  self.roundtrip_action, self.rotate_action]

    def _build_body(self) -> None:
        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)

        # Empty state
        empty = QWidget()
        empty.setObjectName("emptyState")
        ev = QVBoxLayout(empty)
        ev.addStretch(2)
        title = QLabel(self.tr("No connectors yet"))
        title.setProperty("role", "title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(self.tr(
            "A connector holds the server, sign-in and checks for one thing your workflows use —\n"
            "an SMTP server or SendGrid key to send mail, an IMAP mailbox to watch, a Kafka topic.\n"
            "Create one and Connector Desk checks it live — encryption, sign-in, the target — before you "
            "save it.\nPasswords and keys go to your system keychain, never to a file."))
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        text.setProperty("role", "help")
        self.empty_button = QPushButton(self.tr("Create your first connector"))
        self.empty_button.setObjectName("createFirst")
        self.empty_button.setDefault(True)
        self.empty_button.clicked.connect(self.new_connector)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.empty_button)
        row.addStretch(1)
        ev.addWidget(title)
        ev.addWidget(text)
        ev.addSpacing(12)
        ev.addLayout(row)
        ev.addStretch(3)

        # List
        page = QWidget()
        v = QVBoxLayout(page)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(self.tr("Search by name, type, server or status  (Ctrl+F)"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.search.setFocus)
        self.addAction(find)
        v.addWidget(self.search)
        self.table = QTableView()
        self.table.setObjectName("connectorTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.edit_connector())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        v.addWidget(self.table, 1)
        self.no_match = QLabel()
        self.no_match.setObjectName("noMatch")
        self.no_match.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_match.setProperty("role", "help")
        self.no_match.hide()
        v.addWidget(self.no_match)
        self.banner = ResultBanner()
        v.addWidget(self.banner)

        loading = QLabel(self.tr("Loading connectors…"))
        loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(loading)
        self.stack.addWidget(empty)
        self.stack.addWidget(page)
        self.empty_page, self.list_page = empty, page
        self.statusBar().showMessage(self.tr("Ready"))
        self._update_actions()

    # -- state -----------------------------------------------------------------------------
    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return str(self.proxy.data(rows[0], Qt.ItemDataRole.UserRole))

    def _update_actions(self) -> None:
        name = self.selected_name()
        for a in self.selection_actions:
            a.setEnabled(name is not None)
            base = a.statusTip()
            a.setToolTip(base if name else self.tr("{0} — select a connector first").format(base))

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        none = self.proxy.rowCount() == 0 and bool(text)
        self.no_match.setText(self.tr("No connector matches “{0}”.").format(text))
        self.no_match.setVisible(none)
        self._update_actions()

    def reload(self, select: str | None = None) -> None:
        """Load the catalogue in a worker; the selection is kept (or moved to ``select``)."""
        self._generation += 1
        generation = self._generation
        select = select or self.selected_name()
        self.runner.run(lambda _t, _e: self.desk.list(), "load",
                        on_finished=lambda conns: self._loaded(conns, select, generation),
                        on_failed=self._load_failed)

    def _loaded(self, connectors: list[Connector], select: str | None, generation: int) -> None:
        if generation != self._generation:
            return  # an older load finishing late: a newer one has the current catalogue
        self.loaded = True
        self.model.set_connectors(connectors)
        self.stack.setCurrentWidget(self.list_page if connectors else self.empty_page)
        report = self.desk.catalogue.report
        if report.recovered_from_backup:
            self.banner.info(self.tr("The catalogue was restored from its last good copy"), report.problem)
        if select:
            for row in range(self.proxy.rowCount()):
                idx = self.proxy.index(row, 0)
                if self.proxy.data(idx, Qt.ItemDataRole.UserRole) == select:
                    self.table.selectRow(row)
        self._filter(self.search.text())
        self.statusBar().showMessage(self.tr("{0} connector(s)").format(len(connectors)))

    def _load_failed(self, exc: BaseException) -> None:
        self.loaded = True
        self.stack.setCurrentWidget(self.list_page)
        self.banner.error(exc, self.tr("The catalogue could not be read"))

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
        taken = {c.name for c in self.model.connectors}
        return self._open_wizard(WizardFlow(self.desk.types, taken))

    def _with_secrets(self, name: str, then: Any, doing: str) -> None:
        conn = next((c for c in self.model.connectors if c.name == name), None)
        if conn is None:
            return
        self.statusBar().showMessage(self.tr("Reading the keychain…"))
        self.runner.run(lambda _t, _e: self.desk.load_secrets(conn), doing,
                        on_finished=lambda secrets: (self.statusBar().clearMessage(), then(conn, secrets)),
                        on_failed=lambda exc: self.banner.error(exc, self.tr("Could not read the keychain")))

    def edit_connector(self) -> None:
        name = self.selected_name()
        if name:
            from desktop.core.wizard import WizardFlow
            taken = {c.name for c in self.model.connectors}
            self._with_secrets(name, lambda c, s: self._open_wizard(
                WizardFlow(self.desk.types, taken, existing=c, secrets=s)), "edit")

    def duplicate_connector(self) -> None:
        name = self.selected_name()
        if not name:
            return
        from desktop.core.wizard import WizardFlow
        taken = {c.name for c in self.model.connectors}

        def open_copy(conn: Connector, secrets: Any) -> None:
            copy = conn.copy()
            copy.name = self.desk.duplicate_name(conn.name)
            copy.status = type(conn.status)()
            self._open_wizard(WizardFlow(self.desk.types, taken, existing=copy, secrets=secrets, duplicate=True))
        self._with_secrets(name, open_copy, "duplicate")

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
                        on_finished=lambda _r: (self.reload(), self.statusBar().showMessage(
                            self.tr("Deleted “{0}”").format(name), 5000)),
                        on_failed=lambda exc: self.banner.error(exc, self.tr("Not deleted")))

    def validate_selected(self) -> None:
        name = self.selected_name()
        if not name or name in self.model.busy:
            return
        self.model.busy.add(name)
        self.model.layoutChanged.emit()
        self.runner.run(lambda token, _e: self.desk.validate_saved(name, token), "validate",
                        on_finished=lambda r: self._validated(name, r),
                        on_failed=lambda exc: self._validate_failed(name, exc))

    def _validated(self, name: str, result: RunResult) -> None:
        self.model.busy.discard(name)
        if result.ok:
            self.banner.success(self.tr("“{0}” is valid").format(name),
                                self.tr("All {0} steps passed in {1:.0f} ms.").format(len(result.steps), result.ms))
        elif result.error is not None:
            self.banner.error(result.error, self.tr("“{0}” failed validation").format(name))
        self.reload(select=name)

    def _validate_failed(self, name: str, exc: BaseException) -> None:
        self.model.busy.discard(name)
        self.model.layoutChanged.emit()
        self.banner.error(exc, self.tr("“{0}” could not be validated").format(name))

    def round_trip(self) -> None:
        from desktop.gui.dialogs import RoundTripDialog
        name = self.selected_name()
        conn = next((c for c in self.model.connectors if c.name == name), None)
        if conn is None:
            return
        dialog = RoundTripDialog(self.desk, self.model.connectors, conn, self)
        self.roundtrip_dialog = dialog
        dialog.finished.connect(lambda _r: self.reload(select=name))
        dialog.open()

    def rotate(self) -> None:
        from desktop.gui.dialogs import RotateDialog
        name = self.selected_name()
        conn = next((c for c in self.model.connectors if c.name == name), None)
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
