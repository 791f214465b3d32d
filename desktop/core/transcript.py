"""Protocol transcripts that cannot leak credentials.

Redaction is structural: protocol code says which part of a line it sends is secret
(:meth:`Transcript.client` with ``secret_from``, or :meth:`Transcript.client_secret` for a whole
SASL continuation), so the value never enters the transcript. As a second wall, every secret
value a run knows (and every encoded payload built from one) is registered with
:meth:`Transcript.register` and scrubbed from any line, including what a hostile server echoes.
"""

from __future__ import annotations

import base64
import json
import quopri
import urllib.parse
from collections.abc import Callable, Iterable

from desktop.core.secret import MASK, Secret

MAX_LINE = 400
MAX_LINES = 400
MIN_FORM = 6  # an encoded form shorter than this is not scrubbed from free text (too common)


def _base64_cores(raw: bytes, encode: Callable[[bytes], bytes]) -> set[str]:
    """The base64 text of ``raw`` at each of the three byte alignments it can have inside a longer
    blob: the whole 4-character groups made only of ``raw``'s bytes."""
    forms = set()
    for pad in (b"", b"x", b"xx"):
        enc = encode(pad + raw).decode()
        first = 1 if pad else 0  # the group that holds padding bytes is not the secret's own
        last = (len(pad) + len(raw)) // 3  # groups before the one that may hold following bytes
        forms.add(enc[4 * first:4 * last])
        forms.add(enc[4 * first:4 * (last - 1)])  # also when the final group is cut off
        if not pad:
            forms.add(enc)  # standing alone, with its "=" padding
    return forms


def encoded_forms(value: str) -> set[str]:
    """``value`` as a server might echo it: raw, base64 (standard and URL-safe, every alignment),
    hex, percent-encoding (with ``+`` for spaces too), JSON string escapes, quoted-printable,
    UTF-16 (as its bytes read as UTF-8)."""
    raw = value.encode("utf-8")
    forms = {value, raw.hex(), raw.hex().upper(),
             urllib.parse.quote(value, safe=""), urllib.parse.quote(value), urllib.parse.quote_plus(value),
             json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             quopri.encodestring(raw).decode("ascii").replace("=\n", ""),
             quopri.encodestring(raw, quotetabs=True).decode("ascii").replace("=\n", "")}
    for utf16 in ("utf-16-le", "utf-16-be"):
        forms.add(value.encode(utf16).decode("utf-8", "replace"))
    forms |= _base64_cores(raw, base64.b64encode) | _base64_cores(raw, base64.urlsafe_b64encode)
    return {f for f in forms if len(f) >= MIN_FORM or f == value}


class Redactor:
    """Replaces known secret values (and every encoding in :func:`encoded_forms`) in text."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def register(self, value: str | bytes | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if len(value) < 4:
            # Too short to scrub safely from free text; structural redaction covers it.
            return
        self._values |= encoded_forms(value)

    def register_many(self, values: Iterable[str | bytes | Secret]) -> None:
        for v in values:
            self.register(v)

    def scrub(self, text: str) -> str:
        for v in sorted(self._values, key=len, reverse=True):
            if v in text:
                text = text.replace(v, MASK)
        return text


class Transcript:
    """What was said on the wire, oldest first, already redacted."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor or Redactor()
        self._lines: list[str] = []
        self._dropped = 0

    def register(self, value: str | bytes | Secret) -> None:
        self.redactor.register(value)

    def register_many(self, values: Iterable[str | bytes | Secret]) -> None:
        self.redactor.register_many(values)

    def _add(self, prefix: str, text: str) -> None:
        text = self.redactor.scrub(text)
        text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
        if len(text) > MAX_LINE:
            text = text[:MAX_LINE] + f"… ({len(text) - MAX_LINE} more characters)"
        if len(self._lines) >= MAX_LINES:
            self._dropped += 1
            return
        self._lines.append(f"{prefix}: {text}")

    def server(self, text: str) -> None:
        self._add("S", text)

    def client(self, text: str, secret_from: int | None = None) -> None:
        """A line we sent; everything from ``secret_from`` on is a credential."""
        if secret_from is not None:
            text = text[:secret_from] + MASK
        self._add("C", text)

    def client_secret(self, prefix: str = "") -> None:
        """A line we sent that is entirely a credential (a SASL continuation)."""
        self._add("C", prefix + MASK)

    def note(self, text: str) -> None:
        self._add("*", text)

    @property
    def lines(self) -> list[str]:
        if self._dropped:
            return [*self._lines, f"*: … {self._dropped} more lines not kept"]
        return list(self._lines)
