"""The connector wizard as a Qt-free navigation map (Electrum's wizard.py): pages, what each
page needs before Next, how presets and the security choice fill in fields, and the draft
connector that validation runs on. Qt pages only attach widgets to this."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from desktop.core.errors import FieldError, InputErrors, field_sentence
from desktop.core.fields import Field, SecretField, check_settings, field_label
from desktop.core.model import Connector, check_admin, check_description, check_name
from desktop.core.pipeline import RunResult
from desktop.core.secret import KEYCHAIN_PLACE, Secret

if TYPE_CHECKING:
    from desktop.core.contract import ConnectorType

BASICS, PROVIDER, SERVER, AUTH, VALIDATE, ADMIN, SUMMARY = (
    "basics", "provider", "server", "auth", "validate", "admin", "summary")
ALL_PAGES = (BASICS, PROVIDER, SERVER, AUTH, VALIDATE, ADMIN, SUMMARY)
ADMIN_KEYS = ("name", "email", "test_recipient")  # the admin page's fields, in the summary's order


class WizardFlow:
    def __init__(self, types: Mapping[str, ConnectorType], taken_names: set[str],
                 existing: Connector | None = None, secrets: Mapping[str, Secret] | None = None,
                 duplicate: bool = False, saved_types: Mapping[str, str] | None = None,
                 secrets_place: str = KEYCHAIN_PLACE) -> None:
        self.types = types
        self.secrets_place = secrets_place  # where the workspace keeps secrets (Desk.secrets_place())
        self.taken = set(taken_names)
        self.saved_types = dict(saved_types or {})  # saved name → type, for settings naming another connector
        self.original_name = existing.name if existing is not None and not duplicate else None
        if self.original_name:
            self.taken.discard(self.original_name)
        if existing is not None:
            self.draft = existing.copy()
            self.preset_id: str | None = str(existing.settings.get("provider") or "") or None
            self.touched: set[str] = set(existing.settings)
        else:
            first = min(types, key=lambda n: (types[n].rank, n))
            self.draft = Connector(name="", type=first, settings=types[first].default_settings())
            self.preset_id = None
            self.touched = set()
        self.secrets: dict[str, Secret] = dict(secrets or {})
        self.token_cache: Secret | None = None  # msal's cache from a sign-in on the wizard's page (Microsoft)
        self._by_type: dict[str, tuple[dict[str, Any], dict[str, Secret], str | None, set[str]]] = {}
        self.result: RunResult | None = None
        self._validated_fingerprint: str | None = None
        self.test_result: RunResult | None = None
        self._initial = self._state()

    def _state(self) -> str:
        blob = json.dumps({"n": self.draft.name, "d": self.draft.description, "t": self.draft.type,
                           "s": self.draft.settings, "a": self.draft.admin,
                           "k": {k: v.reveal() for k, v in self.secrets.items()}}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def changed(self) -> bool:
        """True when anything in the form differs from how the wizard opened (Esc asks first)."""
        return self._state() != self._initial

    @property
    def renamed(self) -> bool:
        return self.editing and self.draft.name != self.original_name

    @property
    def editing(self) -> bool:
        return self.original_name is not None

    @property
    def ctype(self) -> ConnectorType:
        return self.types[self.draft.type]

    # -- navigation ------------------------------------------------------------------------
    def pages(self) -> list[str]:
        return [p for p in ALL_PAGES if p != PROVIDER or self.ctype.presets()]

    def next_page(self, page: str) -> str | None:
        pages = self.pages()
        i = pages.index(page)
        return pages[i + 1] if i + 1 < len(pages) else None

    def previous_page(self, page: str) -> str | None:
        pages = self.pages()
        i = pages.index(page)
        return pages[i - 1] if i > 0 else None

    # -- editing ---------------------------------------------------------------------------
    def set_basics(self, name: str, description: str, type_name: str) -> None:
        self.draft.name = name.strip()
        self.draft.description = description.strip()
        if type_name != self.draft.type:
            if type_name not in self.types:
                raise FieldError("type", f"unknown connector type {type_name!r}")
            # What was entered for the type left is kept: switching back brings it all back.
            self._by_type[self.draft.type] = (self.draft.settings, self.secrets, self.preset_id, self.touched)
            self.draft.type = type_name
            self.draft.settings, self.secrets, self.preset_id, self.touched = self._by_type.pop(
                type_name, (self.types[type_name].default_settings(), {}, None, set()))

    def apply_preset(self, preset_id: str) -> None:
        preset = self.ctype.preset(preset_id)
        if preset is None:
            raise FieldError("provider", f"unknown provider {preset_id!r}")
        # What the previous provider filled in and the new one does not set goes back to its
        # default: "Other server" must not keep smtp.gmail.com.
        previous = self.ctype.preset(self.preset_id)
        for name in set(previous.settings if previous is not None else ()) - set(preset.settings):
            f = self.ctype.field(name)
            self.draft.settings[name] = f.default_for({**self.draft.settings, **preset.settings})
        self.preset_id = preset_id
        self.draft.settings.update(preset.settings)
        self.touched = set(preset.settings)

    def set_setting(self, name: str, value: Any) -> None:
        self.ctype.field(name)  # KeyError for an unknown field is a programming error
        self.draft.settings[name] = value
        self.touched.add(name)
        for f in self.ctype.fields:
            if f.default_from is None or f.default_from[0] != name:
                continue
            # A field that follows this one (port follows security) moves along unless the user
            # typed a value of their own that is not one of the standard ones.
            current = self.draft.settings.get(f.name)
            standard = set(f.default_from[1].values())
            if f.name not in self.touched or current in standard or current in (None, ""):
                self.draft.settings[f.name] = f.default_for(self.draft.settings)

    def apply_found(self, settings: Mapping[str, Any]) -> None:
        """Settings found for the address (discovery) fill the draft, still editable on the pages; the
        provider page then shows "Other server" so that choosing nothing keeps them."""
        known = {f.name for f in self.ctype.fields}
        for name, value in settings.items():
            if name in known and value not in (None, ""):
                self.set_setting(name, value)
        self.preset_id = "other"

    def set_secret(self, name: str, value: str) -> None:
        if value:
            self.secrets[name] = Secret(value)
        else:
            self.secrets.pop(name, None)

    def set_admin(self, email: str, name: str, test_recipient: str) -> None:
        self.draft.admin = {k: v.strip() for k, v in
                            (("email", email), ("name", name), ("test_recipient", test_recipient)) if v.strip()}

    # -- what each page shows and needs ----------------------------------------------------
    def fields_for(self, page: str) -> list[Field]:
        return [f for f in self.ctype.fields if f.page == page or (page == SERVER and f.page == "advanced")]

    def visible(self, f: Field | SecretField) -> bool:
        return f.applies(self.draft.settings)

    def secrets_for(self, page: str) -> list[SecretField]:
        return [s for s in self.ctype.secrets if page == AUTH and s.applies(self.draft.settings)]

    def label(self, page: str, key: str) -> str:
        """The label a field of ``page`` is shown with (the one table of labels: core.fields.field_label)."""
        if page == BASICS:
            return field_label(key)
        if page == ADMIN:
            return field_label(f"admin.{key}")
        return self.ctype.field_label(key)

    def problems(self, page: str) -> dict[str, str]:
        """Field name → what to show beside it, a sentence naming the field by its label ("User name is
        required"), for the fields on ``page``. Empty when Next may proceed."""
        return {key: field_sentence(self.label(page, key), problem) for key, problem in self._problems(page).items()}

    def _problems(self, page: str) -> dict[str, str]:
        out: dict[str, str] = {}
        if page == BASICS:
            try:
                check_name(self.draft.name, self.taken)
            except FieldError as exc:
                out["name"] = exc.problem
            try:
                check_description(self.draft.description)
            except FieldError as exc:
                out["description"] = exc.problem
        elif page in (SERVER, AUTH):
            names = {f.name for f in self.fields_for(page)}
            _settings, problems = check_settings(self.ctype.fields, self.draft.settings)
            for p in problems:
                key = p.field.removeprefix("settings.")
                if key in names:
                    out[key] = p.problem
            # Checked with no connector saved too: a first connector may not name one that does not exist.
            linked = self.ctype.linked_problems(self.draft.settings, self.saved_types)
            for key, problem in {**self.ctype.field_problems(self.draft.settings), **linked}.items():
                if key in names and key not in out:
                    out[key] = problem
            for s in self.secrets_for(page):
                if not s.optional and not self.secrets.get(s.name):
                    out[s.name] = "is required"
        elif page == ADMIN:
            _admin, problems = check_admin(self.draft.admin)
            for p in problems:
                out[p.field.removeprefix("admin.")] = p.problem
        return out

    def connector(self) -> Connector:
        """The connector exactly as the form has it now, normalised; InputErrors if invalid."""
        settings, problems = check_settings(self.ctype.fields, self.draft.settings)
        admin, admin_problems = check_admin(self.draft.admin)
        problems += admin_problems
        description = self.draft.description
        try:
            check_name(self.draft.name, self.taken)
        except FieldError as exc:
            problems.append(exc)
        try:
            description = check_description(self.draft.description)
        except FieldError as exc:
            problems.append(exc)
        if problems:
            raise InputErrors(problems)
        conn = self.draft.copy()
        conn.settings, conn.admin, conn.description = settings, admin, description
        return conn

    def needed_secrets(self) -> dict[str, Secret]:
        return {n: self.secrets[n] for n in self.ctype.secrets_kept(self.draft.settings, self.secrets)
                if n in self.secrets}

    # -- validation state ------------------------------------------------------------------
    def _fingerprint(self) -> str:
        # Settings and secrets only: the admin details are entered after validation.
        blob = json.dumps({"t": self.draft.type, "s": self.draft.settings}, sort_keys=True, default=str)
        h = hashlib.sha256(blob.encode())
        for k in sorted(self.needed_secrets()):
            h.update(k.encode() + b"\0" + hashlib.sha256(self.secrets[k].reveal().encode()).digest())
        return h.hexdigest()

    def record_validation(self, result: RunResult) -> None:
        """Also keeps what the provider replaced during the run (a rotated OAuth refresh token): the
        old value may already be refused, and the validation ran on the form's values as they were."""
        self.result = result
        for name, value in result.renewed.items():
            if name in self.secrets and value:
                self.secrets[name] = value
        self._validated_fingerprint = self._fingerprint()

    @property
    def validation_current(self) -> bool:
        """True when the last validation ran on exactly the values in the form now."""
        return self.result is not None and self._validated_fingerprint == self._fingerprint()

    @property
    def validated_ok(self) -> bool:
        return self.validation_current and self.result is not None and self.result.ok

    def auth_text(self) -> str:
        """The sign-in page's words, saying where secrets go in this workspace."""
        return self.ctype.test_wording(self.draft.settings).auth_text.replace("{secrets}", self.secrets_place)

    def summary(self) -> list[tuple[str, str]]:
        """What will be saved, as it will be stored (trimmed, normalised), row by row."""
        t = self.ctype
        c = self.draft.copy()
        c.settings, _problems = check_settings(t.fields, self.draft.settings)
        name = f"{c.name} (renamed from “{self.original_name}”: update the workflows that use it)" \
            if self.renamed else c.name
        rows = [("Name", name), ("Type", t.label), ("Description", c.description or "—"),
                ("Server", t.server_label(c.settings))]
        in_server_label = {"host", "port", "bootstrap_servers", "api_base", "provider", "timeout_s"}
        for f in t.fields:
            if f.name in in_server_label or not f.applies(c.settings):
                continue
            value = c.settings.get(f.name)
            if f.kind == "choice":
                rows.append((f.label, dict(f.choices).get(str(value), str(value))))
            elif f.kind == "bool":
                rows.append((f.label, "yes" if value else "no"))
            elif value not in (None, "", []):
                rows.append((f.label, ", ".join(value) if isinstance(value, list) else str(value)))
        rows += [(field_label(f"admin.{key}"), str(c.admin[key])) for key in ADMIN_KEYS if c.admin.get(key)]
        kept = [s.label for s in t.secrets if s.name in t.secrets_kept(c.settings, self.secrets)]
        rows.append(("Secrets", f"{', '.join(kept)} — stored in {self.secrets_place}" if kept else "none"))
        if self.validated_ok:
            state = "passed"
        elif self.validation_current and self.result is not None and self.result.error is not None:
            state = f"failed: {self.result.error.message}"
        else:
            state = "not run on these values"
        rows.append(("Validation", state))
        if self.test_result is not None:
            label, done = {"peek": t.wording.peek_summary,
                           "produce": ("Test record", "produced and read back")}.get(
                self.test_result.action, ("Test send", "sent"))
            rows.append((label, done if self.test_result.ok else
                         f"failed: {self.test_result.error.message if self.test_result.error else '?'}"))
        return rows
