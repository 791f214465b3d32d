"""The one place that ties the catalogue, the vault and the connector types together.
The CLI and the GUI's workers call this; nothing here touches Qt."""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from desktop.core import errors, paths
from desktop.core.deadline import CancelToken
from desktop.core.errors import ConnectorError, FieldError, InputErrors
from desktop.core.fields import check_settings
from desktop.core.logsetup import lazy_logger
from desktop.core.model import (
    Connector,
    Status,
    check_admin,
    check_description,
    check_name,
    parse_document,
    pending_key,
    previous_key,
    resolve_refs,
    secret_key,
    staged_key,
)
from desktop.core.pipeline import Event, Run, RunResult, execute
from desktop.core.record import Record
from desktop.core.secret import Secret

log = lazy_logger(__name__)  # logging is imported when something is logged, not by a check

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from desktop.core.contract import ConnectorType
    from desktop.core.store import Catalogue, ListedRow, Summary
    from desktop.core.teamvault import TeamStore
    from desktop.core.vault import Vault


# OAuth (mail): the refresh token a sign-in keeps, and msal's token cache (sealed; not a declared secret).
REFRESH_TOKEN = "oauth_refresh_token"
TOKEN_CACHE = "oauth_token_cache"


class Draft(Record):
    """A connector being edited together with the secrets typed for it (not yet stored)."""

    _fields = ("connector", "secrets")

    def __init__(self, connector: Connector, secrets: dict[str, Secret]) -> None:
        self.connector = connector
        self.secrets = secrets


def status_of(result: RunResult) -> Status | None:
    """The status a validation leaves on its connector (None: cancelled, which leaves it as it was)."""
    if result.error is not None and result.error.code == errors.CANCELLED:
        return None
    from datetime import UTC, datetime  # here: ~1 ms that checking a document does without
    return Status("valid" if result.ok else "failed", datetime.now(UTC).isoformat(timespec="seconds"),
                  result.error.code if result.error else None, result.error.message if result.error else None)


def _logged(what: str, names: Sequence[str]) -> None:
    """One log record of a change to the catalogue (names, never values): “saved a, b and 3 more”."""
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5:,} more" if len(names) > 5 else "")
    log.info("%s %s", what, shown)


