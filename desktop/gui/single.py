"""One running Connector Desk per data folder: a second launch asks the first to raise its window
and exits. A local socket (a named pipe on Windows) named after the user and the data folder, so
portable copies (CONNECTOR_DESK_HOME) and other users run side by side."""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

RAISE = b"raise\n"


def server_name(folder: Path) -> str:
    digest = hashlib.sha256(f"{getpass.getuser()}\0{folder.resolve()}".encode()).hexdigest()[:16]
    return f"connector-desk-{digest}"


class SingleInstance(QObject):
    def __init__(self, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(folder)
        self.server: QLocalServer | None = None

    def hand_over(self, wait_ms: int = 500) -> bool:
        """True when another instance is running and was asked to show itself."""
        sock = QLocalSocket(self)
        sock.connectToServer(self.name)
        if not sock.waitForConnected(wait_ms):
            return False
        sock.write(RAISE)
        sock.flush()
        sock.waitForBytesWritten(wait_ms)
        sock.disconnectFromServer()
        return True

    def listen(self, on_raise: Callable[[], None]) -> bool:
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

                def read(c: QLocalSocket = conn) -> None:
                    if bytes(c.readAll().data()).startswith(RAISE.strip()):
                        on_raise()
                    c.disconnectFromServer()

                conn.readyRead.connect(read)
                conn.disconnected.connect(conn.deleteLater)

        server.newConnection.connect(accept)
        self.server = server
        return True
