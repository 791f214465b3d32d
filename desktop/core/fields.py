"""Declared, typed connector fields. Forms (GUI), documents (JSON) and checks are all derived
from these declarations; no connector hand-writes a form."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from desktop.core.errors import FieldError

Kind = Literal["text", "int", "bool", "choice", "email", "host", "path", "list"]
Page = Literal["provider", "server", "auth", "advanced"]

EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                     r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$|^\[?[0-9A-Fa-f:.]+\]?$")


@dataclass(frozen=True)
class Field:
    """One setting of a connector type."""

    name: str
    label: str
    kind: Kind = "text"
    default: Any = None
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    help: str = ""
    page: Page = "server"
    when: Mapping[str, tuple[Any, ...]] | None = None  # shown only when these settings match
    default_from: tuple[str, Mapping[Any, Any]] | None = None  # e.g. port follows security
    minimum: int | None = None
    maximum: int | None = None
    placeholder: str = ""
    picker: str | None = None  # a connector action that lists choices for this field ("folders")

    def applies(self, settings: Mapping[str, Any]) -> bool:
        if not self.when:
            return True
        return all(settings.get(k) in allowed for k, allowed in self.when.items())

    def default_for(self, settings: Mapping[str, Any]) -> Any:
        if self.default_from is not None:
            key, table = self.default_from
            if settings.get(key) in table:
                return table[settings.get(key)]
        return self.default

    def coerce(self, value: Any, prefix: str = "settings.") -> Any:
        """Check and normalise one value; raise FieldError naming the field."""
        name = prefix + self.name
        if value is None or value == "":
            if self.required:
                raise FieldError(name, "is required")
            return None if self.kind != "bool" else bool(self.default)
        if self.kind == "int":
            if isinstance(value, bool):
                raise FieldError(name, f"must be a whole number, not {value!r}")
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value.strip())
            if not isinstance(value, int):
                raise FieldError(name, f"must be a whole number, not {value!r}")
            if self.minimum is not None and value < self.minimum:
                raise FieldError(name, f"must be at least {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise FieldError(name, f"must be at most {self.maximum}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise FieldError(name, f"must be true or false, not {value!r}")
            return value
        if self.kind == "list":
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise FieldError(name, "must be a list of text values")
            if self.required and not value:
                raise FieldError(name, "needs at least one entry")
            return value
        if not isinstance(value, str):
            raise FieldError(name, f"must be text, not {type(value).__name__}")
        value = value.strip()
        if self.kind == "choice":
            allowed = [c[0] for c in self.choices]
            if value not in allowed:
                raise FieldError(name, f"must be one of {', '.join(allowed)}; “{value}” is not")
        elif self.kind == "email":
            if not EMAIL_RE.match(value):
                raise FieldError(name, f"“{value}” is not an e-mail address (name@example.com)")
        elif self.kind == "host":
            if not HOST_RE.match(value) or " " in value:
                raise FieldError(name, f"“{value}” is not a host name or IP address")
        elif self.kind == "path":
            if not Path(value).expanduser().is_file():
                raise FieldError(name, f"no such file: {value}")
            value = str(Path(value).expanduser())
        return value


@dataclass(frozen=True)
class SecretField:
    """A credential of a connector type: lives in the keychain, never in a file."""

    name: str
    label: str
    when: Mapping[str, tuple[Any, ...]] | None = None
    help: str = ""
    after: str | None = None  # the field it is shown after on its page
    optional: bool = False  # may be left empty

    def applies(self, settings: Mapping[str, Any]) -> bool:
        if not self.when:
            return True
        return all(settings.get(k) in allowed for k, allowed in self.when.items())


def defaults(fields: tuple[Field, ...]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for f in fields:
        settings[f.name] = f.default
    for f in fields:
        if f.default_from is not None:
            settings[f.name] = f.default_for(settings)
    return settings


def check_settings(fields: tuple[Field, ...], raw: Mapping[str, Any],
                   prefix: str = "settings.") -> tuple[dict[str, Any], list[FieldError]]:
    """Normalise ``raw`` against ``fields``. Returns the settings and every problem found."""
    problems: list[FieldError] = []
    known = {f.name for f in fields}
    for key in raw:
        if key not in known:
            problems.append(FieldError(prefix + key, "is not a setting of this connector type"))
    settings: dict[str, Any] = {}
    # Choices first: other fields' visibility depends on them.
    ordered = sorted(fields, key=lambda f: 0 if f.kind in ("choice", "bool") else 1)
    for f in ordered:
        value = raw.get(f.name)
        if value is None or value == "":
            value = f.default_for({**settings, **raw})
        if not f.applies(settings):
            settings[f.name] = value if value is not None else f.default
            continue
        try:
            settings[f.name] = f.coerce(value, prefix)
        except FieldError as exc:
            problems.append(exc)
            settings[f.name] = value
    return {f.name: settings.get(f.name) for f in fields}, problems
