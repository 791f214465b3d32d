"""The catalogue of connectors: one SQLite database (``catalogue.db``, WAL, the standard library's
``sqlite3``). One row per connector (its document as JSON plus status columns); the names of its
secrets, which live in the keychain, in rows of their own. No secret value is ever stored here.

- Readers never block: WAL lets them read while another process writes.
- Writers: one SQLite transaction per change (an import of many documents is one transaction, a
  validation's status is one row update). Changes that also touch the keychain run inside
  :meth:`Catalogue.locked`, the inter-process writer lock, so two processes changing the same
  connector take turns (the service layer orders the steps so that every crash point leaves the
  old or the new state).
- The list reads one SELECT of summary columns written with each document (description, type label,
  server text, warnings; ``summary_of`` names the code that wrote them) and parses a document only
  when it is used (:class:`ListedConnector`). Rows without a current summary (older databases, writers
  that had no connector types) are summarised by the service layer when listed, and kept.
- ``PRAGMA user_version`` holds the schema. A database of a newer schema is never written: it is
  read where the columns this version knows are there, and every write is refused naming the version.
- The JSON catalogue of earlier versions (``catalogue.json`` and its last-good copy) is migrated
  once and kept, renamed ``*.migrated``; a ``catalogue.json`` of a newer schema is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from desktop.core.atomic import file_lock, fsync_folder
from desktop.core.errors import FieldError
from desktop.core.logsetup import lazy_logger
from desktop.core.model import Connector, Status
from desktop.core.record import FrozenRecord, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

log = lazy_logger(__name__)  # logging is imported when something is logged, not by a read

SCHEMA = 3  # PRAGMA user_version of catalogue.db; the JSON catalogue was schema 1; 3 added the summary
JSON_SCHEMA = 1
# JSON schema N → N+1 upgrade functions, applied in order when an old catalogue.json is migrated.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
BUSY_TIMEOUT_MS = 30_000

_DDL = """
CREATE TABLE IF NOT EXISTS connectors (
    name TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    doc TEXT NOT NULL,
    status_state TEXT NOT NULL DEFAULT 'never',
    status_at TEXT,
    status_code TEXT,
    status_message TEXT,
    description TEXT,
    type_label TEXT,
    server TEXT,
    warnings TEXT,
    summary_of TEXT,
    secret_names TEXT
);
CREATE TABLE IF NOT EXISTS secrets (
    connector TEXT NOT NULL,
    name TEXT NOT NULL,
    staged INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connector, name)
);
"""

# Added by schema 3 (a schema-2 database gets them with ALTER TABLE, empty: its rows are summarised
# when first listed).
SEP = "\x1f"  # between the warnings (and the secret names) of one row in the database
# secret_names: the names of the secrets rows written in the same transaction, joined by SEP (what
# the list reads; the secrets rows are what everything else reads). Trusted only in a row whose
# summary this version wrote; other rows have their names read from the secrets rows.
_SUMMARY_COLUMNS = ("description", "type_label", "server", "warnings", "summary_of", "secret_names")
_SECRET_NAMES = ("(SELECT group_concat(s.name, char(31)) FROM (SELECT name FROM secrets WHERE connector = c.name "
                 "ORDER BY rowid) AS s)")
_LISTED = ("SELECT c.name, c.type, c.doc, c.status_state, c.status_at, c.status_code, c.status_message, "
           "c.description, c.type_label, c.server, c.warnings, c.summary_of, CASE WHEN c.summary_of = ? "
           f"THEN c.secret_names ELSE {_SECRET_NAMES} END FROM connectors AS c ORDER BY c.rowid")
# The same for a schema-2 database not upgraded yet: no summary columns.
_LISTED_2 = ("SELECT c.name, c.type, c.doc, c.status_state, c.status_at, c.status_code, c.status_message, "
             f"NULL, NULL, NULL, NULL, NULL, {_SECRET_NAMES} FROM connectors AS c ORDER BY c.rowid")


class Summary(FrozenRecord):
    """What the list shows of a connector besides its name and status, computed when it is written
    (desktop.core.describe.summary). ``of``: the code that computed it (a newer one recomputes)."""

    _fields = ("type_label", "server", "warnings", "of")
    type_label: str
    server: str
    warnings: tuple[str, ...]
    of: str

    def __init__(self, type_label: str, server: str, warnings: tuple[str, ...], of: str) -> None:
        self.__dict__.update(type_label=type_label, server=server, warnings=warnings, of=of)


class CatalogueError(FieldError):
    """The catalogue cannot be read or written (damaged, or of a newer version). Reported as bad
    input in the field ``catalogue`` (the CLI exits 2), never as a traceback."""

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__("catalogue", problem, hint)


class LoadReport(Record):
    _fields = ("recovered_from_backup", "problem", "notes")

    def __init__(self, recovered_from_backup: bool = False, problem: str = "", notes: list[str] | None = None) -> None:
        self.recovered_from_backup = recovered_from_backup
        self.problem = problem
        self.notes: list[str] = [] if notes is None else notes  # entries skipped, read-only use, …


def encode_doc(conn: Connector) -> str:
    """The row's document. Raises FieldError naming the field for text that cannot be stored
    (a lone surrogate), so callers can encode before they store any secret."""
    body: dict[str, Any] = {"description": conn.description, "settings": conn.settings, "admin": conn.admin}
    if conn.previous_until:
        body["previous_until"] = conn.previous_until
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError(_surrogate_field(conn), "holds a character that is not valid text "
                                                 "(a lone surrogate)") from None
    return text


def _surrogate_field(conn: Connector) -> str:
    def bad(s: Any) -> bool:
        return isinstance(s, str) and any(0xD800 <= ord(ch) <= 0xDFFF for ch in s)
    if bad(conn.description):
        return "description"
    for key, value in conn.settings.items():
        if bad(value) or (isinstance(value, list) and any(bad(v) for v in value)):
            return f"settings.{key}"
    for key, value in conn.admin.items():
        if bad(value):
            return f"admin.{key}"
    return "document"


def _status_row(status: Status) -> tuple[str, str | None, str | None, str | None]:
    return status.state, status.at, status.code, status.message


# A row as Catalogue.listed() reads it (see ``_LISTED``): name, type, doc, the four status columns, the
# summary columns, the secret names joined by SEP. The list keeps these tuples as they come.
if TYPE_CHECKING:
    ListedRow = tuple[Any, ...]
else:
    ListedRow = tuple
NAME, TYPE, DOC, STATUS = 0, 1, 2, 3  # STATUS: the first of state, at, code, message
DESCRIPTION, TYPE_LABEL, SERVER, WARNINGS, SUMMARY_BY, SECRETS = 7, 8, 9, 10, 11, 12


_FIELDS = Connector._fields


class ListedConnector(Connector):
    """A connector made from a :data:`ListedRow` with a current summary: each attribute is made from
    the row when first used — the status and secret names from their columns, settings, admin and
    previous_until by parsing the document."""

    def __eq__(self, other: object) -> bool:  # equal to the Connector it stands for
        if not isinstance(other, Connector):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in _FIELDS)

    __hash__ = None  # type: ignore[assignment]  # as Connector's (a mutable dataclass)

    @property  # a field of Connector; here read from the row when first used
    def description(self) -> str:
        d = self.__dict__
        if "description" not in d:
            d["description"] = d["_row"][DESCRIPTION]
        return str(d["description"])

    @description.setter
    def description(self, value: str) -> None:
        self.__dict__["description"] = value

    def __getattr__(self, attr: str) -> Any:  # only called for attributes not set yet
        d = self.__dict__
        row = d.get("_row")
        if row is None:
            raise AttributeError(attr)
        if attr == "status":
            d[attr] = Status(*row[STATUS:STATUS + 4])
        elif attr == "secret_names":
            d[attr] = row[SECRETS].split(SEP) if row[SECRETS] else []
        elif attr in ("settings", "admin", "previous_until"):
            try:
                doc = json.loads(row[DOC])
                parsed = (dict(doc.get("settings", {})), dict(doc.get("admin", {})),
                          dict(doc.get("previous_until", {})))
            except (ValueError, TypeError, AttributeError, RecursionError) as exc:  # a row damaged since
                log.warning("the entry %s could not be read (%s)", row[NAME], type(exc).__name__)
                parsed = ({}, {}, {})
            d["settings"], d["admin"], d["previous_until"] = parsed
        else:
            raise AttributeError(attr)
        return d[attr]


def listed_connector(row: ListedRow) -> ListedConnector:
    c = ListedConnector.__new__(ListedConnector)
    c.__dict__.update(name=row[NAME], type=row[TYPE], _row=row)
    return c


def listed_summary(conn: Connector) -> tuple[str, str, str] | None:
    """(type label, server text, warnings joined by SEP) of a :class:`ListedConnector`; None for
    any other connector."""
    row = conn.__dict__.get("_row")
    return (row[TYPE_LABEL], row[SERVER], row[WARNINGS]) if row is not None else None


def with_summary(row: ListedRow, conn: Connector, summary: Summary) -> ListedRow:
    """``row`` with ``summary`` (and the description of ``conn``) in its summary columns."""
    return (*row[:DESCRIPTION], conn.description, summary.type_label, summary.server, SEP.join(summary.warnings),
            summary.of, row[SECRETS])


def row_connector(row: ListedRow) -> Connector:
    """The whole connector of a row without a current summary (everything from its document)."""
    d = json.loads(row[DOC])
    return Connector(name=row[NAME], type=row[TYPE], description=d.get("description", ""),
                     settings=dict(d.get("settings", {})), admin=dict(d.get("admin", {})),
                     secret_names=row[SECRETS].split(SEP) if row[SECRETS] else [],
                     status=Status(*row[STATUS:STATUS + 4]), previous_until=dict(d.get("previous_until", {})))


class Catalogue(Record):
    _fields = ("folder", "report", "summarize")

    def __init__(self, folder: Path, report: LoadReport | None = None,
                 summarize: Callable[[Connector], Summary | None] | None = None) -> None:
        self.folder = folder
        self.report = LoadReport() if report is None else report
        # The list's summary of a connector, written with it (set by the service layer, which has the
        # connector types); None: rows are written without one and summarised when listed.
        self.summarize = summarize

    @property
    def path(self) -> Path:
        return self.folder / "catalogue.db"

    @property
    def json_path(self) -> Path:
        return self.folder / "catalogue.json"

    @property
    def backup(self) -> Path:
        return self.folder / "catalogue.last-good.json"

    @property
    def lock_path(self) -> Path:
        return self.folder / "catalogue.lock"

    # -- connections -----------------------------------------------------------------------
    def _damaged(self, exc: BaseException) -> CatalogueError:
        return CatalogueError(f"the catalogue {self.path} is damaged ({exc})",
                              "Connector Desk leaves the file as it is. Move it aside (keep a copy) and "
                              "import your last export, or restore the file from a backup.")

    def _newer(self, version: int) -> CatalogueError:
        return CatalogueError(f"the catalogue {self.path} was written by a newer Connector Desk (schema "
                              f"{version}; this version knows schema {SCHEMA}); it is not changed",
                              "Use the newer Connector Desk to change connectors; this version can only "
                              "list and validate them.")

    @contextlib.contextmanager
    def _connect(self, write: bool, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection for one operation. ``write``: the schema is created or checked; a newer
        database raises. Reading a missing database is never asked for (see :meth:`load`).
        ``durable``: each commit is on disk when it returns (see :meth:`set_status` for the one
        write that does without)."""
        try:
            if write:
                self.migrate()
                self._create()
                db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            else:
                db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True,
                                     timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._damaged(exc) from None
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if write and version > SCHEMA:
                raise self._newer(version)
            if write:
                db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
                if version < SCHEMA:
                    self._init_schema(db, version)
            elif version > SCHEMA:
                note = (f"The catalogue was written by a newer Connector Desk (schema {version}); it is "
                        "shown read-only.")
                if note not in self.report.notes:
                    self.report.notes.append(note)
            yield db
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
                raise CatalogueError("another Connector Desk kept the catalogue busy for too long",
                                     "Wait a moment and try again.") from None
            if type(exc) is sqlite3.DatabaseError or "malformed" in str(exc) or "not a database" in str(exc):
                raise self._damaged(exc) from None
            raise CatalogueError(f"the catalogue {self.path} could not be used ({exc})",
                                 "Check the free space and permissions of the data folder.") from None
        finally:
            db.close()

    def _create(self) -> None:
        if self.path.exists():
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created 0600 before SQLite opens it; its -wal and -shm files take the same mode.
        os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))

    @staticmethod
    def _init_schema(db: sqlite3.Connection, version: int) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            if current < SCHEMA:  # another process may have done it while we waited
                for statement in _DDL.split(";"):
                    if statement.strip():
                        db.execute(statement)
                have = {row[1] for row in db.execute("PRAGMA table_info(connectors)")}
                for column in _SUMMARY_COLUMNS:  # schema 2 → 3
                    if column not in have:
                        db.execute(f"ALTER TABLE connectors ADD COLUMN {column} TEXT")
                db.execute(f"PRAGMA user_version = {SCHEMA}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("PRAGMA journal_mode = WAL")

    @contextlib.contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with self._connect(write=True, durable=durable) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextlib.contextmanager
    def locked(self) -> Iterator[Catalogue]:
        """The inter-process writer lock for changes that touch the keychain as well: everything
        one process does inside happens before or after everything another does inside."""
        self.check_writable()
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with file_lock(self.lock_path, timeout=BUSY_TIMEOUT_MS / 1000):
            yield self

    def check_writable(self) -> None:
        """Raise CatalogueError now if a write would be refused (a newer or damaged catalogue)."""
        self.migrate()
        version = self.writable_version()
        if version > SCHEMA:
            raise self._newer(version)

    def writable_version(self) -> int:
        if not self.path.exists():
            return 0
        with self._connect(write=False) as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    # -- reading ---------------------------------------------------------------------------
    def load(self, only: Iterable[str] | None = None) -> list[Connector]:
        """Every connector (or those named in ``only``), in the order they were added. Rows that
        cannot be read are skipped and named in ``report.notes``; the others are still listed."""
        self.report = LoadReport()
        self.migrate()
        if not self.path.exists():
            return []
        with self._connect(write=False) as db:
            try:
                if only is None:
                    rows = db.execute("SELECT name, type, doc, status_state, status_at, status_code, "
                                      "status_message FROM connectors ORDER BY rowid").fetchall()
                    secret_rows = db.execute("SELECT connector, name FROM secrets ORDER BY rowid").fetchall()
                else:
                    rows, secret_rows = [], []
                    for chunk in _chunks(only):
                        marks = ",".join("?" * len(chunk))
                        rows += db.execute("SELECT name, type, doc, status_state, status_at, status_code, "
                                           f"status_message FROM connectors WHERE name IN ({marks}) "
                                           "ORDER BY rowid", chunk).fetchall()
                        secret_rows += db.execute("SELECT connector, name FROM secrets WHERE connector IN "
                                                  f"({marks}) ORDER BY rowid", chunk).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such" in str(exc) and self.report.notes:  # a newer schema without our columns
                    raise CatalogueError(self.report.notes[-1] + " This version cannot read it.") from None
                raise
        secrets: dict[str, list[str]] = {}
        for connector, sname in secret_rows:
            secrets.setdefault(connector, []).append(sname)
        out = []
        for row in rows:
            conn = self._row(row, secrets)
            if conn is not None:
                out.append(conn)
        return out

    def listed(self, version: str) -> list[ListedRow]:
        """Every connector for the list, in the order they were added, as the rows of one SELECT
        (:data:`ListedRow`; nothing parsed). ``version``: the ``summary_of`` of rows whose summary
        is current. Rows of an older schema have no summary columns."""
        self.report = LoadReport()
        self.migrate()
        if not self.path.exists():
            return []
        with self._connect(write=False) as db:
            current = db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA
            try:
                cursor = db.execute(_LISTED, (version,)) if current else db.execute(_LISTED_2)
                rows: list[ListedRow] = cursor.fetchall()
                return rows
            except sqlite3.OperationalError as exc:
                if "no such" in str(exc) and self.report.notes:  # a newer schema without our columns
                    raise CatalogueError(self.report.notes[-1] + " This version cannot read it.") from None
                raise

    def _row(self, row: tuple[Any, ...], secrets: dict[str, list[str]]) -> Connector | None:
        name, type_, doc, state, at, code, message = row
        try:
            d = json.loads(doc)
            return Connector(name=name, type=type_, description=d.get("description", ""),
                             settings=dict(d.get("settings", {})), admin=dict(d.get("admin", {})),
                             secret_names=secrets.get(name, []), status=Status(state, at, code, message),
                             previous_until=dict(d.get("previous_until", {})))
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            self.report.notes.append(f"The entry “{name}” could not be read ({type(exc).__name__}) and "
                                     "was skipped.")
            return None

    def get(self, name: str) -> Connector | None:
        self.migrate()
        if not self.path.exists():
            return None
        with self._connect(write=False) as db:
            row = db.execute("SELECT name, type, doc, status_state, status_at, status_code, status_message "
                             "FROM connectors WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            names = [r[0] for r in db.execute("SELECT name FROM secrets WHERE connector = ? ORDER BY rowid",
                                              (name,))]
        return self._row(row, {name: names})

    def names(self, among: Iterable[str] | None = None) -> set[str]:
        """The names in the catalogue (or those of ``among`` that are in it)."""
        self.migrate()
        if not self.path.exists():
            return set()
        with self._connect(write=False) as db:
            if among is None:
                return {r[0] for r in db.execute("SELECT name FROM connectors")}
            out: set[str] = set()
            for chunk in _chunks(among):
                marks = ",".join("?" * len(chunk))
                out |= {r[0] for r in db.execute(f"SELECT name FROM connectors WHERE name IN ({marks})", chunk)}
            return out

    def staged(self, name: str) -> set[str]:
        """The secrets of ``name`` whose value is (still) under the keychain's staged key."""
        if not self.path.exists():
            return set()
        with self._connect(write=False) as db:
            return {r[0] for r in db.execute("SELECT name FROM secrets WHERE connector = ? AND staged = 1",
                                             (name,))}

    # -- writing ---------------------------------------------------------------------------
    def put(self, entries: Iterable[tuple[Connector, str | None, bool]]) -> None:
        """Add or replace connectors in one transaction. Each entry: (connector, the name it had
        before — for a rename — or None, whether its secrets are staged)."""
        with self._transaction() as db:
            for conn, old_name, staged in entries:
                doc = encode_doc(conn)
                values = (conn.name, conn.type, doc, *_status_row(conn.status), *self._summary_row(conn))
                if old_name is not None and old_name != conn.name:
                    db.execute("UPDATE connectors SET name = ?, type = ?, doc = ?, status_state = ?, "
                               "status_at = ?, status_code = ?, status_message = ?, description = ?, "
                               "type_label = ?, server = ?, warnings = ?, summary_of = ?, secret_names = ? "
                               "WHERE name = ?", (*values, old_name))
                    db.execute("DELETE FROM secrets WHERE connector = ?", (old_name,))
                db.execute("INSERT INTO connectors (name, type, doc, status_state, status_at, status_code, "
                           "status_message, description, type_label, server, warnings, summary_of, secret_names) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                           "type = excluded.type, doc = excluded.doc, status_state = excluded.status_state, "
                           "status_at = excluded.status_at, status_code = excluded.status_code, "
                           "status_message = excluded.status_message, description = excluded.description, "
                           "type_label = excluded.type_label, server = excluded.server, "
                           "warnings = excluded.warnings, summary_of = excluded.summary_of, "
                           "secret_names = excluded.secret_names", values)
                db.execute("DELETE FROM secrets WHERE connector = ?", (conn.name,))
                db.executemany("INSERT INTO secrets (connector, name, staged) VALUES (?, ?, ?)",
                               [(conn.name, s, int(staged)) for s in conn.secret_names])

    def _summary_row(self, conn: Connector) -> tuple[str | None, ...]:
        summary = self.summarize(conn) if self.summarize is not None else None
        names = SEP.join(conn.secret_names)
        if summary is None:
            return conn.description, None, None, None, None, names
        return conn.description, summary.type_label, summary.server, SEP.join(summary.warnings), summary.of, names

    def set_summaries(self, rows: Iterable[ListedRow]) -> None:
        """Keep the summaries computed for rows listed without one (an older database), where the
        row still holds the document and secret names they were computed from."""
        with self._transaction() as db:
            db.executemany("UPDATE connectors SET description = ?, type_label = ?, server = ?, warnings = ?, "
                           "summary_of = ?, secret_names = ? WHERE name = ? AND doc = ? AND ? IS (SELECT "
                           "group_concat(s.name, char(31)) FROM (SELECT name FROM secrets WHERE connector = ? "
                           "ORDER BY rowid) AS s)",
                           [(*row[DESCRIPTION:], row[NAME], row[DOC], row[SECRETS], row[NAME]) for row in rows])

    def unstage(self, names: Iterable[str]) -> None:
        """The current keychain keys now hold the values: read them from there again."""
        with self._transaction() as db:
            db.executemany("UPDATE secrets SET staged = 0 WHERE connector = ?", [(n,) for n in names])

    def set_status(self, name: str, status: Status) -> bool:
        """One row update; False when the connector is gone.

        Committed with ``synchronous = NORMAL``: in WAL mode the commit is still atomic and can
        never damage the database, it only is not fsynced before this returns (the WAL is synced
        at the next checkpoint or durable commit). A power cut in that moment can forget this
        status — the connector shows its previous one and the check can simply run again — while
        an fsync cost every `validate NAME` several ms. Documents and secret names stay FULL."""
        with self._transaction(durable=False) as db:
            cur = db.execute("UPDATE connectors SET status_state = ?, status_at = ?, status_code = ?, "
                             "status_message = ? WHERE name = ?", (*_status_row(status), name))
            return cur.rowcount > 0

    def remove(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM connectors WHERE name = ?", (name,))
            db.execute("DELETE FROM secrets WHERE connector = ?", (name,))

    # -- the JSON catalogue of earlier versions ------------------------------------------------
    def migrate(self) -> None:
        """Move ``catalogue.json`` (schema 1) into the database once; keep it as ``*.migrated``."""
        if self.path.exists() or not (self.json_path.exists() or self.backup.exists()):
            return
        with file_lock(self.lock_path, timeout=BUSY_TIMEOUT_MS / 1000):
            if self.path.exists():  # another process migrated it while we waited
                return
            connectors = self._read_json_catalogue()
            tmp = self.folder / ".catalogue.db.migrating"
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY, 0o600))
            db = sqlite3.connect(tmp, isolation_level=None)
            try:
                db.execute("PRAGMA synchronous = FULL")
                db.executescript(_DDL)
                db.execute(f"PRAGMA user_version = {SCHEMA}")
            finally:
                db.close()
            self._put_into(tmp, connectors)
            db = sqlite3.connect(tmp, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode = WAL")  # kept in the file; its -wal goes away on close
            finally:
                db.close()
            os.replace(tmp, self.path)
            for old in (self.json_path, self.backup):
                if old.exists():
                    os.replace(old, old.with_name(old.name + ".migrated"))
            fsync_folder(self.folder)
            log.info("migrated %d connector(s) from catalogue.json to catalogue.db", len(connectors))

    @staticmethod
    def _put_into(path: Path, connectors: list[Connector]) -> None:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute("BEGIN")
            for conn in connectors:
                db.execute("INSERT OR REPLACE INTO connectors (name, type, doc, status_state, status_at, "
                           "status_code, status_message) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (conn.name, conn.type, encode_doc(conn), *_status_row(conn.status)))
                db.executemany("INSERT OR REPLACE INTO secrets (connector, name) VALUES (?, ?)",
                               [(conn.name, s) for s in conn.secret_names])
            db.execute("COMMIT")
        finally:
            db.close()

    def _read_json_catalogue(self) -> list[Connector]:
        problems = []
        for path in (self.json_path, self.backup):
            if not path.exists():
                continue
            try:
                connectors = read_json_catalogue(path)
            except _NewerJson as exc:
                raise CatalogueError(f"{path} was written by a newer Connector Desk (schema {exc.version}; "
                                     f"this version knows schema {JSON_SCHEMA}); it is not changed",
                                     "Use the newer Connector Desk.") from None
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
                log.error("catalogue %s unreadable (%s)", path, exc)
                problems.append(f"{path.name} is damaged ({type(exc).__name__}: {str(exc)[:120]})")
                continue
            if path == self.backup:
                self.report.recovered_from_backup = True
                self.report.problem = ("; ".join(problems) or "The catalogue file was missing.") + \
                    " The last good copy was used."
            return connectors
        raise CatalogueError(f"the catalogue in {self.folder} is damaged and there is no usable last-good "
                             f"copy ({'; '.join(problems)})",
                             "Connector Desk leaves the files as they are. Move them aside (keep a copy) "
                             "and import your last export.")


def _chunks(names: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    chunk: list[str] = []
    for name in names:
        chunk.append(name)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _NewerJson(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def read_json_catalogue(path: Path) -> list[Connector]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("connectors"), list):
        raise ValueError("not a catalogue")
    version = data.get("schema", 1)
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"bad schema {version!r}")
    if version > JSON_SCHEMA:
        raise _NewerJson(version)
    while version < JSON_SCHEMA:
        data = UPGRADES[version](data)
        version += 1
    return [Connector(name=str(d["name"]), type=str(d["type"]), description=d.get("description", ""),
                      settings=dict(d.get("settings", {})), admin=dict(d.get("admin", {})),
                      secret_names=list(d.get("secret_names", [])), status=Status.from_dict(d.get("status")),
                      previous_until=dict(d.get("previous_until", {})))
            for d in data["connectors"]]
