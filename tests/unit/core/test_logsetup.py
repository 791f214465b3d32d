"""The log file: there (0600) from the set-up, written on the first record, rotated files 0600 too;
the rotating handler's imports are paid only by a process that logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import logging, sys
from desktop.core.logsetup import setup_logging
setup_logging()
setup_logging()  # once per process
print("logging.handlers" in sys.modules)
logging.getLogger("desktop.test").warning("first record")
print("logging.handlers" in sys.modules)
handler = [h for h in logging.getLogger().handlers if getattr(h, "_connector_desk", False)]
print(len(handler))
handler[0].file.doRollover()
logging.getLogger("desktop.test").warning("after rotation")
"""


def test_log_file_private_from_the_start_and_handlers_loaded_on_first_record(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "CONNECTOR_DESK_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "True", "1"]
    logs = home / "logs"
    assert oct(logs.stat().st_mode & 0o777) == "0o700"
    current, rotated = logs / "connector-desk.log", logs / "connector-desk.log.1"
    assert "WARNING desktop.test: after rotation" in current.read_text()
    assert "WARNING desktop.test: first record" in rotated.read_text()
    for f in (current, rotated):
        assert oct(f.stat().st_mode & 0o777) == "0o600"


def test_a_command_that_logs_nothing_still_leaves_its_private_log_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = subprocess.run([sys.executable, "-c", "from desktop.core.logsetup import setup_logging; setup_logging()"],
                       capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                                        "CONNECTOR_DESK_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    log = home / "logs" / "connector-desk.log"
    assert log.read_text() == "" and oct(log.stat().st_mode & 0o777) == "0o600"
