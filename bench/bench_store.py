"""The catalogue at scale (issue #18): whole `connector-desk import` processes of 100 / 1,000 / 10,000
documents without secrets; one more import into an empty catalogue against one of 10,000; a
validation's status write (in process) on both; `list` of 10,000.

    PYTHONPATH=. .venv/bin/python bench/bench_store.py [--record]
    PYTHONPATH=. .venv/bin/python bench/bench_store.py --secrets [N]

--record appends the numbers to bench/RESULTS.md under a new heading. No keychain is touched (the
documents have no secrets), so no D-Bus session is needed.

--secrets: `connector-desk import` of N (default 1,000) SMTP documents with a secret each, whole
process, against its peer: a Python process storing the same N secrets (same attributes as keyring
writes them, replace=True as keyring does) over ONE Secret Service connection and session, with
secretstorage. Every run in a fresh private D-Bus session with a fresh, unlocked gnome-keyring (the
keyring's cost per item grows with the items it holds); BENCH_RUNS (default 3) each, taking turns.
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

from desktop.core.model import Status  # noqa: E402
from desktop.core.store import Catalogue  # noqa: E402

SIZES = (100, 1000, 10_000)
RUNS = int(os.environ.get("BENCH_RUNS", "7"))


def doc(name: str) -> dict[str, object]:
    return {"name": name, "type": "kafka", "description": f"bench {name}",
            "settings": {"bootstrap_servers": ["broker-1.example.test:9092", "broker-2.example.test:9092"],
                         "security_protocol": "PLAINTEXT", "topic": "orders"}}


def cli(home: Path, *args: str) -> float:
    env = {**os.environ, "CONNECTOR_DESK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "desktop", *args], env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, cwd=ROOT)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed: {r.stderr[-500:]}")
    return dt


def stats(values: list[float], scale: float = 1000.0) -> str:
    v = [x * scale for x in values]
    return f"{statistics.median(v):.1f} ms (min {min(v):.1f}, max {max(v):.1f}, {len(v)} runs)"


PEER = """
import sys, secretstorage
from secretstorage.util import open_session
n, prefix, service, value = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].encode()
conn = secretstorage.dbus_init()
collection = secretstorage.get_default_collection(conn, open_session(conn))
for i in range(n):
    key = f"{prefix}{i:05d}/password"
    collection.create_item(f"Password for '{key}' on '{service}'",
                           {"service": service, "username": key, "application": "Python keyring library"},
                           value, replace=True)
