"""The connector list page (search, table with status, result banner) and the empty state.

Built after the main window's first paint (see main_window.MainWindow): the table and its model are
what make PySide build the ``Qt`` namespace's ~90 enums (~15 ms), which the window does not need to
get on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.model import Connector
from desktop.core.service import Desk
from desktop.gui.banner import FAIL_COLOR, OK_COLOR, WARN_COLOR, ResultBanner

COLUMNS = ("Name", "Type", "Server", "Status")
Index = QModelIndex | QPersistentModelIndex
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's precomputed search text (lower case)
SEARCH_DELAY_MS = 120  # typing pauses shorter than this filter once, not per keystroke


def _local(iso: str | None) -> str:
    if not iso:
        return "?"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


@dataclass(slots=True)
class _Row:
    """Everything the table shows of one connector, computed once per change (``data()`` is a look-up)."""

    connector: Connector
    cells: list[str]
    tooltips: list[str | None]
    search: str
    warned: bool
    status_color: str | None


class ConnectorModel(QAbstractTableModel):
    """The connectors, one row each, sorted by name. Follows Qt's model/view contract: a change to one
    connector (its status, the busy mark) is a ``dataChanged`` of its row; a new list is a reset."""

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.rows: list[_Row] = []
        self.busy: set[str] = set()
        self._row_of: dict[str, int] = {}

    @property
    def connectors(self) -> list[Connector]:
        return [r.connector for r in self.rows]

    def set_connectors(self, connectors: list[Connector]) -> None:
        self.beginResetModel()
        self.rows = [self._row(c) for c in sorted(connectors, key=lambda c: c.name.lower())]
        self._row_of = {r.connector.name: i for i, r in enumerate(self.rows)}
        self.busy &= set(self._row_of)
        self.endResetModel()

    def row_of(self, name: str) -> int | None:
        return self._row_of.get(name)

    def update_connector(self, conn: Connector) -> None:
        """One connector changed (a new status): its row is recomputed and repainted."""
        row = self._row_of.get(conn.name)
        if row is not None:
            self.rows[row] = self._row(conn)
            self._changed(row)

    def set_busy(self, name: str, busy: bool) -> None:
        (self.busy.add if busy else self.busy.discard)(name)
        row = self._row_of.get(name)
        if row is not None:
            self.rows[row] = self._row(self.rows[row].connector)
            self._changed(row)

    def _changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _row(self, c: Connector) -> _Row:
        ctype = self.desk.types.get(c.type)
        warnings = ctype.warnings(c.settings) if ctype else []
        status = self.status_text(c)
        type_label = ctype.label if ctype else c.type
        server = ctype.server_label(c.settings) if ctype else "?"
        cells = [("⚠ " if warnings else "") + c.name, type_label, server, status]
        tip = "\n".join(([c.description] if c.description else []) + ["⚠ " + w for w in warnings]) or None
        status_tip = tip
        if c.status.state == "failed":
            status_tip = "\n".join(p for p in (tip, f"[{c.status.code}] {c.status.message}") if p)
        color = None if c.name in self.busy else {"valid": OK_COLOR, "failed": FAIL_COLOR}.get(c.status.state)
        return _Row(c, cells, [tip, tip, tip, status_tip], " ".join([c.name, type_label, server, status]).lower(),
                    bool(warnings), color)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

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
            return self.tr("Failed at {0}: {1}").format(_local(st.at), st.message or st.code or "?")
        return self.tr("Never validated")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return r.cells[col]
        if role == SEARCH_ROLE:
            return r.search
        if role == Qt.ItemDataRole.UserRole:
            return r.connector.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return r.tooltips[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 3 and r.status_color:
                return QBrush(QColor(r.status_color))
            if col == 0 and r.warned:
                return QBrush(QColor(WARN_COLOR))
        return None


class ConnectorList(QWidget):
    """Search, the table of connectors, a "no match" note and the result banner.

    Signals:
        selection_changed(): the selected connector changed (or the filter hid it).
        filtered(): the search changed which rows are shown.
        activated(): a connector was double-clicked.
    """

    selection_changed = Signal()
    activated = Signal()
    filtered = Signal()

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ConnectorModel(desk)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(SEARCH_ROLE)  # one precomputed lower-case text per row
        self.proxy.setFilterKeyColumn(0)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_search)
        v = QVBoxLayout(self)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(self.tr("Search by name, type, server or status  (Ctrl+F)"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
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
        # Fixed starting widths the user can drag: sizing to contents would measure every row.
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((240, 110, 260)):
            h.resizeSection(col, width)
        h.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.activated.emit())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        v.addWidget(self.table, 1)
        self.no_match = QLabel()
        self.no_match.setObjectName("noMatch")
        self.no_match.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_match.setProperty("role", "help")
        self.no_match.hide()
        v.addWidget(self.no_match)
        self.banner = ResultBanner()
        v.addWidget(self.banner)

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return str(self.proxy.data(rows[0], Qt.ItemDataRole.UserRole))

    def show_connectors(self, connectors: list[Connector], select: str | None) -> None:
        self.model.set_connectors(connectors)
        self.apply_search()
        if select:
            self.select(select)

    def select(self, name: str) -> None:
        row = self.model.row_of(name)
        if row is not None:
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            if index.isValid():
                self.table.selectRow(index.row())
                self.table.scrollTo(index)

    def update_connector(self, conn: Connector) -> None:
        """One connector changed: its row alone is repainted, the selection stays as it is."""
        self.model.update_connector(conn)

    def shown_count(self) -> tuple[int, int]:
        """(rows the search shows, all rows)."""
        return self.proxy.rowCount(), self.model.rowCount()

    def apply_search(self) -> None:
        """Filter by the search field now (typing calls this once it pauses)."""
        self._search_timer.stop()
        text = self.search.text()
        self.proxy.setFilterFixedString(text.lower())
        none = self.proxy.rowCount() == 0 and bool(text)
        self.no_match.setText(self.tr("No connector matches “{0}”.").format(text))
        self.no_match.setVisible(none)
        self.filtered.emit()
        self.selection_changed.emit()


class EmptyState(QWidget):
    """What a first-time user sees: what a connector is, and one button to create one.

    Signals:
        create(): the button was pressed.
    """

    create = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        ev = QVBoxLayout(self)
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
        self.button = QPushButton(self.tr("Create your first connector"))
        self.button.setObjectName("createFirst")
        self.button.setDefault(True)
        self.button.clicked.connect(self.create.emit)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        ev.addWidget(title)
        ev.addWidget(text)
        ev.addSpacing(12)
        ev.addLayout(row)
        ev.addStretch(3)