class Desk:
    """``types``: the connector types, or a function that returns them when first needed (the
    window shows before the connector modules are imported). ``team``: a team workspace
    (desktop.core.workspace) in place of the local catalogue and keychain. The data folder and
    the catalogue are found when first used: checking a document (``validate --spec``) needs
    neither, nor platformdirs and sqlite3."""

    def __init__(self, types: Mapping[str, ConnectorType] | Callable[[], Mapping[str, ConnectorType]],
                 folder: Path | None = None, vault: Vault | None = None, team: TeamStore | None = None) -> None:
        self._types = types
        self._folder = folder
        self.team = team
        self._catalogue: Catalogue | TeamStore | None = team
        self._vault = vault

    @property
    def folder(self) -> Path:
        if self._folder is None:
            self._folder = paths.home()
        return self._folder

    @property
    def catalogue(self) -> Catalogue | TeamStore:
        if self._catalogue is None:
            from desktop.core.store import Catalogue
            catalogue = Catalogue(self.folder)
            catalogue.summarize = self._summary_if_loaded
            self._catalogue = catalogue
        return self._catalogue

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

    def secrets_place(self) -> str:
        """Where this workspace keeps secrets, as the pages say it: the team vault “team”, the
        passphrase vault, or your system keychain. Opens nothing (the GUI asks on its thread)."""
        from desktop.core.secret import KEYCHAIN_PLACE, PASSPHRASE_PLACE
        if self.team is not None:
            from desktop.core import describe
            return describe.team_vault_place(self.team.ws.name)
        if self._vault is not None:
            return str(getattr(self._vault, "place", KEYCHAIN_PLACE))
        import os
        return PASSPHRASE_PLACE if os.environ.get("CONNECTOR_DESK_VAULT") == "passphrase" \
            else KEYCHAIN_PLACE

    def ctype(self, conn: Connector) -> ConnectorType:
        try:
            return self.types[conn.type]
        except KeyError:
            raise FieldError("type", f"unknown connector type {conn.type!r}") from None

    # -- reading ---------------------------------------------------------------------------
    def list(self) -> list[Connector]:
        return self.catalogue.load()

    def listing(self) -> builtins.list[ListedRow] | builtins.list[Connector]:
        """The connectors for the list: the local catalogue's rows as they are read, with their
        summaries and no document parsed (desktop.core.store.ListedRow); rows written without a
        current summary are summarised here (the connector types load) and the summaries kept.
        A team workspace: its connectors."""
        from desktop.core.describe import SUMMARY_OF
        from desktop.core.store import (
            DESCRIPTION,
            SUMMARY_BY,
            Catalogue,
            CatalogueError,
            Summary,
            row_connector,
            with_summary,
        )
        if not isinstance(self.catalogue, Catalogue):
            return self.list()
        rows = self.catalogue.listed(SUMMARY_OF)
        kept, unreadable = [], set()
        for i, row in enumerate(rows):
            if row[SUMMARY_BY] == SUMMARY_OF and row[DESCRIPTION] is not None:
                continue
            try:
                conn = row_connector(row)
            except (ValueError, TypeError, AttributeError, RecursionError) as exc:
                self.catalogue.report.notes.append(f"The entry “{row[0]}” could not be read "
                                                   f"({type(exc).__name__}) and was skipped.")
                unreadable.add(i)
                continue
            summarised = self._summary(conn)
            rows[i] = with_summary(row, conn, summarised or Summary(conn.type, "?", (), ""))
            if summarised is not None:  # (a type not known here is summarised again next time)
                kept.append(rows[i])
        if kept:
            try:
                self.catalogue.set_summaries(kept)
            except CatalogueError as exc:  # e.g. a newer catalogue, only read: summarised again next time
                log.info("summaries not kept: %s", exc.problem)
        return [row for i, row in enumerate(rows) if i not in unreadable] if unreadable else rows

    def _summary_if_loaded(self, conn: Connector) -> Summary | None:
        """The summary a write keeps, when the connector types are loaded already (a command that
        needs none, like ``rollback``, does not import them for it: the list summarises that row)."""
        return None if callable(self._types) else self._summary(conn)

    def _summary(self, conn: Connector) -> Summary | None:
        ctype = self.types.get(conn.type)
        from desktop.core.describe import summary
        return summary(conn, ctype) if ctype is not None else None

    def get(self, name: str) -> Connector:
        conn = self.catalogue.get(name)
        if conn is None:
            raise FieldError("name", f"no connector named “{name}”")
        return conn

    def load_secrets(self, conn: Connector) -> dict[str, Secret]:
        if self.team is not None:
            return self.team.read_secrets(conn)
        out: dict[str, Secret] = {}
        staged = self.catalogue.staged(conn.name) if conn.secret_names else set()
        for sname in conn.secret_names:
            # A staged secret's value is under its staged key until the current key holds it too.
            keys = [staged_key(conn.name, sname), secret_key(conn.name, sname)]
            for key in keys if sname in staged else keys[1:]:
                value = self.vault.get(key)
                if value is not None:
                    out[sname] = value
                    break
        return out

    # -- checking input --------------------------------------------------------------------
    def check(self, conn: Connector, secrets: Mapping[str, Secret], *, old_name: str | None = None,
              new: bool = False) -> Connector:
        """Normalise a connector from a form; raise InputErrors naming every bad field."""
        problems: list[FieldError] = []
        taken = self.catalogue.names() - ({old_name} if old_name else set())
        try:
            name = check_name(conn.name, taken if (new or old_name) else None)
        except FieldError as exc:
            problems.append(exc)
            name = conn.name
        try:
            out = self._checked(conn, secrets)
        except InputErrors as exc:
            raise InputErrors(problems + list(exc.errors)) from None
        if problems:
            raise InputErrors(problems)
        out.name = name
        out.secret_names = conn.secret_names
        return out

    # -- actions ---------------------------------------------------------------------------
    def _run(self, conn: Connector, secrets: Mapping[str, Secret], action: str,
             body: Callable[[ConnectorType, Run], None], cancel: CancelToken | None,
             on_event: Callable[[Event], None] | None, timeout: float | None = None) -> RunResult:
        run = Run(timeout or conn.timeout_s, cancel, on_event, secrets)
        return execute(conn.name, conn.type, action, run, lambda r: body(self.ctype(conn), r),
                       lambda info: self.ctype(conn).facts(info))

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
            from desktop.core.contract import Action
            rtype = self.ctype(receiver)
            if not ctype.can(Action.SEND):
                raise InputErrors([FieldError("sender", f"“{sender.name}” does not send mail")])
            if not rtype.can(Action.RECEIVE):
                raise InputErrors([FieldError("receiver", f"“{receiver.name}” does not receive mail")])
            admin, problems = check_admin({"test_recipient": recipient})
            if problems or not admin:
                raise InputErrors([FieldError("to", "give the receiving mailbox's address (--to)")])
            why = ctype.undelivered(sender.settings)
            if why is not None:
                raise ConnectorError(errors.BAD_INPUT, f"“{sender.name}” {why.state}: {why.why}, so nothing can "
                                     "arrive.", why.fix)
            run.transcript.register_many(list(receiver_secrets.values()))
            # The receiving side signs in (and finds its mailbox) before anything is sent.
            run.phase = ("check", "Receiver: ")
            rtype.validate(receiver, receiver_secrets, run)
            run.phase = ("send", "Send: ")
            ctype.test_send(sender, sender_secrets, run, admin["test_recipient"], tag)
            sent_at = float(run.info.get("sent_at", 0.0))
            run.phase = ("receive", "Receive: ")
            rtype.wait_for(receiver, receiver_secrets, run, tag, sent_at)
            run.info["tag"] = tag
        run = Run(max(30.0, receiver.timeout_s + sender.timeout_s), cancel, on_event, sender_secrets)
        return execute(f"{sender.name} → {receiver.name}", f"{sender.type}→{receiver.type}", "roundtrip", run,
                       lambda r: body(self.ctype(sender), r),
                       lambda info: [*self.ctype(sender).facts(info), *self.ctype(receiver).facts(info)])

    def validate_saved(self, name: str, cancel: CancelToken | None = None,
                       on_event: Callable[[Event], None] | None = None) -> RunResult:
        from desktop.core.store import CatalogueError
        conn = self.get(name)
        result = self.validate(conn, self.with_token_cache(conn, self.load_secrets(conn)), cancel, on_event)
        self.keep_renewed(conn, result)
        try:
            self.record(name, result)
        except CatalogueError as exc:  # a newer catalogue is only read: the outcome is still shown
            log.warning("validation outcome of %s not recorded: %s", name, exc.problem)
        return result

    def with_token_cache(self, conn: Connector, secrets: dict[str, Secret]) -> dict[str, Secret]:
        """``secrets`` plus msal's sealed token cache where a sign-in kept one (Microsoft): the token step
        then refreshes through msal (acquire_token_silent) before the refresh token itself."""
        if self.team is None and REFRESH_TOKEN in conn.secret_names:
            cache = self.vault.get(secret_key(conn.name, TOKEN_CACHE))
            if cache is not None:
                secrets[TOKEN_CACHE] = cache
        return secrets

    def keep_renewed(self, conn: Connector, result: RunResult) -> None:
        """Store the secrets a provider replaced during a run of a saved connector (a rotated OAuth
        refresh token), whatever the outcome: the provider may already refuse the old one. msal's token
        cache, changed by a silent refresh, is sealed again only when the run passed."""
        for sname, value in result.renewed.items():
            if sname in conn.secret_names and value:
                self.vault.set(secret_key(conn.name, sname), value)
            elif sname == TOKEN_CACHE and value and result.ok and self.team is None:
                self.vault.set(secret_key(conn.name, TOKEN_CACHE), value)

    def record(self, name: str, result: RunResult) -> None:
        """Remember the outcome of a validation of a saved connector (shown in the list)."""
        status = status_of(result)
        if status is not None:
            self.catalogue.set_status(name, status)

    # -- writing ---------------------------------------------------------------------------
    def save(self, conn: Connector, secrets: Mapping[str, Secret], old_name: str | None = None,
             status: Status | None = None, token_cache: Secret | None = None) -> Connector:
        """Store a connector: its secrets to the vault, then the catalogue entry, all under the
        catalogue's writer lock (see :meth:`_store` for the order). ``token_cache``: msal's cache from
        the wizard's sign-in, sealed beside the refresh token (a local workspace keeps it)."""
        conn = self.check(conn, secrets, old_name=old_name, new=old_name is None)
        conn.secret_names = self.ctype(conn).secrets_kept(conn.settings, secrets)
        if status is not None:
            conn.status = status
        from desktop.core.store import encode_doc
        encode_doc(conn)  # text that cannot be stored is refused before any secret is
        with self.catalogue.locked():
            existing = self.catalogue.get(old_name or conn.name)
            if (old_name is None and existing is not None) or \
                    (old_name is not None and old_name != conn.name and self.catalogue.get(conn.name)):
                raise InputErrors([FieldError("name", f"a connector named “{conn.name}” already exists")])
            if existing is not None and status is None:
                conn.status = existing.status
            self._store([(conn, secrets, existing)])
            if old_name is not None and old_name != conn.name:
                self._relink(old_name, conn.name)
            if token_cache is not None and self.team is None and REFRESH_TOKEN in conn.secret_names:
                self.vault.set(secret_key(conn.name, TOKEN_CACHE), token_cache)
        return conn

    def linking(self, conns: Iterable[Connector], name: str) -> builtins.list[Connector]:
        """Those of ``conns`` whose settings name the connector ``name`` (an SMTP connector's bounce
        mailbox). Only the settings of types that link to another connector are read."""
        from desktop.core.contract import ConnectorType
        types = self.types
        linkers = {t for t, ctype in types.items()
                   if type(ctype).linked_connector is not ConnectorType.linked_connector}
        return [c for c in conns if c.name != name and c.type in linkers
                and types[c.type].linked_connector(c.settings) == name]

    def _relink(self, old: str, new: str) -> None:
        """After a rename: the connectors that named ``old`` name ``new``, so nothing breaks silently.
        The caller holds the writer lock."""
        changed = []
        for other in self.linking(self.catalogue.load(), old):
            settings = self.types[other.type].relinked(other.settings, old, new)
            if settings is not None:
                other.settings = settings
                changed.append((other, None, False))
        if changed:
            self.catalogue.put(changed)
            log.info("renamed %s to %s: %d connector(s) now name the new name", old, new, len(changed))

    def _store(self, batch: Sequence[tuple[Connector, Mapping[str, Secret], Connector | None]]) -> None:
        """Write connectors and their secrets; the caller holds the catalogue's writer lock.
        Each entry: (connector, secret values, the stored connector it replaces or None).

        Order, so that a crash at any point leaves each connector as it was or as it is now:
        1. secrets of new names go straight to their keys (no entry points at them yet); secrets of
           a connector replaced under the same name go to *staged* keys (the current ones still
           belong to the entry as it is);
        2. one transaction writes every entry (staged secrets are read from the staged keys);
        3. staged values are copied to the current keys, the entries are marked unstaged, the
           staged keys deleted; 4. secrets no longer used are deleted.
        A team workspace writes each connector with check-and-set instead (TeamStore.store)."""
        if self.team is not None:
            self.team.store(batch)
            _logged("saved", [conn.name for conn, _s, _e in batch])
            return
        staged: list[Connector] = []
        for conn, secrets, existing in batch:
            replacing = existing is not None and existing.name == conn.name
            for sname in conn.secret_names:
                key = staged_key if replacing else secret_key
                self.vault.set(key(conn.name, sname), secrets[sname])
            if replacing and conn.secret_names:
                staged.append(conn)
        self.catalogue.put([(conn, existing.name if existing else None, any(c is conn for c in staged))
                            for conn, _s, existing in batch])
        values = {conn.name: secrets for conn, secrets, _e in batch}
        for conn in staged:
            for sname in conn.secret_names:
                self.vault.set(secret_key(conn.name, sname), values[conn.name][sname])
        if staged:
            self.catalogue.unstage(c.name for c in staged)
        for conn in staged:
            for sname in conn.secret_names:
                self.vault.delete(staged_key(conn.name, sname))
        # Only after the catalogue points at the new secrets, drop the ones no longer used.
        for conn, _s, existing in batch:
            if existing is not None:
                for sname in existing.secret_names:
                    if existing.name != conn.name or sname not in conn.secret_names:
                        self.vault.delete(secret_key(existing.name, sname))
        _logged("saved", [conn.name for conn, _s, _e in batch])

    # -- rotation (DESIGN.md §4.9) ------------------------------------------------------------
    def rotate(self, name: str, secret: str, new_value: Secret, grace_hours: float = 24.0,
               cancel: CancelToken | None = None, on_event: Callable[[Event], None] | None = None) -> RunResult:
        """pending → validated → current. The new value is kept as *pending* first (a crash loses
        nothing), the connector is validated with it, and only then does it become current; the old
        value stays in the keychain as *previous* for ``grace_hours`` (``rollback()`` restores it).
        Any failure leaves the current value as it was and discards the pending one."""

        check_grace_hours(grace_hours, allow_past=True)
        self.catalogue.check_writable()  # refused before anything goes to the keychain
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
                if self.team is not None:
                    self.team.keep_pending(name, secret, new_value)
                    st.detail = "a new version in the vault, marked pending; the current value is untouched"
                else:
                    self.vault.set(pending_key(name, secret), new_value)
                    st.detail = f"stored in {self.secrets_place()}; the current value is untouched"
            try:
                ctype.validate(conn, {**current, secret: new_value}, r)
                self._promote(r, conn, secret, new_value, current, grace_hours)
            except BaseException:
                self._discard_pending(name, secret)
                raise
        result = execute(name, conn.type, "rotate", run, body, lambda info: self.ctype(conn).facts(info))
        self.keep_renewed(conn, result)  # e.g. the refresh token rotated while a new client secret was checked
        return result

    def sign_in(self, name: str, open_browser: Callable[[str], object], *, device: bool = False,
                show_code: Callable[[str, str, str], object] | None = None, timeout_s: float = 300.0,
                cancel: CancelToken | None = None, on_event: Callable[[Event], None] | None = None,
                browser_label: str = "Sign in with the browser") -> RunResult:
        """OAuth sign-in for a saved connector (``auth: oauth2``), then the rotation machinery: the new
        refresh token is kept as pending, the connector type's own ``validate()`` runs with it, and only
        then does it become current (the old one stays as previous). msal's token cache (Microsoft) is
        kept, sealed, only after that. Steps of both runs, one result (action "sign-in").
        ``browser_label`` names the browser step (the GUI's embedded window)."""
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
            r, conn.settings, secrets, open_browser, protocol=protocol, device=device, show_code=show_code,
            browser_label=browser_label)))
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
            with self.catalogue.locked():
                now = self.get(name)
                if REFRESH_TOKEN not in now.secret_names:
                    now.secret_names.append(REFRESH_TOKEN)
                    self.catalogue.put([(now, None, False)])
        second = self.rotate(name, REFRESH_TOKEN, got.refresh_token, cancel=cancel, on_event=on_event)
        if second.ok and got.token_cache is not None:
            self.vault.set(secret_key(name, TOKEN_CACHE), got.token_cache)
        return RunResult(ok=second.ok, connector=name, type=conn.type, action="sign-in",
                         steps=first.steps + second.steps, error=second.error,
                         transcript=first.transcript + second.transcript,
                         info={**second.info, **first.info}, ms=first.ms + second.ms)

    def _promote(self, r: Run, conn: Connector, secret: str, new_value: Secret, current: Mapping[str, Secret],
                 grace_hours: float) -> None:
        """Under the writer lock: previous ← current, current ← new, the entry records until when
        the previous value is kept. Any failure: the caller discards the pending value."""
        from datetime import UTC, datetime, timedelta

        name = conn.name
        if self.team is not None:
            with r.step("promote", "Make it current; keep the previous") as st:
                until = self.team.promote(name, secret, grace_hours)
                st.detail = f"previous version kept until {until}"
                r.info["previous_until"] = until
            return
        with r.step("promote", "Make it current; keep the previous") as st, self.catalogue.locked():
            until = (datetime.now(UTC) + timedelta(hours=grace_hours)).isoformat(timespec="seconds")
            now = self.catalogue.get(name)
            if now is None or secret not in now.secret_names:
                raise InputErrors([FieldError("name", f"“{name}” was deleted or changed meanwhile")])
            old = current.get(secret)
            if old:
                self.vault.set(previous_key(name, secret), old)
            self.vault.set(secret_key(name, secret), new_value)
            self.vault.delete(pending_key(name, secret))
            now.previous_until[secret] = until
            now.status = Status("valid", datetime.now(UTC).isoformat(timespec="seconds"))
            self.catalogue.put([(now, None, False)])
            st.detail = f"previous value kept until {until}"
            r.info["previous_until"] = until

    def _discard_pending(self, name: str, secret: str) -> None:
        if self.team is not None:
            self.team.discard_pending(name, secret)
        else:
            self.vault.delete(pending_key(name, secret))

    def rollback(self, name: str, secret: str) -> None:
        """Restore the previous value of ``secret`` (within its grace period)."""
        from datetime import UTC, datetime
        if self.team is not None:
            self.team.rollback(name, secret)
            return
        with self.catalogue.locked():
            conn = self.get(name)
            until = conn.previous_until.get(secret)
            old = self.vault.get(previous_key(name, secret)) if until else None
            if not until or old is None:
                raise InputErrors([FieldError("secret", f"“{name}” has no previous {secret} to restore")])
            if datetime.fromisoformat(until) < datetime.now(UTC):
                raise InputErrors([FieldError("secret", f"the previous {secret} expired at {until}")])
            self.vault.set(secret_key(name, secret), old)
            self.vault.delete(previous_key(name, secret))
            conn.previous_until.pop(secret, None)
            conn.status = Status()
            self.catalogue.put([(conn, None, False)])

    def purge_expired(self) -> Sequence[str]:
        """Remove previous values whose grace period is over; returns 'connector/secret' names."""
        from datetime import UTC, datetime
        if self.team is not None:
            return self.team.purge_expired()
        now = datetime.now(UTC)
        if not any(c.previous_until for c in self.list()):
            return []
        with self.catalogue.locked():
            changed, expired = [], []
            for c in self.list():
                gone = [s for s, until in c.previous_until.items() if datetime.fromisoformat(until) < now]
                for secret in gone:
                    self.vault.delete(previous_key(c.name, secret))
                    c.previous_until.pop(secret)
                    expired.append(f"{c.name}/{secret}")
                if gone:
                    changed.append((c, None, False))
            if changed:
                self.catalogue.put(changed)
        return expired

    def delete(self, name: str) -> None:
        """The entry first (one transaction), then its keychain items, all under the writer lock: a
        crash in between leaves the connector deleted (with orphaned keychain items, never a listed
        connector whose secret is gone)."""
        if self.team is not None:
            self.team.delete(name)
            _logged("deleted", [name])
            return
        with self.catalogue.locked():
            conn = self.get(name)
            self.catalogue.remove(name)
            for sname in conn.secret_names:
                for key in (secret_key(name, sname), pending_key(name, sname), previous_key(name, sname),
                            staged_key(name, sname)):
                    self.vault.delete(key)
            if REFRESH_TOKEN in conn.secret_names:
                self.vault.delete(secret_key(name, TOKEN_CACHE))
        _logged("deleted", [name])

    def duplicate_name(self, name: str) -> str:
        taken = self.catalogue.names()
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
        outcome = self.import_documents([(data, sealed)], environ, replace)[0]
        if isinstance(outcome, ConnectorError):
            raise outcome
        return outcome

    def import_documents(self, items: Sequence[tuple[Any, Mapping[str, Secret] | None]], environ: Mapping[str, str],
                         replace: bool = False) -> builtins.list[Connector | ConnectorError]:
        """Import many documents: each is checked first (bad ones get their error, the others go on),
        then all are written under the writer lock in one catalogue transaction. ``--replace``
        decides "exists" inside the lock. Returns, per item, the stored connector or its error."""
        from desktop.core.store import encode_doc
        outcomes: builtins.list[Connector | ConnectorError] = []
        ready: builtins.list[tuple[int, Connector, dict[str, Secret]]] = []
        for data, sealed in items:
            try:
                draft = self.connector_from_document(data, environ, None, sealed)
                conn = self._checked(draft.connector, draft.secrets)
                encode_doc(conn)
            except ConnectorError as exc:
                outcomes.append(exc)
                continue
            ready.append((len(outcomes), conn, dict(draft.secrets)))
            outcomes.append(conn)
        if not ready:
            return outcomes
        with self.catalogue.locked():
            wanted = {conn.name for _i, conn, _s in ready}
            if replace:
                existing = {c.name: c for c in self.catalogue.load(wanted)}
                taken = set(existing)
            else:
                existing, taken = {}, self.catalogue.names(wanted)
            batch: dict[str, tuple[Connector, Mapping[str, Secret], Connector | None]] = {}
            for i, conn, secrets in ready:
                if not replace and (conn.name in taken or conn.name in batch):
                    outcomes[i] = InputErrors([FieldError("name", f"a connector named “{conn.name}” "
                                                                  "already exists")])
                    continue
                old = existing.get(conn.name)
                if old is not None:
                    conn.status = old.status
                batch[conn.name] = (conn, secrets, old)  # with --replace, a later document of a name wins
            stored = self._store_each(list(batch.values()))
            for i, conn, _s in ready:
                if isinstance(outcomes[i], Connector) and conn.name in stored:
                    outcomes[i] = stored[conn.name]
        return outcomes

    def _store_each(self, batch: builtins.list[tuple[Connector, Mapping[str, Secret], Connector | None]]
                    ) -> dict[str, Connector | ConnectorError]:
        """_store() for a batch; on a failure no connector of the batch is reported as saved."""
        try:
            self._store(batch)
        except ConnectorError as exc:  # e.g. the keychain failed: nothing is reported as saved
            return {c.name: exc for c, _s, _e in batch}
        return {c.name: c for c, _s, _e in batch}

    def _checked(self, conn: Connector, secrets: Mapping[str, Secret]) -> Connector:
        """check() without the name look-up (the caller checks names once for many documents)."""
        ctype = self.ctype(conn)
        settings, problems = check_settings(ctype.fields, conn.settings)
        admin, more = check_admin(conn.admin)
        problems += more
        description = conn.description
        try:
            description = check_description(conn.description)
        except FieldError as exc:
            problems.insert(0, exc)
        for sf in ctype.secrets_needed(settings):
            if not secrets.get(sf.name):
                problems.append(FieldError(f"secrets.{sf.name}", "is required"))
        if problems:
            raise InputErrors(problems)
        out = conn.copy()
        out.settings, out.admin, out.description = settings, admin, description
        out.secret_names = ctype.secrets_kept(settings, secrets)
        return out


def check_grace_hours(hours: float, allow_past: bool = False) -> None:
    """A finite number of hours up to ten years (``rotate --grace-hours``); ``allow_past`` lets the
    API (tests) create already expired previous values."""
    low = -MAX_GRACE_HOURS if allow_past else 0
    if not isinstance(hours, int | float) or not math.isfinite(hours) or not low <= hours <= MAX_GRACE_HOURS:
        raise InputErrors([FieldError("grace_hours", f"must be a number of hours from 0 to {MAX_GRACE_HOURS}, "
                                                     f"not {hours!r}")])


MAX_GRACE_HOURS = 24 * 366 * 10
