"""Benchmarks against peers in the same run (DESIGN.md §6). Run with `make bench`; the numbers go
to bench/RESULTS.md. Nothing here is a pass/fail assertion of the test suite.

1. Start-up: `connector-desk --smoke` vs a bare PySide6 window (both offscreen, whole processes).
   (`.venv/bin/python tests/run_suite.py --bench --startup-only` runs just this, without recording it.)
2. SMTP validation against real Postfix: in-app (the same call the GUI's worker makes) vs swaks
   doing the same session (EHLO, STARTTLS, AUTH, MAIL, RCPT, QUIT) as a whole process; the
   `connector-desk validate --spec` process is shown too.
3. A refused port.
4. Responsiveness: the GUI event loop's longest stall while 50 validations run (10 against hung
   servers).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop.connectors import registry  # noqa: E402
from desktop.core.model import parse_document  # noqa: E402
from desktop.core.secret import Secret  # noqa: E402
from desktop.core.service import Desk  # noqa: E402
from tests.servers import scripted  # noqa: E402
from tests.servers.certs import TestCA  # noqa: E402
from tests.servers.mailserver import MailServers, MailUser  # noqa: E402
from tests.servers.scripted import ScriptedServer  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "15"))


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    dt = (time.perf_counter() - t0) * 1000
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {r.stdout[-500:]} {r.stderr[-500:]}")
    return dt


def series(fn, runs: int = RUNS) -> dict[str, float]:  # type: ignore[no-untyped-def]
    fn()  # warm caches once, for every contender alike
    values = [fn() for _ in range(runs)]
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def add_section(title: str, body: str) -> None:
    """Put ``## title`` with ``body`` at the top of bench/RESULTS.md's runs (newest first)."""
    path = ROOT / "bench" / "RESULTS.md"
    head, sep, rest = path.read_text().partition("\n## ")
    path.write_text(head.rstrip("\n") + f"\n\n## {title}\n{body.rstrip()}\n" + (sep + rest if sep else ""))


def fmt(s: dict[str, float]) -> str:
    return f"{s['median']:.1f} ms (min {s['min']:.1f}, max {s['max']:.1f})"


def interleaved(fns: list, runs: int = RUNS) -> list[dict[str, float]]:  # type: ignore[type-arg]
    """Like series(), for contenders taking turns run by run, so a busy moment of the machine falls on
    all of them alike."""
    for fn in fns:
        fn()
    values: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, vals in zip(fns, values, strict=True):
            vals.append(fn())
    return [{"median": statistics.median(v), "min": min(v), "max": max(v)} for v in values]


def bench_startup(env: dict[str, str]) -> list[tuple[str, dict[str, float]]]:
    env = {**env, "QT_QPA_PLATFORM": "offscreen"}
    bare, ours = interleaved([lambda: timed([sys.executable, str(ROOT / "bench" / "bare_window.py")], env),
                              lambda: timed([sys.executable, "-m", "desktop", "--smoke"], env)])
    return [("bare PySide6 window", bare), ("connector-desk --smoke", ours)]


def bench_list_shown(env: dict[str, str], work: Path, count: int = 20) -> dict[str, float]:
    """Until the list of ``count`` saved connectors is on screen (the window paints before it)."""
    home = work / "list-home"
    home.mkdir(parents=True, exist_ok=True)
    desk = Desk(registry(), home)
    for i in range(count):
        desk.import_document({"name": f"events-{i:02d}", "type": "kafka", "description": "bench",
                              "settings": {"bootstrap_servers": [f"broker{i}.example:9093"], "topic": "orders",
                                           "security_protocol": "SSL"}}, {})
    env = {**env, "QT_QPA_PLATFORM": "offscreen", "CONNECTOR_DESK_HOME": str(home)}
    return series(lambda: timed([sys.executable, str(ROOT / "bench" / "list_shown.py")], env))


