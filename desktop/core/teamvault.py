"""A team workspace: connectors and their secrets in OpenBao or HashiCorp Vault (KV version 2).

Layout under the workspace's mount and prefix (policies can tell settings and secrets apart):

    <prefix>/connectors/<name>   the connector: settings, admin, secret names, status, and which
                                 version of its secrets is current (and which is previous)
    <prefix>/secrets/<name>      every secret value of the connector, one KV version per change

Every write uses check-and-set; a write that lost a race raises ``conflict`` (who changed it and
when, from the path's ``custom_metadata``) and changes nothing anyone reads. The connector entry
is the commit point: a new secrets version is only read once the entry names it as current, so a
pending rotation (a newer secrets version marked ``stage_v<N>: pending`` in ``custom_metadata``)
is invisible to a gateway until it is promoted. ``custom_metadata`` also records each version's
author (``by_v<N>``) for ``history``. Vault credentials never go to a file (tokens from the
environment, AppRole for gateways, or a token from a user-name sign-in kept in the keychain).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from desktop.core import errors
from desktop.core.errors import ConnectorError, FieldError, InputErrors
from desktop.core.model import Connector, Status
from desktop.core.secret import Secret
from desktop.core.store import LoadReport, encode_doc
from desktop.core.workspace import Workspace

log = logging.getLogger(__name__)
T = TypeVar("T")
KEEP_AUTHORS = 20  # custom_metadata holds at most 64 keys: stage/author of the newest versions only
AUTHOR = "_by"  # in each version's data: who wrote it (not a secret name: those are identifiers)
POLICY_HINT = "Ask a vault administrator for a policy that allows this (README: “Team vault”)."


def token_key(workspace: str) -> str:
    """The keychain item holding a token from a user-name sign-in to ``workspace``."""
    return f"workspace:{workspace}/vault-token"


@dataclass
class Pointers:
    """Which secrets versions an entry names: current (read by everyone) and previous."""

    settings: int = 0  # the entry's own KV version as last read (the check-and-set base)
    current: int | None = None
    previous: int | None = None


@dataclass
class _Cas(Exception):
    path: str


@dataclass
class HistoryRow:
    what: str  # secrets | settings
    version: int
    time: str
    stage: str
    author: str

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "version": self.version, "time": self.time, "stage": self.stage,
                "author": self.author}


def _tls_error(exc: Exception, url: str) -> ConnectorError:
    text = str(exc)
    if "certificate has expired" in text:
        return ConnectorError(errors.CERT_EXPIRED, f"The vault at {url} presented an expired certificate.",
                              "Ask the vault's administrators to renew its certificate.")
    if "match" in text and "ostname" in text or "IP address mismatch" in text:
        return ConnectorError(errors.CERT_HOSTNAME_MISMATCH, f"The vault's certificate is not for {url}.",
                              "Use the address the certificate names.")
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return ConnectorError(errors.CERT_UNTRUSTED, f"The vault at {url} presented a certificate this computer "
                                                     "does not trust.",
                              "Give the certificate authority's PEM file: workspace add … --ca-file PEM.")
    return ConnectorError(errors.TLS_FAILED, f"A TLS connection to the vault at {url} failed.",
                          "Check the vault's address and TLS settings.")


class TeamStore:
    """What :class:`desktop.core.service.Desk` uses instead of the catalogue and the keychain in a
    team workspace. The catalogue-like part (load/get/names/put/set_status/remove/locked) keeps
    Desk's code unchanged; the secrets and rotation calls are made by Desk's team branches."""

    def __init__(self, ws: Workspace, client: Any) -> None:
        self.ws = ws
        self.client = client
        self.report = LoadReport()
        self._seen: dict[str, Pointers] = {}
        self._pending: dict[tuple[str, str], int] = {}
        self._author: str | None = None

    # -- signing in ------------------------------------------------------------------------------
    @staticmethod
    def make_client(ws: Workspace, token: str | None = None) -> Any:
        import hvac
        import requests
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE / proxies from the environment do not apply
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        verify: str | bool = ws.ca_file or True
        session.verify = verify  # hvac takes the session's own verify over its argument
        return hvac.Client(url=ws.url, token=token, timeout=ws.timeout_s, verify=verify, session=session)

    @classmethod
    def connect(cls, ws: Workspace, environ: Mapping[str, str] | None = None,
                folder: Path | None = None) -> TeamStore:
        """Sign in: VAULT_TOKEN / BAO_TOKEN; else AppRole (VAULT_ROLE_ID + VAULT_SECRET_ID); else a
        token kept in the keychain by ``workspace login``."""
        env = os.environ if environ is None else environ
        client = cls.make_client(ws)
        store = cls(ws, client)
        token = env.get("VAULT_TOKEN") or env.get("BAO_TOKEN")
        if token:
            client.token = token
        elif env.get("VAULT_ROLE_ID") and env.get("VAULT_SECRET_ID"):
            mount = env.get("VAULT_APPROLE_MOUNT") or "approle"
            answer = store._call("auth/approle/login", lambda: client.auth.approle.login(
                role_id=env["VAULT_ROLE_ID"], secret_id=env["VAULT_SECRET_ID"], use_token=True,
                mount_point=mount), login=True)
            store._author = f"approle:{answer['auth'].get('metadata', {}).get('role_name') or 'gateway'}"
        else:
            from desktop.core.paths import home
            from desktop.core.vault import open_vault
            kept = open_vault(folder or home()).get(token_key(ws.name))
            if kept is None:
                raise ConnectorError(errors.AUTH_FAILED, f"Not signed in to the team vault “{ws.name}”.",
                                     "Set VAULT_TOKEN (or BAO_TOKEN), VAULT_ROLE_ID + VAULT_SECRET_ID on a "
                                     f"gateway, or run: connector-desk workspace login {ws.name} --username NAME")
            client.token = kept.reveal()
        return store

    @classmethod
    def sign_in_userpass(cls, ws: Workspace, username: str, password: Secret, folder: Path,
                         mount: str = "userpass") -> str:
        """Sign in with a user name and password; the token goes to the keychain (never a file)."""
        from desktop.core.vault import open_vault
        client = cls.make_client(ws)
        store = cls(ws, client)
        answer = store._call(f"auth/{mount}/login/{username}", lambda: client.auth.userpass.login(
            username=username, password=password.reveal(), use_token=True, mount_point=mount), login=True)
        open_vault(folder).set(token_key(ws.name), Secret(answer["auth"]["client_token"]))
        return str(answer["auth"].get("metadata", {}).get("username") or username)

    @property
    def author(self) -> str:
        if self._author is None:
            data = self._call("auth/token/lookup-self", lambda: self.client.auth.token.lookup_self())["data"]
            meta = data.get("meta") or {}
            self._author = str(meta.get("username") or data.get("display_name") or "unknown")
        return self._author

    # -- calls -------------------------------------------------------------------------------------
    def _full(self, path: str) -> str:
        return f"{self.ws.mount}/data/{path}"

    def _call(self, path: str, fn: Callable[[], T], *, login: bool = False) -> T:
        """One request, bounded by the workspace's timeout, with its failure as our error codes."""
        import hvac.exceptions as hx
        import requests
        try:
            return self._bounded(fn)
        except hx.Forbidden:
            if login:
                raise ConnectorError(errors.AUTH_FAILED, f"The vault refused the sign-in ({path}).",
                                     "Check the user name and password, or the role and secret ids.") from None
            raise ConnectorError(errors.NOT_AUTHORIZED, f"The vault refused access to {path}.",
                                 POLICY_HINT) from None
        except hx.InvalidRequest as exc:
            if "check-and-set" in str(exc):
                raise _Cas(path) from None
            if login:
                raise ConnectorError(errors.AUTH_FAILED, f"The vault refused the sign-in ({path}).",
                                     "Check the user name and password, or the role and secret ids.") from None
            raise ConnectorError(errors.PROTOCOL_ERROR, f"The vault refused the request for {path}.",
                                 "Check the workspace's mount (a KV version 2 engine) and prefix.") from None
        except hx.Unauthorized:
            raise ConnectorError(errors.AUTH_FAILED, "The vault did not accept the token (expired or revoked).",
                                 f"Sign in again: connector-desk workspace login {self.ws.name}") from None
        except (hx.VaultDown, hx.VaultNotInitialized):
            raise ConnectorError(errors.VAULT_SEALED, f"The team vault at {self.ws.url} is sealed.",
                                 "Ask its operators to unseal it; nothing was read or changed.") from None
        except hx.InvalidPath:
            raise
        except hx.VaultError as exc:
            raise ConnectorError(errors.SERVER_ERROR, f"The vault failed on {path} ({type(exc).__name__}).",
                                 "Try again later; ask the vault's operators if it persists.") from None
        except requests.exceptions.SSLError as exc:
            raise _tls_error(exc, self.ws.url) from None
        except requests.exceptions.ConnectTimeout:
            raise ConnectorError(errors.CONNECT_TIMEOUT, f"The vault at {self.ws.url} did not answer the "
                                                         f"connection within {self.ws.timeout_s:g} s.",
                                 "Check the address and the network.") from None
        except requests.exceptions.Timeout:
            raise ConnectorError(errors.TIMEOUT, f"The vault at {self.ws.url} did not answer within "
                                                 f"{self.ws.timeout_s:g} s.",
                                 "The vault may be overloaded or hung; try again later.") from None
        except requests.exceptions.ConnectionError:
            raise ConnectorError(errors.CONNECT_REFUSED, f"The vault at {self.ws.url} could not be reached.",
                                 "Check the address and that the vault is running.") from None

    def _bounded(self, fn: Callable[[], T]) -> T:
        """``fn`` on a daemon thread, waited for at most the workspace's timeout: requests' own
        timeout is per socket read, so a vault that answers one byte at a time would never end.
        A call given up on is left to finish on its own (it holds no lock, and never blocks exit)."""
        outcome: list[Any] = []

        def work() -> None:
            try:
                outcome.append((True, fn()))
            except BaseException as exc:  # handed to the caller's thread
                outcome.append((False, exc))
        thread = threading.Thread(target=work, name="vault-call", daemon=True)
        thread.start()
        thread.join(self.ws.timeout_s)
        if not outcome:
            raise ConnectorError(errors.TIMEOUT, f"The vault at {self.ws.url} did not answer within "
                                                 f"{self.ws.timeout_s:g} s.",
                                 "The vault may be overloaded or hung; try again later.")
        ok, value = outcome[0]
        if ok:
            return cast(T, value)
        raise value

    def _path(self, what: str, name: str) -> str:
        return f"{self.ws.prefix}/{what}/{name}"

    def _read(self, path: str, version: int | None = None) -> tuple[dict[str, Any], int] | None:
        got = self._read_full(path, version)
        return None if got is None else (dict(got["data"] or {}), int(got["metadata"]["version"]))

    def _read_full(self, path: str, version: int | None = None) -> dict[str, Any] | None:
        import hvac.exceptions as hx
        kv = self.client.secrets.kv.v2
        try:
            answer = self._call(self._full(path), lambda: kv.read_secret_version(
                path=path, version=version, mount_point=self.ws.mount, raise_on_deleted_version=True))
        except hx.InvalidPath:
            return None
        return dict(answer["data"])

    def _metadata(self, path: str) -> dict[str, Any] | None:
        import hvac.exceptions as hx
        kv = self.client.secrets.kv.v2
        try:
            answer = self._call(f"{self.ws.mount}/metadata/{path}",
                                lambda: kv.read_secret_metadata(path=path, mount_point=self.ws.mount))
        except hx.InvalidPath:
            return None
        return dict(answer["data"])

    def _write(self, path: str, data: dict[str, Any], cas: int) -> int:
        kv = self.client.secrets.kv.v2
        data = {**data, AUTHOR: self.author}  # with the version itself: a conflict names who won
        answer = self._call(self._full(path), lambda: kv.create_or_update_secret(
            path=path, secret=data, cas=cas, mount_point=self.ws.mount))
        version = int(answer["data"]["version"])
        self._mark(path, {f"by_v{version}": self.author})
        return version

    def _mark(self, path: str, marks: Mapping[str, str]) -> None:
        """Merge ``marks`` into the path's custom_metadata (keeping the newest versions' marks).
        Descriptive only (history, who changed what): nothing reads a value through it."""
        kv = self.client.secrets.kv.v2
        meta = self._metadata(path) or {}
        custom = {**(meta.get("custom_metadata") or {}), **marks}
        newest = int(meta.get("current_version") or 0)
        custom = {k: v for k, v in custom.items()
                  if not (k.startswith(("by_v", "stage_v")) and int(k.split("_v")[1]) <= newest - KEEP_AUTHORS)}
        self._call(f"{self.ws.mount}/metadata/{path}", lambda: kv.update_metadata(
            path=path, custom_metadata=custom, mount_point=self.ws.mount))

    def _conflict(self, path: str, name: str) -> ConnectorError:
        """Who wrote the version that won, and when: from the version itself (written with it),
        else from the path's custom_metadata."""
        latest = self._read_full(path) or {}
        meta = latest.get("metadata") or {}
        by = (latest.get("data") or {}).get(AUTHOR)
        if not by:
            info = self._metadata(path) or {}
            meta = {"created_time": info.get("updated_time")}
            by = (info.get("custom_metadata") or {}).get(f"by_v{info.get('current_version')}")
        by = by or "another administrator"
        when = str(meta.get("created_time") or "")[:19].replace("T", " ")
        return ConnectorError(errors.CONFLICT, f"“{name}” was changed by {by} at {when} UTC since you read it; "
                                               "nothing was changed.",
                              "Reload the connector and make your change again.")

    # -- the connector entry -----------------------------------------------------------------------
    def _entry(self, name: str, data: Mapping[str, Any], version: int, refresh: bool) -> Connector:
        """The connector an entry describes; ValueError for one this version cannot read (written
        by hand or by a newer version), which list() skips with a note."""
        versions = data.get("secrets_version") or {}
        if not isinstance(versions, Mapping) or not all(
                v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in
                (versions.get("current"), versions.get("previous"))):
            raise ValueError("secrets_version")
        for key, kind in (("settings", Mapping), ("admin", Mapping), ("status", Mapping),
                          ("previous_until", Mapping), ("secret_names", list), ("type", str)):
            if data.get(key) is not None and not isinstance(data.get(key), kind):
                raise ValueError(key)
        ptr = Pointers(version, versions.get("current"), versions.get("previous"))
        if refresh or name not in self._seen:
            self._seen[name] = ptr
        else:  # the check-and-set base stays what this desk first read (a stale edit is a conflict)
            self._seen[name] = Pointers(self._seen[name].settings, ptr.current, ptr.previous)
        return Connector(name=name, type=str(data.get("type", "")), description=str(data.get("description", "")),
                         settings=dict(data.get("settings") or {}), admin=dict(data.get("admin") or {}),
                         secret_names=list(data.get("secret_names") or []),
                         status=Status.from_dict(data.get("status")),
                         previous_until=dict(data.get("previous_until") or {}))

    @staticmethod
    def _doc(conn: Connector, ptr: Pointers) -> dict[str, Any]:
        encode_doc(conn)  # text that cannot be stored is refused by name, as in the local catalogue
        return {"type": conn.type, "description": conn.description, "settings": conn.settings,
                "admin": conn.admin, "secret_names": conn.secret_names, "status": conn.status.to_dict(),
                "previous_until": conn.previous_until,
                "secrets_version": {"current": ptr.current, "previous": ptr.previous}}

    def _put_entry(self, conn: Connector, cas: int, current: int | None, previous: int | None) -> None:
        path = self._path("connectors", conn.name)
        ptr = Pointers(cas, current, previous)
        try:
            version = self._write(path, self._doc(conn, ptr), cas)
        except _Cas:
            raise self._conflict(path, conn.name) from None
        self._seen[conn.name] = Pointers(version, current, previous)

    def _base(self, name: str) -> Pointers:
        if name not in self._seen:
            self.get(name)
        return self._seen.get(name) or Pointers()

    # -- the catalogue's interface -----------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[TeamStore]:
        yield self  # check-and-set on every write takes the place of the local writer lock

    def check_writable(self) -> None:
        return None

    def names(self, among: Iterable[str] | None = None) -> set[str]:
        import hvac.exceptions as hx
        kv = self.client.secrets.kv.v2
        path = f"{self.ws.prefix}/connectors"
        try:
            answer = self._call(f"{self.ws.mount}/metadata/{path}/",
                                lambda: kv.list_secrets(path=path, mount_point=self.ws.mount))
            keys = {k for k in answer["data"]["keys"] if not k.endswith("/")}
        except hx.InvalidPath:
            keys = set()
        return keys if among is None else keys & set(among)

    def load(self, only: Iterable[str] | None = None) -> list[Connector]:
        self.report = LoadReport()
        wanted = sorted(self.names(only))

        def one(name: str) -> Connector | None:
            got = self._read(self._path("connectors", name))
            if got is None:
                return None
            try:
                return self._entry(name, got[0], got[1], refresh=True)
            except ValueError as exc:
                self.report.notes.append(f"The entry “{name}” in the vault could not be read (its {exc} is not "
                                         "what this version writes) and was skipped.")
                return None
        with ThreadPoolExecutor(max_workers=8) as pool:
            return [c for c in pool.map(one, wanted) if c is not None]

    def get(self, name: str) -> Connector | None:
        got = self._read(self._path("connectors", name))
        if got is None:
            return None
        try:
            return self._entry(name, got[0], got[1], refresh=False)
        except ValueError as exc:
            raise FieldError("name", f"the vault's entry “{name}” cannot be read (its {exc} is not what this "
                                     "version writes)") from None

    def staged(self, name: str) -> set[str]:
        return set()

    def put(self, entries: Iterable[tuple[Connector, str | None, bool]]) -> None:
        for conn, _old, _staged in entries:
            ptr = self._base(conn.name)
            self._put_entry(conn, ptr.settings, ptr.current, ptr.previous)

    def unstage(self, names: Iterable[str]) -> None:
        return None

    def set_status(self, name: str, status: Status) -> bool:
        """The validation outcome; retried on a race (it changes no setting). A gateway's read-only
        policy cannot record it: that is not an error (False)."""
        for _attempt in range(3):
            got = self._read(self._path("connectors", name))
            if got is None:
                return False
            data, version = got
            data["status"] = status.to_dict()
            try:
                new = self._write(self._path("connectors", name), data, version)
            except _Cas:
                continue
            except ConnectorError as exc:
                if exc.code == errors.NOT_AUTHORIZED:
                    log.info("status of %s not recorded: %s", name, exc.message)
                    return False
                raise
            seen = self._seen.get(name)
            if seen is not None and seen.settings == version:
                seen.settings = new
            return True
        return False

    def remove(self, name: str) -> None:
        self.delete(name)

    # -- secrets -------------------------------------------------------------------------------------
    def _values(self, name: str, version: int | None) -> dict[str, str]:
        if version is None:
            return {}
        got = self._read(self._path("secrets", name), version)
        return {} if got is None else {k: str(v) for k, v in got[0].items() if k != AUTHOR}

    def read_secrets(self, conn: Connector) -> dict[str, Secret]:
        """The secrets of the version the entry names as current (never a pending one)."""
        ptr = self._base(conn.name)
        values = self._values(conn.name, ptr.current)
        return {s: Secret(values[s]) for s in conn.secret_names if s in values}

    def _write_secrets(self, name: str, values: Mapping[str, str], cas: int | None = None) -> int:
        path = self._path("secrets", name)
        if cas is None:
            cas = int((self._metadata(path) or {}).get("current_version") or 0)
        try:
            return self._write(path, dict(values), cas)
        except _Cas:
            raise self._conflict(path, name) from None

    def _drop_version(self, name: str, version: int) -> None:
        kv = self.client.secrets.kv.v2
        path = self._path("secrets", name)
        self._call(self._full(path), lambda: kv.delete_secret_versions(
            path=path, versions=[version], mount_point=self.ws.mount))

    def store(self, batch: Sequence[tuple[Connector, Mapping[str, Secret], Connector | None]]) -> None:
        for conn, secrets, existing in batch:
            self._store_one(conn, {s: secrets[s].reveal() for s in conn.secret_names}, existing)

    def _store_one(self, conn: Connector, values: dict[str, str], existing: Connector | None) -> None:
        """Secrets first (a new version nobody reads yet), then the entry naming it (check-and-set:
        the commit point). If the entry loses its race, the new secrets version is deleted again."""
        name = conn.name
        renamed = existing is not None and existing.name != name
        if existing is None or renamed:
            base, cas = Pointers(), 0
            if self._read(self._path("connectors", name)) is not None:
                raise self._conflict(self._path("connectors", name), name)
        else:
            base = self._base(name)
            cas = base.settings
        written = None
        if values and values != self._values(name, base.current):
            written = self._write_secrets(name, values)
        try:
            self._put_entry(conn, cas, written or base.current, base.previous)
        except ConnectorError:
            if written is not None:
                self._drop_version(name, written)
            raise
        if written is not None:
            self._mark(self._path("secrets", name), {f"stage_v{written}": "current"})
        if renamed and existing is not None:
            self.delete(existing.name)

    # -- rotation on KV versions ---------------------------------------------------------------------
    def keep_pending(self, name: str, secret: str, value: Secret) -> None:
        """A new secrets version with the new value, marked pending; the entry still names the
        current version, so nobody reading "current" sees it."""
        ptr = self._base(name)
        values = {**self._values(name, ptr.current), secret: value.reveal()}
        version = self._write_secrets(name, values)
        self._pending[(name, secret)] = version
        self._mark(self._path("secrets", name), {f"stage_v{version}": "pending"})

    def discard_pending(self, name: str, secret: str) -> None:
        version = self._pending.pop((name, secret), None)
        if version is not None:
            self._drop_version(name, version)
            self._mark(self._path("secrets", name), {f"stage_v{version}": "discarded"})

    def promote(self, name: str, secret: str, grace_hours: float) -> str:
        """The entry names the pending version as current and the current one as previous (kept
        readable until the grace period ends). Returns until when."""
        version = self._pending[(name, secret)]
        base = self._base(name)
        now = self.get(name)
        if now is None or secret not in now.secret_names:
            raise InputErrors([FieldError("name", f"“{name}” was deleted or changed meanwhile")])
        until = (datetime.now(UTC) + timedelta(hours=grace_hours)).isoformat(timespec="seconds")
        now.previous_until[secret] = until
        now.status = Status("valid", datetime.now(UTC).isoformat(timespec="seconds"))
        self._put_entry(now, base.settings, version, base.current)
        self._pending.pop((name, secret), None)
        marks = {f"stage_v{version}": "current"}
        if base.current is not None:
            marks[f"stage_v{base.current}"] = "previous"
        self._mark(self._path("secrets", name), marks)
        return until

    def rollback(self, name: str, secret: str) -> None:
        """Re-promote the previous version (within its grace period)."""
        conn = self.get(name)
        if conn is None:
            raise FieldError("name", f"no connector named “{name}”")
        base = self._base(name)
        until = conn.previous_until.get(secret)
        if not until or base.previous is None or not self._values(name, base.previous):
            raise InputErrors([FieldError("secret", f"“{name}” has no previous {secret} to restore")])
        if datetime.fromisoformat(until) < datetime.now(UTC):
            raise InputErrors([FieldError("secret", f"the previous {secret} expired at {until}")])
        conn.previous_until.pop(secret, None)
        conn.status = Status()
        self._put_entry(conn, base.settings, base.previous, None)
        marks = {f"stage_v{base.previous}": "current"}
        if base.current is not None:
            marks[f"stage_v{base.current}"] = "rolled back"
        self._mark(self._path("secrets", name), marks)

    def purge_expired(self) -> list[str]:
        now, expired = datetime.now(UTC), []
        for conn in self.load():
            gone = [s for s, until in conn.previous_until.items() if datetime.fromisoformat(until) < now]
            if not gone:
                continue
            base = self._base(conn.name)
            for s in gone:
                conn.previous_until.pop(s)
                expired.append(f"{conn.name}/{s}")
            previous = base.previous if conn.previous_until else None
            self._put_entry(conn, base.settings, base.current, previous)
            if base.previous is not None and previous is None:
                self._drop_version(conn.name, base.previous)
        return expired

    def delete(self, name: str) -> None:
        """The entry (all its versions) first, then its secrets: a stop in between leaves the
        connector deleted, never listed without its secrets."""
        kv = self.client.secrets.kv.v2
        path = self._path("connectors", name)
        meta = self._metadata(path)
        if meta is None:
            raise FieldError("name", f"no connector named “{name}”")
        seen = self._seen.get(name)
        if seen is not None and int(meta.get("current_version") or 0) != seen.settings:
            raise self._conflict(path, name)
        for p in (path, self._path("secrets", name)):
            self._forget(kv, p)
        self._seen.pop(name, None)

    def _forget(self, kv: Any, path: str) -> None:
        self._call(f"{self.ws.mount}/metadata/{path}",
                   lambda: kv.delete_metadata_and_all_versions(path=path, mount_point=self.ws.mount))

    # -- history ------------------------------------------------------------------------------------
    def history(self, name: str) -> list[HistoryRow]:
        """Each version of the connector's secrets and entry: time, stage, author (newest first)."""
        if self.get(name) is None:
            raise FieldError("name", f"no connector named “{name}”")
        ptr = self._base(name)
        rows: list[HistoryRow] = []
        for what in ("secrets", "settings"):
            meta = self._metadata(self._path("secrets" if what == "secrets" else "connectors", name)) or {}
            custom = meta.get("custom_metadata") or {}
            for key, v in (meta.get("versions") or {}).items():
                n = int(key)
                stage = _stage(n, ptr, custom, v) if what == "secrets" else ("current" if n == ptr.settings
                                                                             else "old")
                rows.append(HistoryRow(what, n, str(v.get("created_time", ""))[:19].replace("T", " "), stage,
                                       str(custom.get(f"by_v{n}", "?"))))
        return sorted(rows, key=lambda r: (r.what, -r.version))


