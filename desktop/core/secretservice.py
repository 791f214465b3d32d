"""The Secret Service (GNOME Keyring, KeePassXC… over D-Bus) spoken to directly, without keyring's
discovery (~95 ms of each process that reads a secret): one D-Bus connection and one encrypted
session per process, reading and writing the items keyring's own Secret Service backend reads and
writes. :mod:`desktop.core.vault` decides when it is used; this module imports nothing heavy, so a
process can fork before the rest of its imports.

**The session opened ahead.** ``validate NAME`` reads a saved connector's password; opening the
session costs ~35–40 ms (secretstorage, jeepney and cryptography imported, the D-Bus connection, the
key exchange, the first decryption's set-up) — as long as the rest of the command before it.
:func:`open_early`, called as the command starts (while the process has no other thread), forks a
helper that does all that on another core while the command imports its modules and reads its
catalogue. The process's keychain (:class:`desktop.core.vault.Keychain`) then takes that session
(:func:`take`) and makes its calls through the helper's pipes, one at a time, under its usual
deadline.

Anything wrong with the helper, and the session opens in the process, as it always did: the helper
found no Secret Service (the keychain's own discovery runs), or it ended before saying so; a helper
that dies later is replaced for the call at hand. The helper never outlives the command: it is
ended at the command's exit (and ends by itself at the closed pipe however the command ended), and
each of its D-Bus calls is bounded by an alarm. Its standard streams are /dev/null. The pipes are
private to the two processes (close-on-exec); secrets cross them as they cross the D-Bus
connection, never a file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

TIMEOUT_ENV = "CONNECTOR_DESK_KEYCHAIN_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0
KEYRING_APPID = "Python keyring library"  # the "application" attribute keyring's Secret Service items carry
_CALLS = ("get", "set", "delete")


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
        self.collection.session = session

    def close(self) -> None:
        self._closer()

    def warm(self) -> None:
        """Load what the first read decrypts with (secretstorage's AES-CBC: cryptography's backend,
        ~10 ms), so a helper process that has time to spare does it before the read is asked."""
        from cryptography.hazmat.backends import default_backend
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        Cipher(algorithms.AES(bytes(16)), modes.CBC(bytes(16)), default_backend()).decryptor().update(bytes(16))

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
            for item in self.collection.search_items(self.query(service, key)):
                item.ensure_not_locked()
                return item.get_secret().decode("utf-8")
            return None
        result: str | None = self._unlocked(read)
        return result

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


# -- the session opened ahead, in a helper process --------------------------------------------------

class HelperFailed(Exception):
    """A keychain call that failed in the helper process (``kind``: the exception's class there)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _Gone(Exception):
    """The helper process ended or its pipe broke."""


def _send(fd: int, message: Any) -> None:
    data = json.dumps(message).encode("utf-8")
    view = memoryview(len(data).to_bytes(4, "big") + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int) -> bytes:
    parts = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise _Gone()
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _receive(fd: int) -> Any:
    return json.loads(_read_exactly(fd, int.from_bytes(_read_exactly(fd, 4), "big")))


def _serve(calls: int, replies: int) -> None:
    """In the helper: open the Secret Service session, say whether there is one, get ready to
    decrypt, then make the command's calls one at a time until it closes its end."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C ends the command; its end of the pipe closes
    limit = int(keychain_timeout()) + 5
    signal.alarm(limit)  # a D-Bus call that never returns ends the helper (SIGALRM's default)
    ops = direct_session()
    signal.alarm(0)
    _send(replies, {"ready": ops is not None})
    if ops is None:
        return
    ops.warm()
    while True:
        try:
            call = _receive(calls)
        except _Gone:
            return
        name, params = call[0], call[1:]
        signal.alarm(limit)
        try:
            if name not in _CALLS:
                raise ValueError(name)
            _send(replies, {"value": getattr(ops, name)(*params)})
        except Locked:
            _send(replies, {"error": "locked"})
        except Exception as exc:  # noqa: BLE001 - said to the command by its class; it decides
            _send(replies, {"error": type(exc).__name__})
        signal.alarm(0)


class HelperOps:
    """The helper's Secret Service session, through its pipes: the calls of
    :class:`SecretServiceOps`. Should the helper be gone when a call is made, the
    call is made in this process, on a session opened here."""

    def __init__(self, pid: int, calls: int, replies: int) -> None:
        self.pid, self.calls, self.replies = pid, calls, replies
        self._here: SecretServiceOps | None = None

    def ready(self) -> bool | None:
        """Whether the helper found the Secret Service; None: it ended without saying."""
        try:
            return bool(_receive(self.replies)["ready"])
        except (_Gone, OSError, ValueError, KeyError, TypeError):
            return None

    def _call(self, name: str, *params: str) -> Any:
        if self._here is None:
            try:
                _send(self.calls, [name, *params])
                reply = _receive(self.replies)
            except (_Gone, OSError):
                self.close()
                self._here = direct_session()
                if self._here is None:
                    raise HelperFailed("the keychain's helper process ended") from None
            else:
                if "error" in reply:
                    if reply["error"] == "locked":
                        raise Locked()
                    raise HelperFailed(str(reply["error"]))
                return reply.get("value")
        return getattr(self._here, name)(*params)

    def get(self, service: str, key: str) -> str | None:
        value: str | None = self._call("get", service, key)
        return value

    def set(self, service: str, key: str, value: str) -> None:
        self._call("set", service, key, value)

    def delete(self, service: str, key: str) -> None:
        self._call("delete", service, key)

    def close(self) -> None:
        """Close the pipes and end the helper (killed: idle, it would end at the closed pipe anyway;
        in a call, the command gave up on it). Never waits: a helper not reaped here is reaped by
        the system once the command has exited. Called again at exit."""
        if self._here is not None:
            self._here.close()
            self._here = None
        for fd in (self.calls, self.replies):
            if fd >= 0:
                os.close(fd)
        self.calls = self.replies = -1
        pid, self.pid = self.pid, 0
        if pid:
            import signal
            try:
                os.kill(pid, signal.SIGKILL)  # not reaped yet, so the pid is still the helper's
                os.waitpid(pid, os.WNOHANG)
            except (ChildProcessError, ProcessLookupError):
                pass


_EARLY: HelperOps | None = None


def open_early() -> bool:
    """Start opening this process's Secret Service session in a helper process (a fork of this one),
    for a command about to read a secret. False where that does not apply (another keychain, another
    platform, threads running, a keychain session open already): the session then opens in this
    process when first used, as always."""
    global _EARLY
    threads = sys.modules.get("threading")
    vault = sys.modules.get("desktop.core.vault")  # not imported for this: it is what the helper spares
    if (_EARLY is not None or not hasattr(os, "fork") or not secret_service_platform()
            or (threads is not None and threads.active_count() > 1)
            or (vault is not None and getattr(vault, "_PROCESS_KEYCHAIN", None) is not None)):
        return False
    calls_r, calls_w = os.pipe()
    replies_r, replies_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the helper
        code = 0
        try:
            os.close(calls_w)
            os.close(replies_r)
            quiet = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):  # the command's output is its own: no reader waits for the helper
                os.dup2(quiet, fd)
            os.close(quiet)
            _serve(calls_r, replies_w)
        except BaseException:  # noqa: BLE001 - the command falls back to its own session
            code = 1
        finally:
            os._exit(code)
    os.close(calls_r)
    os.close(replies_w)
    _EARLY = HelperOps(pid, calls_w, replies_r)
    import atexit
    atexit.register(_EARLY.close)
    return True


def take() -> HelperOps | Literal[False] | None:
    """The helper's session once it said it is ready; False when it found no Secret Service; None
    when there is no helper (or it ended without saying). Blocks until the helper says."""
    global _EARLY
    early, _EARLY = _EARLY, None
    if early is None:
        return None
    ready = early.ready()
    if ready:
        return early
    early.close()
    return None if ready is None else False


def _forget_after_fork() -> None:
    """A forked child has no helper of its own (its pipes are the parent's)."""
    global _EARLY
    _EARLY = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
