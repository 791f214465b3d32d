"""The single-instance socket (issue #12, item 9): it lives where only this user can create it, so a
socket squatted at the old, guessable place in the shared temp folder no longer stops start-up; a
connection that says nothing is dropped after a second; a peer of another user cannot raise the window."""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QDir

from desktop.gui import single
from desktop.gui.single import SingleInstance
from tests.conftest import ROOT

SQUAT = """
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(50)
try:
    t = socket.socket(socket.AF_UNIX); t.bind(sys.argv[2]); print("new place taken", flush=True)
except OSError:
    print("new place refused", flush=True)
held = []
while True:
    held.append(s.accept()[0])
"""

IDLE = """
import socket, sys, time
conns = []
for _ in range(int(sys.argv[2])):
    c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); conns.append(c)
t0 = time.monotonic()
for c in conns:
    c.settimeout(10)
    assert c.recv(1) == b""
print(round(time.monotonic() - t0, 2), flush=True)
"""

RAISE = """
import socket, sys
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.sendall(b"raise\\n")
c.settimeout(5); c.recv(1)
"""


@pytest.fixture
def runtime(monkeypatch):  # type: ignore[no-untyped-def]
    """A private $XDG_RUNTIME_DIR (0700) with a short path."""
    folder = tempfile.mkdtemp(prefix="cd-run-")
    monkeypatch.setenv("XDG_RUNTIME_DIR", folder)
    yield Path(folder)
    for p in Path(folder).iterdir():
        p.unlink()
    os.rmdir(folder)


def _old_name(folder: Path) -> str:
    """Where the socket used to be: a guessable name in the shared temp folder."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{folder.resolve()}".encode()).hexdigest()[:16]
    return str(Path(QDir.tempPath()) / f"connector-desk-{digest}")


def _wait(predicate, qtbot, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        qtbot.wait(50)
    return predicate()


def test_the_socket_is_in_the_private_runtime_folder(app_home, runtime):
    assert Path(SingleInstance(app_home).name).parent == runtime


def test_a_runtime_folder_others_may_enter_is_not_used(app_home, runtime, monkeypatch):
    runtime.chmod(0o1777)  # like /tmp
    cache = runtime / "cache"  # a short path: a socket's must fit in 100 bytes
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    name = Path(SingleInstance(app_home).name)
    assert name.parent == cache / "connector-desk"
    assert name.parent.stat().st_mode & 0o777 == 0o700
    (cache / "connector-desk").rmdir()
    cache.rmdir()


def test_a_socket_squatted_at_the_old_place_does_not_stop_start_up(qtbot, app_home, runtime):
    old = _old_name(app_home)
    new = SingleInstance(app_home).name
    Path(old).unlink(missing_ok=True)
    # Another local user (when the tests run as root; else another process) owns the old name.
    system_python = "/usr/bin/python3"
    other = os.getuid() == 0 and os.access(system_python, os.X_OK)
    squatter = subprocess.Popen([system_python if other else sys.executable, "-c", SQUAT, old, new],
                                stdout=subprocess.PIPE, text=True, user=65534 if other else None)
    env = {**os.environ, "CONNECTOR_DESK_HOME": str(app_home)}
    first = None
    try:
        said = squatter.stdout.readline().strip()
        if other:
            assert said == "new place refused"  # the other user cannot create the new socket
        first = subprocess.Popen([sys.executable, "-m", "desktop"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 text=True)
        assert _wait(lambda: Path(new).exists() or first.poll() is not None, qtbot, 30)
        assert first.poll() is None, first.communicate()[0]  # it started, not "already running"
        second = subprocess.run([sys.executable, "-m", "desktop"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 0 and "already running" in second.stdout
    finally:
        if first is not None:
            first.terminate()
            first.communicate(timeout=20)
        squatter.kill()
        squatter.communicate(timeout=10)
        Path(old).unlink(missing_ok=True)


def test_idle_connections_are_dropped_after_a_second(qtbot, app_home, runtime):
    raised: list[bool] = []
    inst = SingleInstance(app_home)
    assert inst.listen(lambda: raised.append(True))
    idle = subprocess.Popen([sys.executable, "-c", IDLE, inst.name, "200"], stdout=subprocess.PIPE, text=True)
    assert _wait(lambda: idle.poll() is not None, qtbot, 15), "idle connections were held"
    out = idle.communicate()[0]
    assert idle.returncode == 0 and 0.5 <= float(out) <= 3.0, out
    assert raised == []
    # It still answers a real hand-over afterwards.
    talk = subprocess.Popen([sys.executable, "-c", RAISE, inst.name])
    assert _wait(lambda: bool(raised), qtbot, 10)
    talk.wait(timeout=10)


def test_a_peer_of_another_user_cannot_raise_the_window(qtbot, app_home, runtime, monkeypatch):
    if not hasattr(socket, "SO_PEERCRED"):
        pytest.skip("the platform cannot name a local socket's peer")
    raised: list[bool] = []
    inst = SingleInstance(app_home)
    assert inst.listen(lambda: raised.append(True))
    monkeypatch.setattr(single.os, "getuid", lambda: os.geteuid() + 4242)  # the peer is now "someone else"
    talk = subprocess.Popen([sys.executable, "-c", RAISE, inst.name])
    assert _wait(lambda: talk.poll() is not None, qtbot, 10)
    qtbot.wait(200)
    assert raised == []
