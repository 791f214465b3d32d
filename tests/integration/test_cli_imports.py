"""A command imports only what it uses (issue #18: a validation's process was 2.5–6.5× swaks' or
curl's, most of it imports). Checked in fresh processes validating against the real Postfix and
Dovecot: a regression here costs every run of the command line milliseconds a user waits for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, smtp_document

# Each of these cost a validation 1–95 ms and none is needed by one: keyring's package and backend
# discovery, the log file's rotating handler, the test send's and peek's e-mail parsing, the
# "did you mean" of a missing mailbox, the IDNA codec (host names here are ASCII), strptime,
# argparse with shutil (validate's usual forms are read without it).
NOT_FOR_A_VALIDATION = ["keyring", "logging.handlers", "email.message", "email.parser", "email.header",
                        "difflib", "encodings.idna", "uuid", "_strptime", "argparse", "shutil"]

# platformdirs (the data folder), sqlite3 and the catalogue, logging (imported when something logs:
# logsetup sets the log file up then); dataclasses and inspect (the classes a check uses are
# desktop.core.record's, the connector types are found without pkgutil.iter_modules: ~14 ms); typing
# (its names are imported for the type checker only: ~3 ms).
NOT_FOR_A_DOCUMENT = ["platformdirs", "sqlite3", "desktop.core.store", "tempfile", "logging", "dataclasses",
                      "inspect", "typing"]

NOT_FOR_A_SAVED_ONE = ["logging", "concurrent.futures", "dataclasses", "inspect",  # typing: jeepney imports it
                       *(["platformdirs"] if sys.platform == "linux" else [])]

PROBE = """
import json, sys
from desktop.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules)}))
"""


def _run(args: list[str], home: Path, env: dict[str, str]) -> dict[str, object]:
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60, cwd=ROOT,
                       env={**os.environ, "CONNECTOR_DESK_HOME": str(home), "PYTHONPATH": str(ROOT), **env})
    assert r.returncode == 0, r.stderr
    out: dict[str, object] = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["code"] == 0, r.stdout
    return out


def _imap_document(mail, certs) -> dict[str, object]:  # type: ignore[no-untyped-def]
    user = mail.users[0]
    return {"name": "inbox", "type": "imap", "settings": {
        "host": "localhost", "port": mail.ports["imap"], "security": "starttls", "username": user.address,
        "ca_file": str(certs.ca.ca_file), "mailbox": "INBOX"}, "secrets": {"password": {"env": "CD_TEST_PW"}}}


def test_validate_spec_and_name_import_only_what_they_use(app_home, tmp_path, mail, certs):
    env = {"CD_TEST_PW": mail.users[0].password, "CD_TEST_SMTP_PASSWORD": mail.users[0].password}
    docs = {"smtp": smtp_document(mail, certs, name="outbound"), "imap": _imap_document(mail, certs)}
    for kind, doc in docs.items():
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(doc))
        spec = _run(["validate", "--spec", str(path)], app_home, env)
        assert [m for m in NOT_FOR_A_VALIDATION if m in spec["modules"]] == [], kind  # type: ignore[operator]
        assert "secretstorage" not in spec["modules"]  # type: ignore[operator]
        # A document's check needs no data folder, catalogue or log file: ~12 ms of every --spec run.
        assert [m for m in NOT_FOR_A_DOCUMENT if m in spec["modules"]] == [], kind  # type: ignore[operator]
        _run(["import", str(path)], app_home, env)
        saved = _run(["validate", str(doc["name"])], app_home, {})
        assert [m for m in NOT_FOR_A_VALIDATION if m in saved["modules"]] == [], kind  # type: ignore[operator]
        assert "secretstorage" in saved["modules"]  # the password came from the keychain, without keyring
        # Nor does a saved connector's check need logging (the log file's set-up came with it:
        # concurrent.futures imports it), or platformdirs on Linux (its tempfile, shutil, random…).
        assert [m for m in NOT_FOR_A_SAVED_ONE if m in saved["modules"]] == [], kind  # type: ignore[operator]
