"""Secrets live in the operating system's keychain (``keyring``), never in a file.

* Weak backends (``null``, ``fail``, keyrings.alt's plaintext files) are refused with a message
  that says what to do. There is no silent plaintext fallback.
* Secrets over 2,000 bytes (Windows caps one item at 2,560) are sealed with AES-GCM under a
  per-install key that itself lives in the keychain; only the sealed blob is on disk.
* Where no keychain exists, the opt-in :class:`PassphraseVault` (scrypt + AES-GCM) is used when
  ``CONNECTOR_DESK_VAULT=passphrase`` and the passphrase is given.

All calls may block (D-Bus, unlock prompts): the GUI makes them only from workers.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from desktop import APP_ID
from desktop.core import crypto, errors
from desktop.core.atomic import file_lock, write_atomic
from desktop.core.errors import ConnectorError
from desktop.core.model import secret_key  # noqa: F401 - the keychain item name, re-exported
from desktop.core.secret import Secret

SERVICE = APP_ID
ENVELOPE_OVER = 2000
_ENVELOPE_PREFIX = "cd-envelope:v1:"
_INSTALL_KEY = "__install_key__"

WEAK_BACKENDS = {
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
    "keyrings.alt.file.PlaintextKeyring",
    "keyrings.alt.file.EncryptedKeyring",  # its key is a file-stored password prompt, not a keychain
}


def service_name(folder: Path) -> str:
    """The keychain service for one install: portable installs (CONNECTOR_DESK_HOME) get their own,
    so two of them on one machine never read or overwrite each other's secrets."""
    if not os.environ.get("CONNECTOR_DESK_HOME"):
        return SERVICE
    return f"{SERVICE}:{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]}"


def _unavailable(message: str) -> ConnectorError:
    return ConnectorError(
        errors.SECRET_STORE_UNAVAILABLE,
        message,
        "Install and unlock your system keychain (GNOME Keyring or KWallet on Linux; it is built "
        "in on Windows and macOS). Where no keychain can exist, opt in to the passphrase-protected "
        "vault: set CONNECTOR_DESK_VAULT=passphrase and CONNECTOR_DESK_VAULT_PASSPHRASE.",
    )


class Vault(ABC):
    backend_name: str = "?"

    @abstractmethod
    def get(self, key: str) -> Secret | None: ...

    @abstractmethod
    def set(self, key: str, value: Secret) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...


def backend_name(kr: Any) -> str:
    cls = type(kr)
    return f"{cls.__module__}.{cls.__name__}"


def weak_reason(kr: Any) -> str | None:
    """Why ``kr`` must not hold secrets, or None when it is a real keychain."""
    name = backend_name(kr)
    if name in WEAK_BACKENDS:
        return f"the keyring backend is {name}, which does not store secrets safely"
    if name == "keyring.backends.chainer.ChainerBackend":
        backends = list(getattr(kr, "backends", []))
        strong = [b for b in backends if weak_reason(b) is None]
        if not strong:
            return "no usable keychain backend was found"
    return None


