"""Failed sends, typed (DESIGN.md §3 ``failures --json``): Kafka dead letters, SMTP bounces (RFC 3464
delivery status notifications) and SendGrid suppressions, plus the decoding they need and the
small file that remembers which dead letters were replayed. No network, no Qt."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

from desktop.core.atomic import file_lock, write_atomic

SOURCES = ("kafka_dead_letter", "smtp_bounce", "sendgrid_bounce", "sendgrid_block", "sendgrid_invalid_email",
           "sendgrid_spam_report", "sendgrid_unsubscribe")
PREVIEW_BYTES = 200


@dataclass
class Failure:
    """One failed send. ``recipient`` for mail, ``key`` for Kafka; ``status`` is the RFC 3463
    enhanced status code where one exists; ``original`` says where the failed message came from;
    ``detail`` holds what the source adds (value preview, remote MTA, …)."""

    id: str
    source: str
    time: str | None
    reason: str
    status: str | None = None
    recipient: str | None = None
    key: str | None = None
    original: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "source": self.source, "time": self.time}
        if self.source == "kafka_dead_letter":
            out["key"] = self.key
        else:
            out["recipient"] = self.recipient
        out.update(status=self.status, reason=self.reason, original=self.original, detail=self.detail)
        return out


def preview(data: bytes | None, limit: int = PREVIEW_BYTES) -> str | None:
    """At most ``limit`` bytes of ``data`` as text (invalid UTF-8 replaced), "…" when cut."""
    if data is None:
        return None
    return data[:limit].decode("utf-8", "replace") + ("…" if len(data) > limit else "")


def iso_ms(ms: int | float | None) -> str | None:
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        return None


# -- Kafka dead letters -------------------------------------------------------------------------
SPRING = "kafka_dlt-"
CONNECT = "__connect.errors."
# Spring Kafka writes these as big-endian binary numbers (int32 partition, int64 offset/timestamp).
_SPRING_BINARY = {"original-partition": ">i", "original-offset": ">q", "original-timestamp": ">q"}
# Text headers of both styles: header (after its prefix) → (part of the failure, its key, longest shown).
_TEXT = {
    SPRING: {"original-topic": ("original", "topic", 249),
             "original-consumer-group": ("original", "consumer_group", 255),
             "exception-fqcn": ("exception", "class", 300),
             "exception-cause-fqcn": ("exception", "cause", 300),
             "exception-message": ("exception", "message", 1000)},
    CONNECT: {"topic": ("original", "topic", 249),
              "connector.name": ("original", "connector", 255),
              "exception.class.name": ("exception", "class", 300),
              "exception.message": ("exception", "message", 1000),
              "stage": ("exception", "stage", 100)},
}


def is_dead_letter_header(name: str) -> bool:
    return name.startswith(SPRING) or name.startswith(CONNECT)


def decode_dead_letter_headers(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, Any]:
    """The original coordinates and the exception, from Spring Kafka's ``kafka_dlt-*`` headers
    (binary numbers) or Kafka Connect's ``__connect.errors.*`` (UTF-8 text). A header that cannot
    be read (truncated, wrong length) is named in ``problems``; the rest are still used."""
    out: dict[str, Any] = {"style": None, "original": {}, "exception": {}, "problems": []}
    original, problems = out["original"], out["problems"]
    for name, raw in headers:
        value = raw or b""
        if name.startswith(SPRING):
            out["style"] = "spring"
            what = name[len(SPRING):]
            if what in _SPRING_BINARY:
                fmt = _SPRING_BINARY[what]
                if len(value) != struct.calcsize(fmt):
                    problems.append(f"{name}: {len(value)} bytes, expected {struct.calcsize(fmt)}")
                    continue
                number = struct.unpack(fmt, value)[0]
                key = what.removeprefix("original-")
                original[key] = iso_ms(number) if key == "timestamp" else number
            elif what in _TEXT[SPRING]:
                part, key, limit = _TEXT[SPRING][what]
                out[part][key] = preview(value, limit)
        elif name.startswith(CONNECT):
            out["style"] = out["style"] or "connect"
            what = name[len(CONNECT):]
            text = value.decode("utf-8", "replace")
            if what in ("partition", "offset"):
                if re.fullmatch(r"-?[0-9]{1,19}", text.strip()):  # ASCII only: int() reads "٣" as 3
                    original[what] = int(text.strip())
                else:
                    problems.append(f"{name}: not a number")
            elif what in _TEXT[CONNECT]:
                part, key, limit = _TEXT[CONNECT][what]
                out[part][key] = preview(value, limit)
    return out


def dead_letter(topic: str, partition: int, offset: int, timestamp_ms: int | None, key: bytes | None,
                value: bytes | None, headers: Sequence[tuple[str, bytes | None]]) -> Failure:
    decoded = decode_dead_letter_headers(headers)
    exc = decoded["exception"]
    reason = ": ".join(x for x in (exc.get("class"), exc.get("message")) if x) or "no exception recorded"
    detail: dict[str, Any] = {
        "dead_letter": {"topic": topic, "partition": partition, "offset": offset},
        "header_style": decoded["style"], "exception": exc,
        "value_preview": preview(value), "value_bytes": len(value) if value is not None else None,
        "headers": [n for n, _ in headers if not is_dead_letter_header(n)],
        "header_values": {n: preview(v or b"", 120) for n, v in headers if not is_dead_letter_header(n)},
    }
    if decoded["problems"]:
        detail["problems"] = decoded["problems"]
    return Failure(id=f"{topic}:{partition}:{offset}", source="kafka_dead_letter", time=iso_ms(timestamp_ms),
                   reason=reason, key=preview(key, 120), original=decoded["original"], detail=detail)


def parse_dead_letter_id(text: str) -> tuple[str, int, int] | None:
    """``topic:partition:offset`` → its parts, or None."""
    m = re.fullmatch(r"(.+):([0-9]{1,10}):([0-9]{1,19})", text)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


class ReplayLog:
    """Which dead letters were replayed, when and where to (a 0600 JSON file in the app folder)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "replays.json"

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def seen(self, key: str) -> dict[str, Any] | None:
        entry = self.load().get(key)
        return entry if isinstance(entry, dict) else None

    def remember(self, key: str, entry: Mapping[str, Any]) -> None:
        with file_lock(self.path.with_suffix(".lock")):
            data = self.load()
            data[key] = dict(entry)
            write_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode())


