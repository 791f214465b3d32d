"""The catalogue of connectors: one versioned JSON file, written atomically, with a
last-known-good copy and a lock so two running instances cannot corrupt it. No secrets here:
only the names of the secrets kept in the keychain."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.atomic import file_lock, write_atomic
from desktop.core.model import Connector, Status

log = logging.getLogger(__name__)

SCHEMA = 1
# schema N → N+1 upgrade functions, applied in order on load (Picard's config_upgrade).
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class CatalogueError(Exception):
    pass


@dataclass
class LoadReport:
    recovered_from_backup: bool = False
    problem: str = ""


@dataclass
class Catalogue:
    folder: Path
    report: LoadReport = field(default_factory=LoadReport)

    @property
    def path(self) -> Path:
        return self.folder / "catalogue.json"

    @property
    def backup(self) -> Path:
        return self.folder / "catalogue.last-good.json"

    @property
    def lock_path(self) -> Path:
        return self.folder / "catalogue.lock"

    # -- reading ---------------------------------------------------------------------------
    def _read(self, path: Path) -> list[Connector]:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "connectors" not in data:
            raise CatalogueError("not a catalogue")
        version = int(data.get("schema", 1))
        if version > SCHEMA:
            raise CatalogueError(f"written by a newer Connector Desk (schema {version})")
        while version < SCHEMA:
            data = UPGRADES[version](data)
            version += 1
        out = []
        for d in data["connectors"]:
            out.append(Connector(
                name=d["name"], type=d["type"], description=d.get("description", ""),
                settings=dict(d.get("settings", {})), admin=dict(d.get("admin", {})),
                secret_names=list(d.get("secret_names", [])), status=Status.from_dict(d.get("status")),
                previous_until=dict(d.get("previous_until", {})),
            ))
        return out

    def load(self) -> list[Connector]:
        self.report = LoadReport()
        if not self.path.exists():
            if self.backup.exists():
                self.report = LoadReport(True, "The catalogue file was missing.")
                return self._read(self.backup)
            return []
        try:
            return self._read(self.path)
        except (ValueError, KeyError, TypeError, CatalogueError) as exc:
            log.error("catalogue unreadable (%s); trying the last good copy", exc)
            if self.backup.exists():
                self.report = LoadReport(True, f"The catalogue was damaged ({exc}); the last good "
                                               "copy was used.")
                return self._read(self.backup)
            raise CatalogueError(f"The catalogue {self.path} is damaged ({exc}) and there is no "
                                 "backup copy.") from exc

    def get(self, name: str) -> Connector | None:
        for c in self.load():
            if c.name == name:
                return c
        return None

    # -- writing ---------------------------------------------------------------------------
    def _write(self, connectors: list[Connector]) -> None:
        data = {
            "schema": SCHEMA,
            "connectors": [
                {"name": c.name, "type": c.type, "description": c.description, "settings": c.settings,
                 "admin": c.admin, "secret_names": c.secret_names, "status": c.status.to_dict(),
                 **({"previous_until": c.previous_until} if c.previous_until else {})}
                for c in connectors
            ],
        }
        blob = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
        if self.path.exists():
            try:
                self._read(self.path)
                write_atomic(self.backup, self.path.read_bytes())  # 0600 like the catalogue
            except (ValueError, KeyError, TypeError, CatalogueError):
                pass  # never overwrite the last good copy with a damaged one
        write_atomic(self.path, blob)

    def update(self, change: Callable[[list[Connector]], None]) -> list[Connector]:
        """Read, change and write under the lock, so concurrent writers never lose each other's work."""
        with file_lock(self.lock_path):
            connectors = self.load()
            change(connectors)
            self._write(connectors)
            return connectors
