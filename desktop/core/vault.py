"""Secrets live in the operating system's keychain (``keyring``), never in a file.

* Only known strong backends are used (an allow-list: Secret Service, macOS Keychain, Windows
  Credential Locker, KWallet), judged on the backend a write actually goes to (for keyring's
  chain, its highest-priority member). Anything else is refused with a message that says what to
  do. There is no silent plaintext fallback.
* One keychain session per process: the backend is found once, on first use (commands that touch
  no secret never pay for it), and on the Secret Service one D-Bus connection and one encrypted
  session serve every read and write. Every keychain call runs on one helper thread under a
  deadline (``CONNECTOR_DESK_KEYCHAIN_TIMEOUT`` seconds, default 10): a keychain that does not
  answer fails with ``secret_store_unavailable`` instead of hanging, and later calls fail at once
  until the stuck call ends.
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
import queue
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from desktop import APP_ID
from desktop.core import errors
from desktop.core.atomic import file_lock, private_dir, write_atomic
from desktop.core.errors import ConnectorError, FieldError
from desktop.core.model import secret_key  # noqa: F401 - the keychain item name, re-exported
from desktop.core.secret import KEYCHAIN_PLACE, PASSPHRASE_PLACE, Secret
from desktop.core.secretservice import (
    Locked,
    SecretServiceOps,
    direct_session,
    keychain_timeout,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SERVICE = APP_ID
ENVELOPE_OVER = 2000
_ENVELOPE_PREFIX = "cd-envelope:v1:"
_INSTALL_KEY = "__install_key__"

SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
STRONG_BACKENDS = frozenset({
    SECRET_SERVICE,                                  # GNOME Keyring, KeePassXC … over D-Bus
    "keyring.backends.libsecret.Keyring",            # the same service through libsecret
    "keyring.backends.macOS.Keyring",                # macOS Keychain
    "keyring.backends.Windows.WinVaultKeyring",      # Windows Credential Locker
    "keyring.backends.kwallet.DBusKeyring",          # KWallet 5/6
    "keyring.backends.kwallet.DBusKeyringKWallet4",  # KWallet 4
})
CHAINER = "keyring.backends.chainer.ChainerBackend"


def service_name(folder: Path) -> str:
    """The keychain service for one install: portable installs (CONNECTOR_DESK_HOME) get their own,
    so two of them on one machine never read or overwrite each other's secrets."""
    if not os.environ.get("CONNECTOR_DESK_HOME"):
        return SERVICE
    return f"{SERVICE}:{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]}"


_HINT = ("Install and unlock your system keychain (GNOME Keyring or KWallet on Linux; it is built "
         "in on Windows and macOS). Where no keychain can exist, opt in to the passphrase-protected "
         "vault: set CONNECTOR_DESK_VAULT=passphrase and CONNECTOR_DESK_VAULT_PASSPHRASE.")


def _unavailable(message: str, hint: str = _HINT) -> ConnectorError:
    return ConnectorError(errors.SECRET_STORE_UNAVAILABLE, message, hint)


class Vault(ABC):
    place = KEYCHAIN_PLACE  # where the pages say the secrets are

    @property
    @abstractmethod
    def backend_name(self) -> str: ...

    @abstractmethod
    def get(self, key: str) -> Secret | None: ...

    @abstractmethod
    def set(self, key: str, value: Secret) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...


def backend_name(kr: Any) -> str:
    cls = type(kr)
    return f"{cls.__module__}.{cls.__name__}"


def write_target(kr: Any) -> Any:
    """The backend a write goes to: ``kr`` itself, or for a chain its highest-priority member."""
    while backend_name(kr) == CHAINER:
        members = list(getattr(kr, "backends", []))  # keyring sorts them, highest priority first
        if not members:
            return None
        kr = members[0]
    return kr


def weak_reason(kr: Any) -> str | None:
    """Why ``kr`` must not hold secrets, or None when writes go to a known strong keychain."""
    target = write_target(kr)
    if target is None:
        return "no usable keychain backend was found"
    name = backend_name(target)
    if name not in STRONG_BACKENDS:
        where = "" if target is kr else f" (the first of {backend_name(kr)}'s backends)"
        return f"the keyring backend is {name}{where}, which is not a known secure keychain"
    return None


# -- the process's keychain session ---------------------------------------------------------------

class _Late(Exception):
    """A keychain call that has not ended within the deadline."""


