"""Workspaces (DESIGN.md §3): where connectors and their secrets live.

``local`` — the catalogue file and the OS keychain, the default — or a team vault (OpenBao or
HashiCorp Vault, KV version 2; :mod:`desktop.core.teamvault`). The list of workspaces is a small
JSON file (``workspaces.json``, 0600) in the app's folder: name → {kind, url, mount, prefix,
ca_file}. It never holds a vault credential. The workspace in use: ``--workspace NAME``, else
``CONNECTOR_DESK_WORKSPACE``, else the one chosen with ``workspace use``, else ``local``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from desktop.core import paths
from desktop.core.atomic import write_atomic
from desktop.core.errors import FieldError
from desktop.core.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from desktop.core.contract import ConnectorType
    from desktop.core.service import Desk

LOCAL = "local"
ENV = "CONNECTOR_DESK_WORKSPACE"
FILE = "workspaces.json"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
PATH_RE = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class Workspace(Record):
    """Where connectors and their secrets live: ``local`` (this computer) or a team vault."""

    _fields = ("name", "kind", "url", "mount", "prefix", "ca_file", "timeout_s")
    name: str
    kind: str  # local | vault
    url: str
    mount: str
    prefix: str
    ca_file: str
    timeout_s: float  # every call to the vault is bounded by this

    def __init__(self, name: str, kind: str = "local", url: str = "", mount: str = "secret",
                 prefix: str = "connector-desk", ca_file: str = "", timeout_s: float = 10.0) -> None:
        self.name, self.kind, self.url, self.mount = name, kind, url, mount
        self.prefix, self.ca_file, self.timeout_s = prefix, ca_file, timeout_s

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self._fields if f != "name"}


def _file(folder: Path | None = None) -> Path:
    return (folder or paths.home()) / FILE


def _read(folder: Path | None = None) -> dict[str, Any]:
    path = _file(folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"current": LOCAL, "workspaces": {}}
    except (OSError, ValueError) as exc:
        raise FieldError("workspace", f"{path} cannot be read ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("workspaces"), dict):
        raise FieldError("workspace", f"{path} is not a list of workspaces")
    return data


def _write(data: Mapping[str, Any], folder: Path | None = None) -> None:
    path = _file(folder)
    write_atomic(path, (json.dumps(data, indent=2) + "\n").encode())
    os.chmod(path, 0o600)


def check_workspace_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise FieldError("name", "use 1–32 letters, digits, “.”, “_” or “-”, starting with a letter or digit")
    return name


def _check_url(url: str) -> str:
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise FieldError("vault", "give the vault's address, e.g. https://vault.example.com:8200")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise FieldError("vault", "use https (plain http is only accepted on this computer's loopback address)")
    return url.rstrip("/")


def add(name: str, url: str, mount: str = "secret", prefix: str = "connector-desk", ca_file: str = "",
        timeout_s: float = 10.0, folder: Path | None = None) -> Workspace:
    ws = make(name, url, mount, prefix, ca_file, timeout_s)
    save(ws, folder)
    return ws


def save(ws: Workspace, folder: Path | None = None) -> None:
    data = _read(folder)
    data["workspaces"][ws.name] = ws.to_dict()
    _write(data, folder)


def make(name: str, url: str, mount: str = "secret", prefix: str = "connector-desk", ca_file: str = "",
         timeout_s: float = 10.0) -> Workspace:
    """A team-vault workspace from user input (not saved); a bad field is named by its label."""
    name = check_workspace_name(name)
    if name == LOCAL:
        raise FieldError("name", "“local” is this computer's workspace; choose another name")
    url = _check_url(url)
    for label, value in (("mount", mount), ("prefix", prefix)):
        if not PATH_RE.match(value) or any(part in (".", "..") for part in value.split("/")):
            raise FieldError(label, "use letters, digits, “.”, “_”, “-” and “/” between parts")
    if ca_file:
        ca_path = Path(ca_file).expanduser().resolve()
        if not ca_path.is_file():
            raise FieldError("ca-file", f"no such file: {ca_file}")
        ca_file = str(ca_path)
    if not 0 < timeout_s <= 300:
        raise FieldError("timeout", "give 0 < seconds ≤ 300")
    return Workspace(name, "vault", url, mount, prefix, ca_file, float(timeout_s))


def listing(folder: Path | None = None) -> tuple[list[Workspace], str]:
    """Every workspace (``local`` first) and the name of the one chosen with ``use``."""
    data = _read(folder)
    out = [Workspace(LOCAL)]
    for name, d in sorted(data["workspaces"].items()):
        if isinstance(d, dict):
            out.append(Workspace(name, **{k: v for k, v in d.items() if k in Workspace._fields and k != "name"}))
    return out, str(data.get("current") or LOCAL)


def get(name: str, folder: Path | None = None) -> Workspace:
    for ws in listing(folder)[0]:
        if ws.name == name:
            return ws
    raise FieldError("workspace", f"no workspace named “{name}” (add it: connector-desk workspace add "
                                  f"{name} --vault URL)")


def use(name: str, folder: Path | None = None) -> Workspace:
    ws = get(name, folder)
    data = _read(folder)
    data["current"] = ws.name
    _write(data, folder)
    return ws


def current(explicit: str | None = None, environ: Mapping[str, str] | None = None,
            folder: Path | None = None) -> Workspace:
    env = os.environ if environ is None else environ
    name = explicit or env.get(ENV) or listing(folder)[1]
    return get(name, folder)


def open_desk(types: Mapping[str, ConnectorType] | Callable[[], Mapping[str, ConnectorType]],
              explicit: str | None = None, folder: Path | None = None) -> Desk:
    """A Desk on the workspace in use: the local catalogue + keychain, or a team vault."""
    from desktop.core.service import Desk
    ws = current(explicit, folder=folder)
    if ws.kind == LOCAL:
        return Desk(types, folder)
    from desktop.core.teamvault import TeamStore
    return Desk(types, folder, team=TeamStore.connect(ws, folder=folder))
