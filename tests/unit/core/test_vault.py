"""The vault over a real Secret Service (gnome-keyring in the suite's D-Bus session)."""

from __future__ import annotations

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest

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
