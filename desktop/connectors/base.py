"""The fixed shape every connector type has: declared fields and secrets, presets (data),
``validate()`` and ``test_send()``. No Qt. Adding a type means adding one module here and one
presets file in ``resources/presets``; nothing else changes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from desktop.core.errors import ConnectorError
from desktop.core.fields import Field, SecretField, defaults
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret


@dataclass(frozen=True)
class Preset:
    """A provider: settings it fixes, hints by error code or server status, notes to show."""

    id: str
    label: str
    settings: dict[str, Any] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    notes: str = ""


class ConnectorType(ABC):
    type_name: str
    label: str
    summary: str
    fields: tuple[Field, ...]
    secrets: tuple[SecretField, ...]
    test_action_label = "Send test"

    def presets(self) -> list[Preset]:
        from desktop.core.resources import load_json
        try:
            data = load_json("presets", f"{self.type_name}.json")
        except FileNotFoundError:
            return []
        return [Preset(p["id"], p["label"], p.get("settings", {}), p.get("hints", {}), p.get("notes", ""))
                for p in data["presets"]]

    def preset(self, preset_id: str | None) -> Preset | None:
        for p in self.presets():
            if p.id == preset_id:
                return p
        return None

    def default_settings(self) -> dict[str, Any]:
        return defaults(self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def secrets_needed(self, settings: Mapping[str, Any]) -> list[SecretField]:
        return [s for s in self.secrets if s.applies(settings)]

    def warnings(self, settings: Mapping[str, Any]) -> list[str]:
        """Choices that weaken security, shown wherever the connector appears."""
        return []

    def server_label(self, settings: Mapping[str, Any]) -> str:
        host = settings.get("host") or "?"
        port = settings.get("port")
        return f"{host}:{port}" if port else str(host)

    def add_provider_hint(self, settings: Mapping[str, Any], err: ConnectorError,
                          keys: tuple[str, ...] = ()) -> None:
        """Replace the hint with the provider's own advice when the preset has one."""
        preset = self.preset(settings.get("provider"))
        if preset is None:
            return
        for key in (*keys, err.code):
            if key in preset.hints:
                err.hint = preset.hints[key]
                return

    @abstractmethod
    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        """Check everything short of storing anything: raise ConnectorError on failure."""

    @abstractmethod
    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, to: str) -> None:
        """Do one real test action (send a message) and record what happened in ``run.info``."""
