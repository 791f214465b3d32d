"""Untrusted text made safe to show: on a terminal, in an error message, in a log line.

Text that came from a document, a catalogue or a server may hold terminal escapes
(``ESC ] 0;…`` sets a window title, ``ESC [ …`` moves the cursor), line breaks that forge output
lines, or bidirectional overrides that reorder what is shown. :func:`escape` turns every character
that is not printable into a visible escape (``\\x1b``, ``\\u202e``); :func:`preview` also bounds
the length, for error messages that quote a bad value.
"""

from __future__ import annotations

import json
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PREVIEW = 40  # characters of a bad value an error message may quote

# Characters JSON leaves raw with ensure_ascii=False that a terminal may still act on:
# DEL, C1 controls (U+0080–U+009F, e.g. CSI U+009B), format characters (bidi overrides), line
# separators, lone surrogates (which cannot even be encoded for output). Compiled (~0.6 ms) by the
# first json_text, not by every command that imports this module.
_JSON_UNSAFE = "[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb]"


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: str) -> str:
    """``text`` with every non-printable character (controls, separators, format characters,
    lone surrogates) written as a visible escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape_char(ch) for ch in text)


def preview(value: Any, limit: int = PREVIEW) -> str:
    """A short, escaped quotation of an untrusted value for an error message."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = repr(value)
        except (ValueError, RecursionError):  # an int of more than 4,300 digits, deep nesting
            text = f"a value of type {type(value).__name__}"
    if len(text) > limit:
        return escape(text[:limit]) + f"… ({len(text):,} characters)"
    return escape(text)


def control_chars(text: str, allow: str = "") -> list[str]:
    """The distinct control characters (C0, DEL, C1) and lone surrogates in ``text``, except
    those in ``allow``."""
    found = []
    for ch in text:
        code = ord(ch)
        bad = code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF
        if bad and ch not in allow and ch not in found:
            found.append(ch)
    return found


def json_text(data: Any, **kwargs: Any) -> str:
    """``json.dumps`` that keeps readable non-ASCII text but escapes what a terminal could act on
    (JSON itself escapes only U+0000–U+001F)."""
    text = json.dumps(data, ensure_ascii=False, **kwargs)
    # Such characters can only occur inside JSON strings, where \\uXXXX means the same character.
    return re.sub(_JSON_UNSAFE, lambda m: f"\\u{ord(m.group(0)):04x}", text)
