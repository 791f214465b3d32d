"""Declared, typed connector fields. Forms (GUI), documents (JSON) and checks are all derived
from these declarations; no connector hand-writes a form."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from desktop.core.errors import FieldError
from desktop.core.record import FrozenRecord
from desktop.core.textsafe import control_chars, escape, preview

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    Kind = Literal["text", "int", "bool", "choice", "email", "host", "path", "list"]
    Page = Literal["provider", "server", "auth", "advanced"]

_ADDR_PART = r"[^@\s<>\"\x00-\x1f\x7f-\x9f]+"  # no space, quote, bracket or control character
EMAIL_RE = re.compile(rf"^{_ADDR_PART}@{_ADDR_PART}\.{_ADDR_PART}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                     r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$")
# The longest value each kind accepts (RFC 1035 host names, RFC 5321 addresses); checked before
# any pattern runs, so a 10 MB value costs nothing and is never echoed back.
MAX_LENGTH: Mapping[str, int] = {"text": 1024, "choice": 64, "email": 254, "host": 253, "path": 4096,
                                 "list": 1024}
MAX_ITEMS = 100  # entries of a list field
MAX_DESCRIPTION = 4000

# Fields that are not a connector type's settings or secrets, by the label the user sees.
FIXED_LABELS = {"name": "Name", "description": "Description", "type": "Type", "new_value": "New value",
                "secret": "Secret", "to": "To address", "sender": "Send through", "receiver": "Wait in",
                "admin.email": "Admin e-mail", "admin.name": "Admin name",
                "admin.test_recipient": "Test recipient"}


def field_label(path: str, labels: Mapping[str, str] | None = None,
                fallback: Mapping[str, str] | None = None) -> str:
    """The label a user knows a field by, for an internal path (``settings.bootstrap_servers``):
    from ``labels`` (the connector type at hand) first, then the fixed fields, then ``fallback``
    (any type's, where the type is not known)."""
    key = path.removeprefix("settings.").removeprefix("secrets.")
    for table in (labels or {}, FIXED_LABELS if path in FIXED_LABELS else {}, fallback or {}):
        if path in table or key in table:
            return table.get(path) or table[key]
    return key.replace("_", " ").capitalize()


def check_text(name: str, value: str, max_length: int, allow: str = "") -> None:
    """Refuse control characters (CR, LF, NUL, ESC …, except those in ``allow``) and values longer
    than ``max_length``; the error quotes at most a short, escaped prefix of the value."""
    if len(value) > max_length:
        raise FieldError(name, f"is too long ({len(value):,} characters; at most {max_length:,})")
    bad = control_chars(value, allow)
    if bad:
        shown = ", ".join(escape(ch) for ch in bad[:5])
        raise FieldError(name, f"may not contain control characters such as line breaks ({shown} "
                               f"in “{preview(value)}”)")


def is_email(value: str) -> bool:
    return len(value) <= MAX_LENGTH["email"] and bool(EMAIL_RE.match(value))


def is_host(value: str) -> bool:
    if len(value) > MAX_LENGTH["host"] or not value:
        return False
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(bare)
        return True
    except ValueError:
        return bare == value and bool(HOST_RE.match(value))


class Field(FrozenRecord):
    """One setting of a connector type."""

    _fields = ("name", "label", "kind", "default", "required", "choices", "help", "page", "when", "default_from",
               "minimum", "maximum", "placeholder", "picker", "check")
    name: str
    label: str
    kind: Kind
    default: Any
    required: bool
    choices: tuple[tuple[str, str], ...]  # (value, label)
    help: str
    page: Page
    when: Mapping[str, tuple[Any, ...]] | None  # shown only when these settings match
    default_from: tuple[str, Mapping[Any, Any]] | None  # e.g. port follows security
    minimum: int | None
    maximum: int | None
    placeholder: str
    picker: str | None  # a connector action that lists choices for this field ("folders")
    check: Callable[[str], str | None] | None  # a text value's own rule: the problem, or None

    def __init__(self, name: str, label: str, kind: Kind = "text", default: Any = None, required: bool = False,
                 choices: tuple[tuple[str, str], ...] = (), help: str = "", page: Page = "server",
                 when: Mapping[str, tuple[Any, ...]] | None = None,
                 default_from: tuple[str, Mapping[Any, Any]] | None = None, minimum: int | None = None,
                 maximum: int | None = None, placeholder: str = "", picker: str | None = None,
                 check: Callable[[str], str | None] | None = None) -> None:
        self.__dict__.update(name=name, label=label, kind=kind, default=default, required=required, choices=choices,
                             help=help, page=page, when=when, default_from=default_from, minimum=minimum,
                             maximum=maximum, placeholder=placeholder, picker=picker, check=check)

    def applies(self, settings: Mapping[str, Any]) -> bool:
        if not self.when:
            return True
        return all(_hashable(settings.get(k)) and settings.get(k) in allowed for k, allowed in self.when.items())

    def default_for(self, settings: Mapping[str, Any]) -> Any:
        if self.default_from is not None:
            key, table = self.default_from
            value = settings.get(key)  # raw input may be a list or object: never a key of the table
            if _hashable(value) and value in table:
                return table[value]
        return self.default

    @property
    def max_length(self) -> int:
        return MAX_LENGTH.get(self.kind, MAX_LENGTH["text"])

    def check_safe(self, value: Any, prefix: str = "settings.") -> None:
        """The checks every given value passes, even for a field that does not apply: no control
        characters, a bounded length."""
        name = prefix + self.name
        if isinstance(value, str):
            check_text(name, value, self.max_length)
        elif isinstance(value, list):
            if len(value) > MAX_ITEMS:
                raise FieldError(name, f"has too many entries ({len(value):,}; at most {MAX_ITEMS})")
            for item in value:
                if isinstance(item, str):
                    check_text(name, item, self.max_length)

    def coerce(self, value: Any, prefix: str = "settings.") -> Any:
        """Check and normalise one value; raise FieldError naming the field."""
        name = prefix + self.name
        if value is None or value == "":
            if self.required:
                raise FieldError(name, "is required")
            return None if self.kind != "bool" else bool(self.default)
        self.check_safe(value, prefix)
        if self.kind == "int":
            if isinstance(value, bool):
                raise FieldError(name, f"must be a whole number, not {preview(value)}")
            if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,18}\s*", value):
                value = int(value.strip())
            if not isinstance(value, int):
                raise FieldError(name, f"must be a whole number, not {preview(value)}")
            if self.minimum is not None and value < self.minimum:
                raise FieldError(name, f"must be at least {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise FieldError(name, f"must be at most {self.maximum}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise FieldError(name, f"must be true or false, not {preview(value)}")
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
                raise FieldError(name, f"must be one of {', '.join(allowed)}; “{preview(value)}” is not")
        elif self.kind == "email":
            if not is_email(value):
                raise FieldError(name, f"“{preview(value)}” is not an e-mail address (name@example.com)")
        elif self.kind == "host":
            if not is_host(value):
                raise FieldError(name, f"“{preview(value)}” is not a host name or IP address")
        elif self.kind == "path":
            if not Path(value).expanduser().is_file():
                raise FieldError(name, f"no such file: {preview(value, 200)}")
            value = str(Path(value).expanduser())
        if self.check is not None and (problem := self.check(value)):
            raise FieldError(name, problem)
        return value


class SecretField(FrozenRecord):
    """A credential of a connector type: lives in the keychain, never in a file."""

    _fields = ("name", "label", "when", "help", "after", "optional")
    name: str
    label: str
    when: Mapping[str, tuple[Any, ...]] | None
    help: str
    after: str | None  # the field it is shown after on its page
    optional: bool  # may be left empty

    def __init__(self, name: str, label: str, when: Mapping[str, tuple[Any, ...]] | None = None, help: str = "",
                 after: str | None = None, optional: bool = False) -> None:
        self.__dict__.update(name=name, label=label, when=when, help=help, after=after, optional=optional)

    def applies(self, settings: Mapping[str, Any]) -> bool:
        if not self.when:
            return True
        return all(_hashable(settings.get(k)) and settings.get(k) in allowed for k, allowed in self.when.items())


def _hashable(value: Any) -> bool:
    return not isinstance(value, list | dict | set)


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
            problems.append(FieldError(prefix + preview(key), "is not a setting of this connector type"))
    settings: dict[str, Any] = {}
    # Choices first: other fields' visibility depends on them.
    ordered = sorted(fields, key=lambda f: 0 if f.kind in ("choice", "bool") else 1)
    for f in ordered:
        value = raw.get(f.name)
        if value is None or value == "":
            value = f.default_for({**settings, **raw})
        if not f.applies(settings):
            # Not used with these choices: checked for safety, then dropped (never stored raw).
            try:
                f.check_safe(raw.get(f.name), prefix)
            except FieldError as exc:
                problems.append(exc)
            settings[f.name] = f.default_for(settings)
            continue
        try:
            settings[f.name] = f.coerce(value, prefix)
        except FieldError as exc:
            problems.append(exc)
            settings[f.name] = f.default_for(settings)
    return {f.name: settings.get(f.name) for f in fields}, problems
