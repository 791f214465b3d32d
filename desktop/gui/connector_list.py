"""The connector list page (search, table with status, result banner) and the empty state.
(Over 300 lines: the table model and its view are read together; both load after the first paint.)

Built after the main window's first paint (see main_window.MainWindow): the table and its model are
what make PySide build the ``Qt`` namespace's ~90 enums (~15 ms), which the window does not need to
get on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core import errors
from desktop.core.describe import summary
from desktop.core.model import Connector
from desktop.core.secret import KEYCHAIN_PLACE
from desktop.core.service import Desk
from desktop.core.store import (
    NAME,
    SEP,
    SERVER,
    STATUS,
    TYPE_LABEL,
    WARNINGS,
    ListedRow,
    Summary,
    listed_connector,
    listed_summary,
)
from desktop.gui.banner import FAIL_COLOR, OK_COLOR, WARN_COLOR, ResultBanner
from desktop.gui.timefmt import local_time

COLUMNS = ("Name", "Type", "Server", "Status")
Index = QModelIndex | QPersistentModelIndex
SEARCH_DELAY_MS = 120  # typing pauses shorter than this filter once, not per keystroke
SEARCH_SLICE = 1000  # rows whose search texts are made per idle moment after a new list
SEARCH_START_MS = 50  # the first slice waits this long: a new list is painted first (a zero timer came before)


@dataclass(slots=True)
class _Row:
    """What the table shows of one connector, computed once per change (``data()`` is a look-up). The
    name, type and server come from the connector's stored summary (no connector type is imported for
    the list); the connector itself is made from its catalogue row when first asked for (its status
    for the rows on screen, its settings for the selected one); the status text, whose time is
    formatted in local time, when the row is first shown, searched or sorted by status."""

    name: str
    key: str  # the name in lower case: the sort order and its tie-breaker
    name_cell: str
    type_label: str
    server: str
    warnings: tuple[str, ...]  # as stored: one text, the warnings separated by SEP
    source: ListedRow | None  # the catalogue row the connector is made from
    conn: Connector | None = None
    status: str | None = None
    search: str | None = None

    @property
    def connector(self) -> Connector:
        if self.conn is None:
            assert self.source is not None
            self.conn = listed_connector(self.source)
        return self.conn


def _listed_row(row: ListedRow) -> _Row:
    name, warned = row[NAME], row[WARNINGS]
    return _Row(name, name.lower(), "⚠ " + name if warned else name, row[TYPE_LABEL], row[SERVER],
                (warned,) if warned else (), row)


_ICONS: dict[str, QIcon] = {}
_STATUS_COLORS = {"valid": OK_COLOR, "failed": FAIL_COLOR}


def _state_icon(state: str) -> QIcon:
    """A small round mark in the status's colour beside each name: a failed connector is seen at a
    glance, whatever the columns shown (the status column itself says it in words)."""
    if state not in _ICONS:
        color = {"valid": OK_COLOR, "failed": FAIL_COLOR, "busy": "#1e6fd9"}.get(state, "#b0b0b0")
        pix = QPixmap(14, 14)
        pix.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pix)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor(color))
        painter.setPen(QColor(color))
        painter.drawEllipse(2, 2, 10, 10)
        painter.end()
        _ICONS[state] = QIcon(pix)
    return _ICONS[state]


_PALETTE = ("#1e6fd9", "#7a3fc4", "#0f8a6a", "#c4621a", "#b0306a", "#4a6b8a", "#8a7a1e")


def _type_icon(type_name: str, label: str) -> QIcon:
    """A badge with the type's first letter, in a colour of its own (any type, shipped or plug-in)."""
    key = f"type:{type_name}"
    if key not in _ICONS:
        color = QColor(_PALETTE[sum(map(ord, type_name)) % len(_PALETTE)])
        pix = QPixmap(16, 16)
        pix.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pix)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(color)
        painter.setPen(color)
        painter.drawRoundedRect(0, 0, 16, 16, 4, 4)
        painter.setPen(QColor("white"))
        font = painter.font()
        font.setBold(True)
        font.setPixelSize(11)
        painter.setFont(font)
        painter.drawText(pix.rect(), int(Qt.AlignmentFlag.AlignCenter), (label or type_name or "?")[:1].upper())
        painter.end()
        _ICONS[key] = QIcon(pix)
    return _ICONS[key]


