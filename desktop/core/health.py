"""Connector health: validate many saved connectors at once (DESIGN.md §3 ``validate --all``).

Checks run on a bounded pool, each under its own connector's deadline; every result is handed
to ``on_result`` as it arrives (the GUI updates row by row) and recorded in the catalogue.
A check that outlives its deadline by :data:`GRACE_S` is cancelled (its sockets closed) and
reported as ``timeout`` without waiting for it. Nothing here touches Qt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from desktop.core import errors
from desktop.core.deadline import CancelToken
from desktop.core.errors import ConnectorError, FieldError, InputErrors
from desktop.core.pipeline import RunResult

if TYPE_CHECKING:
    from desktop.core.model import Connector
    from desktop.core.service import Desk

log = logging.getLogger(__name__)
WORKERS = 16
GRACE_S = 2.0  # how long past its own deadline a check may take before it is given up on

# Keychain back-ends are not all safe to call from many threads at once: reads are serialised
# (they take milliseconds; the network checks they feed overlap freely).
_vault_lock = threading.Lock()


@dataclass
class Summary:
    """What a validate-all found: counts, failures by error code, and the wall time."""

    total: int = 0
    passed: int = 0
    failed: int = 0
    cancelled: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    ms: float = 0.0

    def add(self, result: RunResult) -> None:
        self.total += 1
        if result.ok:
            self.passed += 1
        elif result.error is not None and result.error.code == errors.CANCELLED:
            self.cancelled += 1
        else:
            self.failed += 1
            code = result.error.code if result.error else errors.INTERNAL_ERROR
            self.by_code[code] = self.by_code.get(code, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "passed": self.passed, "failed": self.failed, "cancelled": self.cancelled,
                "by_code": dict(Counter(self.by_code).most_common()), "ms": round(self.ms, 1)}

    def text(self) -> str:
        codes = ", ".join(f"{c} {n}" for c, n in Counter(self.by_code).most_common())
        out = f"{self.passed} passed, {self.failed} failed" + (f" ({codes})" if codes else "")
        if self.cancelled:
            out += f", {self.cancelled} cancelled"
        return out + f" — {self.total} checked in {self.ms / 1000:.1f} s"


def _selected(desk: Desk, names: Sequence[str] | None) -> list[Connector]:
    conns = desk.list()
    if not names:
        return conns
    known = {c.name: c for c in conns}
    missing = [n for n in names if n not in known]
    if missing:
        raise InputErrors([FieldError("names", f"no connector named {', '.join(missing)}")])
    return [known[n] for n in dict.fromkeys(names)]


def _given_up(conn: Connector, action: str, message: str, code: str = errors.TIMEOUT,
              hint: str = "Check the server; the connector's deadline is under Advanced.") -> RunResult:
    err = ConnectorError(code, message, hint)
    return RunResult(False, conn.name, conn.type, action, [], err, [])


def validate_all(desk: Desk, names: Sequence[str] | None = None, *, workers: int = WORKERS,
                 cancel: CancelToken | None = None, on_result: Callable[[RunResult], None] | None = None,
                 record: bool = True) -> tuple[list[RunResult], Summary]:
    """Validate the saved connectors ``names`` (all when empty) in parallel.

    ``on_result`` is called once per connector, from the calling thread, in the order results
    arrive. Cancelling ``cancel`` cancels every running check and skips the ones not started;
    each is then reported as ``cancelled`` (and not recorded). Returns the results in catalogue
    order, and the summary."""
    conns = _selected(desk, names)
    cancel = cancel or CancelToken()
    t0 = time.perf_counter()
    summary = Summary()
    results: dict[str, RunResult] = {}
    started: dict[str, float] = {}
    tokens: dict[str, CancelToken] = {}

    def check(conn: Connector) -> RunResult:
        token = tokens[conn.name]
        started[conn.name] = time.monotonic()
        if token.cancelled:
            return _given_up(conn, "validate", "Cancelled.", errors.CANCELLED, "Nothing was changed.")
        try:
            with _vault_lock:
                secrets = desk.with_token_cache(conn, desk.load_secrets(conn))
        except ConnectorError as exc:
            return RunResult(False, conn.name, conn.type, "validate", [], exc, [])
        except Exception:  # noqa: BLE001 - one connector's trouble must not stop the others
            log.exception("reading the secrets of %s failed", conn.name)
            return _given_up(conn, "validate", "Its secrets could not be read.", errors.INTERNAL_ERROR,
                             "See the log file; check the keychain with `connector-desk doctor`.")
        result = desk.validate(conn, secrets, token)
        if result.renewed:  # a rotated OAuth refresh token (the provider may refuse the used one), msal's cache
            with _vault_lock:
                desk.keep_renewed(conn, result)
        return result

    def deliver(conn: Connector, result: RunResult) -> None:
        results[conn.name] = result
        summary.add(result)
        if record:
            try:
                desk.record(conn.name, result)
            except ConnectorError:  # the catalogue could not be written: the result still shows
                pass
        if on_result is not None:
            on_result(result)

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="validate-all")
    pending: dict[Future[RunResult], Connector] = {}
    for conn in conns:
        tokens[conn.name] = CancelToken()
        pending[pool.submit(check, conn)] = conn

    def cancel_all() -> None:
        for token in tokens.values():
            token.cancel()
    stop_cancel = cancel.on_cancel(cancel_all)
    try:
        while pending:
            done, _ = wait(list(pending), timeout=0.1, return_when=FIRST_COMPLETED)
            for fut in done:
                conn = pending.pop(fut)
                deliver(conn, fut.result())
            now = time.monotonic()
            for fut, conn in list(pending.items()):
                began = started.get(conn.name)
                if began is None:
                    continue
                overdue = now - began - conn.timeout_s
                if overdue > GRACE_S:
                    tokens[conn.name].cancel()  # closes its sockets: the thread returns soon
                    pending.pop(fut)
                    deliver(conn, _given_up(conn, "validate", f"No answer within the deadline of "
                                                              f"{conn.timeout_s} s."))
    finally:
        stop_cancel()
        if pending:  # interrupted (Ctrl-C, an error in on_result): stop what still runs
            cancel_all()
        pool.shutdown(wait=False, cancel_futures=True)
    summary.ms = (time.perf_counter() - t0) * 1000
    return [results[c.name] for c in conns if c.name in results], summary


# -- failed sends ---------------------------------------------------------------------------------
def _linked(desk: Desk, conn: Connector) -> tuple[Connector, dict[str, Any]] | None:
    name = desk.ctype(conn).linked_connector(conn.settings)
    if not name:
        return None
    other = desk.catalogue.get(name)
    problems = desk.ctype(conn).linked_problems(conn.settings, {name: other.type} if other is not None else {})
    if problems or other is None:
        raise InputErrors([FieldError(f"settings.{key}", problem) for key, problem in problems.items()])
    return other, desk.load_secrets(other)


def failures(desk: Desk, name: str, limit: int = 100, cancel: CancelToken | None = None,
             on_event: Callable[[Any], None] | None = None) -> RunResult:
    """The saved connector's failed sends: ``result.info["failures"]`` (DESIGN.md §3)."""
    from desktop.core.pipeline import Run, execute
    conn = desk.get(name)
    limit = max(1, min(int(limit), 100_000))
    with _vault_lock:  # failures_all() calls this from several threads
        secrets = desk.load_secrets(conn)
        linked = _linked(desk, conn)
    every = {**secrets, **{f"linked.{k}": v for k, v in (linked[1] if linked else {}).items()}}
    run = Run(max(conn.timeout_s, 30.0), cancel, on_event, every)
    return execute(conn.name, conn.type, "failures", run,
                   lambda r: desk.ctype(conn).failures(conn, secrets, r, limit, linked))


