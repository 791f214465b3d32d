"""IMAP's modified UTF-7 for mailbox names (RFC 3501 §5.1.3): “Entwürfe” ↔ “Entw&APw-rfe”."""

from __future__ import annotations

import base64


def encode(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode(name: str) -> str:
    """Decode; a malformed name is returned as it came (never an exception from a server's text)."""
    out: list[str] = []
    i = 0
    while i < len(name):
        ch = name[i]
        if ch != "&":
            out.append(ch)
            i += 1
            continue
        end = name.find("-", i)
        if end < 0:
            return name
        if end == i + 1:
            out.append("&")
        else:
            chunk = name[i + 1:end].replace(",", "/")
            try:
                out.append(base64.b64decode(chunk + "=" * (-len(chunk) % 4)).decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                return name
        i = end + 1
    return "".join(out)
