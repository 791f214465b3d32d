"""Atomic file writes (temp file in the same folder, fsync, replace) and an inter-process lock."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from desktop.core import errors
from desktop.core.errors import ConnectorError


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
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
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "r+b") as f:
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