class ConnectorModel(QAbstractTableModel):
    """The connectors shown in the list: searched and sorted here, in Python, over texts computed once
    per change, so that painting touches only the rows on screen and a search keystroke over 10,000
    connectors is one pass over precomputed strings (no proxy model calling ``data()`` per row).

    Qt's model/view contract: a change to one connector (its status, the busy mark) is a
    ``dataChanged`` of its row; a sort is a layout change; a new list or a search (rows come and go)
    is a model reset (the list page keeps the selection by name across it)."""

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.rows: list[_Row] = []  # every connector, in the current sort order
        self.shown: list[int] = []  # indexes into rows that the search lets through
        self.busy: set[str] = set()
        self.search_text = ""
        self.sort_column, self.sort_order = 0, Qt.SortOrder.AscendingOrder
        self._shown_row_of: dict[str, int] | None = {}  # name → row shown; None: not made yet
        self._generation = 0  # of the rows: a slice of _prepare_search for older rows stops
        self._words = {"busy": self.tr("Validating…"), "valid": self.tr("Valid at {0}"),
                       "sign-in": self.tr("Failed at {0}: needs a new sign-in (Sign in again…)"),
                       "failed": self.tr("Failed at {0}: {1}"), "never": self.tr("Never validated")}

    @property
    def connectors(self) -> list[Connector]:
        return [r.connector for r in self.rows]

    def total(self) -> int:
        return len(self.rows)

    def set_connectors(self, connectors: Sequence[Connector] | Sequence[ListedRow]) -> None:
        """The connectors to show: Connector objects, or the catalogue's rows as Desk.listing() reads
        them (made into connectors only when used)."""
        rows = [_listed_row(c) if type(c) is tuple else self._row(c) for c in connectors]  # type: ignore[arg-type]
        if self.busy:
            self.busy &= {r.name for r in rows}
        self.beginResetModel()
        self.rows = rows
        self._order()
        self._select_shown()
        self.endResetModel()
        self._generation += 1
        generation = self._generation
        QTimer.singleShot(SEARCH_START_MS, self, lambda: self._prepare_search(generation))

    def set_search(self, text: str) -> None:
        self.beginResetModel()
        self.search_text = text.lower()
        self._select_shown()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder (the view asks when a header is clicked): a layout change, persistent indexes
        (the selection) moved to where their connectors now stand."""
        self.layoutAboutToBeChanged.emit()
        before = [self.name_at(row) for row in range(len(self.shown))]
        persistent = self.persistentIndexList()
        self.sort_column, self.sort_order = column, order
        self._order()
        self._select_shown()
        moved = []
        for index in persistent:
            row = self.row_of(before[index.row()]) if 0 <= index.row() < len(before) else None
            moved.append(self.index(row, index.column()) if row is not None else QModelIndex())
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _order(self) -> None:
        col, reverse = self.sort_column, self.sort_order == Qt.SortOrder.DescendingOrder
        if not col:
            self.rows.sort(key=attrgetter("key"), reverse=reverse)
            return
        self.rows.sort(key=lambda r: (self.cell(r, col).lower(), r.key), reverse=reverse)

    def _select_shown(self) -> None:
        text = self.search_text
        if text:
            for r in self.rows:
                if r.search is None:
                    r.search = " ".join((r.name, r.type_label, r.server, self.cell(r, 3))).lower()
            self.shown = [i for i, r in enumerate(self.rows) if text in r.search]  # type: ignore[operator]
        else:
            self.shown = list(range(len(self.rows)))
        self._shown_row_of = None  # made when first asked for (rarely needed right after a reset)

    def row_of(self, name: str) -> int | None:
        """The row showing ``name`` (None when the search hides it)."""
        if self._shown_row_of is None:
            rows = self.rows
            self._shown_row_of = {rows[i].name: row for row, i in enumerate(self.shown)}
        return self._shown_row_of.get(name)

    def name_at(self, row: int) -> str:
        return self.rows[self.shown[row]].name

    def update_connector(self, conn: Connector) -> None:
        """One connector changed (a new status): its row is recomputed and repainted, where it stands."""
        self._replace(conn.name, conn)

    def set_busy(self, name: str, busy: bool) -> None:
        (self.busy.add if busy else self.busy.discard)(name)
        self._replace(name, None)

    def _replace(self, name: str, conn: Connector | None) -> None:
        for i, r in enumerate(self.rows):
            if r.name == name:
                self.rows[i] = self._row(conn or r.connector)
                row = self.row_of(name)
                if row is not None:
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                return

    def _row(self, c: Connector) -> _Row:
        listed = listed_summary(c)  # read with the connector: no connector type is needed
        if listed is not None:
            type_label, server, warned = listed
            warnings: tuple[str, ...] = (warned,) if warned else ()
        else:
            ctype = self.desk.types.get(c.type)
            s = summary(c, ctype) if ctype else Summary(c.type, "?", (), "")
            type_label, server, warnings = s.type_label, s.server, s.warnings
        name = c.name
        return _Row(name, name.lower(), "⚠ " + name if warnings else name, type_label, server, warnings, None, c)

    def cell(self, r: _Row, col: int) -> str:
        if col != 3:
            return (r.name_cell, r.type_label, r.server)[col]
        if r.status is None:
            if r.conn is None and r.source is not None:  # from the row's status columns, no connector made
                r.status = self._status_words(r.name, *r.source[STATUS:STATUS + 4])
            else:
                st = r.connector.status
                r.status = self._status_words(r.name, st.state, st.at, st.code, st.message)
        return r.status

    def _tooltip(self, r: _Row, col: int) -> str | None:
        c = r.connector
        warnings = [w for text in r.warnings for w in text.split(SEP)]
        tip = "\n".join(([c.description] if c.description else []) + ["⚠ " + w for w in warnings]) or None
        if col == 3 and c.status.state == "failed":
            return "\n".join(p for p in (tip, f"[{c.status.code}] {c.status.message}") if p)
        return tip

    def status_text(self, c: Connector) -> str:
        st = c.status
        return self._status_words(c.name, st.state, st.at, st.code, st.message)

    def _status_words(self, name: str, state: str, at: str | None, code: str | None, message: str | None) -> str:
        words = self._words
        if name in self.busy:
            return words["busy"]
        if state == "valid":
            return words["valid"].format(local_time(at))
        if state == "failed" and code == errors.OAUTH_SIGN_IN_REQUIRED:
            return words["sign-in"].format(local_time(at))
        if state == "failed":
            return words["failed"].format(local_time(at), message or code or "?")
        return words["never"]

    def _prepare_search(self, generation: int, start: int = 0) -> None:
        """Make the search texts of every row a slice at a time while the window is idle, so the
        first keystroke finds them made (a keystroke before that makes the rest itself)."""
        if generation != self._generation:  # a newer list: it has its own
            return
        rows = self.rows
        for r in rows[start:start + SEARCH_SLICE]:
            if r.search is None:
                r.search = " ".join((r.name, r.type_label, r.server, self.cell(r, 3))).lower()
        if start + SEARCH_SLICE < len(rows):
            QTimer.singleShot(0, self, lambda: self._prepare_search(generation, start + SEARCH_SLICE))

    # -- Qt's model interface: look-ups only -------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.shown)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(COLUMNS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.rows[self.shown[index.row()]]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(r, col)
        if role == Qt.ItemDataRole.UserRole:
            return r.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(r, col)
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return _state_icon("busy" if r.name in self.busy else r.connector.status.state)
        if role == Qt.ItemDataRole.DecorationRole and col == 1:
            return _type_icon(r.connector.type, r.type_label)
        if role == Qt.ItemDataRole.ForegroundRole:
            color = None if col != 3 or r.name in self.busy else _STATUS_COLORS.get(r.connector.status.state)
            # A QColor (the delegate paints it as a solid brush): PySide's first QBrush costs ~3 ms of
            # enums (QGradient's, QImage's) on the way to the list's first paint.
            if color:
                return QColor(color)
            if col == 0 and r.warnings:
                return QColor(WARN_COLOR)
        return None


class ConnectorList(QWidget):
    """Search, the table of connectors, a "no match" note and the result banner.

    Signals:
        selection_changed(): the selected connector changed (or the filter hid it).
        filtered(): the search changed which rows are shown.
        activated(): a connector was double-clicked (or Enter pressed in the search field: the
            first match, as Enter on a row — the window's Edit… shortcut).

    Keyboard: Down in the search field goes into the list and selects the first row (or the one
    after the selected one); focus coming into the table (Tab) selects its current row.
    """

    selection_changed = Signal()
    activated = Signal()
    filtered = Signal()

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ConnectorModel(desk)
        self.proxy = self.model  # the rows shown (the model searches and sorts itself)
        self._kept: str | None = None  # selected before a reset of the model, selected again after it
        self._wanted: str | None = None  # to be selected after the next reset instead
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
        self.search.returnPressed.connect(self._search_entered)
        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.search.setFocus)
        self.addAction(find)
        v.addWidget(self.search)
        self.table = QTableView()
        self.table.setObjectName("connectorTable")
        self.table.setModel(self.model)
        # After setModel: the view's own reset handling (which clears the selection) runs first.
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
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
        for col, width in enumerate((210, 90, 210)):
            h.resizeSection(col, width)
        h.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.activated.emit())
        self.table.installEventFilter(self)
        self.search.installEventFilter(self)  # (after the table: the filter looks at both)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        from desktop.gui.details import DetailsPane
        self.details = DetailsPane(desk)
        self.splitter = QSplitter()
        self.splitter.setObjectName("listSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([620, 340])
        v.addWidget(self.splitter, 1)
        self.no_match = QLabel()
        self.no_match.setObjectName("noMatch")
        self.no_match.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_match.setProperty("role", "help")
        self.no_match.hide()
        v.addWidget(self.no_match)
        self.banner = ResultBanner()
        v.addWidget(self.banner)

    def eventFilter(self, watched: Any, event: Any) -> bool:
        from PySide6.QtCore import QEvent
        if watched is self.search and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Down \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            return self._search_down()
        if watched is self.table and event.type() == QEvent.Type.FocusIn \
                and event.reason() != Qt.FocusReason.MouseFocusReason:  # a click selects what it clicks
            self._focus_selects()
        return super().eventFilter(watched, event)

    def _search_down(self) -> bool:
        """Down in the search field: into the list, on the first row or the one after the selected."""
        if self._search_timer.isActive():
            self.apply_search()
        count = self.model.rowCount()
        if count == 0:
            return False
        rows = self.table.selectionModel().selectedRows()
        row = 0 if not rows else min(rows[0].row() + 1, count - 1)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        self._select_row(row)
        return True

    def _focus_selects(self) -> None:
        if self.table.selectionModel().selectedRows() or self.model.rowCount() == 0:
            return
        current = self.table.currentIndex()
        self._select_row(current.row() if current.isValid() else 0)

    def _select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.setCurrentIndex(index)  # the keyboard's place, and (single selection) the selected row
        self.table.selectRow(row)
        self.table.scrollTo(index)

    def _search_entered(self) -> None:
        """Enter in the search field (no row selected: the window's Enter went unused): the first
        match is selected and opened, as Enter on a row does."""
        if self._search_timer.isActive():
            self.apply_search()
        if self.model.rowCount() == 0:
            return
        if not self.table.selectionModel().selectedRows():
            self._select_row(0)
        self.activated.emit()

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.name_at(rows[0].row())

    def _remember_selection(self) -> None:
        self._kept = self._wanted or self.selected_name()

    def _restore_selection(self) -> None:
        self._wanted = None
        if self._kept is not None:
            self.select(self._kept)

    def show_connectors(self, connectors: Sequence[Connector] | Sequence[ListedRow], select: str | None) -> None:
        self._wanted = select
        self.model.set_connectors(connectors)
        self._searched()

    def connector(self, name: str | None) -> Connector | None:
        row = self.model.row_of(name) if name else None
        return self.model.rows[self.model.shown[row]].connector if row is not None else None

    def select(self, name: str) -> None:
        row = self.model.row_of(name)
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    def update_connector(self, conn: Connector) -> None:
        """One connector changed: its row alone is repainted, the selection stays as it is."""
        self.model.update_connector(conn)

    def shown_count(self) -> tuple[int, int]:
        """(rows the search shows, all rows)."""
        return self.model.rowCount(), self.model.total()

    def apply_search(self) -> None:
        """Filter by the search field now (typing calls this once it pauses)."""
        self._search_timer.stop()
        self.model.set_search(self.search.text())
        self._searched()

    def _searched(self) -> None:
        text = self.search.text()
        none = self.model.rowCount() == 0 and bool(text)
        self.no_match.setText(self.tr("No connector matches “{0}”.").format(text))
        self.no_match.setVisible(none)
        self.filtered.emit()
        self.selection_changed.emit()


class EmptyState(QWidget):
    """What a first-time user sees: what a connector is, and one button to create one.

    Signals:
        create_requested(): the button was pressed.
    """

    create_requested = Signal()

    def __init__(self, parent: QWidget | None = None, secrets_place: str = KEYCHAIN_PLACE) -> None:
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
            "save it.\n"))
        self._text = text.text()
        self.text = text
        self.set_secrets_place(secrets_place)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        text.setProperty("role", "help")
        self.button = QPushButton(self.tr("Create your first connector"))
        self.button.setObjectName("createFirst")
        self.button.setDefault(True)
        self.button.clicked.connect(self.create_requested.emit)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        ev.addWidget(title)
        ev.addWidget(text)
        ev.addSpacing(12)
        ev.addLayout(row)
        ev.addStretch(3)

    def set_secrets_place(self, place: str) -> None:
        """Say where this workspace keeps passwords and keys (Desk.secrets_place())."""
        self.text.setText(self._text + self.tr("Passwords and keys go to {0}, never to a file.").format(place))
