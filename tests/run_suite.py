"""Run the whole suite the way CI does: inside a private D-Bus session with an unlocked
gnome-keyring (a real Secret Service), a fresh HOME, and Qt offscreen.

    python tests/run_suite.py [--bench] [pytest args…]

Servers the tests start (Postfix, Dovecot, tansu, Node, stunnel…) are stopped even when the test
process dies (a crash, SIGKILL): the suite runs in its own process group, this process is the
"child subreaper" of everything under it (Linux: orphans are handed to it, not to init — also those
that start a session of their own, like Postfix's master), and every process started under it
carries a marker in its environment (``CONNECTOR_DESK_SUITE``; daemons that clean their environment
lose it, the subreaper still finds them). On exit, all of them are stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = "CONNECTOR_DESK_SUITE"


def marked_processes(suite_id: str) -> list[int]:
    """Processes whose environment carries this suite's marker (Linux /proc)."""
    needle = f"{MARKER}={suite_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue  # gone, or not ours to read
    return found


def descendants() -> list[int]:
    """Living processes below this one (Linux /proc), zombies left out (reaped by ``_reap``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in ("Z", "X"):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _reap() -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def left_behind(suite_id: str) -> set[int]:
    _reap()
    return set(marked_processes(suite_id)) | set(descendants())


def stop_left_behind(suite_id: str, grace: float = 5.0) -> set[int]:
    """SIGTERM everything the suite left behind, SIGKILL what is still there after ``grace``."""
    left = left_behind(suite_id)
    for pid in left:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and left_behind(suite_id):
        time.sleep(0.1)
    for pid in left_behind(suite_id):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _reap()
    return left


def become_subreaper() -> None:
    if sys.platform.startswith("linux"):
        import ctypes
        PR_SET_CHILD_SUBREAPER = 36
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def main() -> int:
    args = sys.argv[1:]
    bench = "--bench" in args
    args = [a for a in args if a != "--bench"]
    home = Path(tempfile.mkdtemp(prefix="connector-desk-test-home-"))
    suite_id = uuid.uuid4().hex
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(home / "runtime"),
        "QT_QPA_PLATFORM": "offscreen",
        MARKER: suite_id,
    }
    (home / "runtime").mkdir(mode=0o700)
    base = Path(tempfile.mkdtemp(prefix="cdt-"))  # short: Dovecot's sockets under it must fit in 108 bytes
    if not bench and not any(a.startswith("--basetemp") for a in args):
        # A private base for pytest's temporary folders: the mail servers' unprivileged workers must be
        # able to enter them, and any other pytest run resets /tmp/pytest-of-USER to 0700.
        base.chmod(0o711)
        args += ["--basetemp", str(base / "t")]
    if bench:
        inner = [sys.executable, str(ROOT / "bench" / "run_bench.py"), *args]
    else:
        inner = [sys.executable, "-X", "faulthandler", "-m", "pytest", *args]
    script = ('echo -n connector-desk-tests | gnome-keyring-daemon --unlock --components=secrets '
              '>/dev/null 2>&1; exec "$@"')
    cmd = ["dbus-run-session", "--", "sh", "-c", script, "sh", *inner]
    become_subreaper()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)

    def forward(signum: int, _frame: object) -> None:
        try:
            os.killpg(proc.pid, signum)
        except OSError:
            pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    try:
        rc = proc.wait()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            pass
        left = stop_left_behind(suite_id)
        if left and rc != 0:
            print(f"run_suite: stopped {len(left)} process(es) the test run left behind", file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
    if rc < 0:
        print(f"run_suite: the test process died of signal {-rc} ({signal.Signals(-rc).name})", file=sys.stderr)
        return 128 - rc
    if rc == 5 and not bench:
        print("pytest collected no tests: that is a failure of the suite itself.")
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
