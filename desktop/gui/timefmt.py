"""The one date/time formatter of the GUI: an ISO-8601 timestamp shown in local time (it lives in
core, Qt-free, where the details and the CLI use it too)."""

from __future__ import annotations

from desktop.core.describe import local_time

__all__ = ["local_time"]
