"""The connector list at scale, in one process, against a plain Qt peer over the same rows.

    python bench/bench_list.py [N …]      (default 100 1000 10000; offscreen)
    python bench/bench_list.py --whole [N …]   whole processes: until the list is painted (bench/list_shown.py)
                                               against the bare window (bench/bare_window.py), taking turns

--whole: catalogues of N connectors saved as the app saves them (with their list summaries and the names
of their secrets); BENCH_RUNS
runs each (default 11) after one warm-up, medians; the package is byte-compiled first, as installed.

For each N: building the page and painting it once; one search keystroke (the filter applied and the
table repainted) against the same QTableView + QSortFilterProxyModel over a QStandardItemModel holding
the same texts (the peer: Qt's own model, no Python per cell); clearing the search; the update after one
validation (one row's dataChanged + repaint); the process's memory. Prints Markdown lines for RESULTS.md.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtGui import QStandardItem, QStandardItemModel  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402

from desktop.connectors import registry  # noqa: E402
from desktop.core.model import Connector, Status  # noqa: E402
from desktop.core.service import Desk  # noqa: E402

RUNS = 7


def connectors(n: int) -> list[Connector]:
    out = []
    for i in range(n):
        kind = ("smtp", "imap", "kafka", "sendgrid")[i % 4]
        settings: dict[str, object] = {
            "smtp": {"host": f"smtp{i}.example.com", "port": 587, "security": "starttls", "auth": "password",
                     "username": f"svc{i}@example.com", "from_address": f"svc{i}@example.com"},
            "imap": {"host": f"imap{i}.example.com", "port": 993, "security": "tls", "auth": "password",
                     "username": f"svc{i}@example.com", "mailbox": "INBOX"},
            "kafka": {"bootstrap_servers": [f"broker{i}.example.com:9093"], "security_protocol": "SSL",
                      "topic": f"orders-{i}"},
            "sendgrid": {"region": "global", "from_address": f"svc{i}@example.com"},
        }[kind]
        status = Status("valid", "2026-12-01T10:00:00+00:00") if i % 3 else Status(
            "failed", "2026-12-01T10:00:00+00:00", "auth_failed", "The server rejected the user name or password.")
        out.append(Connector(name=f"conn-{i:05d}", type=kind, description=f"bench {i}", settings=dict(settings),
                             status=status))
    return out


def ms(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def median_ms(fn, runs: int = RUNS) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(ms(fn) for _ in range(runs))


def measure(app: QApplication, n: int) -> str:
    import tempfile

    from desktop.gui.connector_list import ConnectorList

    conns = connectors(n)
    desk = Desk(registry(), Path(tempfile.mkdtemp(prefix="bench-list-")))
    desk.catalogue.put([(c, None, False) for c in conns])  # type: ignore[union-attr]
    rows = desk.listing()  # as the window's worker reads them (what that costs: --whole, bench_store.py)
    page = ConnectorList(desk)
    page.resize(960, 600)

    def build() -> None:
        page.show_connectors(rows, None)
        page.show()
        page.table.viewport().repaint()
        app.processEvents()
    build_ms = ms(build)

    def search(text: str) -> None:
        page.search.blockSignals(True)
        page.search.setText(text)
        page.search.blockSignals(False)
        page.apply_search()
        page.table.viewport().repaint()
        app.processEvents()
    from PySide6.QtCore import QEventLoop, QTimer
    idle = QEventLoop()
    QTimer.singleShot(200, idle.quit)  # the user's first keystroke comes later: the search texts are
    idle.exec()                        # made meanwhile, a slice at a time (SEARCH_SLICE rows each)
    first_ms = ms(lambda: search("conn-0"))
    search("")
    key_ms = median_ms(lambda: (search("conn-0"), search("conn-00")))
    clear_ms = median_ms(lambda: (search("conn-0001"), search("")))
    target = conns[n // 2]

    def one_row() -> None:
        target.status = Status("valid", "2026-12-02T10:00:00+00:00")
        page.update_connector(target)
        page.table.viewport().repaint()
        app.processEvents()
    row_ms = median_ms(one_row)

    # The peer: the same table and proxy over Qt's own item model with the same texts.
    peer_model = QStandardItemModel(n, 4)
    for r in range(n):
        for c in range(4):
            peer_model.setItem(r, c, QStandardItem(page.model.cell(page.model.rows[page.model.shown[r]], c)))
    from PySide6.QtCore import QSortFilterProxyModel, Qt
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(peer_model)
    proxy.setFilterKeyColumn(-1)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    view = QTableView()
    view.setModel(proxy)
    view.resize(960, 600)
    view.show()
    app.processEvents()

    def peer_search(text: str) -> None:
        proxy.setFilterFixedString(text)
        view.viewport().repaint()
        app.processEvents()
    peer_key_ms = median_ms(lambda: (peer_search("conn-0"), peer_search("conn-00")))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = (f"- {n:,} connectors: page built and painted {build_ms:.0f} ms; first search keystroke "
            f"(0.2 s after the list) {first_ms:.1f} ms; search keystroke {key_ms / 2:.1f} ms vs the plain Qt "
            f"model {peer_key_ms / 2:.1f} ms "
            f"(**{key_ms / peer_key_ms:.2f}×**, target ≤ 2×); clearing the search {clear_ms / 2:.1f} ms; "
            f"one row after a validation {row_ms:.1f} ms (target < 50 ms); peak memory {rss:.0f} MiB")
    page.close()
    view.close()
    page.deleteLater()
    view.deleteLater()
    app.processEvents()
    return line


def whole(sizes: list[int]) -> list[str]:
    import compileall
    import subprocess
    import tempfile

    root = Path(__file__).resolve().parents[1]
    compileall.compile_dir(str(root / "desktop"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="bench-list-"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root)}

    def timed(script: str, home: Path | None = None, at_paint: bool = False) -> float:
        extra = {"CONNECTOR_DESK_HOME": str(home)} if home else {}
        if at_paint:
            extra["BENCH_EXIT_AT_PAINT"] = "1"
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, str(root / "bench" / script)], env={**env, **extra},
                           capture_output=True, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"{script} failed: {r.stderr[-500:]!r}")
        return (time.perf_counter() - t0) * 1000

    homes = {}
    for n in sizes:
        homes[n] = work / f"home-{n}"
        desk = Desk(registry(), homes[n])
        conns = connectors(n)
        for c in conns:  # the names of their keychain secrets, as saved connectors have
            c.secret_names = {"smtp": ["password"], "imap": ["password"], "sendgrid": ["api_key"]}.get(c.type, [])
        desk.catalogue.put([(c, None, False) for c in conns])  # type: ignore[union-attr]
    runs = int(os.environ.get("BENCH_RUNS", "11"))
    contenders = [("bare", None, False)] + [(f"{n:,}", homes[n], False) for n in sizes] + \
        [(f"{n:,} at paint", homes[n], True) for n in sizes]
    times: dict[str, list[float]] = {label: [] for label, _h, _p in contenders}
    for i in range(runs + 1):  # the first round warms caches for all alike and is not counted
        for label, home, at_paint in contenders:
            dt = timed("bare_window.py" if home is None else "list_shown.py", home, at_paint)
            if i:
                times[label].append(dt)
    bare = statistics.median(times["bare"])
    lines = [f"- bare PySide6 window: {_stats(times['bare'])}"]
    for n in sizes:
        med, early = statistics.median(times[f"{n:,}"]), statistics.median(times[f"{n:,} at paint"])
        lines.append(f"- until the list of {n:,} connectors is painted: {_stats(times[f'{n:,}'])} = "
                     f"**{med / bare:.2f}×** the bare window (target ≤ 2×); the process ending at that "
                     f"paint, without its teardown: {_stats(times[f'{n:,} at paint'])} = "
                     f"**{early / bare:.2f}×**")
    return lines


def _stats(values: list[float]) -> str:
    return (f"{statistics.median(values):.1f} ms (min {min(values):.1f}, max {max(values):.1f}, "
            f"{len(values)} runs)")


def main() -> int:
    if "--whole" in sys.argv:
        print("\n".join(whole([int(a) for a in sys.argv[2:]] or [100, 1000, 10000])))
        return 0
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000, 10000]
    app = QApplication.instance() or QApplication([])
    lines = []
    for n in sizes:
        lines.append(measure(app, n))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
