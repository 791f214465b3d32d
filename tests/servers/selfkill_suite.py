"""Not collected by the suite: tests/integration/test_suite_cleanup.py runs this file through a nested
tests/run_suite.py. It starts real servers, writes their process ids down, and SIGKILLs its own test
process — as a crash would — so the outer test can check that run_suite stopped them all."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path


def test_start_servers_then_die(mail, kafka_plain):  # type: ignore[no-untyped-def]
    pids = [p.pid for p in mail._procs] + [p.pid for p in kafka_plain._procs]
    Path(os.environ["CD_SELFKILL_PIDS"]).write_text(json.dumps(pids))
    os.kill(os.getpid(), signal.SIGKILL)
