"""The keychain session opened ahead, in a helper process, for a command about to read a secret.

``validate NAME`` reads a saved connector's password; on the Secret Service, opening the session
costs ~35–40 ms (secretstorage, jeepney and cryptography imported, the D-Bus connection, the
encrypted session's key exchange, the first decryption's set-up) — as long as the rest of the
command before it. :func:`open_early`, called as the command starts (while the process has no other
thread), forks a helper that does all that on another core while the command imports its modules
and reads its catalogue. The process's keychain (:class:`desktop.core.vault.Keychain`) then takes
that session (:func:`take`) and makes its calls through the helper's pipes, one at a time, under
its usual deadline.

Anything wrong with the helper, and the session opens in the process, as it always did: the helper
found no Secret Service (the keychain's own discovery runs), or it ended before saying so; a helper
that dies later is replaced for the call at hand. The helper never outlives the command: it is
ended at the command's exit (and ends by itself at the closed pipe however the command ended), and
each of its D-Bus calls is bounded by an alarm. Its standard streams are
/dev/null. The pipes are private to the two processes (close-on-exec); secrets cross them as they
cross the D-Bus connection, never a file.

This module imports only what the fork needs; the helper imports the rest.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from desktop.core.vault import _SecretServiceOps

_CALLS = ("get", "set", "delete")


def keyring_chosen_elsewhere() -> bool:
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
    return sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) and not keyring_chosen_elsewhere()


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

    from desktop.core import vault
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C ends the command; its end of the pipe closes
    limit = int(vault.keychain_timeout()) + 5
    signal.alarm(limit)  # a D-Bus call that never returns ends the helper (SIGALRM's default)
    ops = vault._direct_secret_service()
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
        except vault._Locked:
            _send(replies, {"error": "locked"})
        except Exception as exc:  # noqa: BLE001 - said to the command by its class; it decides
            _send(replies, {"error": type(exc).__name__})
        signal.alarm(0)


class HelperOps:
    """The helper's Secret Service session, through its pipes: the calls of
    :class:`desktop.core.vault._SecretServiceOps`. Should the helper be gone when a call is made, the
    call is made in this process, on a session opened here."""

    def __init__(self, pid: int, calls: int, replies: int) -> None:
        self.pid, self.calls, self.replies = pid, calls, replies
        self._here: _SecretServiceOps | None = None

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
                from desktop.core.vault import _direct_secret_service
                self._here = _direct_secret_service()
                if self._here is None:
                    raise HelperFailed("the keychain's helper process ended") from None
            else:
                if "error" in reply:
                    if reply["error"] == "locked":
                        from desktop.core.vault import _Locked
                        raise _Locked()
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
    vault = sys.modules.get("desktop.core.vault")
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