def replay(desk: Desk, name: str, ids: Sequence[str], force: bool = False, cancel: CancelToken | None = None,
           on_event: Callable[[Any], None] | None = None) -> RunResult:
    """Kafka dead letters ``ids`` back to their original topics, each original record once
    (unless ``force``); remembered in ``replays.json`` in the app folder."""
    from desktop.core.failures import ReplayLog
    from desktop.core.pipeline import Run, execute
    conn = desk.get(name)
    ctype = desk.ctype(conn)
    if not hasattr(ctype, "replay"):
        raise InputErrors([FieldError("name", f"“{name}” is not a Kafka connector: only dead letters are replayed")])
    if not ids:
        raise InputErrors([FieldError("ids", "give at least one dead letter id (as `failures` shows)")])
    secrets = desk.load_secrets(conn)
    run = Run(max(conn.timeout_s, 30.0), cancel, on_event, secrets)
    return execute(conn.name, conn.type, "replay", run,
                   lambda r: ctype.replay(conn, secrets, r, list(ids), ReplayLog(desk.folder), force))


def unsuppress(desk: Desk, name: str, kind: str, email: str, cancel: CancelToken | None = None,
               on_event: Callable[[Any], None] | None = None) -> RunResult:
    """Remove ``email`` from the SendGrid suppression list ``kind`` of the saved connector."""
    from desktop.core.pipeline import Run, execute
    conn = desk.get(name)
    ctype = desk.ctype(conn)
    if not hasattr(ctype, "unsuppress"):
        raise InputErrors([FieldError("name", f"“{name}” is not a SendGrid connector")])
    secrets = desk.load_secrets(conn)
    run = Run(conn.timeout_s, cancel, on_event, secrets)
    return execute(conn.name, conn.type, "unsuppress", run,
                   lambda r: ctype.unsuppress(conn, secrets, r, kind, email))


