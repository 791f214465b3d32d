"""The workspace list: which workspace is in use (--workspace, then CONNECTOR_DESK_WORKSPACE, then
`workspace use`, then local), the file's permissions, and bad input named by its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core import workspace
from desktop.core.errors import FieldError


def test_the_workspace_in_use_follows_flag_then_environment_then_choice(tmp_path: Path) -> None:
    assert workspace.current(environ={}, folder=tmp_path).name == "local"
    workspace.add("team", "https://vault.example.com:8200", folder=tmp_path)
    workspace.add("other", "https://vault2.example.com", prefix="a/b", folder=tmp_path)
    assert workspace.current(environ={}, folder=tmp_path).name == "local"
    workspace.use("team", tmp_path)
    assert workspace.current(environ={}, folder=tmp_path).name == "team"
    assert workspace.current(environ={"CONNECTOR_DESK_WORKSPACE": "other"}, folder=tmp_path).name == "other"
    assert workspace.current("local", environ={"CONNECTOR_DESK_WORKSPACE": "other"}, folder=tmp_path).kind == "local"
    assert (tmp_path / "workspaces.json").stat().st_mode & 0o777 == 0o600
    with pytest.raises(FieldError) as exc:
        workspace.current("missing", environ={}, folder=tmp_path)
    assert exc.value.field == "workspace"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": "local"}, "name"),
    ({"name": "bad name"}, "name"),
    ({"url": "vault.example.com"}, "vault"),
    ({"url": "http://vault.example.com"}, "vault"),  # plain http only on loopback
    ({"mount": "../x"}, "mount"),
    ({"prefix": "a//b"}, "prefix"),
    ({"ca_file": "/no/such/ca.pem"}, "ca-file"),
])
def test_bad_input_names_the_field_and_saves_nothing(tmp_path: Path, kwargs: dict[str, str], field: str) -> None:
    args = {"name": "team", "url": "https://vault.example.com", **kwargs}
    with pytest.raises(FieldError) as exc:
        workspace.add(folder=tmp_path, **args)  # type: ignore[arg-type]
    assert exc.value.field == field
    assert not (tmp_path / "workspaces.json").exists()


def test_http_on_loopback_is_accepted(tmp_path: Path) -> None:
    assert workspace.add("dev", "http://127.0.0.1:8200/", folder=tmp_path).url == "http://127.0.0.1:8200"
