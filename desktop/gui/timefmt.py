"""The one date/time formatter of the GUI: an ISO-8601 timestamp shown in local time."""

from __future__ import annotations

from datetime import datetime


def local_time(iso: object) -> str:
    """``2026-01-01T10:00:00+00:00`` → ``2026-01-01 11:00`` (local time); "?" for nothing; text that
    is not a timestamp is shown as it is."""
    if iso is None or iso == "":
        return "?"
    try:
        return datetime.fromisoformat(str(iso)).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(iso)
