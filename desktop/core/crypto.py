"""AES-GCM sealing and scrypt key derivation (for large secrets, the passphrase vault and
passphrase-protected exports)."""

from __future__ import annotations

import base64
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SCRYPT = {"n": 2**15, "r": 8, "p": 1}


class WrongKey(Exception):
    pass


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


def derive(passphrase: str, salt: bytes, params: dict[str, Any] | None = None) -> bytes:
    p = params or SCRYPT
    return Scrypt(salt=salt, length=32, n=int(p["n"]), r=int(p["r"]), p=int(p["p"])).derive(
        passphrase.encode("utf-8"))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
