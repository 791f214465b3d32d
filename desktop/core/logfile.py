"""The log file's handler (:mod:`desktop.core.logsetup` hangs it on the root logger)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from desktop.core.atomic import open_private

if TYPE_CHECKING:
    from logging.handlers import RotatingFileHandler

LOG_NAME = "connector-desk.log"
# Libraries that narrate every connection at INFO (kafka-python: each bootstrap, each metadata refresh):
# only their warnings and errors reach the file. Checks capture their own records (no logger is changed).
CHATTY = frozenset({"kafka", "urllib3", "msal", "oauthlib", "requests_oauthlib", "hvac", "botocore"})
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _rotating(path: Path) -> RotatingFileHandler:
    from logging.handlers import RotatingFileHandler

    class PrivateRotatingFileHandler(RotatingFileHandler):
        """Each log file (the current one and every one started after a rotation) is created 0600."""

        def _open(self) -> TextIO:  # type: ignore[override]
            fd = open_private(self.baseFilename, os.O_WRONLY | os.O_APPEND)
            return open(fd, "a", encoding=self.encoding, errors=self.errors)

    return PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")


class LogFile(logging.Handler):
    """The log file at ``path``: created (0600) at once, its rotating handler made when the first
    record arrives (``emit`` runs under this handler's lock, so once)."""

    _connector_desk = True

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.file: logging.Handler | None = None
        os.close(open_private(str(path), os.O_WRONLY | os.O_APPEND))
        self.setFormatter(logging.Formatter(FORMAT))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and record.name.partition(".")[0] in CHATTY:
            return False
        return bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        if self.file is None:
            self.file = _rotating(self.path)
            self.file.setFormatter(self.formatter)
        self.file.emit(record)

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        super().close()
