"""AES-GCM sealing and scrypt key derivation (for large secrets, the passphrase vault and
passphrase-protected exports), and the passphrase strength check.

KDF parameters read from a file are untrusted: :func:`kdf_from` accepts only the exact sets this
version writes (:data:`SCRYPT`) or wrote before (:data:`SCRYPT_V1`), so a hostile file cannot make
a derivation hang or exhaust memory."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCRYPT = {"n": 2**17, "r": 8, "p": 1}  # what this version writes (OWASP's minimum for scrypt)
SCRYPT_V1 = {"n": 2**15, "r": 8, "p": 1}  # what earlier builds wrote; still read
ACCEPTED = ({"name": "scrypt", **SCRYPT}, {"name": "scrypt", **SCRYPT_V1})
SALT_BYTES = 16
MIN_PASSPHRASE = 12


class WrongKey(Exception):
    pass


class BadParams(ValueError):
    """A KDF description from a file that this version does not accept; ``field`` names the part."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
    except (InvalidTag, ValueError):
        raise WrongKey("the key or passphrase is wrong, or the data was changed") from None


def new_kdf() -> dict[str, Any]:
    """A fresh KDF description (random salt, this version's parameters), as written to files."""
    return {"name": "scrypt", "salt": b64(os.urandom(SALT_BYTES)), **SCRYPT}


def kdf_from(data: Any, field: str = "kdf") -> dict[str, Any]:
    """Check a KDF description read from a file; returns it with the salt decoded.

    Only the exact algorithm and parameter sets in :data:`ACCEPTED` pass; anything else raises
    :class:`BadParams` naming the field (never a hang, a MemoryError or a traceback)."""
    if not isinstance(data, dict):
        raise BadParams(field, "must be an object")
    if data.get("name") != "scrypt":
        raise BadParams(f"{field}.name", "only scrypt is supported")
    for k in ("n", "r", "p"):
        v = data.get(k)
        if type(v) is not int:
            raise BadParams(f"{field}.{k}", "must be a whole number")
    if {"name": "scrypt", "n": data["n"], "r": data["r"], "p": data["p"]} not in ACCEPTED:
        raise BadParams(field, f"scrypt parameters n={data['n']}, r={data['r']}, p={data['p']} are not "
                               "ones Connector Desk writes")
    salt = data.get("salt")
    try:
        raw = unb64(salt) if isinstance(salt, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != SALT_BYTES:
        raise BadParams(f"{field}.salt", f"must be {SALT_BYTES} bytes in base64")
    return {"name": "scrypt", "salt": raw, "n": data["n"], "r": data["r"], "p": data["p"]}


def derive(passphrase: str, salt: bytes, params: dict[str, Any] | None = None) -> bytes:
    """scrypt with accepted parameters only (``params`` as returned by :func:`kdf_from`)."""
    p = params or SCRYPT
    n, r, par = int(p["n"]), int(p["r"]), int(p["p"])
    if {"name": "scrypt", "n": n, "r": r, "p": par} not in ACCEPTED:
        raise BadParams("kdf", "unsupported scrypt parameters")
    maxmem = 128 * r * (n + par + 2) + 1024 * 1024  # OpenSSL refuses over its 32 MiB default otherwise
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=par, maxmem=maxmem, dklen=32)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not valid base64") from exc


# -- passphrase strength --------------------------------------------------------------------------

COMMON = frozenset("""
password passw0rd p@ssw0rd p@ssword passwort motdepasse contrasena qwerty qwertyuiop azerty letmein
welcome welcome1 admin administrator root toor changeme secret iloveyou trustno1 monkey dragon
football baseball sunshine princess master shadow superman batman starwars whatever default login
abc123 test testing guest connectordesk connector desk export vault keychain correcthorsebatterystaple
""".split())
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv")


def _core(text: str) -> str:
    """Lower case, without separators and the digits/symbols people pad weak words with."""
    return re.sub(r"^[\W\d_]+|[\W\d_]+$", "", re.sub(r"[\s._-]+", "", text.lower()))


def _is_sequence(text: str) -> bool:
    t = text.lower()
    for seq in _SEQUENCES:
        ring = seq * (len(t) // len(seq) + 2)
        if t in ring or t in ring[::-1]:
            return True
    return False


def _is_repetition(text: str) -> bool:
    return any(len(text) % k == 0 and text == text[:k] * (len(text) // k) for k in range(1, 5))


def weak_passphrase(passphrase: str, context: Iterable[str] = ()) -> str | None:
    """Why ``passphrase`` is too weak to protect secrets, or None when it is strong enough."""
    if len(passphrase) < MIN_PASSPHRASE:
        return f"must be at least {MIN_PASSPHRASE} characters"
    if _is_repetition(passphrase):
        return "is one short pattern repeated"
    if _is_sequence(passphrase):
        return "is a run of consecutive characters"
    core = _core(passphrase)
    words = {_core(c) for c in context} - {""}
    if not core or core in COMMON or _is_sequence(core) or _is_repetition(core):
        return "is a commonly used password"
    if core in words:
        return "is the name of a connector"
    return None
