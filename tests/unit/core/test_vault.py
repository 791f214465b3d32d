"""The vault over a real Secret Service (gnome-keyring in the suite's D-Bus session)."""

from __future__ import annotations

import json
import os
import threading
import time

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.backends.SecretService
import pytest

from desktop.core import crypto
from desktop.core import vault as vault_module
from desktop.core.errors import ConnectorError
from desktop.core.secret import Secret
from desktop.core.vault import KeyringVault, PassphraseVault, service_name


def test_real_keychain_round_trip(app_home):
    v = KeyringVault(app_home)
    assert "SecretService" in v.backend_name
    v.set("c/password", Secret("s3cret-value"))
    assert v.get("c/password") == Secret("s3cret-value")
    assert keyring.get_password(service_name(app_home), "c/password") == "s3cret-value"
    v.delete("c/password")
    assert v.get("c/password") is None
    v.delete("c/password")  # deleting twice is fine


def test_values_of_every_padding_length_and_any_script_read_back_exactly(app_home):
    """Reads decrypt the Secret Service's AES-CBC answer themselves: a value filling whole blocks gets a
    block of padding, and a multi-byte character may straddle a block boundary."""
    v = KeyringVault(app_home)
    values = ["x" * n for n in range(1, 34)] + ["pässwörd-€-日本語-" * 3, "ß" * 16, "🔑" * 5]
    for i, value in enumerate(values):
        v.set(f"pad{i}/password", Secret(value))
    fresh = vault_module.Keychain(keyring.backends.SecretService.Keyring())  # a session of its own
    for i, value in enumerate(values):
        assert fresh.call("reading", lambda ops, i=i: ops.get(service_name(app_home), f"pad{i}/password")) == value


@pytest.mark.parametrize("backend", [keyring.backends.fail.Keyring(), keyring.backends.null.Keyring()])
def test_weak_backends_are_refused_with_what_to_do(app_home, backend):
    with pytest.raises(ConnectorError) as e:
        KeyringVault(app_home, backend)
    assert e.value.code == "secret_store_unavailable"
    assert "GNOME Keyring" in e.value.hint and "CONNECTOR_DESK_VAULT=passphrase" in e.value.hint


def test_plaintext_keyrings_alt_is_refused(app_home):
    class PlaintextKeyring:  # stands for keyrings.alt.file.PlaintextKeyring (same qualified name)
        pass
    PlaintextKeyring.__module__ = "keyrings.alt.file"
    with pytest.raises(ConnectorError):
        KeyringVault(app_home, PlaintextKeyring())


def test_large_secret_is_sealed_with_the_install_key(app_home):
    big = "-----BEGIN PRIVATE KEY-----" + "A1b2C3" * 800
    v = KeyringVault(app_home)
    v.set("kafka/client_key", Secret(big))
    stored = keyring.get_password(service_name(app_home), "kafka/client_key")
    assert stored.startswith("cd-envelope:v1:") and len(stored) < 200
    assert v.get("kafka/client_key").reveal() == big
    for f in app_home.rglob("*"):
        if f.is_file():
            assert b"A1b2C3A1b2C3" not in f.read_bytes()
    # The sealed file alone is useless: it is bound to its item and the install key.
    v.set("kafka/client_key", Secret("small now"))
    assert not list((app_home / "sealed").glob("*.sealed"))


