"""The connector model and the connector document (DESIGN.md §3).

A document carries settings and *references* to secrets (``{"env": "VAR"}``), never secret
values; a literal secret in a file is refused. Every invalid field is reported by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from desktop.core.errors import FieldError, InputErrors
from desktop.core.fields import MAX_DESCRIPTION, MAX_LENGTH, Field, check_settings, check_text, is_email
from desktop.core.record import Record
from desktop.core.secret import Secret
from desktop.core.textsafe import preview

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from desktop.core.contract import ConnectorType

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ADMIN_KEYS = ("email", "name", "test_recipient")
DOC_KEYS = {"name", "type", "description", "settings", "secrets", "admin"}


class Status(Record):
    """The last validation outcome shown in the list."""

    _fields = ("state", "at", "code", "message")

    def __init__(self, state: str = "never", at: str | None = None, code: str | None = None,
                 message: str | None = None) -> None:
        self.state = state  # never | valid | failed
        self.at = at  # ISO 8601 UTC
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "at": self.at, "code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Status:
        d = d or {}
        return cls(d.get("state", "never"), d.get("at"), d.get("code"), d.get("message"))


class Connector(Record):
    """A connector as saved (its secrets are in the keychain). A dict, list or status not given:
    a new empty one."""

    _fields = ("name", "type", "description", "settings", "admin", "secret_names", "status", "previous_until")

    def __init__(self, name: str, type: str, description: str = "", settings: dict[str, Any] | None = None,
                 admin: dict[str, str] | None = None, secret_names: list[str] | None = None,
                 status: Status | None = None, previous_until: dict[str, str] | None = None) -> None:
        self.name = name
        self.type = type
        self.description = description
        self.settings: dict[str, Any] = {} if settings is None else settings
        self.admin: dict[str, str] = {} if admin is None else admin
        self.secret_names: list[str] = [] if secret_names is None else secret_names  # names stored in the keychain
        self.status = Status() if status is None else status
        # Rotation: secret name → ISO time until which the previous value is kept (and can be restored).
        self.previous_until: dict[str, str] = {} if previous_until is None else previous_until

    def copy(self) -> Connector:
        from copy import deepcopy  # here: copy and weakref (~0.5 ms) are imported by what copies

        return deepcopy(self)

    @property
    def timeout_s(self) -> float:
        return float(self.settings.get("timeout_s") or 15)


def check_name(name: Any, taken: set[str] | None = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FieldError("name", "is required")
    clean: str = name.strip()
    if not NAME_RE.match(clean):
        raise FieldError("name", "use 1–64 letters, digits, “.”, “_” or “-”, starting with a letter or digit")
    if taken is not None:
        same = next((t for t in taken if t.casefold() == clean.casefold()), None)
        if same is not None:  # workflows name connectors; names that differ only in case would be confused
            raise FieldError("name", f"a connector named “{same}” already exists" if same == clean else
                             f"“{same}” already exists; names may not differ only in upper and lower case")
    return clean


def check_description(value: Any) -> str:
    """The description as stored: text of at most MAX_DESCRIPTION characters, on one line (a tab
    is allowed), trimmed. The same rule for import, the wizard and every save."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError("description", "must be text")
    check_text("description", value, MAX_DESCRIPTION, allow="\t")
    return value.strip()


def check_admin(raw: Any) -> tuple[dict[str, str], list[FieldError]]:
    problems: list[FieldError] = []
    if raw is None:
        return {}, problems
    if not isinstance(raw, Mapping):
        return {}, [FieldError("admin", "must be an object")]
    admin: dict[str, str] = {}
    for key, value in raw.items():
        if key not in ADMIN_KEYS:
            problems.append(FieldError(f"admin.{preview(key)}", "is not an admin field"))
            continue
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            problems.append(FieldError(f"admin.{key}", "must be text"))
            continue
        try:
            check_text(f"admin.{key}", value, MAX_LENGTH["email" if key != "name" else "text"])
        except FieldError as exc:
            problems.append(exc)
            continue
        value = value.strip()
        if key in ("email", "test_recipient") and not is_email(value):
            problems.append(FieldError(f"admin.{key}", f"“{preview(value)}” is not an e-mail address"))
            continue
        admin[key] = value
    return admin, problems


def parse_document(data: Any, types: Mapping[str, ConnectorType],
                   taken: set[str] | None = None) -> tuple[Connector, dict[str, str]]:
    """Check a connector document. Returns the connector and its secret references
    (secret name → environment variable). Raises :class:`InputErrors` listing every bad field."""
    problems: list[FieldError] = []
    if not isinstance(data, Mapping):
        raise InputErrors([FieldError("document", "must be a JSON object")])
    for key in data:
        if key not in DOC_KEYS:
            problems.append(FieldError(preview(key), "is not a field of a connector document"))
    name = ""
    try:
        name = check_name(data.get("name"), taken)
    except FieldError as exc:
        problems.append(exc)
    type_name = data.get("type")
    ctype = types.get(type_name) if isinstance(type_name, str) else None
    if ctype is None:
        problems.append(FieldError("type", f"must be one of {', '.join(sorted(types))}; got {preview(type_name)}"))
    description = ""
    try:
        description = check_description(data.get("description") or "")
    except FieldError as exc:
        problems.append(exc)
    problems.extend(check_surrogates(data))
    raw_settings = data.get("settings") or {}
    if not isinstance(raw_settings, Mapping):
        problems.append(FieldError("settings", "must be an object"))
        raw_settings = {}
    settings: dict[str, Any] = {}
    refs: dict[str, str] = {}
    if ctype is not None:
        raw_settings, number_problems = check_numbers(ctype, raw_settings)
        problems.extend(number_problems)
        settings, setting_problems = check_settings(ctype.fields, raw_settings)
        named = {p.field for p in number_problems}
        problems.extend(p for p in setting_problems if p.field not in named)
        refs, secret_problems = check_secret_refs(ctype, settings, data.get("secrets"))
        problems.extend(secret_problems)
    admin, admin_problems = check_admin(data.get("admin"))
    problems.extend(admin_problems)
    if problems:
        raise InputErrors(problems)
    if ctype is None:  # an unknown type is always among the problems above
        raise InputErrors([FieldError("type", "is not a known connector type")])
    return Connector(name=name, type=ctype.type_name, description=description,
                     settings=settings, admin=admin), refs


