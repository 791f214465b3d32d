"""The command line as a gateway host would use it, against real Postfix + Dovecot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, smtp_document


def cli(*args: str, env: dict[str, str] | None = None, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, **(env or {})}
    if home is not None:
        e["CONNECTOR_DESK_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, env=e,
                          cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture
def spec(tmp_path, mail, certs):  # type: ignore[no-untyped-def]
    def write(**kw: object) -> Path:
        path = tmp_path / f"spec-{len(list(tmp_path.glob('spec-*')))}.json"
        path.write_text(json.dumps(smtp_document(mail, certs, **kw)))
        return path
    return write


def test_version_and_smoke(app_home):
    r = cli("--version", home=app_home)
    assert r.returncode == 0 and r.stdout.startswith("connector-desk 0.")
    r = cli("--smoke", home=app_home, env={"QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr


def test_validate_spec_json_contract(app_home, spec, mail):
    r = cli("validate", "--spec", str(spec()), "--json", home=app_home,
            env={"CD_TEST_SMTP_PASSWORD": mail.users[0].password})
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is True and out["connector"] == "billing-mail" and out["type"] == "smtp"
    assert out["error"] is None
    assert {"name", "ok", "ms", "detail"} <= set(out["steps"][0])
    assert "C: AUTH PLAIN ********" in out["transcript"]
    assert mail.users[0].password not in r.stdout


def test_validate_spec_wrong_password_exits_1(app_home, spec):
    r = cli("validate", "--spec", str(spec()), "--json", home=app_home, env={"CD_TEST_SMTP_PASSWORD": "nope"})
    assert r.returncode == 1
    err = json.loads(r.stdout)["error"]
    assert err["code"] == "auth_failed" and err["step"] == "authenticate" and err["hint"]


def test_bad_input_exits_2_and_names_the_field(app_home, tmp_path, spec):
    r = cli("validate", "--spec", str(spec(env="UNSET_VAR_FOR_TEST")), home=app_home)
    assert r.returncode == 2 and "secrets.password" in r.stderr and "UNSET_VAR_FOR_TEST" in r.stderr
    doc = json.loads(spec().read_text())
    doc["secrets"] = {"password": "literal-secret"}
    doc["settings"]["port"] = "abc"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    r = cli("validate", "--spec", str(bad), "--json", home=app_home)
    assert r.returncode == 2
    fields = json.loads(r.stdout)["error"]["fields"]
    assert "secrets.password" in fields and "settings.port" in fields
    assert "literal-secret" not in r.stdout + r.stderr
    (tmp_path / "broken.json").write_text("{not json")
    r = cli("validate", "--spec", str(tmp_path / "broken.json"), home=app_home)
    assert r.returncode == 2 and "not valid JSON" in r.stderr
    r = cli("validate", "no-such-connector", home=app_home)
    assert r.returncode == 2 and "no connector named" in r.stderr


def test_import_list_validate_test_send_export(app_home, tmp_path, spec, mail):
    env = {"CD_TEST_SMTP_PASSWORD": mail.users[0].password}
    r = cli("import", str(spec(name="invoices")), home=app_home, env=env)
    assert r.returncode == 0 and "imported invoices" in r.stdout
    r = cli("import", str(spec(name="invoices")), home=app_home, env=env)
    assert r.returncode == 2 and "already exists" in r.stderr  # nothing is overwritten silently
    listed = json.loads(cli("list", "--json", home=app_home).stdout)
    assert listed[0]["name"] == "invoices" and listed[0]["status"]["state"] == "never"

    r = cli("validate", "invoices", home=app_home)  # secrets come from the keychain now
    assert r.returncode == 0, r.stdout + r.stderr
    assert "✓ Sign in" in r.stdout
    listed = json.loads(cli("list", "--json", home=app_home).stdout)
    assert listed[0]["status"]["state"] == "valid"
    assert "valid at" in cli("list", home=app_home).stdout

    r = cli("test-send", "invoices", "--to", mail.users[1].address, "--json", home=app_home)
    assert r.returncode == 0, r.stdout
    assert json.loads(r.stdout)["info"]["attempts"][0]["ok"] is True
    mail.wait_for_mail(mail.users[1].address, lambda m: "invoices" in str(m["Subject"]))
    r = cli("test-send", "invoices", "--to", "not-an-address", home=app_home)
    assert r.returncode == 2 and "test_recipient" in r.stdout

    out = tmp_path / "export.json"
    r = cli("export", "--out", str(out), home=app_home)
    assert r.returncode == 0
    exported = out.read_text()
    assert mail.users[0].password not in exported
    doc = json.loads(exported)["connectors"][0]
    assert doc["secrets"] == {"password": {"env": "INVOICES_PASSWORD"}}
    # Only what this connector uses: a password sign-in exports no OAuth settings, and nothing unset.
    assert not [k for k in doc["settings"] if k.startswith("oauth_")] and None not in doc["settings"].values()
    assert doc["settings"]["auth"] == "password" and doc["settings"]["host"]

    # The export imports on another host with the secret from the environment.
    other = tmp_path / "other-home"
    r = cli("import", str(out), home=other, env={"INVOICES_PASSWORD": mail.users[0].password})
    assert r.returncode == 0, r.stderr
    assert cli("validate", "invoices", home=other).returncode == 0


def test_export_with_secrets_needs_and_uses_a_passphrase(app_home, tmp_path, spec, mail):
    env = {"CD_TEST_SMTP_PASSWORD": mail.users[0].password}
    assert cli("import", str(spec(name="sealed-one")), home=app_home, env=env).returncode == 0
    out = tmp_path / "sealed.json"
    r = cli("export", "--out", str(out), "--with-secrets", home=app_home)
    assert r.returncode == 2 and "passphrase" in r.stderr and not out.exists()
    pp = {"CONNECTOR_DESK_EXPORT_PASSPHRASE": "long enough passphrase"}
    assert cli("export", "--out", str(out), "--with-secrets", home=app_home, env=pp).returncode == 0
    assert mail.users[0].password not in out.read_text()
    other = tmp_path / "other"
    r = cli("import", str(out), home=other, env={"CONNECTOR_DESK_EXPORT_PASSPHRASE": "wrong passphrase!"})
    assert r.returncode == 2 and "passphrase" in r.stderr
    assert cli("import", str(out), home=other, env=pp).returncode == 0
    assert cli("validate", "sealed-one", home=other).returncode == 0


def test_weak_keyring_is_refused_by_the_cli(app_home, spec, mail):
    env = {"CD_TEST_SMTP_PASSWORD": mail.users[0].password, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    r = cli("import", str(spec(name="weak")), home=app_home, env=env)
    assert r.returncode == 1
    assert "secret_store_unavailable" in r.stderr + r.stdout or "No secure keychain" in r.stderr
    assert "weak" not in cli("list", home=app_home).stdout


def test_doctor_proves_the_keychain_round_trip(app_home):
    p = cli("doctor", "--json", home=app_home)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["ok"] and "SecretService" in report["keychain_backend"] and report["frozen"] is False
    assert report["data_folder"] == str(app_home) and report["qt"]


def test_doctor_without_a_usable_keychain_says_what_to_do(app_home):
    p = cli("doctor", home=app_home, env={"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"})
    assert p.returncode == 1
    assert "keychain check    failed: No secure keychain is available" in p.stdout and "What to do" in p.stdout