class _Call:
    """One keychain call handed to the keychain thread: its outcome, waited for under a deadline.
    (Not concurrent.futures: its module imports ``logging``, and with it the log file's set-up,
    ~8 ms of every command that reads a secret.)"""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._then: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            self._value = self.fn()
        except BaseException as exc:  # handed to the caller
            self._error = exc
        with self._lock:
            self._done.set()
            then = self._then
        if then is not None:
            then()

    def result(self, timeout: float) -> Any:
        """The call's value or its exception; :class:`_Late` when it has not ended within ``timeout``."""
        if not self._done.wait(timeout):
            raise _Late()
        if self._error is not None:
            raise self._error
        return self._value

    def then(self, fn: Callable[[], None]) -> None:
        """``fn()`` once the call has ended (at once if it has)."""
        with self._lock:
            if not self._done.is_set():
                self._then = fn
                return
        fn()


class _Worker:
    """One daemon thread that makes every keychain call (the D-Bus connection is used from it only;
    a call that never returns leaves it stuck, never the caller or the exit of the process)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="keychain", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._jobs.get().run()

    def submit(self, fn: Callable[[], Any]) -> _Call:
        call = _Call(fn)
        self._jobs.put(call)
        return call


class _KeyringOps:
    """Any allowed backend through keyring's own calls (macOS, Windows, KWallet)."""

    def __init__(self, kr: Any) -> None:
        self.kr = kr

    def get(self, service: str, key: str) -> str | None:
        value: str | None = self.kr.get_password(service, key)
        return value

    def set(self, service: str, key: str, value: str) -> None:
        self.kr.set_password(service, key, value)

    def delete(self, service: str, key: str) -> None:
        import keyring.errors
        try:
            self.kr.delete_password(service, key)
        except keyring.errors.PasswordDeleteError:
            pass


def _locked() -> tuple[type[BaseException], ...]:
    """A locked keychain's errors: ours, and keyring's once keyring is loaded (the direct Secret
    Service never loads it)."""
    errors_module = sys.modules.get("keyring.errors")
    return (Locked, errors_module.KeyringLocked) if errors_module is not None else (Locked,)


class Keychain:
    """The keychain of one process (or of one explicitly given backend, in tests)."""

    def __init__(self, kr: Any = None) -> None:
        self._given = kr
        self._kr: Any = None
        self._ops: _KeyringOps | SecretServiceOps | None = None
        self._name = ""  # the backend in use, once found
        self._worker: _Worker | None = None
        self._broken: str | None = None
        self._lock = threading.Lock()
        if kr is not None:
            reason = weak_reason(kr)
            if reason:
                raise _unavailable(f"No secure keychain is available: {reason}.")

    def _open(self) -> _KeyringOps | SecretServiceOps:
        """On the worker thread: find the backend (once) and open its session."""
        if self._ops is None:
            if self._kr is None and self._given is None:
                direct = direct_session()
                if direct is not None:
                    self._ops, self._name = direct, SECRET_SERVICE
                    return direct
            if self._kr is None:
                if self._given is not None:
                    self._kr = self._given
                else:
                    import keyring
                    self._kr = keyring.get_keyring()
                reason = weak_reason(self._kr)
                if reason:
                    self._kr = None
                    raise _unavailable(f"No secure keychain is available: {reason}.")
            target = write_target(self._kr)
            self._name = backend_name(target)
            self._ops = SecretServiceOps(target) if self._name == SECRET_SERVICE else _KeyringOps(target)
        return self._ops

    def _drop(self) -> None:
        """After a failure, the next call starts a fresh session (the daemon may have restarted)."""
        ops, self._ops = self._ops, None
        if isinstance(ops, SecretServiceOps):
            try:
                ops.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass

    def call(self, what: str, fn: Callable[[Any], Any]) -> Any:
        """``fn(ops)`` on the keychain thread, under the deadline."""
        with self._lock:
            if self._broken:
                raise _unavailable(self._broken)
            if self._worker is None:
                self._worker = _Worker()
            worker = self._worker

        def job() -> Any:
            try:
                return fn(self._open())
            except ConnectorError:
                raise
            except _locked():
                raise
            except Exception:
                self._drop()
                raise

        limit = keychain_timeout()
        pending = worker.submit(job)
        try:
            return pending.result(timeout=limit)
        except _Late:
            with self._lock:
                self._broken = broken = (f"The keychain did not answer within {limit:g} s (while {what}); "
                                         "it may be locked behind a prompt, or its service is not responding.")
            pending.then(self._recovered)
            raise _unavailable(broken) from None
        except ConnectorError:
            raise
        except _locked():
            raise _unavailable(f"The keychain is locked ({what}). Unlock it and try again.") from None
        except Exception as exc:  # D-Bus, secretstorage and keyring failures alike
            raise _unavailable(f"The keychain failed while {what} ({exc.__class__.__name__}).") from None

    def _recovered(self) -> None:
        """The stuck call ended after all (the user answered the prompt, the service woke up)."""
        with self._lock:
            self._broken = None

    def backend(self) -> str:
        return str(self.call("finding the keychain", lambda _ops: self._name))


