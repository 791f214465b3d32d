"""Atomic file writes (temp file in the same folder, fsync, replace) and an inter-process lock.

Everything the application writes is the user's alone: files 0600, folders 0700, set explicitly
whatever the umask (DESIGN.md §4)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from desktop.core import errors
from desktop.core.errors import ConnectorError

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as a folder only the user can enter; an existing
    folder's mode is tightened to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if sys.platform != "win32" and (path.stat().st_mode & 0o777) != DIR_MODE:
        with contextlib.suppress(PermissionError):  # a folder of someone else's: leave it as it is
            os.chmod(path, DIR_MODE)
    return path


def open_private(path: Path | str, flags: int) -> int:
    """``os.open`` of a file created 0600 (and an existing one tightened to 0600)."""
    fd = os.open(path, flags | os.O_CREAT | getattr(os, "O_BINARY", 0), FILE_MODE)  # no CRT newline mangling
    if sys.platform != "win32":
        try:
            os.fchmod(fd, FILE_MODE)
        except OSError:
            os.close(fd)
            raise
    return fd


def write_atomic(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    import tempfile  # here: ~1 ms (random, bisect) only a write pays
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable."""
    if sys.platform != "win32":
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = 10.0) -> Iterator[None]:
    """An exclusive lock held across processes (two running instances write in turn)."""
    with os.fdopen(open_private(path, os.O_RDWR | os.O_APPEND), "a+b") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                _lock(f.fileno())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise ConnectorError(
                        errors.INTERNAL_ERROR,
                        "Another Connector Desk is still writing the catalogue.",
                        "Wait a moment and try again; close other windows if it persists.",
                    ) from None
                time.sleep(0.01)
        try:
            yield
        finally:
            _unlock(f.fileno())


if sys.platform == "win32":  # pragma: no cover - exercised on Windows runners
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
