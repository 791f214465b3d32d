"""Run the whole suite the way CI does: inside a private D-Bus session with an unlocked
gnome-keyring (a real Secret Service), a fresh HOME, and Qt offscreen.

    python tests/run_suite.py [--bench] [pytest args…]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    args = sys.argv[1:]
    bench = "--bench" in args
    args = [a for a in args if a != "--bench"]
    home = Path(tempfile.mkdtemp(prefix="connector-desk-test-home-"))
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(home / "runtime"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    (home / "runtime").mkdir(mode=0o700)
    if bench:
        inner = [sys.executable, str(ROOT / "bench" / "run_bench.py"), *args]
    else:
        inner = [sys.executable, "-m", "pytest", *args]
    script = ('echo -n connector-desk-tests | gnome-keyring-daemon --unlock --components=secrets '
              '>/dev/null 2>&1; exec "$@"')
    cmd = ["dbus-run-session", "--", "sh", "-c", script, "sh", *inner]
    try:
        rc = subprocess.call(cmd, cwd=ROOT, env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if rc == 5 and not bench:
        print("pytest collected no tests: that is a failure of the suite itself.")
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
