"""Protocol transcripts that cannot leak credentials.

Redaction is structural: protocol code says which part of a line it sends is secret
(:meth:`Transcript.client` with ``secret_from``, or :meth:`Transcript.client_secret` for a whole
SASL continuation), so the value never enters the transcript. As a second wall, every secret
value a run knows (and every encoded payload built from one) is registered with
:meth:`Transcript.register` and scrubbed from any line, including what a hostile server echoes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from desktop.core.secret import MASK, Secret

MAX_LINE = 400
MAX_LINES = 400


class Redactor:
    """Replaces known secret values (and their common encodings) in text."""

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
        self._values.add(value)
        raw = value.encode()
        self._values.add(base64.b64encode(raw).decode())
        self._values.add(raw.hex())

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
