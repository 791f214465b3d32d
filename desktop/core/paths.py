"""Where Connector Desk keeps its files: platformdirs' folders, or ``CONNECTOR_DESK_HOME`` when set
(tests and portable installs). Both folders are the user's alone (0700).

On Linux, the usual case — ``$XDG_DATA_HOME`` / ``$XDG_STATE_HOME`` absolute or unset, ``$HOME``
absolute — is worked out here, as platformdirs does (tests/unit/core/test_paths.py compares the
two): importing platformdirs costs ~6 ms (it loads ``tempfile``, ``shutil``, ``random``…) of every
command that reads the catalogue. Anything else asks platformdirs."""

from __future__ import annotations

import os
from pathlib import Path

from desktop import APP_ID
from desktop.core.atomic import private_dir


def _xdg(variable: str, default: str) -> str | None:
    """``$variable`` when absolute, else ``default`` under an absolute ``$HOME``; None: ask platformdirs."""
    import sys
    if sys.platform != "linux":
        return None
    given = os.environ.get(variable, "")
    if given.startswith("/"):
        return given
    home = os.environ.get("HOME", "")
    return os.path.expanduser(default) if home.startswith("/") else None


def home() -> Path:
    override = os.environ.get("CONNECTOR_DESK_HOME")
    if override:
        return private_dir(Path(override))
    base = _xdg("XDG_DATA_HOME", "~/.local/share")
    if base is not None:
        return private_dir(Path(base, APP_ID))
    import platformdirs
    return private_dir(Path(platformdirs.user_data_dir(APP_ID, appauthor=False)))


def log_dir() -> Path:
    override = os.environ.get("CONNECTOR_DESK_HOME")
    if override:
        return private_dir(Path(override) / "logs")
    base = _xdg("XDG_STATE_HOME", "~/.local/state")
    if base is not None:
        return private_dir(Path(base, APP_ID, "log"))
    import platformdirs
    return private_dir(Path(platformdirs.user_log_dir(APP_ID, appauthor=False)))