def test_portable_installs_do_not_share_keychain_items(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setenv("CONNECTOR_DESK_HOME", str(a))
    KeyringVault(a).set("x/password", Secret("from-a"))
    monkeypatch.setenv("CONNECTOR_DESK_HOME", str(b))
    assert KeyringVault(b).get("x/password") is None


def test_passphrase_vault(tmp_path):
    path = tmp_path / "vault.sealed.json"
    v = PassphraseVault(path, "correct horse battery")
    v.set("c/password", Secret("pp-secret-1"))
    assert b"pp-secret-1" not in path.read_bytes()
    assert PassphraseVault(path, "correct horse battery").get("c/password").reveal() == "pp-secret-1"
    with pytest.raises(ConnectorError) as e:
        PassphraseVault(path, "wrong passphrase")
    assert e.value.code == "secret_store_unavailable"
    with pytest.raises(ConnectorError):
        PassphraseVault(path, "")


# -- allow-list, judged on the backend a write goes to ---------------------------------------------

def _named(module: str, name: str, **attrs: object) -> object:
    cls = type(name, (), {})
    cls.__module__ = module
    obj = cls()
    for k, v in attrs.items():
        setattr(obj, k, v)
    return obj


def _chain(*members: object) -> object:
    return _named("keyring.backends.chainer", "ChainerBackend", backends=list(members))


def test_a_chain_whose_first_member_is_weak_is_refused(app_home):
    # keyring writes to the chain's first (highest-priority) member: a strong one further down
    # does not make the chain safe.
    strong = keyring.backends.SecretService.Keyring()
    weak = _named("keyrings.alt.file", "PlaintextKeyring")
    with pytest.raises(ConnectorError) as e:
        KeyringVault(app_home, _chain(weak, strong))
    assert e.value.code == "secret_store_unavailable"
    assert "keyrings.alt.file.PlaintextKeyring" in e.value.message and "ChainerBackend" in e.value.message


def test_an_unknown_backend_is_refused(app_home):
    with pytest.raises(ConnectorError) as e:
        KeyringVault(app_home, _named("keyrings.cryptfile.cryptfile", "CryptFileKeyring"))
    assert "not a known secure keychain" in e.value.message


def test_a_chain_whose_first_member_is_strong_writes_there(app_home):
    strong = keyring.backends.SecretService.Keyring()
    v = KeyringVault(app_home, _chain(strong, keyring.backends.null.Keyring()))
    assert v.backend_name == "keyring.backends.SecretService.Keyring"
    v.set("chain/password", Secret("via-chain"))
    assert keyring.get_password(service_name(app_home), "chain/password") == "via-chain"
    v.delete("chain/password")


# -- one session per process, under a deadline ----------------------------------------------------

def test_one_backend_look_up_and_one_dbus_connection_per_process(app_home, monkeypatch):
    import secretstorage

    counts = {"get_keyring": 0, "dbus_init": 0}

    def counting(name, fn):
        def wrapper(*a, **kw):
            counts[name] += 1
            return fn(*a, **kw)
        return wrapper

    monkeypatch.setattr(keyring, "get_keyring", counting("get_keyring", keyring.get_keyring))
    monkeypatch.setattr(secretstorage, "dbus_init", counting("dbus_init", secretstorage.dbus_init))
    monkeypatch.setattr(vault_module, "_PROCESS_KEYCHAIN", None)
    assert counts == {"get_keyring": 0, "dbus_init": 0}  # creating vaults finds nothing yet
    vaults = [KeyringVault(app_home), KeyringVault(app_home)]
    assert counts["get_keyring"] == 0
    for i in range(10):
        vaults[i % 2].set(f"s{i}/password", Secret(f"value-{i}"))
        assert vaults[(i + 1) % 2].get(f"s{i}/password") == Secret(f"value-{i}")
        vaults[i % 2].delete(f"s{i}/password")
    # The Secret Service is spoken to directly (keyring would choose it here): no keyring discovery.
    assert counts == {"get_keyring": 0, "dbus_init": 1}


_IN_FRESH_PROCESS = """
import sys
from pathlib import Path
from desktop.core.secret import Secret
from desktop.core.vault import KeyringVault
v = KeyringVault(Path(sys.argv[1]))
print(v.get("legacy/password").reveal())
v.set("fresh/password", Secret("written-without-keyring"))
print(v.backend_name, "keyring" in sys.modules)
"""


def _fresh_process(app_home, **env):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[3]
    return subprocess.run([sys.executable, "-c", _IN_FRESH_PROCESS, str(app_home)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root), **env}, timeout=60)


