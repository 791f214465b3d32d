"""The Secret Service (GNOME Keyring, KeePassXC… over D-Bus) spoken to directly, without keyring's
discovery (~95 ms of each process that reads a secret): one D-Bus connection and one encrypted
session per process, reading and writing the items keyring's own Secret Service backend reads and
writes. :mod:`desktop.core.vault` decides when it is used (and runs every call on its keychain
thread, under the deadline)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TIMEOUT_ENV = "CONNECTOR_DESK_KEYCHAIN_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0
KEYRING_APPID = "Python keyring library"  # the "application" attribute keyring's Secret Service items carry


def keychain_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if 0 < value <= 3600 else DEFAULT_TIMEOUT_S


def _keyring_chosen_elsewhere() -> bool:
    """The user chose a keyring backend or its properties (environment, keyring's config file), or
    keyring may prefer KWallet (a KDE session): then keyring's own discovery decides."""
    if os.environ.get("PYTHON_KEYRING_BACKEND") or any(k.startswith("KEYRING_PROPERTY_") for k in os.environ):
        return True
    if "KDE" in os.environ.get("XDG_CURRENT_DESKTOP", "").split(":"):
        return True
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share")
    return any((root / "python_keyring" / "keyringrc.cfg").exists() for root in (config, data))


def secret_service_platform() -> bool:
    """Where keyring would pick the Secret Service itself (Linux and BSDs, nothing configured)."""
    return sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) and not _keyring_chosen_elsewhere()


def _keyring_query(service: str, key: str, **base: str) -> dict[str, str]:
    """The attributes keyring's Secret Service backend gives an item (its default scheme)."""
    return {"username": key, "service": service, **base}


class SecretServiceOps:
    """The Secret Service over one D-Bus connection and one encrypted session, reused for every call
    (keyring's own backend opens both anew per call). Items are the ones keyring reads and writes.
    ``kr``: keyring's backend (its scheme and preferred collection), or None for keyring's defaults."""

    def __init__(self, kr: Any = None, conn: Any = None) -> None:
        import secretstorage
        from secretstorage.util import open_session

        self.query: Callable[..., dict[str, str]] = kr._query if kr is not None else _keyring_query
        self.appid: str = kr.appid if kr is not None else KEYRING_APPID
        self.conn = conn if conn is not None else secretstorage.dbus_init()
        import weakref
        self._closer = weakref.finalize(self, self.conn.close)  # closed once: by close(), or when dropped
        session = open_session(self.conn)
        path = getattr(kr, "preferred_collection", None)
        self.collection = (secretstorage.Collection(self.conn, path, session) if path
                           else secretstorage.get_default_collection(self.conn, session))
        # get_default_collection() does not keep the session it is given (secretstorage 3.3): without
        # this, every read would open another encrypted session (a key exchange, ~8 ms, each time).
        self.collection.session = self.session = session

    def close(self) -> None:
        self._closer()

    def _unlocked(self, fn: Callable[[], Any]) -> Any:
        from secretstorage.exceptions import LockedException
        try:
            return fn()
        except LockedException:
            # Ask once (the desktop shows its unlock prompt), under the same deadline as the call.
            try:
                dismissed = self.collection.unlock(timeout=max(0.1, keychain_timeout() - 1.0))
            except TimeoutError:
                raise Locked() from None
            if dismissed or self.collection.is_locked():
                raise Locked() from None
            return fn()

    def get(self, service: str, key: str) -> str | None:
        def read() -> str | None:
            from secretstorage.collection import COLLECTION_IFACE
            from secretstorage.exceptions import LockedException
            from secretstorage.item import ITEM_IFACE
            from secretstorage.util import DBusAddressWrapper

            collection = DBusAddressWrapper(self.collection.collection_path, COLLECTION_IFACE, self.conn)
            for path in collection.call("SearchItems", "a{ss}", self.query(service, key))[0]:
                item = DBusAddressWrapper(path, ITEM_IFACE, self.conn)
                if item.get_property("Locked"):
                    raise LockedException("Item is locked!")
                return self._decrypted(item.call("GetSecret", "o", self.session.object_path)[0]).decode("utf-8")
            return None
        result: str | None = self._unlocked(read)
        return result

    def _decrypted(self, secret: Any) -> bytes:
        """The value of a GetSecret answer (session, parameters, value, content type) in this session.
        Three D-Bus round trips a read, not secretstorage's five (its Item reads the label, and checks
        the lock twice), and no ``default_backend()``: that loads cryptography's legacy OpenSSL
        backend, ~6 ms of the first read of each process."""
        if not self.session.encrypted:
            return bytes(secret[2])
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        key = self.session.aes_key
        if key is None:
            raise ValueError("an encrypted session without its key")
        decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(secret[1]))).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        value: bytes = unpadder.update(decryptor.update(bytes(secret[2])) + decryptor.finalize()) + unpadder.finalize()
        return value

    def set(self, service: str, key: str, value: str) -> None:
        def write() -> None:
            self.collection.ensure_not_locked()
            attributes = self.query(service, key, application=self.appid)
            self.collection.create_item(f"Password for '{key}' on '{service}'", attributes, value.encode("utf-8"),
                                          replace=True)
        self._unlocked(write)

    def delete(self, service: str, key: str) -> None:
        def remove() -> None:
            for item in self.collection.search_items(self.query(service, key)):
                item.delete()
                return
        self._unlocked(remove)


class Locked(Exception):
    """The keychain stayed locked (its unlock prompt dismissed or timed out)."""


def direct_session() -> SecretServiceOps | None:
    """The Secret Service session without the keyring package, where keyring would pick the Secret
    Service itself (Linux and BSDs, nothing configured, the service running): keyring's import and
    discovery of every backend cost ~95 ms of each process that reads a secret. Its items are the
    ones keyring writes (same attributes). None: ask keyring."""
    if not secret_service_platform():
        return None
    try:
        import secretstorage
        from secretstorage.exceptions import SecretStorageException
    except ImportError:
        return None
    if secretstorage.__version_tuple__ < (3, 2):  # as keyring requires
        return None
    try:
        conn = secretstorage.dbus_init()
    except SecretStorageException:
        return None
    try:
        if not secretstorage.check_service_availability(conn):
            conn.close()
            return None
        return SecretServiceOps(None, conn)
    except BaseException:
        conn.close()
        raise