def connect_workspace(ws: Workspace, folder: Path, *, token: Secret | None = None, username: str = "",
                      password: Secret | None = None) -> int:
    """The "Connect to a team vault" dialog's work: sign in (a token, or a user name and password),
    list the connectors to prove the address, CA, mount, prefix and policy work, then keep the token
    in the keychain and save the workspace. Returns how many connectors it holds. Nothing is saved
    when any step fails."""
    from desktop.core import workspace
    from desktop.core.vault import open_vault
    if username:
        if not password:
            raise FieldError("password", "is required")
        TeamStore.sign_in_userpass(ws, username, password, folder)
        store = TeamStore.connect(ws, environ={}, folder=folder)
    elif token:
        store = TeamStore.connect(ws, environ={"VAULT_TOKEN": token.reveal()}, folder=folder)
    else:
        raise FieldError("token", "give a token, or a user name and password")
    try:
        try:
            store.author  # noqa: B018 - the token's own look-up: a wrong token fails here
        except ConnectorError as exc:
            if exc.code != errors.NOT_AUTHORIZED:
                raise
            raise ConnectorError(errors.AUTH_FAILED, "The vault did not accept the token.",
                                 "Check the token (or sign in with a user name and password).") from None
        count = len(store.names())
    except ConnectorError:
        if username:
            open_vault(folder).delete(token_key(ws.name))
        raise
    if token and not username:
        open_vault(folder).set(token_key(ws.name), token)
    workspace.save(ws, folder)
    return count


