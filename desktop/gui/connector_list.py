"""The connector list page (search, table with status, result banner) and the empty state.

Built after the main window's first paint (see main_window.MainWindow): the table and its model are
what make PySide build the ``Qt`` namespace's ~90 enums (~15 ms), which the window does not need to
get on screen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
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


class ConnectorList(QWidget):
    """Search, the table of connectors, a "no match" note and the result banner.

    Signals:
        selection_changed(): the selected connector changed (or the filter hid it).
        activated(): a connector was double-clicked.
    """

    selection_changed = Signal()
    activated = Signal()

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ConnectorModel(desk)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        v = QVBoxLayout(self)
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
        for col in (0, 1, 2):
            h.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
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
        if select:
            for row in range(self.proxy.rowCount()):
                if self.proxy.data(self.proxy.index(row, 0), Qt.ItemDataRole.UserRole) == select:
                    self.table.selectRow(row)
        self._filter(self.search.text())

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        none = self.proxy.rowCount() == 0 and bool(text)
        self.no_match.setText(self.tr("No connector matches “{0}”.").format(text))
        self.no_match.setVisible(none)
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