class KeyringVault(Vault):
    def __init__(self, folder: Path, kr: Any = None) -> None:
        import keyring
        import keyring.errors

        self._errors = keyring.errors
        self.kr = kr if kr is not None else keyring.get_keyring()
        self.backend_name = backend_name(self.kr)
        reason = weak_reason(self.kr)
        if reason:
            raise _unavailable(f"No secure keychain is available: {reason}.")
        self.folder = folder
        self.blob_dir = folder / "sealed"
        self.service = service_name(folder)

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except self._errors.KeyringLocked:
            raise _unavailable(f"The keychain is locked ({what}). Unlock it and try again.") from None
        except self._errors.KeyringError as exc:
            raise _unavailable(f"The keychain failed while {what} ({exc.__class__.__name__}).") from None

    def _install_key(self, create: bool) -> bytes | None:
        stored = self._call("reading the install key", self.kr.get_password, self.service, _INSTALL_KEY)
        if stored:
            return crypto.unb64(stored)
        if not create:
            return None
        key = crypto.new_key()
        self._call("storing the install key", self.kr.set_password, self.service, _INSTALL_KEY, crypto.b64(key))
        return key

    def _blob_path(self, key: str) -> Path:
        return self.blob_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".sealed")

    def get(self, key: str) -> Secret | None:
        stored = self._call("reading a secret", self.kr.get_password, self.service, key)
        if stored is None:
            return None
        if stored.startswith(_ENVELOPE_PREFIX):
            ikey = self._install_key(create=False)
            path = self._blob_path(key)
            if ikey is None or not path.exists():
                raise _unavailable(f"The sealed secret {key} cannot be opened (its key or file is missing).")
            try:
                return Secret(crypto.unseal(ikey, path.read_bytes(), key.encode()).decode("utf-8"))
            except crypto.WrongKey:
                raise _unavailable(f"The sealed secret {key} does not match this install's key.") from None
        return Secret(stored)

    def set(self, key: str, value: Secret) -> None:
        raw = value.reveal().encode("utf-8")
        if len(raw) > ENVELOPE_OVER:
            ikey = self._install_key(create=True)
            assert ikey is not None
            self.blob_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self._blob_path(key), crypto.seal(ikey, raw, key.encode()))
            self._call("storing a secret", self.kr.set_password, self.service, key,
                       _ENVELOPE_PREFIX + self._blob_path(key).name)
        else:
            self._call("storing a secret", self.kr.set_password, self.service, key, value.reveal())
            self._blob_path(key).unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        try:
            self.kr.delete_password(self.service, key)
        except self._errors.PasswordDeleteError:
            pass
        except self._errors.KeyringError as exc:
            raise _unavailable(f"The keychain failed while deleting a secret ({exc.__class__.__name__}).") \
                from None
        self._blob_path(key).unlink(missing_ok=True)


class PassphraseVault(Vault):
    """Opt-in encrypted file for machines with no keychain: scrypt-derived key, AES-GCM items."""

    backend_name = "passphrase vault (scrypt + AES-GCM)"

    def __init__(self, path: Path, passphrase: str) -> None:
        if not passphrase:
            raise _unavailable("The passphrase vault was chosen but no passphrase was given.")
        self.path = path
        self._passphrase = passphrase
        self._key: bytes | None = None
        if path.exists():
            self._load()

    def _load(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        if self._key is None:
            key = crypto.derive(self._passphrase, crypto.unb64(data["kdf"]["salt"]), data["kdf"])
            try:
                crypto.unseal(key, crypto.unb64(data["check"]), b"check")
            except crypto.WrongKey:
                raise ConnectorError(errors.SECRET_STORE_UNAVAILABLE,
                                     "The passphrase for the vault is wrong.",
                                     "Enter the passphrase the vault was created with.") from None
            self._key = key
        return data

    def _data(self) -> dict[str, Any]:
        if self.path.exists():
            return self._load()
        salt = os.urandom(16)
        self._key = crypto.derive(self._passphrase, salt)
        return {"format": "connector-desk-vault", "version": 1,
                "kdf": {"name": "scrypt", "salt": crypto.b64(salt), **crypto.SCRYPT},
                "check": crypto.b64(crypto.seal(self._key, b"ok", b"check")), "items": {}}

    def get(self, key: str) -> Secret | None:
        if not self.path.exists():
            return None
        data = self._load()
        blob = data["items"].get(key)
        if blob is None:
            return None
        assert self._key is not None
        return Secret(crypto.unseal(self._key, crypto.unb64(blob), key.encode()).decode("utf-8"))

    def _save(self, change: Any) -> None:
        with file_lock(self.path.with_suffix(".lock")):
            data = self._data()
            change(data["items"])
            write_atomic(self.path, json.dumps(data, indent=1).encode())

    def set(self, key: str, value: Secret) -> None:
        def change(items: dict[str, str]) -> None:
            assert self._key is not None
            items[key] = crypto.b64(crypto.seal(self._key, value.reveal().encode("utf-8"), key.encode()))
        self._save(change)

    def delete(self, key: str) -> None:
        if self.path.exists():
            self._save(lambda items: items.pop(key, None))


def open_vault(folder: Path) -> Vault:
    if os.environ.get("CONNECTOR_DESK_VAULT") == "passphrase":
        return PassphraseVault(folder / "vault.sealed.json", os.environ.get("CONNECTOR_DESK_VAULT_PASSPHRASE", ""))
    return KeyringVault(folder)