def _stage(n: int, ptr: Pointers, custom: Mapping[str, str], v: Mapping[str, Any]) -> str:
    if n == ptr.current:
        return "current"
    if n == ptr.previous:
        return "previous"
    marked = custom.get(f"stage_v{n}", "")
    if v.get("deletion_time") or v.get("destroyed"):
        return f"deleted ({marked})" if marked and marked not in ("current", "previous") else "deleted"
    if marked == "pending":
        return "pending"
    return "old"


@dataclass
class MigrationStep:
    name: str
    action: str  # copy | skip (exists) | failed
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "action": self.action, "detail": self.detail}


@dataclass
class MigrationPlan:
    steps: list[MigrationStep] = field(default_factory=list)

    @property
    def copied(self) -> int:
        return sum(1 for s in self.steps if s.action == "copied")


def migrate(source: Any, target: Any, dry_run: bool = False) -> MigrationPlan:
    """Copy every connector (with its secrets) from one Desk to another. The source is never
    changed; a connector already in the target is skipped, so a run that stopped halfway is simply
    run again. Each connector is written the target's usual way (secrets first, then the entry)."""
    plan = MigrationPlan()
    taken = target.catalogue.names()
    for conn in source.list():
        if conn.name in taken:
            plan.steps.append(MigrationStep(conn.name, "skip", "already in the target workspace"))
            continue
        if dry_run:
            plan.steps.append(MigrationStep(conn.name, "copy", f"{len(conn.secret_names)} secret(s)"))
            continue
        try:
            secrets = source.load_secrets(conn)
            missing = [s for s in conn.secret_names if s not in secrets]
            if missing:
                raise ConnectorError(errors.SECRET_STORE_UNAVAILABLE,
                                     f"the secret(s) {', '.join(missing)} of “{conn.name}” cannot be read")
            copy = conn.copy()
            copy.previous_until = {}  # a previous value stays behind in the source
            with target.catalogue.locked():
                target._store([(copy, secrets, None)])
        except ConnectorError as exc:
            plan.steps.append(MigrationStep(conn.name, "failed", exc.message))
            continue
        plan.steps.append(MigrationStep(conn.name, "copied", f"{len(conn.secret_names)} secret(s)"))
    return plan
