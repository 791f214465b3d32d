"""Passphrase-sealed exports: the whole file is authenticated, KDF parameters from the file are
untrusted, passphrases must be strong enough — in the library and through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import keyring
import pytest

from desktop.core import bundle, crypto
from desktop.core.errors import InputErrors
from desktop.core.secret import Secret
from desktop.core.vault import service_name
from tests.conftest import ROOT

PASS = "tulip orbit canvas nine"
PASSWORD = "sealed-pw-Canary-4711"


def _doc(name: str = "billing-mail", host: str = "smtp.example.test", port: int = 587) -> dict[str, Any]:
    return {"name": name, "type": "smtp", "description": "Outbound mail",
            "settings": {"host": host, "port": port, "security": "starttls", "auth": "password",
                         "username": "ops@example.test", "from_address": "ops@example.test"},
            "secrets": {"password": {"env": "UNUSED"}}}


def _sealed(*names: str) -> dict[str, Any]:
    names = names or ("billing-mail",)
    data = bundle.make([_doc(n) for n in names], {n: {"password": Secret(PASSWORD)} for n in names}, PASS)
    return json.loads(json.dumps(data))  # as read back from the file


def _field_error(data: Any, passphrase: str = PASS) -> dict[str, str]:
    with pytest.raises(InputErrors) as e:
        bundle.open_sealed(data, passphrase)
    return e.value.fields


def test_sealed_export_round_trip_and_this_versions_kdf():
    data = _sealed()
    assert PASSWORD not in json.dumps(data)
    assert data["version"] == 2
    assert {k: data["sealed_secrets"]["kdf"][k] for k in ("name", "n", "r", "p")} == \
        {"name": "scrypt", "n": 2**17, "r": 8, "p": 1}
    assert bundle.open_sealed(data, PASS) == {"billing-mail": {"password": Secret(PASSWORD)}}


@pytest.mark.parametrize("change", [
    lambda d: d["connectors"][0]["settings"].__setitem__("host", "attacker.example.net"),
    lambda d: d["connectors"][0]["settings"].__setitem__("port", 2525),
    lambda d: d["connectors"][0]["settings"].__setitem__("security", "none"),
    lambda d: d["connectors"][0].__setitem__("name", "other-name"),
    lambda d: d["connectors"].append(_doc("extra")),
    lambda d: d.__setitem__("note", "added"),
], ids=["host", "port", "security", "name", "extra-connector", "extra-key"])
def test_any_change_after_sealing_is_refused(change):
    data = _sealed()
    change(data)
    fields = _field_error(data)
    assert "was changed after it was sealed" in fields["file"]


def test_wrong_passphrase_is_named_as_such():
    assert _field_error(_sealed(), "another good passphrase")["passphrase"] == "is wrong for this export"


def test_relabelling_a_new_file_as_version_1_does_not_bypass_the_check(monkeypatch):
    data = _sealed()
    data["version"] = 1
    data["connectors"][0]["settings"]["host"] = "attacker.example.net"
    assert "older Connector Desk" in _field_error(data)["file"]
    monkeypatch.setenv(bundle.UNCHECKED_OPT_IN, "1")
    assert "passphrase" in _field_error(data)  # a v2 blob never opens as v1


def _v1_file() -> dict[str, Any]:
    """An export as earlier builds wrote it: scrypt N=2^15, only the secrets sealed."""
    salt = os.urandom(16)
    key = crypto.derive(PASS, salt, crypto.SCRYPT_V1)
    plain = json.dumps({"billing-mail": {"password": PASSWORD}}).encode()
    doc = _doc()
    doc["secrets"] = {"password": {"sealed": True}}
    return {"format": bundle.FORMAT, "version": 1, "connectors": [doc],
            "sealed_secrets": {"kdf": {"name": "scrypt", "salt": crypto.b64(salt), **crypto.SCRYPT_V1},
                               "blob": crypto.b64(crypto.seal(key, plain, bundle.FORMAT.encode()))}}


def test_older_files_are_refused_unless_the_user_opts_in(monkeypatch):
    old = _v1_file()
    fields = _field_error(old)
    assert bundle.UNCHECKED_OPT_IN in fields["file"]
    monkeypatch.setenv(bundle.UNCHECKED_OPT_IN, "1")
    assert bundle.open_sealed(old, PASS)["billing-mail"]["password"].reveal() == PASSWORD


@pytest.mark.parametrize("kdf,field", [
    ({"p": 100000}, "sealed_secrets.kdf"),            # hung an import for hours
    ({"n": 2**26}, "sealed_secrets.kdf"),             # MemoryError
    ({"r": 1024}, "sealed_secrets.kdf"),
    ({"n": 2**17 + 1}, "sealed_secrets.kdf"),
    ({"n": 2**14}, "sealed_secrets.kdf"),             # weaker than anything ever written
    ({"name": "pbkdf2"}, "sealed_secrets.kdf.name"),
    ({"n": "131072"}, "sealed_secrets.kdf.n"),
    ({"n": True}, "sealed_secrets.kdf.n"),
    ({"r": 8.0}, "sealed_secrets.kdf.r"),
    ({"p": None}, "sealed_secrets.kdf.p"),
    ({"salt": "not base64!"}, "sealed_secrets.kdf.salt"),
    ({"salt": 12}, "sealed_secrets.kdf.salt"),
    ({"salt": "AAAA"}, "sealed_secrets.kdf.salt"),
])
def test_kdf_parameters_from_the_file_are_checked_quickly(kdf, field):
    data = _sealed()
    data["sealed_secrets"]["kdf"].update(kdf)
    started = time.monotonic()
    fields = _field_error(data)
    assert field in fields, fields
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("sealed,field", [
    ("text", "sealed_secrets"),
    ({"blob": "x"}, "sealed_secrets.check"),
    ({"check": "AAAA", "blob": "###"}, "sealed_secrets.blob"),
    ({"check": "AAAA", "blob": "AAAA", "kdf": []}, "sealed_secrets.kdf"),
])
def test_malformed_sealed_part_names_the_field(sealed, field):
    data = _sealed()
    data["sealed_secrets"] = sealed
    assert field in _field_error(data)


@pytest.mark.parametrize("version", [3, "2", None, 2.0])
def test_unknown_versions_are_refused(version):
    data = _sealed()
    data["version"] = version
    assert "version" in _field_error(data)


@pytest.mark.parametrize("weak,why", [
    ("short pass", "at least 12"),
    ("aaaaaaaaaaaaaaaa", "repeated"),
    ("abcabcabcabc", "repeated"),
    ("abcdefghijklmn", "consecutive"),
    ("123456789012", "consecutive"),
    ("9876543210987", "consecutive"),
    ("qwertyuiopasd", "consecutive"),
    ("password1234", "common"),
    ("Password123!", "common"),
    ("  P@ssw0rd 2024 ", "common"),
    ("correct-horse-battery-staple", "common"),
    ("Billing-Mail-2024", "connector"),
])
def test_weak_passphrases_are_refused(weak, why):
    with pytest.raises(InputErrors) as e:
        bundle.make([_doc()], {"billing-mail": {"password": Secret(PASSWORD)}}, weak)
    assert why in e.value.fields["passphrase"]


@pytest.mark.parametrize("good", [PASS, "long enough passphrase", "Zr7#kq!2Lm0p"])
def test_reasonable_passphrases_pass(good):
    assert crypto.weak_passphrase(good, ["billing-mail"]) is None


def test_derivation_never_runs_parameters_it_does_not_accept():
    with pytest.raises(crypto.BadParams):
        crypto.derive(PASS, b"s" * 16, {"n": 2**20, "r": 8, "p": 1})


# -- through the CLI ------------------------------------------------------------------------------

def cli(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "CONNECTOR_DESK_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, env=e,
                          cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL)


def test_cli_refuses_an_export_whose_host_was_edited(app_home, tmp_path):
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(_doc()))
    assert cli("import", str(src), home=app_home, env={"UNUSED": PASSWORD}).returncode == 0
    out = tmp_path / "sealed.json"
    pp = {"CONNECTOR_DESK_EXPORT_PASSPHRASE": PASS}
    r = cli("export", "--out", str(out), "--with-secrets", home=app_home, env=pp)
    assert r.returncode == 0, r.stderr

    edited = json.loads(out.read_text())
    edited["connectors"][0]["settings"]["host"] = "attacker.example.net"
    out.write_text(json.dumps(edited, indent=2))
    other = tmp_path / "other-home"
    other.mkdir()
    r = cli("import", str(out), home=other, env=pp)
    assert r.returncode == 2
    assert "changed after it was sealed" in r.stderr and "Traceback" not in r.stderr
    assert cli("list", "--json", home=other).stdout.strip() == "[]"
    assert keyring.get_password(service_name(other), "billing-mail/password") is None

    # The untouched file still imports, with its secret.
    edited["connectors"][0]["settings"]["host"] = "smtp.example.test"
    out.write_text(json.dumps(edited))
    r = cli("import", str(out), home=other, env=pp)
    assert r.returncode == 0, r.stderr
    assert keyring.get_password(service_name(other), "billing-mail/password") == PASSWORD


def test_cli_refuses_a_weak_export_passphrase(app_home, tmp_path):
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(_doc()))
    assert cli("import", str(src), home=app_home, env={"UNUSED": PASSWORD}).returncode == 0
    out = tmp_path / "sealed.json"
    r = cli("export", "--out", str(out), "--with-secrets", home=app_home,
            env={"CONNECTOR_DESK_EXPORT_PASSPHRASE": "password1234"})
    assert r.returncode == 2 and "passphrase" in r.stderr and "common" in r.stderr
    assert not out.exists()


def test_cli_refuses_hostile_kdf_parameters_fast(app_home, tmp_path):
    data = _sealed()
    data["sealed_secrets"]["kdf"]["p"] = 100000
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    started = time.monotonic()
    r = cli("import", str(path), home=app_home, env={"CONNECTOR_DESK_EXPORT_PASSPHRASE": PASS})
    assert r.returncode == 2 and "sealed_secrets.kdf" in r.stderr and "Traceback" not in r.stderr
    assert time.monotonic() - started < 20


def test_what_to_do_fits_a_changed_file_and_a_wrong_passphrase():
    changed = _sealed()
    changed["connectors"][0]["settings"]["port"] = 2525
    with pytest.raises(InputErrors) as caught:
        bundle.open_sealed(changed, PASS)
    assert caught.value.hint.startswith("Export the connectors again")  # not "correct the named fields"
    with pytest.raises(InputErrors) as caught:
        bundle.open_sealed(_sealed(), "another good passphrase")
    assert "passphrase chosen when the file was exported" in caught.value.hint