def bench_frozen(env: dict[str, str], unfrozen: dict[str, float], work: Path) -> list[str]:
    """The frozen bundle (make dist): start-up against the unfrozen app and against the bare window
    frozen the same way (PyInstaller one-folder, its default hooks), and its sizes."""
    exe = ROOT / "dist" / "connector-desk" / "connector-desk"
    debs = sorted((ROOT / "dist").glob("connector-desk_*.deb"))
    if not exe.exists():
        return ["- not measured: run `make dist` first", ""]
    subprocess.run([str(Path(sys.executable).parent / "pyinstaller"), "--noconfirm", "--log-level", "ERROR",
                    "--distpath", str(work / "bare-dist"), "--workpath", str(work / "bare-build"),
                    "--specpath", str(work), str(ROOT / "bench" / "bare_window.py")], check=True, env=env)
    bare_exe = work / "bare-dist" / "bare_window" / "bare_window"
    env = {**env, "QT_QPA_PLATFORM": "offscreen"}
    bare, frozen = interleaved([lambda: timed([str(bare_exe)], env), lambda: timed([str(exe), "--smoke"], env)])
    bundle = sum(f.stat().st_size for f in exe.parent.rglob("*") if f.is_file() and not f.is_symlink())
    lines = [f"- bare PySide6 window, frozen the same way: {fmt(bare)}",
             f"- frozen bundle --smoke: {fmt(frozen)} → **{frozen['median'] / bare['median']:.2f}×** the frozen "
             f"bare window; {frozen['median'] / unfrozen['median']:.2f}× the unfrozen app "
             f"({unfrozen['median']:.1f} ms)",
             f"- bundle folder (dist/connector-desk, unstripped): {bundle / 2**20:.0f} MiB"]
    if debs:
        installed = subprocess.run(["dpkg-deb", "-f", str(debs[-1]), "Installed-Size"], capture_output=True,
                                   text=True).stdout.strip()
        lines.append(f"- {debs[-1].name}: {debs[-1].stat().st_size / 2**20:.0f} MiB compressed (xz), "
                     f"{int(installed or 0) / 1024:.0f} MiB installed (shared objects stripped)")
    lines.append("- QtWebEngine is not in the bundle (PySide6-Essentials has none; the spec excludes it), so it "
                 "costs nothing.")
    return lines + [""]


def bench_smtp(work: Path, env: dict[str, str]) -> tuple[list[tuple[str, dict[str, float]]], MailServers]:
    ca = TestCA(work / "ca")
    user = MailUser("bench@example.test", "bench-password-1")
    mail = MailServers(work / "mail", ca, [user, MailUser("rcpt@example.test", "x-password-2")])
    mail.start()
    port = mail.ports["submission"]
    doc = {"name": "bench", "type": "smtp",
           "settings": {"host": "localhost", "port": port, "security": "starttls", "username": user.address,
                        "from_address": user.address, "ca_file": str(ca.ca_file)},
           "admin": {"test_recipient": "rcpt@example.test"}, "secrets": {"password": {"env": "BENCH_PW"}}}
    spec = work / "spec.json"
    spec.write_text(json.dumps(doc))
    conn, _ = parse_document(doc, registry())
    desk = Desk(registry(), work / "home")
    secrets = {"password": Secret(user.password)}

    def in_app() -> float:
        t0 = time.perf_counter()
        r = desk.validate(conn, secrets)
        assert r.ok, r.error
        return (time.perf_counter() - t0) * 1000

    swaks = ["swaks", "--server", "localhost", "--port", str(port), "--tls", "--tls-verify",
             "--tls-ca-path", str(ca.ca_file), "--auth", "PLAIN", "--auth-user", user.address,
             "--auth-password", user.password, "--from", user.address, "--to", "rcpt@example.test",
             "--quit-after", "RCPT", "--hide-all"]
    results = [("swaks (whole process)", series(lambda: timed(swaks, env))),
               ("Connector Desk in-app validation", series(in_app)),
               ("connector-desk validate --spec (whole process)",
                series(lambda: timed([sys.executable, "-m", "desktop", "validate", "--spec", str(spec)],
                                     {**env, "BENCH_PW": user.password, "CONNECTOR_DESK_HOME": str(work / "h2")})))]
    # IMAP: CAPABILITY, STARTTLS, sign-in, EXAMINE INBOX, LOGOUT (ours also LISTs to match the name).
    imap_doc = {"name": "bench-imap", "type": "imap",
                "settings": {"host": "localhost", "port": mail.ports["imap"], "security": "starttls",
                             "username": user.address, "ca_file": str(ca.ca_file), "mailbox": "INBOX"}}
    imap_conn, _ = parse_document(imap_doc, registry())

    def imap_in_app() -> float:
        t0 = time.perf_counter()
        r = desk.validate(imap_conn, secrets)
        assert r.ok, r.error
        return (time.perf_counter() - t0) * 1000

    curl = ["curl", "-s", "--ssl-reqd", "--cacert", str(ca.ca_file), "-u", f"{user.address}:{user.password}",
            f"imap://localhost:{mail.ports['imap']}/INBOX", "-X", "EXAMINE INBOX"]
    results += [("curl EXAMINE (whole process)", series(lambda: timed(curl, env))),
                ("Connector Desk in-app IMAP validation", series(imap_in_app))]
    return results, mail


