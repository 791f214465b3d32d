"""The CLI against keychains that do not work: a Secret Service that never answers, a locked
gnome-keyring, and large sealed secrets whose file is gone or swapped. Each must end within the
keychain deadline with `secret_store_unavailable`, never hang, never a traceback, store nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core.vault import service_name
from tests.conftest import ROOT

DEADLINE_S = 2
PASSWORD = "Kc-broken-Canary-9931"

# Owns org.freedesktop.secrets on the bus, then never reads a message again.
NEVER_ANSWERS = """
import sys, time
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
conn = open_dbus_connection(bus="SESSION")
conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.secrets"))
print("owned", flush=True)
time.sleep(600)
"""

LOCK = """
import secretstorage
conn = secretstorage.dbus_init()
collection = secretstorage.get_default_collection(conn)
collection.lock()
assert collection.is_locked()
print("locked")
"""


class PrivateSession:
    """A D-Bus session bus of its own, and the processes started on it (ended by pid)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[str]] = []
        bus = self.start(["dbus-daemon", "--session", "--nofork", "--print-address=1"], stdout=subprocess.PIPE)
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        assert address.startswith("unix:"), address
        runtime = root / "runtime"
        runtime.mkdir(mode=0o700)
        self.env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address, "HOME": str(root),
                    "XDG_DATA_HOME": str(root / "share"), "XDG_CONFIG_HOME": str(root / "config"),
                    "XDG_RUNTIME_DIR": str(runtime), "CONNECTOR_DESK_KEYCHAIN_TIMEOUT": str(DEADLINE_S),
                    "CONNECTOR_DESK_HOME": str(root / "app")}

    def start(self, cmd: list[str], **kw: Any) -> subprocess.Popen[str]:
        kw.setdefault("stdout", subprocess.DEVNULL)
        p = subprocess.Popen(cmd, text=True, stderr=subprocess.DEVNULL, env=kw.pop("env", None), **kw)
        self.procs.append(p)
        return p

    def python(self, code: str) -> subprocess.Popen[str]:
        return self.start([sys.executable, "-c", code], stdout=subprocess.PIPE, env=self.env)

    def cli(self, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, cwd=ROOT,
                           env={**self.env, **env}, timeout=60, stdin=subprocess.DEVNULL)
        return r, time.monotonic() - started

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
            p.wait(10)
            if p.stdout:
                p.stdout.close()
            if p.stdin:
                p.stdin.close()


@pytest.fixture
def session(tmp_path: Path) -> Iterator[PrivateSession]:
    s = PrivateSession(tmp_path)
    try:
        yield s
    finally:
        s.close()


def _document(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({
        "name": name, "type": "smtp",
        "settings": {"host": "smtp.example.test", "port": 587, "security": "starttls", "auth": "password",
                     "username": "ops@example.test", "from_address": "ops@example.test"},
        "secrets": {"password": {"env": "KC_PASSWORD"}}}))
    return path


def _error(stdout: str) -> dict[str, Any]:
    out = json.loads(stdout)
    err: dict[str, Any] = out["error"] if "error" in out else out["failed"][0]
    return err


def _listed(session: PrivateSession) -> list[Any]:
    r, _ = session.cli("list", "--json")
    assert r.returncode == 0, r.stderr
    names: list[Any] = [c["name"] for c in json.loads(r.stdout)]
    return names


def test_a_secret_service_that_never_answers_fails_import_and_doctor_within_the_deadline(session, tmp_path):
    fake = session.python(NEVER_ANSWERS)
    assert fake.stdout is not None and fake.stdout.readline().strip() == "owned"

    r, took = session.cli("import", str(_document(tmp_path, "hung-mail")), "--json", KC_PASSWORD=PASSWORD)
    assert r.returncode == 1, r.stdout + r.stderr
    assert took < DEADLINE_S + 8
    err = _error(r.stdout)
    assert err["code"] == "secret_store_unavailable" and f"within {DEADLINE_S} s" in err["message"]
    assert "Traceback" not in r.stderr and PASSWORD not in r.stdout + r.stderr
    assert _listed(session) == []  # nothing half-imported

    r, took = session.cli("doctor", "--json")
    assert r.returncode == 1 and took < DEADLINE_S + 8
    assert _error(r.stdout)["code"] == "secret_store_unavailable"

    r, took = session.cli("doctor")  # the plain-text report says what to do
    assert r.returncode == 1 and "What to do:" in r.stdout and "Traceback" not in r.stderr


def _start_gnome_keyring(session: PrivateSession) -> subprocess.Popen[str]:
    keyring_daemon = session.start(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                                   stdin=subprocess.PIPE, env=session.env)
    assert keyring_daemon.stdin is not None
    keyring_daemon.stdin.write("locked-test-passphrase")
    keyring_daemon.stdin.close()
    for _ in range(50):  # until it owns the Secret Service name
        r, _ = session.cli("doctor", "--json")
        if r.returncode == 0:
            break
        time.sleep(0.2)
    assert r.returncode == 0, r.stdout
    return keyring_daemon