"""


def secrets_one(which: str, n: int) -> int:
    """One timed run, inside a fresh D-Bus session and keyring: prints the seconds it took."""
    work = Path(tempfile.mkdtemp(prefix="bench-secrets-"))
    value = "bench-password-1"
    if which == "ours":
        f = work / "docs.json"
        f.write_text(json.dumps([{"name": f"c{i:05d}", "type": "smtp",
                                  "settings": {"host": "mail.example.test", "port": 587, "security": "starttls",
                                               "username": f"svc{i}", "from_address": f"svc{i}@example.test"},
                                  "secrets": {"password": {"env": "BENCH_PW"}}} for i in range(n)]))
        os.environ["BENCH_PW"] = value
        print(cli(work / "home", "import", str(f)))
        return 0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", PEER, str(n), "c", "connector-desk-bench-peer", value], check=True)
    print(time.perf_counter() - t0)
    return 0


def in_fresh_keyring(which: str, n: int) -> float:
    home = Path(tempfile.mkdtemp(prefix="bench-secrets-home-"))
    (home / "runtime").mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "runtime"),
           "XDG_DATA_HOME": str(home / ".local/share")}
    script = 'echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$@"'
    out = subprocess.run(["dbus-run-session", "--", "sh", "-c", script, "sh", sys.executable, __file__,
                          "--secrets-one", which, str(n)], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def secrets_main(n: int) -> int:
    """Each run in a fresh D-Bus session with a fresh, unlocked gnome-keyring (its cost per item grows
    with the items it holds), the contenders taking turns."""
    in_fresh_keyring("ours", 50), in_fresh_keyring("peer", 50)  # the page cache warmed for both
    runs: dict[str, list[float]] = {"ours": [], "peer": []}
    for _ in range(int(os.environ.get("BENCH_RUNS", "3"))):
        for which in ("ours", "peer"):
            runs[which].append(in_fresh_keyring(which, n))
    o, p = statistics.median(runs["ours"]), statistics.median(runs["peer"])
    print(f"- import of {n:,} SMTP documents with a secret each (`connector-desk import`, whole process): "
          f"{seconds(runs['ours'])}")
    print(f"- the keychain's own cost: {n:,} secrets stored over one Secret Service connection (secretstorage, "
          f"whole process): {seconds(runs['peer'])}")
    print(f"- import / keychain: **{o / p:.2f}×** (target ≤ 1.5×); {o / n * 1000:.1f} ms per connector against "
          f"{p / n * 1000:.1f} ms per secret")
    return 0


def seconds(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s (min {min(values):.1f}, max {max(values):.1f}, {len(values)} runs)"


def main() -> int:
    if "--secrets-one" in sys.argv:
        i = sys.argv.index("--secrets-one")
        return secrets_one(sys.argv[i + 1], int(sys.argv[i + 2]))
    if "--secrets" in sys.argv:
        rest = [a for a in sys.argv[1:] if a != "--secrets"]
        return secrets_main(int(rest[0]) if rest else 1000)
    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    lines: list[str] = []
    homes: dict[int, Path] = {}
    for n in SIZES:
        f = work / f"docs-{n}.json"
        f.write_text(json.dumps([doc(f"c{i:05d}") for i in range(n)]))
        homes[n] = work / f"home-{n}"
        dt = cli(homes[n], "import", str(f))
        lines.append(f"- import of {n:,} documents (one process, no secrets): {dt:.2f} s "
                     f"({dt / n * 1000:.2f} ms per document)")
        print(lines[-1], flush=True)
    empty = work / "home-empty"
    one = work / "one.json"
    one.write_text(json.dumps(doc("warm-up")))
    cli(empty, "import", str(one))
    cli(empty, "list")
    Catalogue(empty).remove("warm-up")
    big = homes[SIZES[-1]]
    into: dict[str, list[float]] = {"empty": [], "10k": []}
    for i in range(RUNS):  # taking turns, so a busy moment of the machine falls on both
        for label, home in (("empty", empty), ("10k", big)):
            one.write_text(json.dumps(doc(f"extra-{label}-{i}")))
            into[label].append(cli(home, "import", str(one)))
        Catalogue(empty).remove(f"extra-empty-{i}")
    ratio = statistics.median(into["10k"]) / statistics.median(into["empty"])
    lines.append(f"- one more import (whole process) into an empty catalogue: {stats(into['empty'])}")
    lines.append(f"- one more import (whole process) into a catalogue of 10,000: {stats(into['10k'])} "
                 f"= **{ratio:.2f}×** the empty one (target ≤ 1.5×)")
    for label, home, name in (("empty", empty, "extra-empty-x"), ("10k", big, "c05000")):
        cat = Catalogue(home)
        if label == "empty":
            one.write_text(json.dumps(doc(name)))
            cli(home, "import", str(one))
        writes = []
        for i in range(RUNS * 3):
            t0 = time.perf_counter()
            cat.set_status(name, Status("valid" if i % 2 else "failed", datetime.now(UTC).isoformat()))
            writes.append(time.perf_counter() - t0)
        lines.append(f"- a validation's status write (one row update, in process), catalogue of "
                     f"{'1' if label == 'empty' else '10,000'}: {stats(writes)}")
    loads = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        assert len(Catalogue(big).load()) >= 10_000
        loads.append(time.perf_counter() - t0)
    lines.append(f"- reading all 10,000 entries (Catalogue.load, in process): {stats(loads)}")
    lines.append(f"- `connector-desk list` of 10,000 (whole process): "
                 f"{stats([cli(big, 'list') for _ in range(3)])}")
    for line in lines[len(SIZES):]:
        print(line)
    if "--record" in sys.argv:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        from bench.run_bench import add_section
        add_section(f"Catalogue at scale (SQLite store), run of {when}",
                    f"\n{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores (shared); "
                    "`bench/bench_store.py`, documents without secrets, whole processes unless said.\n\n"
                    + "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
