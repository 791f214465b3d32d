"""SCRAM (RFC 5802, RFC 7677) as a client state machine, independent of the protocol carrying it
(Kafka's SaslAuthenticate, IMAP's AUTHENTICATE). No channel binding (``n,,``), as Kafka uses it.

The server must prove it knows the password too: its final message carries a signature we check.
A server error in the final message (``e=unknown-user``, ``e=invalid-proof``, RFC 5802 §7) is an
authentication failure with the server's reason, not a protocol error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random
from dataclasses import dataclass, field

from desktop.core import errors
from desktop.core.errors import ConnectorError

HASHES = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
MAX_ITERATIONS = 1_000_000  # beyond this a hostile server only wants to burn our CPU past the deadline

# RFC 5802 §7 server-error-value: what each means for the administrator.
SERVER_ERRORS = {
    "invalid-proof": "the password is wrong",
    "unknown-user": "the cluster has no such user (or it was created for another SCRAM mechanism)",
    "invalid-encoding": "the server could not read the sign-in message",
    "extensions-not-supported": "the server does not support an extension we sent",
    "channel-bindings-dont-match": "channel binding failed",
    "server-does-support-channel-binding": "the server wants channel binding",
    "channel-binding-not-supported": "the server does not support channel binding",
    "unsupported-channel-binding-type": "the server does not support this channel binding",
    "invalid-username-encoding": "the user name is not valid",
    "no-resources": "the server is out of resources",
    "other-error": "the server refused the sign-in",
}


def _saslname(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def _attrs(message: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.split(","):
        key, sep, value = part.partition("=")
        if sep and len(key) == 1 and key not in out:
            out[key] = value
    return out


def _failure(reason: str, mechanism: str, user: str) -> ConnectorError:
    said = SERVER_ERRORS.get(reason, "the server refused the sign-in")
    hint = ("Check the user name and password." if reason != "unknown-user" else
            f"Check the user name, and that the user exists for {mechanism} on the server "
            "(SCRAM users are created per mechanism).")
    return ConnectorError(errors.AUTH_FAILED, f"{mechanism} sign-in as “{user}” failed: {said} "
                          f"(server said e={reason}).", hint)


def _garbled(what: str, mechanism: str) -> ConnectorError:
    return ConnectorError(errors.PROTOCOL_ERROR, f"The server's {mechanism} {what} is not valid SCRAM.",
                          "The server does not speak SCRAM as RFC 5802 describes; check the mechanism chosen.")


@dataclass
class ScramClient:
    mechanism: str
    username: str
    password: str = field(repr=False)
    nonce: str = field(default_factory=lambda: base64.b64encode(_random.token_bytes(24)).decode())
    _bare: str = ""
    _server_signature: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if self.mechanism not in HASHES:
            raise ValueError(f"not a SCRAM mechanism: {self.mechanism}")
        self._hash = HASHES[self.mechanism]

    def first(self) -> bytes:
        self._bare = f"n={_saslname(self.username)},r={self.nonce}"
        return f"n,,{self._bare}".encode()

    def final(self, server_first: bytes) -> bytes:
        """The client-final message (carries the proof: a credential, never to be logged)."""
        text = server_first.decode("utf-8", "replace")
        a = _attrs(text)
        if "e" in a:
            raise _failure(a["e"], self.mechanism, self.username)
        nonce, salt_b64, iters = a.get("r", ""), a.get("s", ""), a.get("i", "")
        if not nonce.startswith(self.nonce) or len(nonce) == len(self.nonce):
            raise _garbled("first message (its nonce does not extend ours)", self.mechanism)
        try:
            salt = base64.b64decode(salt_b64, validate=True)
            iterations = int(iters)
        except ValueError:
            raise _garbled("first message (salt or iteration count)", self.mechanism) from None
        if not 0 < iterations <= MAX_ITERATIONS:
            raise ConnectorError(errors.PROTOCOL_ERROR, f"The server asks for {iterations} SCRAM iterations.",
                                 f"Real servers use 4,096 to 100,000; more than {MAX_ITERATIONS:,} is refused.")
        salted = hashlib.pbkdf2_hmac(self._hash, self.password.encode(), salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", self._hash)
        stored_key = hashlib.new(self._hash, client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self._bare},{text},{without_proof}".encode()
        signature = hmac.digest(stored_key, auth_message, self._hash)
        proof = bytes(x ^ y for x, y in zip(client_key, signature, strict=True))
        self._server_signature = hmac.digest(hmac.digest(salted, b"Server Key", self._hash), auth_message,
                                             self._hash)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        """Check the server's final message: its error, or its proof that it knows the password."""
        a = _attrs(server_final.decode("utf-8", "replace"))
        if "e" in a:
            raise _failure(a["e"], self.mechanism, self.username)
        try:
            got = base64.b64decode(a.get("v", ""), validate=True)
        except ValueError:
            got = b""
        if not got:
            raise _garbled("final message (no verifier)", self.mechanism)
        if not hmac.compare_digest(got, self._server_signature):
            raise ConnectorError(errors.AUTH_FAILED, f"The server accepted the {self.mechanism} sign-in but could "
                                 "not prove it knows the password (wrong server signature).",
                                 "Something between this computer and the cluster may be impersonating it. "
                                 "Check the bootstrap address and use TLS.")