def replay_key(connector: str, failure: Failure) -> str:
    """What identifies "the same original record": its original coordinates where the headers say
    them, the dead-letter coordinates otherwise."""
    o = failure.original
    if o.get("topic") is not None and o.get("partition") is not None and o.get("offset") is not None:
        return f"{connector}|{o['topic']}:{o['partition']}:{o['offset']}"
    return f"{connector}|dlt|{failure.id}"


# -- SMTP bounces (RFC 3464) --------------------------------------------------------------------
_STATUS = re.compile(r"\b([245]\.[0-9]{1,3}\.[0-9]{1,3})\b")


def _fields(part: Message | str | bytes) -> list[dict[str, str]]:
    """The header groups of a message/delivery-status part (per-message first, then per-recipient)."""
    if isinstance(part, Message):
        payload = part.get_payload()
        if isinstance(payload, list):  # the email package parses the groups as sub-messages
            return [{k.lower(): re.sub(r"\r?\n[ \t]+", " ", str(v)).strip() for k, v in p.items()}
                    for p in payload if isinstance(p, Message)]
        text = payload if isinstance(payload, str) else ""
    else:
        text = part.decode("utf-8", "replace") if isinstance(part, bytes) else part
    groups: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                groups.append(current)
                current = {}
            continue
        if line[:1] in (" ", "\t") and current:
            last = next(reversed(current))
            current[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep:
            current[name.strip().lower()] = value.strip()
    if current:
        groups.append(current)
    return groups


def _typed(value: str | None) -> str | None:
    """``rfc822; bob@example.test`` → ``bob@example.test``."""
    if not value:
        return None
    _kind, sep, rest = value.partition(";")
    return (rest if sep else value).strip()[:500] or None


def parse_dsn(raw: bytes, uid: str) -> list[Failure]:
    """The failed recipients of one delivery status notification, or [] when ``raw`` is not one
    (not ``multipart/report; report-type=delivery-status``, or no readable status part). A bounce
    of the application's own test send (its X-Connector-Desk-Test header is in the returned
    original) is marked ``original["ours"]`` with the test's tag."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    if msg.get_content_type() != "multipart/report" or \
            str(msg.get_param("report-type", "")).lower() != "delivery-status":
        return []
    status_part: Message | None = None
    original_id = test_tag = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status" and status_part is None:
            status_part = part
        elif ctype in ("message/rfc822", "text/rfc822-headers") and original_id is None:
            original_id = _original_header(part, "Message-ID")
            test_tag = _original_header(part, "X-Connector-Desk-Test")
    if status_part is None:
        return []
    groups = _fields(status_part)
    if not groups:
        return []
    per_message = groups[0] if "reporting-mta" in groups[0] or "arrival-date" in groups[0] else {}
    recipients = [g for g in groups if "final-recipient" in g or "original-recipient" in g]
    when = _date(msg.get("Date"))
    out = []
    for i, g in enumerate(recipients):
        action = (g.get("action") or "").lower()[:40]
        if action and action not in ("failed", "delayed"):
            continue  # delivered / relayed / expanded: not a failure
        status = _STATUS.search(g.get("status") or "")
        diagnostic = _typed(g.get("diagnostic-code"))
        original: dict[str, Any] = {"message_id": original_id}
        if test_tag:
            original["ours"] = {"test_tag": test_tag}
        out.append(Failure(
            id=f"{uid}/{i}", source="smtp_bounce", time=_date(g.get("last-attempt-date")) or when,
            reason=diagnostic or f"{action or 'failed'} ({g.get('status', 'no status')})"[:500],
            status=status.group(1) if status else None,
            recipient=_typed(g.get("final-recipient") or g.get("original-recipient")),
            original=original,
            detail={"action": action or None, "remote_mta": _typed(g.get("remote-mta")),
                    "reporting_mta": _typed(per_message.get("reporting-mta")), "diagnostic_code": diagnostic}))
    return out


def _original_header(part: Message, name: str) -> str | None:
    """A header of the returned original (a message/rfc822 part, or text/rfc822-headers)."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        value = payload[0].get(name)
    else:
        text = payload if isinstance(payload, str) else ""
        m = re.search(rf"(?im)^{re.escape(name)}:[ \t]*([^\r\n]{{1,500}})", text)
        value = m.group(1) if m else None
    return str(value).strip()[:500] if value else None


def _date(value: str | None) -> str | None:
    if not value:
        return None
    from email.utils import parsedate_to_datetime
    try:
        return parsedate_to_datetime(str(value)).astimezone(UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, IndexError):
        return None


# -- SendGrid suppressions ----------------------------------------------------------------------
SUPPRESSION_LISTS = {"bounces": "sendgrid_bounce", "blocks": "sendgrid_block",
                     "invalid_emails": "sendgrid_invalid_email", "spam_reports": "sendgrid_spam_report",
                     "unsubscribes": "sendgrid_unsubscribe"}


# SendGrid's own warning (its API reference for DELETE /v3/suppression/spam_reports/{email}).
SPAM_REPORT_WARNING = ("Deleting a spam report will remove the suppression, meaning email will once again be sent "
                       "to the previously suppressed address. This should be avoided unless a recipient indicates "
                       "they wish to receive email from you again. (SendGrid)")


def suppression(kind: str, entry: Mapping[str, Any]) -> Failure:
    """One entry of ``/v3/suppression/<kind>`` (``unsubscribes`` is the global list)."""
    email = str(entry.get("email") or "")[:320]
    created = entry.get("created")
    reason = str(entry.get("reason") or {"spam_reports": "marked the message as spam",
                                         "unsubscribes": "unsubscribed from all mail"}.get(kind, ""))[:1000]
    status = _STATUS.search(str(entry.get("status") or ""))
    return Failure(id=f"{kind}/{email}", source=SUPPRESSION_LISTS[kind],
                   time=iso_ms(created * 1000) if isinstance(created, int | float) else None,
                   reason=reason, status=status.group(1) if status else None, recipient=email,
                   original={"list": kind}, detail={k: v for k, v in entry.items() if k == "ip"})


# -- what a read found, in words (the GUI and the CLI show it; never an all-clear for a part) ---------
@dataclass(frozen=True)
class ReadOutcome:
    """``state``: "found" (failed sends listed), "none" (every source was read and held none) or
    "partial" (some sources could not be read: what was read, what was not and why, what to do —
    never an all-clear)."""

    state: str
    title: str
    message: str = ""
    hint: str = ""


def read_outcome(info: Mapping[str, Any]) -> ReadOutcome:
    """The outcome of a failures read from its ``run.info``: ``failures``; ``read``, the sources read
    (names as a user says them); ``unread``, ``{"what", "why"}`` for each that could not be; and
    ``unread_hint``, what to do about them."""
    n = len(info.get("failures") or [])
    found = f"{n:,} failed send" + ("" if n == 1 else "s")
    unread = [u for u in info.get("unread") or [] if isinstance(u, Mapping)]
    if not unread:
        return ReadOutcome("found", found) if n else ReadOutcome("none", "No failed sends")
    read = [str(r) for r in info.get("read") or []]
    total = len(read) + len(unread)
    by_why: dict[str, list[str]] = {}
    for u in unread:
        by_why.setdefault(str(u.get("why") or "not read"), []).append(str(u.get("what")))
    not_read = "; ".join(f"{', '.join(what)} ({why})" for why, what in by_why.items())
    if read:
        in_read = f"{found} in {', '.join(read)}" if n else f"no failed sends in {', '.join(read)}"
        message = f"Read: {', '.join(read)} — {in_read}. Not read: {not_read}."
    else:
        message = f"Not read: {not_read}."
    title = (f"{found} — {len(unread)} of {total} lists could not be read" if n else
             f"Only {len(read)} of {total} lists could be read: failed sends may be missing")
    return ReadOutcome("partial", title, message, str(info.get("unread_hint") or ""))