def _processes_running(*args: str) -> list[int]:
    """Processes whose command line ends with ``args``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")[:-1]
            state = (entry / "stat").read_text().split(") ")[-1][:1]
        except (OSError, ValueError):
            continue
        if words[-len(args):] == [a.encode() for a in args] and state != "Z":
            found.append(int(entry.name))
    return found


def test_validate_name_when_the_secret_service_stops_answering_ends_within_the_deadline(session, tmp_path):
    # Saved while the keychain worked; then its service is replaced by one that never answers: the
    # command ends at the deadline with what to do, and leaves nothing running.
    keyring_daemon = _start_gnome_keyring(session)
    r, _ = session.cli("import", str(_document(tmp_path, "hung-later")), KC_PASSWORD=PASSWORD)
    assert r.returncode == 0, r.stderr
    keyring_daemon.kill()
    keyring_daemon.wait(10)
    fake = session.python(NEVER_ANSWERS)
    assert fake.stdout is not None and fake.stdout.readline().strip() == "owned"

    r, took = session.cli("validate", "hung-later", "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    assert took < DEADLINE_S + 8
    err = _error(r.stdout)
    assert err["code"] == "secret_store_unavailable" and f"within {DEADLINE_S} s" in err["message"]
    assert "Traceback" not in r.stderr and PASSWORD not in r.stdout + r.stderr
    assert _processes_running("desktop", "validate", "hung-later", "--json") == []


def test_a_locked_gnome_keyring_is_reported_as_locked(session, tmp_path):
    _start_gnome_keyring(session)

    r, _ = session.cli("import", str(_document(tmp_path, "locked-mail")), KC_PASSWORD=PASSWORD)
    assert r.returncode == 0, r.stderr
    locker = session.python(LOCK)
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    locker.wait(10)

    for args in (["validate", "locked-mail", "--json"], ["doctor", "--json"]):
        r, took = session.cli(*args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert took < DEADLINE_S + 8
        err = _error(r.stdout)
        assert err["code"] == "secret_store_unavailable"
        assert "locked" in err["message"] or f"within {DEADLINE_S} s" in err["message"]
        assert "Traceback" not in r.stderr and PASSWORD not in r.stdout + r.stderr
    r, _ = session.cli("export", "--with-secrets", "--out", str(tmp_path / "x.json"),
                       CONNECTOR_DESK_EXPORT_PASSPHRASE="tulip orbit canvas nine")
    assert r.returncode == 1 and "keychain" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.json").exists()

    r, _ = session.cli("import", str(_document(tmp_path, "second-mail")), "--json", KC_PASSWORD=PASSWORD)
    assert r.returncode == 1 and _error(r.stdout)["code"] == "secret_store_unavailable"
    assert _listed(session) == ["locked-mail"]


# -- large sealed secrets, through the CLI (the suite's real keychain) ------------------------------

def cli(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "CONNECTOR_DESK_HOME": str(home), **env}, timeout=60,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def sealed_home(app_home: Path, tmp_path: Path) -> Path:
    big = "Kc-sealed-" + "Qx7" * 1000  # over 2 KB: sealed under the install key, a file in sealed/
    for name in ("big-one", "big-two"):
        doc = _document(tmp_path, name)
        r = cli("import", str(doc), home=app_home, KC_PASSWORD=big + name)
        assert r.returncode == 0, r.stderr
    assert len(list((app_home / "sealed").glob("*.sealed"))) == 2
    return app_home


def test_missing_sealed_file_is_a_clear_error_in_the_cli(sealed_home):
    for f in (sealed_home / "sealed").glob("*.sealed"):
        f.unlink()
    r = cli("validate", "big-one", "--json", home=sealed_home)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    err = _error(r.stdout)
    assert err["code"] == "secret_store_unavailable" and "sealed file is missing" in err["message"]
    assert "Store the secret again" in err["hint"]


def test_swapped_sealed_file_is_a_clear_error_in_the_cli(sealed_home):
    one, two = sorted((sealed_home / "sealed").glob("*.sealed"))
    one.write_bytes(two.read_bytes())
    for name in ("big-one", "big-two"):
        r = cli("validate", name, "--json", home=sealed_home)
        if r.returncode == 1 and "does not match" in r.stdout:
            break
    else:
        pytest.fail("neither connector reported its swapped sealed file")
    assert _error(r.stdout)["code"] == "secret_store_unavailable" and "Qx7Qx7" not in r.stdout + r.stderr


def test_missing_install_key_is_a_clear_error_in_the_cli(sealed_home):
    import keyring
    keyring.delete_password(service_name(sealed_home), "__install_key__")
    r = cli("validate", "big-one", "--json", home=sealed_home)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "key in the keychain is missing" in _error(r.stdout)["message"]
