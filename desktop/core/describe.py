"""A saved connector in words: its settings by label, its secrets and their rotation state, its
status. Qt-free; the details pane beside the list and ``connector-desk list --json`` readers use it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from desktop import __version__
from desktop.core.model import Connector, Status
from desktop.core.secret import KEYCHAIN_PLACE

if TYPE_CHECKING:
    from desktop.core.contract import ConnectorType
    from desktop.core.store import Summary

# Names the code that computes summaries: stored with each, so a newer version recomputes them. Add
# one here when server_label() or warnings() of a shipped type change within a version.
SUMMARY_OF = f"{__version__}/1"

SHOWN_IN_SERVER = {"host", "port", "bootstrap_servers", "api_base", "provider", "timeout_s"}




def team_vault_place(name: str) -> str:
    return f"the team vault “{name}”"


@dataclass(frozen=True)
class Line:
    label: str
    value: str


def local_time(iso: object, *, seconds: bool = False, missing: str = "?") -> str:
    """``2026-01-01T10:00:00+00:00`` → ``2026-01-01 11:00`` (local time; with ``seconds``, ``…:00``);
    ``missing`` for nothing; text that is not a timestamp is shown as it is. The one formatter of
    times shown to people (list, details, failures, CLI)."""
    if iso is None or iso == "":
        return missing
    try:
        t = datetime.fromisoformat(str(iso)).astimezone()
    except ValueError:
        return str(iso)
    # Formatted by hand: strftime() costs 4 µs, which 10,000 rows of the list notice.
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"
    return f"{text}:{t.second:02d}" if seconds else text


def summary(conn: Connector, ctype: ConnectorType) -> Summary:
    """What the list shows of a connector besides its name and status (stored with the connector)."""
    from desktop.core.store import Summary  # sqlite3: not for a command that keeps nothing (validate --spec)
    return Summary(ctype.label, ctype.server_label(conn.settings), tuple(ctype.warnings(conn.settings)), SUMMARY_OF)


def status_words(status: Status) -> str:
    if status.state == "valid":
        return f"Valid at {local_time(status.at)}"
    if status.state == "failed":
        return f"Failed at {local_time(status.at)}: {status.message or status.code or '?'}"
    return "Never validated"


def settings_lines(conn: Connector, ctype: ConnectorType) -> list[Line]:
    """The settings that apply, by their labels (choices by their words, lists joined)."""
    lines = [Line("Server", ctype.server_label(conn.settings))]
    for f in ctype.fields:
        if f.name in SHOWN_IN_SERVER or not f.applies(conn.settings):
            continue
        value = conn.settings.get(f.name)
        if f.kind == "choice":
            lines.append(Line(f.label, dict(f.choices).get(str(value), str(value))))
        elif f.kind == "bool":
            lines.append(Line(f.label, "yes" if value else "no"))
        elif value not in (None, "", []):
            lines.append(Line(f.label, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    lines.append(Line("Deadline", f"{conn.timeout_s:g} s"))
    return lines


def secret_lines(conn: Connector, ctype: ConnectorType, now: datetime | None = None,
                 place: str = KEYCHAIN_PLACE) -> list[Line]:
    """Each secret kept in ``place`` (Desk.secrets_place()), and whether a previous value is still
    kept after a rotation."""
    now = now or datetime.now(UTC)
    labels = {s.name: s.label for s in ctype.secrets}
    lines = []
    for name in conn.secret_names:
        value = f"in {place}"
        until = conn.previous_until.get(name)
        if until:
            try:
                kept = datetime.fromisoformat(until) > now
            except ValueError:
                kept = False
            value += (f"; rotated — the previous value is kept until {local_time(until)} (Rotate… restores it)"
                      if kept else "; rotated — the previous value has expired")
        lines.append(Line(labels.get(name, name), value))
    return lines or [Line(f"Kept in {place}", "nothing yet")]