_PROCESS_KEYCHAIN: Keychain | None = None
_PROCESS_LOCK = threading.Lock()


def _forget_after_fork() -> None:
    """A forked child has neither the keychain thread nor a usable copy of the D-Bus connection."""
    global _PROCESS_KEYCHAIN
    _PROCESS_KEYCHAIN = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def process_keychain() -> Keychain:
    """The one keychain session of this process (created on first use; finds nothing until called)."""
    global _PROCESS_KEYCHAIN
    with _PROCESS_LOCK:
        if _PROCESS_KEYCHAIN is None:
            _PROCESS_KEYCHAIN = Keychain()
        return _PROCESS_KEYCHAIN


class KeyringVault(Vault):
    def __init__(self, folder: Path, kr: Any = None) -> None:
        self.keychain = process_keychain() if kr is None else Keychain(kr)
        self.folder = folder
        self.blob_dir = folder / "sealed"
        self.service = service_name(folder)

    @property
    def backend_name(self) -> str:
        return self.keychain.backend()

    def _get(self, what: str, key: str) -> str | None:
        value: str | None = self.keychain.call(what, lambda ops: ops.get(self.service, key))
        return value

    def _set(self, what: str, key: str, value: str) -> None:
        self.keychain.call(what, lambda ops: ops.set(self.service, key, value))

    def _install_key(self, create: bool) -> bytes | None:
        from desktop.core import crypto  # AES-GCM: imported by sealed secrets only
        stored = self._get("reading the install key", _INSTALL_KEY)
        if stored:
            try:
                return crypto.unb64(stored)
            except ValueError:
                raise _unavailable("The install key in the keychain is damaged.",
                                   "Store the large secrets again (import or edit the connectors that hold "
                                   "them).") from None
        if not create:
            return None
        key = crypto.new_key()
        self._set("storing the install key", _INSTALL_KEY, crypto.b64(key))
        return key

    def _blob_path(self, key: str) -> Path:
        return self.blob_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".sealed")

    def get(self, key: str) -> Secret | None:
        stored = self._get("reading a secret", key)
        if stored is None:
            return None
        if stored.startswith(_ENVELOPE_PREFIX):
            return self._open_sealed(key)
        return Secret(stored)

    def _open_sealed(self, key: str) -> Secret:
        from desktop.core import crypto
        hint = (f"Store the secret again: import or edit the connector that holds {key}, or restore "
                f"the folder {self.blob_dir} from a backup made with the same keychain.")
        ikey = self._install_key(create=False)
        path = self._blob_path(key)
        if ikey is None or not path.is_file():
            missing = "its key in the keychain" if ikey is None else "its sealed file"
            raise _unavailable(f"The sealed secret {key} cannot be opened ({missing} is missing).", hint)
        try:
            return Secret(crypto.unseal(ikey, path.read_bytes(), key.encode()).decode("utf-8"))
        except (crypto.WrongKey, UnicodeDecodeError):
            raise _unavailable(f"The sealed secret {key} does not match this install's key (its file was "
                               "replaced or changed).", hint) from None

    def set(self, key: str, value: Secret) -> None:
        raw = value.reveal().encode("utf-8")
        if len(raw) > ENVELOPE_OVER:
            from desktop.core import crypto
            ikey = self._install_key(create=True)
            assert ikey is not None
            private_dir(self.blob_dir)
            write_atomic(self._blob_path(key), crypto.seal(ikey, raw, key.encode()))
            self._set("storing a secret", key, _ENVELOPE_PREFIX + self._blob_path(key).name)
        else:
            self._set("storing a secret", key, value.reveal())
            self._blob_path(key).unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        self.keychain.call("deleting a secret", lambda ops: ops.delete(self.service, key))
        self._blob_path(key).unlink(missing_ok=True)


