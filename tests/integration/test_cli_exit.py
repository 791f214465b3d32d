"""A headless command ends its process without the interpreter's tear-down (cli._exit_now, issue
#18): nothing a user relies on may go with it. Checked in fresh processes against the real Postfix
and Dovecot, their output going to a pipe (block-buffered: what is not flushed is lost): the whole
output and the right exit code (0 passed, 1 failed, 2 bad input), a reader that went away, the log
file's records, a saved connector's status as a new process reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import keyring

from desktop.core.vault import service_name
from tests.conftest import ROOT, smtp_document


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered, as a user's
    return {**env, "CONNECTOR_DESK_HOME": str(home), "PYTHONPATH": str(ROOT), **extra}


def cli(home: Path, *args: str, stdout: Any = subprocess.PIPE, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m desktop ARGS``: the process's own command line, as the console script runs it."""
    return subprocess.run([sys.executable, "-m", "desktop", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL, env=_env(home, **env))


def _imap_document(mail, certs, name: str = "inbox", env: str = "CD_TEST_PW") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"name": name, "type": "imap", "settings": {
        "host": "localhost", "port": mail.ports["imap"], "security": "starttls", "username": mail.users[0].address,
        "ca_file": str(certs.ca.ca_file), "mailbox": "INBOX", "timeout_s": 10}, "secrets": {"password": {"env": env}}}


def _write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_validate_spec_to_a_pipe_prints_everything_with_the_right_exit_code(app_home, tmp_path, mail, certs):
    password = mail.users[0].password
    docs = {"imap": _imap_document(mail, certs), "smtp": smtp_document(mail, certs, name="outbound")}
    for kind, doc in docs.items():
        spec = str(_write(tmp_path / f"{kind}.json", doc))
        r = cli(app_home, "validate", "--spec", spec, "--json", CD_TEST_PW=password, CD_TEST_SMTP_PASSWORD=password)
        assert r.returncode == 0, r.stdout + r.stderr
        out = json.loads(r.stdout)  # the whole document: it was in the buffer until the end
        assert out["ok"] is True and out["steps"][-1]["ok"], kind
        r = cli(app_home, "validate", "--spec", spec, CD_TEST_PW=password, CD_TEST_SMTP_PASSWORD=password)
        assert r.returncode == 0 and r.stdout.splitlines()[-1].startswith(f"OK: {doc['name']} ({kind})"), r.stdout
        assert "Look up the server" in r.stdout.splitlines()[0]
        r = cli(app_home, "validate", "--spec", spec, "--json", CD_TEST_PW="not-the-password",
                CD_TEST_SMTP_PASSWORD="not-the-password")
        assert r.returncode == 1, r.stdout + r.stderr
        failed = json.loads(r.stdout)
        assert failed["ok"] is False and failed["error"]["code"] == "auth_failed", failed["error"]
        r = cli(app_home, "validate", "--spec", spec, "--json")  # its password's variable is not set
        assert r.returncode == 2 and json.loads(r.stdout)["error"]["code"] == "bad_input", r.stdout + r.stderr
    bad = _write(tmp_path / "bad.json", {**docs["imap"], "settings": {**docs["imap"]["settings"], "port": 0}})
    r = cli(app_home, "validate", "--spec", str(bad), CD_TEST_PW=password)
    assert r.returncode == 2 and "error: settings.port:" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not any(app_home.iterdir())  # a document's check keeps nothing: no catalogue, no log


def test_output_that_cannot_be_written_is_said(app_home, tmp_path, mail, certs):
    spec = str(_write(tmp_path / "imap.json", _imap_document(mail, certs)))
    read, write = os.pipe()
    os.close(read)  # nobody reads: the output cannot be written
    try:
        r = cli(app_home, "validate", "--spec", spec, "--json", stdout=write, CD_TEST_PW=mail.users[0].password)
    finally:
        os.close(write)
    assert r.returncode == 1 and r.stderr == "error: Broken pipe\n", r.stderr
    with open("/dev/full", "w") as full:  # a disk that is full: said too, not an ignored exception (exit 120)
        r = cli(app_home, "validate", "--spec", spec, "--json", stdout=full, CD_TEST_PW=mail.users[0].password)
    assert r.returncode == 1 and r.stderr == "error: No space left on device\n", r.stderr


def test_validate_name_leaves_its_status_and_log_records_for_the_next_process(app_home, tmp_path, mail, certs):
    user = mail.users[0]
    # A catalogue of an earlier version: the first command migrates it and logs that it did.
    legacy = {"schema": 1, "connectors": [{"name": "legacy", "type": "imap", "description": "",
                                           "settings": _imap_document(mail, certs)["settings"], "admin": {},
                                           "secret_names": ["password"], "status": {"state": "never"}}]}
    _write(app_home / "catalogue.json", legacy)
    keyring.set_password(service_name(app_home), "legacy/password", user.password)
    r = cli(app_home, "validate", "legacy")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1].startswith("OK: legacy (imap)"), r.stdout
    log = (app_home / "logs" / "connector-desk.log").read_text()
    assert "INFO desktop.core.store: migrated 1 connector(s) from catalogue.json to catalogue.db" in log

    wrong = _write(tmp_path / "wrong.json", smtp_document(mail, certs, name="wrong-password", env="WRONG"))
    assert cli(app_home, "import", str(wrong), WRONG="not-the-password").returncode == 0
    log = (app_home / "logs" / "connector-desk.log").read_text()
    assert "INFO desktop.core.service: saved wrong-password" in log  # what changed, never a value
    assert "not-the-password" not in log
    r = cli(app_home, "validate", "wrong-password", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["code"] == "auth_failed", r.stdout + r.stderr
    assert not (app_home / "catalogue.db-wal").exists()  # its writer's connection was closed (checkpointed)
    r = cli(app_home, "validate", "no-such-connector")
    assert r.returncode == 2 and "error: name:" in r.stderr, r.stderr

    listed = {c["name"]: c["status"] for c in json.loads(cli(app_home, "list", "--json").stdout)}
    assert listed["legacy"]["state"] == "valid" and listed["wrong-password"]["state"] == "failed", listed
    assert listed["wrong-password"]["code"] == "auth_failed"


PROBE = """
import atexit, sys, threading, time
from pathlib import Path
from desktop.cli import main
marks = Path(sys.argv[1])
if sys.argv[2] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), (marks / "thread").write_text("done"))).start()
atexit.register(lambda: (marks / "atexit").write_text("ran"))
sys.argv = ["connector-desk", "--version"]
main()
print("main returned")
"""


def test_exit_handlers_run_and_a_working_thread_is_waited_for(app_home, tmp_path):
    for case in ("thread", "alone"):
        marks = tmp_path / case
        marks.mkdir()
        r = subprocess.run([sys.executable, "-c", PROBE, str(marks), case], capture_output=True, text=True,
                           cwd=ROOT, timeout=60, env=_env(app_home))
        assert r.returncode == 0 and r.stdout.startswith("connector-desk "), r.stdout + r.stderr
        assert (marks / "atexit").read_text() == "ran"
        if case == "thread":  # the interpreter's own exit, which waits for the thread
            assert "main returned" in r.stdout and (marks / "thread").read_text() == "done"
        else:  # ended in main(), after its output and the exit handlers
            assert "main returned" not in r.stdout
