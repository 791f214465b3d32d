"""Security promise 1 and 7: unique secrets go through every command and the GUI's save path;
afterwards no file in the app's folders, the temp folder or the logs holds them, in any encoding,
and no output printed them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from desktop.connectors import registry
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests.conftest import ROOT, smtp_document
from tests.leaks import encodings_of
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer


def encodings(value: str) -> list[bytes]:
    """The shared list (tests/leaks.py), with the SASL PLAIN payload of the test user."""
    return encodings_of(value, "user@example.test")


def scan(folders: list[Path], values: list[str]) -> list[str]:
    hits = []
    for folder in folders:
        for f in folder.rglob("*"):
            if f.is_file() and not f.is_symlink():
                data = f.read_bytes()
                for v in values:
                    for form in encodings(v):
                        if form in data:
                            hits.append(f"{f} holds a form of a canary secret")
    return hits


def test_no_secret_anywhere_after_every_command(tmp_path, mail, certs):
    home, tmp, other = tmp_path / "home", tmp_path / "tmp", tmp_path / "other"
    for d in (home, tmp, other):
        d.mkdir()
    # The mail account's real password, and a second canary used for a failing sign-in.
    good = mail.users[0].password
    bad = "canary-" + secrets.token_urlsafe(16)
    env = {**os.environ, "CONNECTOR_DESK_HOME": str(home), "TMPDIR": str(tmp), "CANARY_PW": good,
           "CANARY_BAD": bad, "CONNECTOR_DESK_EXPORT_PASSPHRASE": "canary export passphrase",
           "QT_QPA_PLATFORM": "offscreen"}
    spec_ok = tmp_path / "ok.json"
    spec_ok.write_text(json.dumps(smtp_document(mail, certs, name="canary", env="CANARY_PW")))
    spec_bad = tmp_path / "bad.json"
    spec_bad.write_text(json.dumps(smtp_document(mail, certs, name="canary-bad", env="CANARY_BAD")))
    outputs: list[str] = []

    def run(*args: str, home_dir: Path = home) -> int:
        r = subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True,
                           env={**env, "CONNECTOR_DESK_HOME": str(home_dir)}, cwd=ROOT, timeout=60,
                           stdin=subprocess.DEVNULL)
        outputs.append(r.stdout + r.stderr)
        return r.returncode

    assert run("validate", "--spec", str(spec_ok), "--json") == 0
    assert run("validate", "--spec", str(spec_bad), "--json") == 1
    assert run("validate", "--spec", str(spec_bad)) == 1
    assert run("import", str(spec_ok), str(spec_bad)) == 0
    assert run("list") == 0 and run("list", "--json") == 0
    assert run("validate", "canary") == 0 and run("validate", "canary-bad", "--json") == 1
    assert run("test-send", "canary", "--to", mail.users[1].address, "--json") == 0
    assert run("export", "--out", str(home / "export.json")) == 0
    assert run("export", "--out", str(home / "sealed.json"), "--with-secrets") == 0
    assert run("import", str(home / "sealed.json"), home_dir=other) == 0
    assert run("validate", "canary", home_dir=other) == 0
    assert run("--smoke") == 0

    # A large secret (sealed under the install key) and a hostile server echoing one.
    desk = Desk(registry(), home)
    big = "canary-big-" + secrets.token_hex(1500)
    desk.vault.set("canary/big_secret", Secret(big))
    # The echo holds characters each encoding changes; the server echoes it in every encoding.
    echo = "canary echo/+&=" + secrets.token_hex(8)
    echoed = " ".join(f.decode("utf-8", "replace") for f in encodings(echo))
    with ScriptedServer(scripted.smtp(auth_replies=[f"535 5.7.8 wrong: {echoed}"])) as srv:
        conn, _ = __import__("desktop.core.model", fromlist=["x"]).parse_document(
            {"name": "echo", "type": "smtp", "settings": {"host": "localhost", "port": srv.port, "security": "none",
                                                          "allow_plaintext": True, "username": "u"}}, registry())
        result = desk.validate(conn, {"password": Secret(echo)})
    outputs.append(json.dumps(result.to_dict()))

    canaries = [good, bad, big, echo]
    for out in outputs:
        for c in canaries:
            assert c not in out
            assert [f for f in encodings(c) if f in out.encode()] == []
    log_files = list((home / "logs").glob("*")) + list((other / "logs").glob("*"))
    assert log_files, "the commands should have written a log"
    assert scan([home, tmp, other], canaries) == []
