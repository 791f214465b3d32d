"""Where Connector Desk keeps its files: platformdirs, or ``CONNECTOR_DESK_HOME`` when set
(tests and portable installs)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from desktop import APP_ID


def home() -> Path:
    override = os.environ.get("CONNECTOR_DESK_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_ID, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    override = os.environ.get("CONNECTOR_DESK_HOME")
    path = Path(override) / "logs" if override else Path(platformdirs.user_log_dir(APP_ID, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
