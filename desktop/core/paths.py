"""Where Connector Desk keeps its files: platformdirs, or ``CONNECTOR_DESK_HOME`` when set
(tests and portable installs). Both folders are the user's alone (0700). platformdirs is imported
when a folder is first asked for (~4 ms: a command that keeps no file, ``validate --spec``, never is)."""

from __future__ import annotations

import os
from pathlib import Path

from desktop import APP_ID
from desktop.core.atomic import private_dir


def home() -> Path:
    override = os.environ.get("CONNECTOR_DESK_HOME")
    if override:
        return private_dir(Path(override))
    import platformdirs
    return private_dir(Path(platformdirs.user_data_dir(APP_ID, appauthor=False)))


def log_dir() -> Path:
    override = os.environ.get("CONNECTOR_DESK_HOME")
    if override:
        return private_dir(Path(override) / "logs")
    import platformdirs
    return private_dir(Path(platformdirs.user_log_dir(APP_ID, appauthor=False)))