INT_TEXT_RE = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only: "²" and "٣" are not numbers here
MAX_INT = 10**18


def check_numbers(ctype: ConnectorType, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Whole-number settings: written with the ASCII digits 0–9 (text or a JSON number) and of a
    sane size. Bad values are reported and left out of what the settings check sees."""
    out = dict(raw)
    problems: list[FieldError] = []
    for f in ctype.fields:
        value = raw.get(f.name)
        if f.kind != "int" or value is None or value == "" or isinstance(value, bool):
            continue
        if isinstance(value, str):
            if INT_TEXT_RE.fullmatch(value.strip()):
                out[f.name] = int(value.strip())
                continue
            shown = value if len(value) <= 20 else value[:20] + "…"
            problems.append(FieldError(f"settings.{f.name}", f"must be a whole number written with the digits "
                                                             f"0–9, not {shown!r}"))
        elif isinstance(value, int) and abs(value) >= MAX_INT:
            problems.append(FieldError(f"settings.{f.name}", "is far too large a number"))
        else:
            continue
        out.pop(f.name, None)
    return out, problems


def check_surrogates(data: Mapping[str, Any]) -> list[FieldError]:
    """Every string of the document (keys too) must be storable text: no lone surrogates
    (JSON's "\\udc80"). Names the first field holding one."""
    stack: list[tuple[str, Any]] = [(str(k) if _is_text(k) else "document", v) for k, v in data.items()]
    problems: list[FieldError] = []
    while stack:
        where, value = stack.pop()
        if isinstance(value, str) and not _is_text(value):
            problems.append(FieldError(where, "holds a character that is not valid text (a lone surrogate)"))
        elif isinstance(value, Mapping):
            for k, v in value.items():
                if not _is_text(k):
                    problems.append(FieldError(where, "holds a key that is not valid text (a lone surrogate)"))
                    continue
                stack.append((f"{where}.{k}", v))
        elif isinstance(value, list):
            stack.extend((where, v) for v in value)
    return sorted(problems, key=lambda p: p.field)[:1]


def _is_text(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_secret_refs(ctype: ConnectorType, settings: Mapping[str, Any],
                      raw: Any) -> tuple[dict[str, str], list[FieldError]]:
    problems: list[FieldError] = []
    refs: dict[str, str] = {}
    if raw is None:
        return refs, problems
    if not isinstance(raw, Mapping):
        return refs, [FieldError("secrets", "must be an object of references like {\"env\": \"VAR\"}")]
    known = {s.name for s in ctype.secrets}
    for key, ref in raw.items():
        where = f"secrets.{preview(key)}"
        if key not in known:
            problems.append(FieldError(where, f"is not a secret of a {ctype.type_name} connector "
                                              f"(known: {', '.join(sorted(known))})"))
            continue
        if isinstance(ref, Mapping) and set(ref) == {"env"} and isinstance(ref["env"], str) \
                and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", ref["env"]):
            refs[key] = ref["env"]
        elif isinstance(ref, str) or (isinstance(ref, Mapping) and "value" in ref):
            problems.append(FieldError(where, "a secret value may not be written in a file; use a "
                                              "reference such as {\"env\": \"VARIABLE\"} and set that "
                                              "environment variable"))
        else:
            problems.append(FieldError(where, "must be a reference such as {\"env\": \"VARIABLE\"}"))
    return refs, problems


def resolve_refs(refs: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, Secret]:
    problems = []
    values: dict[str, Secret] = {}
    for key, var in refs.items():
        value = environ.get(var)
        if not value:
            problems.append(FieldError(f"secrets.{key}", f"the environment variable {var} is not set"))
        else:
            values[key] = Secret(value)
    if problems:
        raise InputErrors(problems)
    return values


def secret_key(connector: str, secret: str) -> str:
    """The keychain item name of one secret of one connector."""
    return f"{connector}/{secret}"


def pending_key(connector: str, secret: str) -> str:
    return f"{connector}/{secret}#pending"


def previous_key(connector: str, secret: str) -> str:
    return f"{connector}/{secret}#previous"


def staged_key(connector: str, secret: str) -> str:
    """Where a replacing value waits until the catalogue entry that uses it is committed."""
    return f"{connector}/{secret}#staged"


def env_var_name(connector: str, secret: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", f"{connector}_{secret}").upper()


def to_document(conn: Connector, secret_names: list[str] | None = None,
                fields: tuple[Field, ...] | None = None) -> dict[str, Any]:
    """A shareable document: settings, and environment references for the secrets. With the type's
    ``fields``, only the settings that apply and are set (an import fills in the rest as before)."""
    names = conn.secret_names if secret_names is None else secret_names
    settings = dict(conn.settings)
    if fields is not None:
        unused = {f.name for f in fields if not f.applies(conn.settings)}
        settings = {k: v for k, v in settings.items() if v is not None and k not in unused}
    doc: dict[str, Any] = {
        "name": conn.name,
        "type": conn.type,
        "description": conn.description,
        "settings": settings,
        "secrets": {n: {"env": env_var_name(conn.name, n)} for n in names},
    }
    if conn.admin:
        doc["admin"] = dict(conn.admin)
    return doc
