"""The data and log folders worked out without platformdirs are the ones platformdirs gives (Linux),
so a user's catalogue is found where earlier versions kept it."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from desktop import APP_ID
from desktop.core import paths

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the folders worked out here are Linux's")


@pytest.mark.parametrize("data_home, state_home, home_suffix", [
    (None, None, ""),            # the usual: nothing set, HOME absolute
    (None, None, "/"),           # HOME with a trailing slash
    ("{tmp}/data", "{tmp}/state", ""),
    ("{tmp}/data/", "{tmp}/state/", ""),
    ("", "", ""),                # set but empty: ignored, as the XDG spec says
    ("relative/data", "relative/state", ""),  # not absolute: ignored
])
def test_folders_match_platformdirs(tmp_path, monkeypatch, data_home, state_home, home_suffix):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CONNECTOR_DESK_HOME", raising=False)
    monkeypatch.setenv("HOME", f"{tmp_path}/home{home_suffix}")
    monkeypatch.chdir(tmp_path)
    for var, value in (("XDG_DATA_HOME", data_home), ("XDG_STATE_HOME", state_home)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value.format(tmp=tmp_path))
    data = paths.home()
    logs = paths.log_dir()
    assert data == Path(platformdirs.user_data_dir(APP_ID, appauthor=False))
    assert logs == Path(platformdirs.user_log_dir(APP_ID, appauthor=False))
    assert data.is_dir() and (data.stat().st_mode & 0o777) == 0o700
    if data_home is None:
        assert data == tmp_path / "home" / ".local" / "share" / APP_ID


def test_the_override_wins(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONNECTOR_DESK_HOME", str(tmp_path / "portable"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert paths.home() == tmp_path / "portable"
    assert paths.log_dir() == tmp_path / "portable" / "logs"
