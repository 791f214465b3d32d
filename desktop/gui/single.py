"""One running Connector Desk per data folder: a second launch asks the first to raise its window
and exits. A local socket named after the data folder, so portable copies (CONNECTOR_DESK_HOME) run
side by side, in a place only this user can create it: $XDG_RUNTIME_DIR (0700, the user's own), else a
0700 folder in the user's cache folder. Never the shared temp folder, where another user could create
the name first and stop the application from starting. On Linux the peer's user id is checked
(SO_PEERCRED) both ways; a connection that says nothing within a second is dropped. On Windows it is a
named pipe only this user may open (QLocalServer's UserAccessOption)."""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
import stat
import struct
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtNetwork import QLocalServer, QLocalSocket

RAISE = b"raise\n"
IDLE_MS = 1000  # a connection that has not said "raise" by then is dropped
MAX_PATH = 100  # a Unix socket path must fit in sockaddr_un (108 bytes)


def _private(folder: Path) -> bool:
    """True for a real folder owned by this user that no one else may enter."""
    try:
        st = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077 == 0


def socket_folder() -> Path | None:
    """Where this user's instance sockets live (POSIX), or None when there is no private place."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_absolute() and _private(Path(runtime)):
        return Path(runtime)
    if sys.platform == "darwin":
        cache = Path.home() / "Library" / "Caches"
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "connector-desk"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.lstat().st_uid == os.getuid() and not folder.is_symlink():
            folder.chmod(0o700)
    except OSError:
        return None
    return folder if _private(folder) else None


def server_name(folder: Path) -> str:
    """The socket's full path (POSIX) or the pipe's name (Windows); "" when there is no safe place."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{folder.resolve()}".encode()).hexdigest()[:16]
    if sys.platform == "win32":
        return f"connector-desk-{digest}"
    where = socket_folder()
    if where is None:
        return ""
    path = str(where / f"connector-desk-{digest}")
    return path if len(path.encode()) <= MAX_PATH else ""


def peer_uid(sock: QLocalSocket) -> int | None:
    """The user id of the process at the other end (Linux), or None where the platform cannot say."""
    option = getattr(socket, "SO_PEERCRED", None)
    fd = int(sock.socketDescriptor())
    if option is None or fd < 0:
        return None
    with socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM) as dup:
        _pid, uid, _gid = struct.unpack("3i", dup.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return int(uid)


def _same_user(sock: QLocalSocket) -> bool:
    uid = peer_uid(sock)
    return uid is None or uid == os.getuid()


class SingleInstance(QObject):
    def __init__(self, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(folder)
        self.server: QLocalServer | None = None

    def hand_over(self, wait_ms: int = 500) -> bool:
        """True when another instance of this user is running and was asked to show itself."""
        if not self.name:
            return False
        sock = QLocalSocket(self)
        sock.connectToServer(self.name)
        if not sock.waitForConnected(wait_ms):
            return False
        if not _same_user(sock):
            sock.abort()
            return False
        sock.write(RAISE)
        sock.flush()
        sock.waitForBytesWritten(wait_ms)
        sock.disconnectFromServer()
        return True

    def listen(self, on_raise: Callable[[], None]) -> bool:
        if not self.name:
            return False  # no private place for the socket: this window runs without the hand-over
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # A stale socket file from a crashed instance (hand_over found nobody there): take it over.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                return False

        def accept() -> None:
            while server.hasPendingConnections():
                conn = server.nextPendingConnection()
                conn.disconnected.connect(conn.deleteLater)
                if not _same_user(conn):
                    conn.abort()
                    continue
                QTimer.singleShot(IDLE_MS, conn, conn.abort)  # silent for a second: dropped

                def read(c: QLocalSocket = conn) -> None:
                    if bytes(c.read(64).data()).startswith(RAISE.strip()):
                        on_raise()
                    c.abort()

                conn.readyRead.connect(read)

        server.newConnection.connect(accept)
        self.server = server
        return True
