"""The one place that ties the catalogue, the vault and the connector types together.
The CLI and the GUI's workers call this; nothing here touches Qt."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core import errors, paths
from desktop.core.deadline import CancelToken
from desktop.core.errors import ConnectorError, FieldError, InputErrors
from desktop.core.fields import check_settings
from desktop.core.model import (
    Connector,
    Status,
    check_admin,
    check_name,
    parse_document,
    pending_key,
    previous_key,
    resolve_refs,
    secret_key,
)
from desktop.core.pipeline import Event, Run, RunResult, execute
from desktop.core.secret import Secret
from desktop.core.store import Catalogue

if TYPE_CHECKING:
    from desktop.connectors.base import ConnectorType
    from desktop.core.vault import Vault


# OAuth (mail): the refresh token a sign-in keeps, and msal's token cache (sealed; not a declared secret).
REFRESH_TOKEN = "oauth_refresh_token"
TOKEN_CACHE = "oauth_token_cache"


@dataclass
class Draft:
    """A connector being edited together with the secrets typed for it (not yet stored)."""

    connector: Connector
    secrets: dict[str, Secret]


class Desk:
    """``types``: the connector types, or a function that returns them when first needed (the
    window shows before the connector modules are imported)."""

    def __init__(self, types: Mapping[str, ConnectorType] | Callable[[], Mapping[str, ConnectorType]],
                 folder: Path | None = None, vault: Vault | None = None) -> None:
        self._types = types
        self.folder = folder or paths.home()
        self.catalogue = Catalogue(self.folder)
        self._vault = vault

    @property
    def types(self) -> Mapping[str, ConnectorType]:
        if callable(self._types):
            self._types = self._types()
        return self._types

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            from desktop.core.vault import open_vault  # keychain and crypto load when first used
            self._vault = open_vault(self.folder)
        return self._vault

    def ctype(self, conn: Connector) -> ConnectorType:
        try:
            return self.types[conn.type]
        except KeyError:
            raise FieldError("type", f"unknown connector type {conn.type!r}") from None

    # -- reading ---------------------------------------------------------------------------
    def list(self) -> list[Connector]:
        return self.catalogue.load()

    def get(self, name: str) -> Connector:
        conn = self.catalogue.get(name)
        if conn is None:
            raise FieldError("name", f"no connector named “{name}”")
        return conn

    def load_secrets(self, conn: Connector) -> dict[str, Secret]:
        out: dict[str, Secret] = {}
        for sname in conn.secret_names:
            value = self.vault.get(secret_key(conn.name, sname))
            if value is not None:
                out[sname] = value
        return out

    # -- checking input --------------------------------------------------------------------
    def check(self, conn: Connector, secrets: Mapping[str, Secret], *, old_name: str | None = None,
              new: bool = False) -> Connector:
        """Normalise a connector from a form; raise InputErrors naming every bad field."""
        ctype = self.ctype(conn)
        problems: list[FieldError] = []
        taken = {c.name for c in self.list()} - ({old_name} if old_name else set())
        try:
            conn.name = check_name(conn.name, taken if (new or old_name) else None)
        except FieldError as exc:
            problems.append(exc)
        settings, more = check_settings(ctype.fields, conn.settings)
        problems += more
        admin, more = check_admin(conn.admin)
        problems += more
        for sf in ctype.secrets_needed(settings):
            if not secrets.get(sf.name):
                problems.append(FieldError(f"secrets.{sf.name}", "is required"))
        if problems:
            raise InputErrors(problems)
        out = conn.copy()
        out.settings, out.admin = settings, admin
        return out

    # -- actions ---------------------------------------------------------------------------
    def _run(self, conn: Connector, secrets: Mapping[str, Secret], action: str,
             body: Callable[[ConnectorType, Run], None], cancel: CancelToken | None,
             on_event: Callable[[Event], None] | None, timeout: float | None = None) -> RunResult:
        run = Run(timeout or conn.timeout_s, cancel, on_event, secrets)
        return execute(conn.name, conn.type, action, run, lambda r: body(self.ctype(conn), r))

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], cancel: CancelToken | None = None,
                 on_event: Callable[[Event], None] | None = None) -> RunResult:
        return self._run(conn, secrets, "validate", lambda t, r: t.validate(conn, secrets, r), cancel, on_event)

    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], to: str,
                  cancel: CancelToken | None = None,
                  on_event: Callable[[Event], None] | None = None) -> RunResult:
        def body(ctype: ConnectorType, run: Run) -> None:
            admin, problems = check_admin({"test_recipient": to})
            if problems or "test_recipient" not in admin:
                raise InputErrors(problems or [FieldError("admin.test_recipient", "is required")])
            ctype.test_send(conn, secrets, run, admin["test_recipient"])
        return self._run(conn, secrets, "test_send", body, cancel, on_event, timeout=conn.timeout_s * 3)

    def peek(self, conn: Connector, secrets: Mapping[str, Secret], count: int = 10,
             cancel: CancelToken | None = None, on_event: Callable[[Event], None] | None = None) -> RunResult:
        return self._run(conn, secrets, "peek", lambda t, r: t.peek(conn, secrets, r, count), cancel, on_event)

    def produce(self, conn: Connector, secrets: Mapping[str, Secret], cancel: CancelToken | None = None,
                on_event: Callable[[Event], None] | None = None) -> RunResult:
        return self._run(conn, secrets, "produce", lambda t, r: t.produce(conn, secrets, r), cancel, on_event)

    def folders(self, conn: Connector, secrets: Mapping[str, Secret], cancel: CancelToken | None = None,
                on_event: Callable[[Event], None] | None = None) -> RunResult:
        return self._run(conn, secrets, "folders", lambda t, r: t.folders(conn, secrets, r), cancel, on_event)

    def roundtrip(self, sender: Connector, sender_secrets: Mapping[str, Secret], receiver: Connector,
                  receiver_secrets: Mapping[str, Secret], to: str | None = None, cancel: CancelToken | None = None,
                  on_event: Callable[[Event], None] | None = None) -> RunResult:
        """Send a uniquely tagged message through ``sender`` and wait, within the receiver's deadline
        (at least 30 s), until it appears in ``receiver``'s mailbox; report the delivery time."""
        import uuid
        tag = uuid.uuid4().hex
        recipient = to or receiver.settings.get("username") or ""

        def body(ctype: ConnectorType, run: Run) -> None:
            rtype = self.ctype(receiver)
            if ctype.test_action != "send":
                raise InputErrors([FieldError("sender", f"“{sender.name}” does not send mail")])
            if rtype.test_action != "peek":
                raise InputErrors([FieldError("receiver", f"“{receiver.name}” does not receive mail")])
            admin, problems = check_admin({"test_recipient": recipient})
            if problems or not admin:
                raise InputErrors([FieldError("to", "give the receiving mailbox's address (--to)")])
            run.transcript.register_many(list(receiver_secrets.values()))
            run.phase = ("send", "Send: ")
            ctype.test_send(sender, sender_secrets, run, admin["test_recipient"], tag)
            sent_at = float(run.info.get("sent_at", 0.0))
            run.phase = ("receive", "Receive: ")
            rtype.wait_for(receiver, receiver_secrets, run, tag, sent_at)
            run.info["tag"] = tag
        run = Run(max(30.0, receiver.timeout_s + sender.timeout_s), cancel, on_event, sender_secrets)
        return execute(f"{sender.name} → {receiver.name}", f"{sender.type}→{receiver.type}", "roundtrip", run,
                       lambda r: body(self.ctype(sender), r))

    def validate_saved(self, name: str, cancel: CancelToken | None = None,
                       on_event: Callable[[Event], None] | None = None) -> RunResult:
        conn = self.get(name)
        result = self.validate(conn, self.load_secrets(conn), cancel, on_event)
        self.keep_renewed(conn, result)
        self.record(name, result)
        return result

    def keep_renewed(self, conn: Connector, result: RunResult) -> None:
        """Store the secrets a provider replaced during a run of a saved connector (a rotated OAuth
        refresh token), whatever the outcome: the provider may already refuse the old one."""
        for sname, value in result.renewed.items():
            if sname in conn.secret_names and value:
                self.vault.set(secret_key(conn.name, sname), value)

    def record(self, name: str, result: RunResult) -> None:
        """Remember the outcome of a validation of a saved connector (shown in the list)."""
        if result.error is not None and result.error.code == errors.CANCELLED:
            return
        status = Status("valid" if result.ok else "failed", datetime.now(UTC).isoformat(timespec="seconds"),
                        result.error.code if result.error else None,
                        result.error.message if result.error else None)

        def change(conns: list[Connector]) -> None:
            for c in conns:
                if c.name == name:
                    c.status = status
        self.catalogue.update(change)

    # -- writing ---------------------------------------------------------------------------
    def save(self, conn: Connector, secrets: Mapping[str, Secret], old_name: str | None = None,
             status: Status | None = None) -> Connector:
        """Store a connector: secrets to the vault first, then the catalogue entry."""
        conn = self.check(conn, secrets, old_name=old_name, new=old_name is None)
        ctype = self.ctype(conn)
        needed = ctype.secrets_kept(conn.settings, secrets)
        for sname in needed:
            self.vault.set(secret_key(conn.name, sname), secrets[sname])
        conn.secret_names = needed
        if status is not None:
            conn.status = status

        def change(conns: list[Connector]) -> None:
            idx = next((i for i, c in enumerate(conns) if c.name == (old_name or conn.name)), None)
            if old_name is None and any(c.name == conn.name for c in conns):
                raise InputErrors([FieldError("name", f"a connector named “{conn.name}” already exists")])
            if idx is None:
                conns.append(conn)
            else:
                if status is None:
                    conn.status = conns[idx].status
                conns[idx] = conn
        previous = self.catalogue.get(old_name) if old_name else None
        self.catalogue.update(change)
        # Only after the catalogue points at the new secrets, drop the ones no longer used.
        if previous is not None:
            for sname in previous.secret_names:
                if previous.name != conn.name or sname not in needed:
                    self.vault.delete(secret_key(previous.name, sname))
        return conn

    # -- rotation (DESIGN.md §4.9) ------------------------------------------------------------
    def rotate(self, name: str, secret: str, new_value: Secret, grace_hours: float = 24.0,
               cancel: CancelToken | None = None, on_event: Callable[[Event], None] | None = None) -> RunResult:
        """pending → validated → current. The new value is kept as *pending* first (a crash loses
        nothing), the connector is validated with it, and only then does it become current; the old
        value stays in the keychain as *previous* for ``grace_hours`` (``rollback()`` restores it).
        Any failure leaves the current value as it was and discards the pending one."""
        from datetime import timedelta

        conn = self.get(name)
        if secret not in conn.secret_names:
            raise InputErrors([FieldError("secret", f"“{name}” has no secret named {secret!r} "
                                                    f"(it has: {', '.join(conn.secret_names) or 'none'})")])
        if not new_value:
            raise InputErrors([FieldError("new_value", "is required")])
        current = self.load_secrets(conn)
        if current.get(secret) == new_value:
            raise InputErrors([FieldError("new_value", "is the same as the current value")])
        run = Run(conn.timeout_s, cancel, on_event, {**current, "_new": new_value})

        def body(r: Run) -> None:
            ctype = self.ctype(conn)
            with r.step("pending", "Keep the new value as pending") as st:
                self.vault.set(pending_key(name, secret), new_value)
                st.detail = "stored in the keychain; the current value is untouched"
            try:
                ctype.validate(conn, {**current, secret: new_value}, r)
            except BaseException:
                self.vault.delete(pending_key(name, secret))
                raise
            with r.step("promote", "Make it current; keep the previous") as st:
                until = (datetime.now(UTC) + timedelta(hours=grace_hours)).isoformat(timespec="seconds")
                old = current.get(secret)
                if old:
                    self.vault.set(previous_key(name, secret), old)
                # The provider may have rotated the new value during the check (OAuth refresh token).
                self.vault.set(secret_key(name, secret), r.renewed.pop(secret, new_value))
                self.vault.delete(pending_key(name, secret))

                def change(conns: list[Connector]) -> None:
                    for c in conns:
                        if c.name == name:
                            c.previous_until[secret] = until
                            c.status = Status("valid", datetime.now(UTC).isoformat(timespec="seconds"))
                self.catalogue.update(change)
                st.detail = f"previous value kept until {until}"
                r.info["previous_until"] = until
        result = execute(name, conn.type, "rotate", run, body)
        self.keep_renewed(conn, result)  # e.g. the refresh token rotated while a new client secret was checked
        return result

    def sign_in(self, name: str, open_browser: Callable[[str], object], *, device: bool = False,
                show_code: Callable[[str, str, str], object] | None = None, timeout_s: float = 300.0,
                cancel: CancelToken | None = None, on_event: Callable[[Event], None] | None = None) -> RunResult:
        """OAuth sign-in for a saved connector (``auth: oauth2``), then the rotation machinery: the new
        refresh token is kept as pending, the connector type's own ``validate()`` runs with it, and only
        then does it become current (the old one stays as previous). msal's token cache (Microsoft) is
        kept, sealed, only after that. Steps of both runs, one result (action "sign-in")."""
        from desktop.core import oauth_signin

        conn = self.get(name)
        ctype = self.ctype(conn)
        if REFRESH_TOKEN not in {s.name for s in ctype.secrets if s.applies(conn.settings)}:
            raise InputErrors([FieldError("settings.auth", f"“{name}” does not sign in with OAuth (choose "
                                                           "“OAuth 2.0” as its sign-in first)")])
        secrets = self.load_secrets(conn)
        box: list[oauth_signin.SignInResult] = []
        run = Run(timeout_s, cancel, on_event, secrets)
        protocol = conn.type if conn.type in ("smtp", "imap") else None
        first = execute(name, conn.type, "sign-in", run, lambda r: box.append(oauth_signin.sign_in(
            r, conn.settings, secrets, open_browser, protocol=protocol, device=device, show_code=show_code)))
        if not first.ok or not box:
            return first
        got = box[0]
        first.info.update(got.to_dict())
        if got.refresh_token is None:
            first.ok = False
            first.error = ConnectorError(errors.OAUTH_SIGN_IN_REQUIRED, "The sign-in worked but no refresh token "
                                         "came back, so the connector could not keep working.",
                                         " ".join(got.warnings))
            return first
        if REFRESH_TOKEN not in conn.secret_names:
            def add(conns: list[Connector]) -> None:
                for c in conns:
                    if c.name == name and REFRESH_TOKEN not in c.secret_names:
                        c.secret_names.append(REFRESH_TOKEN)
            self.catalogue.update(add)
        second = self.rotate(name, REFRESH_TOKEN, got.refresh_token, cancel=cancel, on_event=on_event)
        if second.ok and got.token_cache is not None:
            self.vault.set(secret_key(name, TOKEN_CACHE), got.token_cache)
        return RunResult(ok=second.ok, connector=name, type=conn.type, action="sign-in",
                         steps=first.steps + second.steps, error=second.error,
                         transcript=first.transcript + second.transcript,
                         info={**second.info, **first.info}, ms=first.ms + second.ms)

    def rollback(self, name: str, secret: str) -> None:
        """Restore the previous value of ``secret`` (within its grace period)."""
        conn = self.get(name)
        until = conn.previous_until.get(secret)
        old = self.vault.get(previous_key(name, secret)) if until else None
        if not until or old is None:
            raise InputErrors([FieldError("secret", f"“{name}” has no previous {secret} to restore")])
        if datetime.fromisoformat(until) < datetime.now(UTC):
            raise InputErrors([FieldError("secret", f"the previous {secret} expired at {until}")])
        self.vault.set(secret_key(name, secret), old)
        self.vault.delete(previous_key(name, secret))

        def change(conns: list[Connector]) -> None:
            for c in conns:
                if c.name == name:
                    c.previous_until.pop(secret, None)
                    c.status = Status()
        self.catalogue.update(change)

    def purge_expired(self) -> Sequence[str]:
        """Remove previous values whose grace period is over; returns 'connector/secret' names."""
        now = datetime.now(UTC)
        expired = [(c.name, s) for c in self.list() for s, until in c.previous_until.items()
                   if datetime.fromisoformat(until) < now]
        for name, secret in expired:
            self.vault.delete(previous_key(name, secret))

        def change(conns: list[Connector]) -> None:
            for c in conns:
                for n, s in expired:
                    if c.name == n:
                        c.previous_until.pop(s, None)
        if expired:
            self.catalogue.update(change)
        return [f"{n}/{s}" for n, s in expired]

    def delete(self, name: str) -> None:
        conn = self.get(name)

        def change(conns: list[Connector]) -> None:
            conns[:] = [c for c in conns if c.name != name]
        self.catalogue.update(change)
        for sname in conn.secret_names:
            for key in (secret_key(name, sname), pending_key(name, sname), previous_key(name, sname)):
                self.vault.delete(key)
        if REFRESH_TOKEN in conn.secret_names:
            self.vault.delete(secret_key(name, TOKEN_CACHE))

    def duplicate_name(self, name: str) -> str:
        taken = {c.name for c in self.list()}
        base = name[:56]
        for i in range(2, 1000):
            candidate = f"{base}-copy" if i == 2 else f"{base}-copy{i - 1}"
            if candidate not in taken:
                return candidate
        raise FieldError("name", "too many copies")

    # -- documents -------------------------------------------------------------------------
    def connector_from_document(self, data: Any, environ: Mapping[str, str],
                                taken: set[str] | None = None,
                                sealed: Mapping[str, Secret] | None = None) -> Draft:
        conn, refs = parse_document(data, self.types, taken)
        secrets = {**(sealed or {}), **resolve_refs(refs, environ)}
        ctype = self.ctype(conn)
        missing = [s.name for s in ctype.secrets_needed(conn.settings) if s.name not in secrets]
        if missing:
            raise InputErrors([FieldError(f"secrets.{m}", "is required: give {\"env\": \"VARIABLE\"}")
                               for m in missing])
        return Draft(conn, secrets)

    def import_document(self, data: Any, environ: Mapping[str, str], replace: bool = False,
                        sealed: Mapping[str, Secret] | None = None) -> Connector:
        taken = None if replace else {c.name for c in self.list()}
        draft = self.connector_from_document(data, environ, taken, sealed)
        exists = self.catalogue.get(draft.connector.name) is not None
        return self.save(draft.connector, draft.secrets, old_name=draft.connector.name if exists else None)
