"""The keychain session opened ahead in a helper process (``validate NAME``: desktop.core.secretservice),
against the suite's real gnome-keyring: the secret read through it is the saved one, a write through it
is kept, a helper that died is replaced by the process's own session, and no helper outlives its command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from desktop.core.secret import Secret
from desktop.core.vault import KeyringVault
from tests.conftest import ROOT

SECRET = "Early-Canary-4417"

SCRIPT = """
import json, os, signal, sys
from pathlib import Path
from desktop.core import secretservice
started = secretservice.open_early()
helper = secretservice._EARLY.pid if secretservice._EARLY else 0
from desktop.core import vault
from desktop.core.secret import Secret
if "kill" in sys.argv:
    os.kill(helper, signal.SIGKILL)
    os.waitpid(helper, 0)
v = vault.KeyringVault(Path(os.environ["CONNECTOR_DESK_HOME"]))
got = v.get("early/password")
if "write" in sys.argv:
    v.set("early/token", Secret("written-" + got.reveal()))
ops = vault.process_keychain()._ops
print(json.dumps({"started": started, "helper": helper, "ops": type(ops).__name__,
                  "here": getattr(ops, "_here", None) is not None, "same": got.reveal() == sys.argv[1]}))
"""


def run(home: Path, *args: str) -> dict[str, object]:
    r = subprocess.run([sys.executable, "-c", SCRIPT, SECRET, *args], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "CONNECTOR_DESK_HOME": str(home)}, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert SECRET not in r.stdout + r.stderr
    out: dict[str, object] = json.loads(r.stdout)
    return out


def gone(pid: int) -> bool:
    """The process ``pid`` has ended (within 3 s; a zombie has ended, its reaping is the system's)."""
    import time
    for _ in range(300):
        try:
            if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.01)
    return False


def test_the_secret_is_read_through_the_helper_and_the_helper_ends_with_the_command(app_home):
    KeyringVault(app_home).set("early/password", Secret(SECRET))
    out = run(app_home)
    assert out["started"] is True and out["ops"] == "HelperOps" and out["here"] is False
    assert out["same"] is True
    helper = out["helper"]
    assert isinstance(helper, int) and helper > 0 and gone(helper), "the helper outlived its command"


def test_a_write_through_the_helper_is_kept(app_home):
    KeyringVault(app_home).set("early/password", Secret(SECRET))
    out = run(app_home, "write")
    assert out["ops"] == "HelperOps" and out["same"] is True
    assert KeyringVault(app_home).get("early/token") == Secret("written-" + SECRET)


def test_a_helper_that_died_is_replaced_by_the_process_own_session(app_home):
    KeyringVault(app_home).set("early/password", Secret(SECRET))
    out = run(app_home, "kill")
    assert out["started"] is True and out["same"] is True
    # It died before saying it was ready: the session opened in the process itself.
    assert out["ops"] == "SecretServiceOps"


def test_no_helper_where_the_user_chose_another_keyring_backend(app_home, tmp_path):
    KeyringVault(app_home).set("early/password", Secret(SECRET))
    r = subprocess.run([sys.executable, "-c", "from desktop.core import secretservice as k; print(k.open_early())"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60,
                       env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"})
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