# -- the application's own outbox -----------------------------------------------------------------
def test_send(desk: Desk, name: str, to: str, cancel: CancelToken | None = None,
              on_event: Callable[[Any], None] | None = None) -> tuple[RunResult, Any]:
    """A test send of a saved connector; one that failed temporarily (after its own in-run
    retries) is kept in the outbox. Returns the result and the outbox entry (or None)."""
    from desktop.core.outbox import Outbox
    conn = desk.get(name)
    result = desk.test_send(conn, desk.load_secrets(conn), to, cancel, on_event)
    entry = None
    if not result.ok and result.error is not None and result.error.temporary:
        entry = Outbox(desk.folder).add(name, "test_send", {"to": to}, result.error)
    return result, entry


def replay_or_queue(desk: Desk, name: str, ids: Sequence[str], force: bool = False,
                    cancel: CancelToken | None = None) -> tuple[RunResult, Any]:
    """:func:`replay`; a replay that failed because the cluster was unreachable or slow is kept in
    the outbox (the user confirmed it already)."""
    from desktop.core.outbox import Outbox, retriable
    result = replay(desk, name, ids, force, cancel)
    entry = None
    if not result.ok and retriable(result.error) and result.error is not None:
        entry = Outbox(desk.folder).add(name, "replay", {"ids": list(ids), "force": force}, result.error)
    return result, entry


def _replayed_already(desk: Desk, name: str) -> set[str]:
    from desktop.core.failures import ReplayLog
    return {str(v.get("from")) for v in ReplayLog(desk.folder).load().values()
            if isinstance(v, dict) and v.get("connector") == name}


def retry_outbox(desk: Desk, ids: Sequence[str] | None = None, cancel: CancelToken | None = None,
                 on_result: Callable[[Any, RunResult], None] | None = None) -> list[tuple[Any, RunResult]]:
    """Attempt the outbox entries that are due (or exactly ``ids``, due or not, failed ones too).
    Each outcome is recorded: success removes the entry, a temporary failure backs off, a
    permanent one leaves it listed as failed."""
    from datetime import UTC, datetime

    from desktop.core.outbox import Outbox
    box = Outbox(desk.folder)
    now = datetime.now(UTC)
    entries = box.entries()
    if ids:
        unknown = set(ids) - {e.id for e in entries}
        if unknown:
            raise InputErrors([FieldError("ids", f"no outbox entry {', '.join(sorted(unknown))}")])
        chosen = [e for e in entries if e.id in ids]
    else:
        chosen = [e for e in entries if e.due(now)]
    out = []
    for entry in chosen:
        if cancel is not None and cancel.cancelled:
            break
        try:
            if entry.action == "test_send":
                conn = desk.get(entry.connector)
                result = desk.test_send(conn, desk.load_secrets(conn), str(entry.args.get("to")), cancel)
            else:
                done = _replayed_already(desk, entry.connector)
                left = [i for i in entry.args.get("ids", []) if i not in done]
                result = replay(desk, entry.connector, left, bool(entry.args.get("force")), cancel) if left else \
                    RunResult(True, entry.connector, "kafka", "replay", [], None, [], {"replayed": []})
        except ConnectorError as exc:  # the connector was deleted or renamed meanwhile
            result = RunResult(False, entry.connector, "", entry.action, [], exc, [])
        if result.error is not None and result.error.code == errors.CANCELLED:
            break
        box.outcome(entry.id, result.error)
        out.append((entry, result))
        if on_result is not None:
            on_result(entry, result)
    return out


def failures_all(desk: Desk, limit: int = 100, *, workers: int = WORKERS, cancel: CancelToken | None = None,
                 on_result: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """:func:`failures` of every saved connector that has a source of failures (a dead-letter topic,
    a bounce mailbox, SendGrid), in parallel; each result to ``on_result`` as it arrives."""
    conns = [c for c in desk.list() if c.type in desk.types and desk.ctype(c).has_failures(c.settings)]
    cancel = cancel or CancelToken()

    def read(conn: Connector) -> RunResult:
        try:
            return failures(desk, conn.name, limit, cancel)
        except ConnectorError as exc:  # a bounce mailbox that names no saved connector, a locked keychain
            return RunResult(False, conn.name, conn.type, "failures", [], exc, [])

    out: dict[str, RunResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="failures-all") as pool:
        futures = {pool.submit(read, c): c for c in conns}
        for fut in as_completed(futures):
            result = fut.result()
            out[futures[fut].name] = result
            if on_result is not None:
                on_result(result)
    return [out[c.name] for c in conns]