class PassphraseVault(Vault):
    """Opt-in encrypted file for machines with no keychain: scrypt-derived key, AES-GCM items."""

    place = PASSPHRASE_PLACE  # where the pages say the secrets are

    def __init__(self, path: Path, passphrase: str) -> None:
        if not passphrase:
            raise _unavailable("The passphrase vault was chosen but no passphrase was given.")
        self.path = path
        self._passphrase = passphrase
        self._key: bytes | None = None
        self._salt = b""
        if path.exists():
            self._load()

    @property
    def backend_name(self) -> str:
        return "passphrase vault (scrypt + AES-GCM)"

    def _damaged(self, problem: str) -> ConnectorError:
        return _unavailable(f"The passphrase vault {self.path} is damaged ({problem}).",
                            "Restore it from a backup, or move it away and store the secrets again.")

    def _load(self) -> dict[str, Any]:
        from desktop.core import crypto
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self._damaged(exc.__class__.__name__) from None
        if not isinstance(data, dict) or not isinstance(data.get("items"), dict):
            raise self._damaged("items: missing")
        try:
            kdf = crypto.kdf_from(data.get("kdf"))
            check = crypto.unb64(data["check"]) if isinstance(data.get("check"), str) else b""
        except crypto.BadParams as exc:
            raise self._damaged(str(exc)) from None
        except ValueError:
            check = b""
        if len(check) < 28:  # nonce + tag at least
            raise self._damaged("check: missing or not valid base64")
        if self._key is None or kdf["salt"] != self._salt:  # first use, or re-keyed by another process
            key = crypto.derive(self._passphrase, kdf["salt"], kdf)
            try:
                crypto.unseal(key, check, b"check")
            except crypto.WrongKey:
                raise ConnectorError(errors.SECRET_STORE_UNAVAILABLE,
                                     "The passphrase for the vault is wrong.",
                                     "Enter the passphrase the vault was created with.") from None
            self._key, self._salt = key, kdf["salt"]
        return data

    def _upgrade(self, data: dict[str, Any]) -> None:
        """Re-seal a vault written with older KDF parameters under this version's (on its next write)."""
        from desktop.core import crypto
        if all(data["kdf"].get(k) == v for k, v in crypto.SCRYPT.items()):
            return
        assert self._key is not None
        old_key = self._key
        kdf = crypto.new_kdf()
        salt = crypto.unb64(kdf["salt"])
        key = crypto.derive(self._passphrase, salt, kdf)
        items = data["items"]
        try:
            for name in list(items):
                plain = crypto.unseal(old_key, crypto.unb64(str(items[name])), name.encode())
                items[name] = crypto.b64(crypto.seal(key, plain, name.encode()))
        except (ValueError, crypto.WrongKey):
            raise self._damaged("an item does not open") from None
        data["kdf"], data["check"] = kdf, crypto.b64(crypto.seal(key, b"ok", b"check"))
        self._key, self._salt = key, salt

    def _data(self) -> dict[str, Any]:
        from desktop.core import crypto
        if self.path.exists():
            return self._load()
        reason = crypto.weak_passphrase(self._passphrase, ["connector-desk", "vault"])
        if reason:
            raise FieldError("CONNECTOR_DESK_VAULT_PASSPHRASE", reason)
        kdf = crypto.new_kdf()
        self._salt = crypto.unb64(kdf["salt"])
        self._key = crypto.derive(self._passphrase, self._salt, kdf)
        return {"format": "connector-desk-vault", "version": 1, "kdf": kdf,
                "check": crypto.b64(crypto.seal(self._key, b"ok", b"check")), "items": {}}

    def get(self, key: str) -> Secret | None:
        from desktop.core import crypto
        if not self.path.exists():
            return None
        data = self._load()
        blob = data["items"].get(key)
        if blob is None:
            return None
        assert self._key is not None
        try:
            return Secret(crypto.unseal(self._key, crypto.unb64(str(blob)), key.encode()).decode("utf-8"))
        except (ValueError, crypto.WrongKey):
            raise self._damaged(f"the item {key} does not open") from None

    def _save(self, change: Any) -> None:
        private_dir(self.path.parent)
        with file_lock(self.path.with_suffix(".lock")):
            data = self._data()
            self._upgrade(data)
            change(data["items"])
            write_atomic(self.path, json.dumps(data, indent=1).encode())

    def set(self, key: str, value: Secret) -> None:
        def change(items: dict[str, str]) -> None:
            from desktop.core import crypto
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