def test_secret_service_without_keyring_reads_and_writes_keyrings_items(app_home):
    """keyring's import and discovery of every backend took ~95 ms of each process reading a secret."""
    keyring.set_password(service_name(app_home), "legacy/password", "written-by-keyring")
    r = _fresh_process(app_home)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["written-by-keyring", "keyring.backends.SecretService.Keyring False"]
    assert keyring.get_password(service_name(app_home), "fresh/password") == "written-without-keyring"


@pytest.mark.parametrize("how", ["environment", "config file"])
def test_a_keyring_backend_the_user_chose_is_still_keyrings_choice(app_home, tmp_path, how):
    config = tmp_path / "config"
    (config / "python_keyring").mkdir(parents=True)
    (config / "python_keyring" / "keyringrc.cfg").write_text(
        "[backend]\ndefault-keyring=keyring.backends.null.Keyring\n")
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"} if how == "environment" else \
        {"XDG_CONFIG_HOME": str(config)}
    r = _fresh_process(app_home, **env)
    assert r.returncode != 0
    assert "keyring.backends.null.Keyring, which is not a known secure keychain" in r.stderr


def test_a_keychain_that_never_answers_fails_within_the_deadline(app_home, monkeypatch):
    release = threading.Event()
    stuck = _named("keyring.backends.macOS", "Keyring",
                   get_password=lambda *a: release.wait() and None, set_password=lambda *a: release.wait())
    monkeypatch.setenv("CONNECTOR_DESK_KEYCHAIN_TIMEOUT", "0.5")
    v = KeyringVault(app_home, stuck)
    try:
        started = time.monotonic()
        with pytest.raises(ConnectorError) as e:
            v.get("c/password")
        assert e.value.code == "secret_store_unavailable" and "did not answer within 0.5 s" in e.value.message
        assert time.monotonic() - started < 2
        started = time.monotonic()
        with pytest.raises(ConnectorError):  # later calls fail at once instead of queueing behind it
            v.set("c/password", Secret("x"))
        assert time.monotonic() - started < 0.2
    finally:
        release.set()
    for _ in range(50):  # once the stuck call ends (the prompt was answered), the keychain works again
        try:
            v.get("c/password")
            break
        except ConnectorError:
            time.sleep(0.05)
    else:
        pytest.fail("the keychain stayed unavailable after the stuck call ended")


# -- sealed (large) secrets whose key or file is gone ----------------------------------------------

BIG = "-----BEGIN PRIVATE KEY-----" + "Zq9Xw8" * 600


def test_missing_sealed_file_is_a_clear_error(app_home):
    v = KeyringVault(app_home)
    v.set("k/client_key", Secret(BIG))
    for f in (app_home / "sealed").glob("*.sealed"):
        f.unlink()
    with pytest.raises(ConnectorError) as e:
        v.get("k/client_key")
    assert e.value.code == "secret_store_unavailable"
    assert "its sealed file is missing" in e.value.message and "Store the secret again" in e.value.hint


def test_missing_install_key_is_a_clear_error(app_home):
    v = KeyringVault(app_home)
    v.set("k/client_key", Secret(BIG))
    keyring.delete_password(service_name(app_home), "__install_key__")
    with pytest.raises(ConnectorError) as e:
        v.get("k/client_key")
    assert "its key in the keychain is missing" in e.value.message


def test_swapped_sealed_file_does_not_open_as_another_secret(app_home):
    v = KeyringVault(app_home)
    v.set("a/client_key", Secret(BIG))
    v.set("b/client_key", Secret(BIG.replace("Zq9", "Mm1")))
    a, b = v._blob_path("a/client_key"), v._blob_path("b/client_key")
    a.write_bytes(b.read_bytes())  # each file is bound to its item name
    with pytest.raises(ConnectorError) as e:
        v.get("a/client_key")
    assert "does not match this install's key" in e.value.message
    assert BIG not in str(e.value) and "Mm1" not in str(e.value)


# -- the passphrase vault's own file --------------------------------------------------------------

