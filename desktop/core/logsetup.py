"""File logging for the CLI and the GUI. Nothing logged here carries a secret: secrets are
:class:`Secret` objects that print as ********, and protocol lines go only to transcripts.
The log files are the user's alone (0600, in a 0700 folder)."""

from __future__ import annotations

import logging
import logging.handlers
import os
from typing import TextIO

from desktop.core import paths
from desktop.core.atomic import open_private


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Each log file (the current one and every one started after a rotation) is created 0600."""

    def _open(self) -> TextIO:  # type: ignore[override]
        fd = open_private(self.baseFilename, os.O_WRONLY | os.O_APPEND)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def setup_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_connector_desk", False) for h in root.handlers):
        return
    handler = _PrivateRotatingFileHandler(paths.log_dir() / "connector-desk.log",
                                          maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._connector_desk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
