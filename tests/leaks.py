"""The one list of encodings a leak check looks for (the canary test, the hostile-server tests and
the transcript scrubber's test all use it): a secret is leaked if any of these byte strings is
found, in a file, in output, or in what a server received."""

from __future__ import annotations

import base64
import json
import quopri
import urllib.parse


def _base64_everywhere(raw: bytes) -> list[bytes]:
    forms = []
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.append(encode(raw))
        # Inside a longer encoded blob the secret may start at any of three byte alignments: the
        # middle of its encoding is the same whatever surrounds it.
        for pad in (b"x", b"xx"):
            forms.append(encode(pad + raw)[4:-4])
    return forms


def encodings_of(secret: str, user: str | None = None) -> list[bytes]:
    """Every form of ``secret`` a leak check looks for. With ``user``, also the SASL PLAIN
    payload a mail client would send for that user."""
    raw = secret.encode()
    forms = [raw, raw.hex().encode(), raw.hex().upper().encode(),
             secret.encode("utf-16-le"), secret.encode("utf-16-be"),
             urllib.parse.quote(secret, safe="").encode(), urllib.parse.quote(secret).encode(),
             urllib.parse.quote_plus(secret).encode(),
             json.dumps(secret)[1:-1].encode(), json.dumps(secret, ensure_ascii=False)[1:-1].encode(),
             quopri.encodestring(raw).replace(b"=\n", b""),
             *_base64_everywhere(raw)]
    if user is not None:
        forms.append(base64.b64encode(f"\0{user}\0{secret}".encode()))
    return [f for f in dict.fromkeys(forms) if len(f) >= 6 or f == raw]


def leaked(data: bytes, secret: str, user: str | None = None) -> list[bytes]:
    """The forms of ``secret`` found in ``data`` (empty: none)."""
    return [f for f in encodings_of(secret, user) if f in data]
