"""The log file: there (0600) from the set-up, written on the first record, rotated files 0600 too;
the rotating handler's imports are paid only by a process that logs; ``logging`` itself (and the
log file with it) only by a process that imports it."""

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


LATER = """
import sys
from desktop.core.logsetup import setup_logging
setup_logging()
setup_logging()
print("logging" in sys.modules, "platformdirs" in sys.modules)
import json  # any other import goes on as before
from desktop.core import store  # imports logging: the log file's handler is hung on the root logger
import logging
print(len([h for h in logging.getLogger().handlers if getattr(h, "_connector_desk", False)]))
logging.getLogger("desktop.test").info("logged by a module imported after the set-up")
"""


def test_set_up_before_logging_is_imported_logs_what_is_logged_after(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = subprocess.run([sys.executable, "-c", LATER], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "CONNECTOR_DESK_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False", "1"]
    log = home / "logs" / "connector-desk.log"
    assert "INFO desktop.test: logged by a module imported after the set-up" in log.read_text()
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_a_command_that_logs_nothing_still_leaves_its_private_log_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    script = "import logging; from desktop.core.logsetup import setup_logging; setup_logging()"
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "CONNECTOR_DESK_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    log = home / "logs" / "connector-desk.log"
    assert log.read_text() == "" and oct(log.stat().st_mode & 0o777) == "0o600"


def test_without_logging_imported_there_is_no_log_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    script = "from desktop.core.logsetup import setup_logging; setup_logging(); import json"
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "CONNECTOR_DESK_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    assert not home.exists()


def test_a_log_folder_that_cannot_be_made_is_noted_and_the_command_goes_on(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "logs").write_text("a file where the log folder would be")
    script = ("from desktop.core.logsetup import setup_logging; setup_logging(); import logging; "
              "logging.getLogger('desktop.test').warning('dropped'); print('went on')")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "CONNECTOR_DESK_HOME": str(home)})
    assert r.returncode == 0 and r.stdout == "went on\n", r.stderr
    assert r.stderr.startswith("note: no log file: ") and "Traceback" not in r.stderr, r.stderr


def test_libraries_chatter_stays_out_of_the_log_file_but_their_warnings_do_not(tmp_path: Path) -> None:
    home = tmp_path / "home"
    script = ("from desktop.core.logsetup import setup_logging; setup_logging()\n"
              "import logging\n"
              "logging.getLogger('kafka.conn').info('connecting to 127.0.0.1:9092')\n"
              "logging.getLogger('kafka.client').warning('node 1 not reachable')\n"
              "logging.getLogger('desktop.core.service').info('renamed a to b')\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "CONNECTOR_DESK_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    text = (home / "logs" / "connector-desk.log").read_text()
    assert "connecting to" not in text  # a Kafka check used to fill the file with these
    assert "WARNING kafka.client: node 1 not reachable" in text and "INFO desktop.core.service: renamed" in text
