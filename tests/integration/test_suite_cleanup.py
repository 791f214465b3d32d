"""A test process that dies (a crash, SIGKILL) leaves no server running: tests/run_suite.py stops
everything started under it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its parent's bookkeeping is left


def test_servers_are_stopped_when_the_test_process_is_killed(tmp_path):
    pids_file = tmp_path / "pids.json"
    env = {**os.environ, "CD_SELFKILL_PIDS": str(pids_file)}
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "run_suite.py"), "-q", "-p", "no:cacheprovider",
                        str(ROOT / "tests" / "servers" / "selfkill_suite.py")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0, r.stdout  # the test process died: the run failed
    assert pids_file.exists(), r.stdout[-3000:] + r.stderr[-3000:]
    pids = json.loads(pids_file.read_text())
    assert len(pids) >= 3  # Dovecot, Postfix's master (in a session of its own) and tansu were running
    assert [p for p in pids if _alive(p)] == [], r.stderr
