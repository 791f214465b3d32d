"""The opt-in passphrase vault through the CLI, end to end; and the modes of everything the
application writes (the user's alone, whatever the umask)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import keyring
import pytest

from desktop.core.vault import service_name
from tests.conftest import ROOT

VAULT_PASS = "amber lantern seventeen"
SECRET = "Vault-Canary-secret-5521"
BIG_SECRET = "Vault-Big-" + "Jk4" * 900


def cli(*args: str, home: Path, umask: int | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "CONNECTOR_DESK_HOME": str(home), **env}, timeout=60,
                          stdin=subprocess.DEVNULL, preexec_fn=None if umask is None else lambda: os.umask(umask))


def _document(folder: Path, name: str, env: str = "VAULT_TEST_PW") -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({
        "name": name, "type": "smtp",
        "settings": {"host": "smtp.example.test", "port": 587, "security": "starttls", "auth": "password",
                     "username": "ops@example.test", "from_address": "ops@example.test"},
        "secrets": {"password": {"env": env}}}))
    return path


def _vault_env(passphrase: str = VAULT_PASS) -> dict[str, str]:
    return {"CONNECTOR_DESK_VAULT": "passphrase", "CONNECTOR_DESK_VAULT_PASSPHRASE": passphrase}


def test_passphrase_vault_through_the_cli(app_home, tmp_path):
    vault = _vault_env()
    r = cli("import", str(_document(tmp_path, "pv-mail")), home=app_home, VAULT_TEST_PW=SECRET, **vault)
    assert r.returncode == 0, r.stderr
    r = cli("import", str(_document(tmp_path, "pv-big")), home=app_home, VAULT_TEST_PW=BIG_SECRET, **vault)
    assert r.returncode == 0, r.stderr

    # In the vault file, sealed; not in the keychain; nowhere on disk in clear.
    assert (app_home / "vault.sealed.json").exists()
    assert keyring.get_password(service_name(app_home), "pv-mail/password") is None
    for f in app_home.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes() and b"Jk4Jk4Jk4" not in f.read_bytes()

    r = cli("doctor", "--json", home=app_home, **vault)
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["keychain_backend"].startswith("passphrase vault"), r.stdout

    # Its secrets come back out: export sealed, import into a home that uses the keychain.
    out = tmp_path / "export.json"
    pp = {"CONNECTOR_DESK_EXPORT_PASSPHRASE": "tulip orbit canvas nine"}
    r = cli("export", "--with-secrets", "--out", str(out), home=app_home, **vault, **pp)
    assert r.returncode == 0, r.stderr
    other = tmp_path / "keychain-home"
    other.mkdir()
    r = cli("import", str(out), home=other, **pp)
    assert r.returncode == 0, r.stderr
    assert keyring.get_password(service_name(other), "pv-mail/password") == SECRET

    # The vault file holds it under its keychain item name.
    from desktop.core.vault import PassphraseVault
    assert PassphraseVault(app_home / "vault.sealed.json", VAULT_PASS).get("pv-mail/password").reveal() == SECRET

    # A wrong vault passphrase is a clear failure, not a traceback and not an empty secret.
    r = cli("validate", "pv-mail", "--json", home=app_home, **_vault_env("not the right passphrase"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    err = json.loads(r.stdout)["error"]
    assert err["code"] == "secret_store_unavailable" and "wrong" in err["message"]


def test_a_new_passphrase_vault_needs_a_strong_passphrase(app_home, tmp_path):
    r = cli("import", str(_document(tmp_path, "pv-weak")), home=app_home, VAULT_TEST_PW=SECRET,
            **_vault_env("password1234"))
    assert r.returncode == 2 and "CONNECTOR_DESK_VAULT_PASSPHRASE" in r.stderr, r.stdout + r.stderr
    assert not (app_home / "vault.sealed.json").exists()
    assert json.loads(cli("list", "--json", home=app_home).stdout) == []


# -- file modes ----------------------------------------------------------------------------------

def _modes(folder: Path) -> dict[str, Any]:
    found = {}
    for p in [folder, *folder.rglob("*")]:
        found[str(p.relative_to(folder))] = oct(stat.S_IMODE(p.lstat().st_mode))
    return found


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o000])
def test_everything_written_is_the_users_alone(tmp_path, umask):
    home = tmp_path / "home"  # created by the application itself
    env = {"VAULT_TEST_PW": SECRET}
    assert cli("import", str(_document(tmp_path, "m1")), home=home, umask=umask, **env).returncode == 0
    # a second save rewrites the catalogue's row; a large secret makes a sealed file
    r = cli("import", "--replace", str(_document(tmp_path, "m1")), home=home, umask=umask, VAULT_TEST_PW=BIG_SECRET)
    assert r.returncode == 0, r.stderr
    export_dir = home / "exports"
    r = cli("export", "--out", str(export_dir / "all.json"), home=home, umask=umask)
    assert r.returncode == 0, r.stderr
    r = cli("export", "--with-secrets", "--out", str(export_dir / "sealed.json"), home=home, umask=umask,
            CONNECTOR_DESK_EXPORT_PASSPHRASE="tulip orbit canvas nine")
    assert r.returncode == 0, r.stderr
    # the passphrase vault and its lock
    r = cli("import", str(_document(tmp_path, "m2")), home=home, umask=umask, **env, **_vault_env())
    assert r.returncode == 0, r.stderr

    modes = _modes(home)
    for name in ("logs/connector-desk.log", "vault.sealed.json", "exports/all.json", "exports/sealed.json"):
        assert name in modes, sorted(modes)
    assert any(n.startswith("sealed/") for n in modes) and "catalogue.db" in modes, sorted(modes)
    wrong = {n: m for n, m in modes.items()
             if m != ("0o700" if (home / n).is_dir() and n != "exports" else "0o600") and n != "exports"}
    assert wrong == {}, f"umask {oct(umask)}: {wrong}"
