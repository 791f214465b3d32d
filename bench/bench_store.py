"""The catalogue at scale (issue #18): whole `connector-desk import` processes of 100 / 1,000 / 10,000
documents without secrets; one more import into an empty catalogue against one of 10,000; a
validation's status write (in process) on both; `list` of 10,000.

    PYTHONPATH=. .venv/bin/python bench/bench_store.py [--record]

--record appends the numbers to bench/RESULTS.md under a new heading. No keychain is touched (the
documents have no secrets), so no D-Bus session is needed.
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


def main() -> int:
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
        head = (f"\n## Catalogue at scale (SQLite store), run of {when}\n\n"
                f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores (shared); "
                "`bench/bench_store.py`, documents without secrets, whole processes unless said.\n\n")
        results = ROOT / "bench" / "RESULTS.md"
        text = results.read_text()
        first = text.index("\n## ")
        results.write_text(text[:first] + "\n" + head.strip("\n") + "\n\n" + "\n".join(lines) + "\n"
                           + text[first:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
