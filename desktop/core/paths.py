"""Where Connector Desk keeps its files: platformdirs, or ``CONNECTOR_DESK_HOME`` when set
(tests and portable installs). Both folders are the user's alone (0700)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from desktop import APP_ID
from desktop.core.atomic import private_dir


def home() -> Path:
    override = os.environ.get("CONNECTOR_DESK_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_ID, appauthor=False))
    return private_dir(path)


def log_dir() -> Path:
    override = os.environ.get("CONNECTOR_DESK_HOME")
    path = Path(override) / "logs" if override else Path(platformdirs.user_log_dir(APP_ID, appauthor=False))
    return private_dir(path)