def bench_kafka(work: Path, env: dict[str, str]) -> list[tuple[str, dict[str, float]]]:
    from tests.servers.kafka import Broker
    broker = Broker(work / "kafka").start()
    try:
        broker.create_topics("orders")
        conn, _ = parse_document({"name": "k", "type": "kafka", "settings": {
            "bootstrap_servers": [broker.bootstrap], "security_protocol": "PLAINTEXT", "topic": "orders"}}, registry())
        desk = Desk(registry(), work / "home")

        def in_app() -> float:
            t0 = time.perf_counter()
            r = desk.validate(conn, {})
            assert r.ok, r.error
            return (time.perf_counter() - t0) * 1000
        kcat = ["kcat", "-L", "-b", broker.bootstrap, "-m", "5"]
        try:
            peer = series(lambda: timed(kcat, env))
        except RuntimeError as exc:
            # Debian 12's kcat (librdkafka) fails tansu's ApiVersions answer ("Read underflow").
            peer = {"median": float("nan"), "min": float("nan"), "max": float("nan"),
                    "failed": str(exc).splitlines()[-1][:160]}  # type: ignore[dict-item]
        return [("kcat -L (whole process)", peer), ("Connector Desk in-app Kafka validation", series(in_app))]
    finally:
        broker.stop()


def bench_refused(work: Path) -> dict[str, float]:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn, _ = parse_document({"name": "r", "type": "smtp", "settings": {"host": "127.0.0.1", "port": port,
                                                                        "auth": "none"}}, registry())
    desk = Desk(registry(), work / "home")

    def once() -> float:
        t0 = time.perf_counter()
        r = desk.validate(conn, {})
        assert r.error is not None and r.error.code == "connect_refused"
        return (time.perf_counter() - t0) * 1000
    return series(once)


