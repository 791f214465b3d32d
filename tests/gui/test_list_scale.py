"""The connector list fed from the catalogue's summary rows (issue #18): what the user sees is what
the full connectors gave before — name marks, type, server, status, tool tips, search, sort — and the
connector behind a row is the stored one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from desktop.connectors import registry
from desktop.core.model import Connector, Status
from desktop.core.service import Desk
from desktop.gui.connector_list import ConnectorList

ROOT = Path(__file__).resolve().parents[2]


def _save(desk: Desk, name: str, host: str, status: Status | None = None, **settings: object) -> Connector:
    conn = Connector(name, "smtp", f"about {name}",
                     {"host": host, "port": 587, "security": "starttls", "auth": "password", "username": "u",
                      "from_address": "u@example.test", **settings}, {}, ["password"], status or Status())
    desk.catalogue.put([(conn, None, False)])  # type: ignore[union-attr]
    return conn


def _texts(page: ConnectorList, row: int, role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> list[object]:
    return [page.model.data(page.model.index(row, col), role) for col in range(4)]


def _page(qtbot, desk: Desk) -> ConnectorList:  # type: ignore[no-untyped-def]
    page = ConnectorList(desk)
    qtbot.addWidget(page)
    page.show_connectors(desk.listing(), None)
    return page


def test_rows_from_the_listing_show_what_full_connectors_show(qtbot, tmp_path):
    desk = Desk(registry(), tmp_path)
    _save(desk, "mail-b", "b.example.test", Status("valid", "2026-01-01T10:00:00+00:00"))
    _save(desk, "mail-a", "a.example.test", Status("failed", "2026-01-01T10:00:00+00:00", "auth_failed", "no"),
          security="none")
    from_rows = _page(qtbot, desk)
    from_connectors = ConnectorList(desk)
    qtbot.addWidget(from_connectors)
    from_connectors.show_connectors(desk.list(), None)
    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.UserRole):
        for row in range(2):
            assert _texts(from_rows, row, role) == _texts(from_connectors, row, role)
    assert _texts(from_rows, 0)[:3] == ["⚠ mail-a", "SMTP", "a.example.test:587"]  # sorted by name
    assert _texts(from_rows, 0)[3].startswith("Failed at ")
    assert "⚠ Unencrypted connection" in _texts(from_rows, 0, Qt.ItemDataRole.ToolTipRole)[0]
    assert "[auth_failed] no" in _texts(from_rows, 0, Qt.ItemDataRole.ToolTipRole)[3]
    colors = [from_rows.model.data(from_rows.model.index(row, 0), Qt.ItemDataRole.ForegroundRole) for row in (0, 1)]
    assert colors[0] is not None and colors[1] is None  # the name of the connector with a warning
    # The connector behind a row is the stored one (settings parsed when asked for).
    assert from_rows.connector("mail-a") == desk.get("mail-a")


def test_search_matches_server_and_status_texts(qtbot, tmp_path):
    desk = Desk(registry(), tmp_path)
    _save(desk, "one", "smtp.alpha.test", Status("valid", "2026-01-01T10:00:00+00:00"))
    _save(desk, "two", "smtp.beta.test", Status("failed", "2026-01-01T10:00:00+00:00", "auth_failed", "rejected"))
    page = _page(qtbot, desk)
    for text, shown in (("beta.test", ["two"]), ("SMTP.ALPHA", ["one"]), ("rejected", ["two"]),
                        ("valid at", ["one"]), ("", ["one", "two"])):
        page.search.setText(text)
        page.apply_search()
        assert [page.model.name_at(r) for r in range(page.model.rowCount())] == shown, text


def test_a_status_change_shows_in_its_row_and_sorts_by_status(qtbot, tmp_path):
    desk = Desk(registry(), tmp_path)
    _save(desk, "one", "a.example.test")
    _save(desk, "two", "b.example.test")
    page = _page(qtbot, desk)
    assert _texts(page, 0)[3] == "Never validated"
    desk.catalogue.set_status("one", Status("failed", "2026-01-01T10:00:00+00:00", "tls_failed", "bad cert"))
    page.update_connector(desk.get("one"))
    assert _texts(page, 0)[3].endswith(": bad cert")
    page.show_connectors(desk.listing(), None)  # and the same after a reload
    assert _texts(page, 0)[3].endswith(": bad cert")
    page.model.sort(3, Qt.SortOrder.AscendingOrder)  # "Failed at …" before "Never validated"
    assert [page.model.name_at(r) for r in range(2)] == ["one", "two"]
    page.model.sort(3, Qt.SortOrder.DescendingOrder)
    assert [page.model.name_at(r) for r in range(2)] == ["two", "one"]


def test_the_list_is_shown_without_importing_a_connector_type(tmp_path):
    desk = Desk(registry(), tmp_path)
    _save(desk, "one", "a.example.test")
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from desktop.connectors import registry\n"
        "from desktop.core.service import Desk\n"
        "from desktop.gui.connector_list import ConnectorList\n"
        "app = QApplication([])\n"
        f"desk = Desk(registry, Path({str(tmp_path)!r}))\n"
        "page = ConnectorList(desk)\n"
        "page.show_connectors(desk.listing(), None)\n"
        "page.show(); page.table.viewport().repaint(); app.processEvents()\n"
        "assert page.model.data(page.model.index(0, 2)) == 'a.example.test:587'\n"
        "print(sorted(m for m in sys.modules if m.startswith('desktop.connectors.')))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
