"""File logging for the CLI and the GUI. Nothing logged here carries a secret: secrets are
:class:`Secret` objects that print as ********, and protocol lines go only to transcripts.
The log files are the user's alone (0600, in a 0700 folder).

The file is created at set-up, but the rotating handler (``logging.handlers``: socket, pickle,
queue… ~7 ms of a command's start) is made on the first record: most commands log nothing."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from desktop.core import paths
from desktop.core.atomic import open_private

if TYPE_CHECKING:
    from logging.handlers import RotatingFileHandler

LOG_NAME = "connector-desk.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _rotating(path: Path) -> RotatingFileHandler:
    from logging.handlers import RotatingFileHandler

    class PrivateRotatingFileHandler(RotatingFileHandler):
        """Each log file (the current one and every one started after a rotation) is created 0600."""

        def _open(self) -> TextIO:  # type: ignore[override]
            fd = open_private(self.baseFilename, os.O_WRONLY | os.O_APPEND)
            return open(fd, "a", encoding=self.encoding, errors=self.errors)

    return PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")


class _LogFile(logging.Handler):
    """The rotating log file, made when the first record arrives (``emit`` runs under this
    handler's lock, so once)."""

    _connector_desk = True

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.file: logging.Handler | None = None
        os.close(open_private(str(path), os.O_WRONLY | os.O_APPEND))  # there from the start, 0600
        self.setFormatter(logging.Formatter(FORMAT))

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


def setup_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_connector_desk", False) for h in root.handlers):
        return
    root.addHandler(_LogFile(paths.log_dir() / LOG_NAME))
    root.setLevel(level)