def bench_responsiveness(mail: MailServers, work: Path) -> dict[str, float]:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.gui.main_window import MainWindow
    sys.setswitchinterval(0.001)  # as run_gui() does
    app = QApplication.instance() or QApplication([])
    desk = Desk(registry(), work / "resp-home")
    win = MainWindow(desk)
    win.show()
    hung = [ScriptedServer(scripted.hung) for _ in range(2)]
    good, _ = parse_document({"name": "g", "type": "smtp", "settings": {
        "host": "localhost", "port": mail.ports["submission"], "security": "starttls",
        "username": mail.users[0].address, "ca_file": str(mail.ca.ca_file)}}, registry())
    stuck = [parse_document({"name": f"h{i}", "type": "smtp", "settings": {
        "host": "localhost", "port": hung[i % 2].port, "security": "starttls", "username": "u",
        "timeout_s": 4}}, registry())[0] for i in range(10)]
    secrets = {"password": Secret(mail.users[0].password)}
    remaining = [50]
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    stalls: list[tuple[int, int]] = []

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        if now - last[0] > 30:
            stalls.append((last[0], now - last[0]))
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()

    def done(_r: object) -> None:
        remaining[0] -= 1

    for _ in range(40):  # let the window settle (first paint, catalogue load) before measuring
        app.processEvents()
        time.sleep(0.005)
    gaps.clear()
    started = clock.elapsed()
    for i in range(50):
        c = stuck[i // 5] if i % 5 == 0 else good
        win.runner.run(lambda t, e, c=c: desk.validate(c, secrets, t, e), "bench",
                       on_finished=done, on_progress=lambda _e: None)
    t0 = time.perf_counter()
    while remaining[0] and time.perf_counter() - t0 < 30:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    for h in hung:
        h.stop()
    win.close()
    if os.environ.get("BENCH_DEBUG"):
        print("stalls (start ms after launch, length ms):", [(a - started, b) for a, b in stalls])
    return {"max_stall_ms": max(gaps) - 5, "ticks": len(gaps), "wall_s": time.perf_counter() - t0,
            "unfinished": remaining[0]}


def main() -> int:
    import compileall
    compileall.compile_dir(str(ROOT / "desktop"), quiet=1)  # as a wheel install would have it
    env = dict(os.environ)
    work = Path(tempfile.mkdtemp(prefix="cd-bench-"))
    lines = [f"## Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"{RUNS} runs each after one warm-up; medians. The package is byte-compiled first, as an "
             "installed wheel or the frozen build is.", ""]
    startup = bench_startup(env)
    lines += ["### Start-up (offscreen, whole process, until the main window has painted)", ""]
    lines += [f"- {name}: {fmt(s)}" for name, s in startup]
    ratio = startup[1][1]["median"] / startup[0][1]["median"]
    lines += [f"- ratio: **{ratio:.2f}×** the bare window (target ≤ 1.5×)"]
    listed = bench_list_shown(env, work)
    lines += [f"- for comparison, until a list of 20 saved connectors is on screen (the window paints first "
              f"with \"Loading connectors…\"; the list, the connector types and Qt's enums load after): "
              f"{fmt(listed)} = {listed['median'] / startup[0][1]['median']:.2f}× the bare window", ""]
    if "--startup-only" in sys.argv:  # a quick look while working on start-up; RESULTS.md is left alone
        print("\n".join(lines))
        return 0
    lines += ["### The frozen build (PyInstaller one-folder) and the .deb", ""]
    lines += bench_frozen(env, startup[1][1], work)
    smtp, mail = bench_smtp(work, env)
    try:
        lines += ["### SMTP validation against local Postfix (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, QUIT)", ""]
        lines += [f"- {name}: {fmt(s)}" for name, s in smtp[:3]]
        lines += [f"- in-app vs swaks: **{smtp[1][1]['median'] / smtp[0][1]['median']:.2f}×** (target ≤ 1×)", ""]
        lines += ["### IMAP validation against local Dovecot (CAPABILITY, STARTTLS, sign-in, EXAMINE, LOGOUT; "
                  "ours also LISTs to match the mailbox name exactly)", ""]
        lines += [f"- {name}: {fmt(s)}" for name, s in smtp[3:]]
        lines += [f"- in-app vs curl: **{smtp[4][1]['median'] / smtp[3][1]['median']:.2f}×** (target ≤ 1×)", ""]
        kafka = bench_kafka(work, env)
        lines += ["### Kafka metadata against local tansu (ours: reach each bootstrap server, metadata, advertised "
                  "brokers, topic)", ""]
        for name, s in kafka:
            lines.append(f"- {name}: could not run against this broker — {s['failed']}" if "failed" in s
                         else f"- {name}: {fmt(s)}")
        if "failed" not in kafka[0][1]:
            lines.append(f"- in-app vs kcat: **{kafka[1][1]['median'] / kafka[0][1]['median']:.2f}×** (target ≤ 1×)")
        lines.append("")
        refused = bench_refused(work)
        lines += ["### Refused port", "", f"- connect_refused reported in {fmt(refused)} (target: well under 1 s)", ""]
        resp = bench_responsiveness(mail, work)
        lines += ["### Responsiveness: 50 validations at once (10 against hung servers, 4 s deadline)", "",
                  f"- longest GUI event-loop stall: **{resp['max_stall_ms']:.1f} ms** over {resp['ticks']} ticks "
                  f"(target < 50 ms); all done in {resp['wall_s']:.1f} s, unfinished: {resp['unfinished']}", ""]
    finally:
        mail.stop()
    text = "\n".join(lines)
    print(text)
    results = ROOT / "bench" / "RESULTS.md"
    head = "# Benchmark results\n\nProduced by `make bench` (bench/run_bench.py). Newest run first.\n\n"
    old = results.read_text().split("\n## ", 1)[1] if results.exists() and "\n## " in results.read_text() else ""
    results.write_text(head + text + ("\n\n## " + old if old else "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