def test_new_passphrase_vault_uses_this_versions_kdf_and_refuses_weak_passphrases(tmp_path):
    path = tmp_path / "vault.sealed.json"
    with pytest.raises(ConnectorError) as e:
        PassphraseVault(path, "password1234").set("c/password", Secret("x"))
    assert e.value.code == "bad_input" and "CONNECTOR_DESK_VAULT_PASSPHRASE" in e.value.message
    assert not path.exists()
    PassphraseVault(path, "correct horse battery").set("c/password", Secret("x"))
    kdf = json.loads(path.read_text())["kdf"]
    assert (kdf["n"], kdf["r"], kdf["p"]) == (2**17, 8, 1)


def test_older_passphrase_vault_still_opens(tmp_path):
    path = tmp_path / "vault.sealed.json"
    salt = os.urandom(16)
    key = crypto.derive("short-old", salt, crypto.SCRYPT_V1)  # older versions asked for no strength
    path.write_text(json.dumps({
        "format": "connector-desk-vault", "version": 1,
        "kdf": {"name": "scrypt", "salt": crypto.b64(salt), **crypto.SCRYPT_V1},
        "check": crypto.b64(crypto.seal(key, b"ok", b"check")),
        "items": {"c/password": crypto.b64(crypto.seal(key, b"old-secret", b"c/password"))}}))
    assert PassphraseVault(path, "short-old").get("c/password").reveal() == "old-secret"
    # Its next write re-seals everything under this version's parameters; other instances follow.
    reader = PassphraseVault(path, "short-old")
    PassphraseVault(path, "short-old").set("c/other", Secret("new-secret"))
    kdf = json.loads(path.read_text())["kdf"]
    assert (kdf["n"], kdf["r"], kdf["p"]) == (2**17, 8, 1)
    assert reader.get("c/password").reveal() == "old-secret" and reader.get("c/other").reveal() == "new-secret"


@pytest.mark.parametrize("change,named", [
    ({"kdf": {"name": "scrypt", "salt": "AAAAAAAAAAAAAAAAAAAAAA==", "n": 2**26, "r": 8, "p": 1}}, "kdf"),
    ({"kdf": {"name": "scrypt", "salt": "AAAAAAAAAAAAAAAAAAAAAA==", "n": 2**17, "r": 8, "p": 100000}}, "kdf"),
    ({"kdf": {"name": "argon2"}}, "kdf.name"),
    ({"check": 5}, "check"),
    ({"items": None}, "items"),
])
def test_damaged_passphrase_vault_is_a_clear_error(tmp_path, change, named):
    path = tmp_path / "vault.sealed.json"
    PassphraseVault(path, "correct horse battery").set("c/password", Secret("x"))
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))
    started = time.monotonic()
    with pytest.raises(ConnectorError) as e:
        PassphraseVault(path, "correct horse battery").get("c/password")
    assert e.value.code == "secret_store_unavailable" and named in e.value.message
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("command", [["list"], ["list", "--json"], ["validate", "--spec", "SPEC", "--json"]])
def test_commands_that_touch_no_secret_never_look_up_the_keychain(app_home, tmp_path, command):
    import socket
    import subprocess
    import sys

    from tests.conftest import ROOT

    with socket.socket() as s:  # a port nobody listens on: the check fails fast, without the network
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = tmp_path / "no-secrets.json"
    spec.write_text(json.dumps({"name": "plain", "type": "smtp", "settings": {
        "host": "127.0.0.1", "port": port, "security": "none", "auth": "none", "from_address": "a@example.test",
        "timeout_s": 2}}))
    args = [str(spec) if a == "SPEC" else a for a in command]
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "desktop", *args], capture_output=True,
                       text=True, cwd=ROOT, env={**os.environ, "CONNECTOR_DESK_HOME": str(app_home)}, timeout=60)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert not {m for m in imported if m.split(".")[0] in ("keyring", "secretstorage", "jeepney")}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_opens_its_own_keychain_session(app_home):
    v = KeyringVault(app_home)
    v.set("fork/password", Secret("before-fork"))
    pid = os.fork()
    if pid == 0:  # the child: must read through a session of its own, not hang on the parent's
        ok = False
        try:
            ok = KeyringVault(app_home).get("fork/password") == Secret("before-fork")
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    v.delete("fork/password")
