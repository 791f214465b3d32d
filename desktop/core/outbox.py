"""The application's own outbox: test sends and replays that failed temporarily (SMTP 4xx, SendGrid
429/5xx, Kafka unreachable or timing out), kept in ``outbox.json`` (0600) in the app folder and retried
with backoff. An entry whose retry fails permanently, or that runs out of attempts, stays listed as
``failed`` until it is retried by hand or removed. Nothing here touches the network or Qt."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from desktop.core import errors
from desktop.core.atomic import file_lock, write_atomic
from desktop.core.errors import ConnectorError

MAX_ATTEMPTS = 8
FIRST_DELAY_S = 30.0
MAX_DELAY_S = 3600.0
# Kafka reports a broker that is down or slow with these codes; worth retrying a replay.
RETRIABLE_CODES = frozenset({errors.CONNECT_REFUSED, errors.CONNECT_TIMEOUT, errors.TIMEOUT, errors.SERVER_ERROR,
                             errors.RATE_LIMITED})


def retriable(err: ConnectorError | None) -> bool:
    return err is not None and (err.temporary or err.code in RETRIABLE_CODES)


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt after ``attempts`` tries (30 s, 1 min, 2 min, … ≤ 1 h)."""
    delay: float = min(MAX_DELAY_S, FIRST_DELAY_S * 2.0 ** max(0, attempts - 1))
    return max(delay, retry_after or 0.0)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Entry:
    id: str
    connector: str
    action: str  # "test_send" or "replay"
    args: dict[str, Any]
    created: str
    attempts: int = 1
    state: str = "waiting"  # "waiting" (retried when due) or "failed" (retry by hand)
    next_attempt: str | None = None
    last_error: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def due(self, now: datetime) -> bool:
        return self.state == "waiting" and (self.next_attempt is None or
                                            datetime.fromisoformat(self.next_attempt) <= now)


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.path = folder / "outbox.json"

    def entries(self) -> list[Entry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return []
        out = []
        for item in data.get("entries", []) if isinstance(data, dict) else []:
            try:
                out.append(Entry(**item))
            except TypeError:
                continue  # an entry of another version: skipped, not fatal
        return out

    def _change(self, fn: Callable[[list[Entry]], None]) -> None:
        with file_lock(self.path.with_suffix(".lock")):
            entries = self.entries()
            fn(entries)
            data = {"format": "connector-desk-outbox", "version": 1, "entries": [e.to_dict() for e in entries]}
            write_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode())

    def add(self, connector: str, action: str, args: Mapping[str, Any], err: ConnectorError) -> Entry:
        now = _now()
        entry = Entry(id=uuid.uuid4().hex[:12], connector=connector, action=action, args=dict(args),
                      created=now.isoformat(timespec="seconds"),
                      next_attempt=(now + timedelta(seconds=backoff(1, err.retry_after))).isoformat(timespec="seconds"),
                      last_error={"code": err.code, "message": err.message})
        self._change(lambda entries: entries.append(entry))
        return entry

    def get(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries() if e.id == entry_id), None)

    def remove(self, entry_id: str) -> bool:
        found = [False]

        def change(entries: list[Entry]) -> None:
            before = len(entries)
            entries[:] = [e for e in entries if e.id != entry_id]
            found[0] = len(entries) != before
        self._change(change)
        return found[0]

    def outcome(self, entry_id: str, err: ConnectorError | None) -> Entry | None:
        """Record an attempt: success removes the entry; a temporary failure schedules the next
        attempt (or, after MAX_ATTEMPTS, marks it failed); a permanent one marks it failed."""
        result: list[Entry] = []

        def change(entries: list[Entry]) -> None:
            for e in entries:
                if e.id != entry_id:
                    continue
                if err is None:
                    entries.remove(e)
                    return
                e.attempts += 1
                e.last_error = {"code": err.code, "message": err.message}
                if retriable(err) and e.attempts < MAX_ATTEMPTS:
                    e.state = "waiting"
                    e.next_attempt = (_now() + timedelta(seconds=backoff(e.attempts, err.retry_after))).isoformat(
                        timespec="seconds")
                else:
                    e.state, e.next_attempt = "failed", None
                result.append(e)
                return
        self._change(change)
        return result[0] if result else None
