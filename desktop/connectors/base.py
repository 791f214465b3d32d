"""The fixed shape every connector type has: declared fields and secrets, presets (data),
``validate()`` and ``test_send()``. No Qt. Adding a type means adding one module here and one
presets file in ``resources/presets``; nothing else changes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from desktop.core import errors
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
    # What the wizard's test action does: "send" (a message to a recipient), "peek" (read the
    # newest messages) or "produce" (a record, read back). Mail receivers also implement wait_for().
    test_action = "send"

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
        """The secrets that must be given for these settings (optional ones are not listed)."""
        return [s for s in self.secrets if s.applies(settings) and not s.optional]

    def secrets_kept(self, settings: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
        """The secrets to store: the required ones, and optional ones that were given."""
        return [s.name for s in self.secrets if s.applies(settings) and (not s.optional or given.get(s.name))]

    def field_help(self, name: str, settings: Mapping[str, Any]) -> str | None:
        """The help shown under a field when it depends on other settings (the provider); None: as declared."""
        return None

    def field_problems(self, settings: Mapping[str, Any]) -> dict[str, str]:
        """Field name → problem, for checks a field's kind cannot express (Kafka's host:port list)."""
        return {}

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

    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, to: str,
                  tag: str | None = None) -> None:
        """Send one real test message (header X-Connector-Desk-Test: ``tag``); record it in ``run.info``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector does not send messages.",
                             "Use the connector's own test action.")

    def peek(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, count: int) -> None:
        """Read (without changing anything) the newest ``count`` messages into ``run.info["messages"]``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector has no messages to peek at.",
                             "Use the connector's own test action.")

    def produce(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        """Produce one test record and read it back; ``run.info["latency_ms"]``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector does not produce records.",
                             "Use the connector's own test action.")

    def folders(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        """List the account's folders into ``run.info["folders"]``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector has no folders.", "")

    def wait_for(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, tag: str,
                 sent_at: float) -> None:
        """Wait until the message tagged ``tag`` arrives (round trip); ``run.info["delivery_ms"]``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector does not receive messages.",
                             "Choose a connector that receives mail (IMAP) for the round trip.")

    # -- failed sends (connector health) ---------------------------------------------------------
    def linked_connector(self, settings: Mapping[str, Any]) -> str | None:
        """The saved connector ``failures()`` also needs (SMTP: the IMAP bounce mailbox), if any."""
        return None

    def has_failures(self, settings: Mapping[str, Any]) -> bool:
        """True when ``failures()`` has somewhere to read from with these settings."""
        return False

    def failures(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, limit: int,
                 linked: tuple[Connector, Mapping[str, Secret]] | None = None) -> None:
        """Read the connector's failed sends into ``run.info["failures"]`` (``Failure.to_dict()``s,
        newest first, at most ``limit``), changing nothing."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector has no failed sends to show.",
                             "Failed sends are read from Kafka dead-letter topics, SMTP bounce mailboxes and "
                             "SendGrid suppression lists.")
