"""The GUI soak: the GUI test suite N times in a row (each in a fresh process, faulthandler on),
counting crashes (the test process died of a signal, or Python reported a fatal error) apart from
ordinary test failures, and the slowest run. Appends the result to bench/RESULTS.md.

    python bench/soak.py [RUNS]        (make soak: 30)
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRASH_SIGNS = ("Fatal Python error", "Segmentation fault", "malloc", "double free", "Aborted",
               "died of signal")


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    crashes, failures, times = 0, 0, []
    logs = ROOT / "build" / "soak"
    logs.mkdir(parents=True, exist_ok=True)
    for i in range(1, runs + 1):
        start = time.monotonic()
        r = subprocess.run([sys.executable, str(ROOT / "tests" / "run_suite.py"), "tests/gui", "-q",
                            "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
        took = time.monotonic() - start
        times.append(took)
        out = r.stdout + r.stderr
        crashed = r.returncode > 128 or r.returncode < 0 or any(s in out for s in CRASH_SIGNS)
        failed = r.returncode != 0 and not crashed
        crashes += crashed
        failures += failed
        if crashed or failed:
            (logs / f"run-{i}.log").write_text(out)
        tail = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
        print(f"run {i}/{runs}: {took:.1f} s, rc={r.returncode}{' CRASH' if crashed else ''}"
              f"{' FAILED' if failed else ''} — {tail}", flush=True)
    body = (f"Machine: {platform.machine()}, {sys.version.split()[0]}; `make soak`: tests/gui {runs} times in a "
            f"row, each a fresh process with faulthandler on.\n\n"
            f"- crashes: **{crashes}** of {runs} runs (target 0)\n"
            f"- runs with a failed test (no crash): {failures}\n"
            f"- slowest run: {max(times):.1f} s; median {sorted(times)[len(times) // 2]:.1f} s\n")
    sys.path.insert(0, str(ROOT))
    from bench.run_bench import add_section
    add_section(f"GUI soak of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", body)
    print(body)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
