"""File logging for the CLI and the GUI. Nothing logged here carries a secret: secrets are
:class:`Secret` objects that print as ********, and protocol lines go only to transcripts."""

from __future__ import annotations

import logging
import logging.handlers

from desktop.core import paths


def setup_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_connector_desk", False) for h in root.handlers):
        return
    handler = logging.handlers.RotatingFileHandler(paths.log_dir() / "connector-desk.log",
                                                   maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._connector_desk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
