"""The SASL sign-in, spoken by us on our own connection before kafka-python gets involved.

kafka-python reports a refused sign-in only in its logs and then retries until its bootstrap
timeout, and 3.0.12 aborts with ``KeyError('v')`` on an RFC 5802 server error (``e=unknown-user``).
Doing the exchange ourselves (SaslHandshake v1, SaslAuthenticate v1: a few fixed-layout
requests) gives the real answer at once: which mechanisms the listener offers, the broker's
error message, or the SCRAM server error, and proves the broker's SCRAM signature.
"""

from __future__ import annotations

import json
import struct

from desktop.core import errors
from desktop.core.errors import ConnectorError
from desktop.core.net import ConnectionClosed, LineConn
from desktop.core.scram import HASHES, ScramClient
from desktop.core.secret import Secret

MAX_RESPONSE = 1 << 20
SASL_HANDSHAKE, SASL_AUTHENTICATE = 17, 36
UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE, SASL_AUTHENTICATION_FAILED = 33, 34, 58


def _string(s: str) -> bytes:
    data = s.encode()
    return struct.pack(">h", len(data)) + data


class _Reader:
    def __init__(self, data: bytes, where: str) -> None:
        self.data, self.pos, self.where = data, 0, where

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ConnectorError(errors.PROTOCOL_ERROR, f"{self.where} sent a truncated Kafka response.",
                                 "This port does not answer like a Kafka broker.")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int16(self) -> int:
        return int(struct.unpack(">h", self.take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack(">i", self.take(4))[0])

    def string(self) -> str | None:
        n = self.int16()
        return None if n < 0 else self.take(n).decode("utf-8", "replace")

    def bytes_(self) -> bytes:
        n = self.int32()
        return b"" if n < 0 else self.take(n)


class KafkaWire:
    """Kafka's request/response framing over a :class:`LineConn` (deadline, cancel, TLS)."""

    def __init__(self, lc: LineConn) -> None:
        self.lc = lc
        self.where = f"{lc.host}:{lc.port}"
        self._correlation = 0

    def request(self, api_key: int, version: int, body: bytes, doing: str) -> _Reader:
        self._correlation += 1
        header = struct.pack(">hhi", api_key, version, self._correlation) + _string("connector-desk")
        payload = header + body
        self.lc.send(struct.pack(">i", len(payload)) + payload, doing)
        size = int(struct.unpack(">i", self.lc.read_exact(4, doing))[0])
        if not 4 <= size <= MAX_RESPONSE:
            raise ConnectorError(errors.PROTOCOL_ERROR,
                                 f"{self.where} answered with something that is not a Kafka response "
                                 f"(a frame of {size} bytes) while {doing}.",
                                 "This port belongs to another service, or the security protocol is wrong "
                                 "(TLS or not).")
        reader = _Reader(self.lc.read_exact(size, doing), self.where)
        if reader.int32() != self._correlation:
            raise ConnectorError(errors.PROTOCOL_ERROR, f"{self.where} answered another request while {doing}.",
                                 "This port does not answer like a Kafka broker.")
        return reader


def authenticate(lc: LineConn, mechanism: str, username: str, credential: Secret) -> str:
    """Sign in on ``lc``; ``credential`` is the password, or the OAuth access token for OAUTHBEARER.
    Returns a one-line account of what happened; raises a classified ConnectorError."""
    wire, transcript = KafkaWire(lc), lc.transcript
    transcript.client(f"SaslHandshake {mechanism}")
    try:
        r = wire.request(SASL_HANDSHAKE, 1, _string(mechanism), "starting the SASL sign-in")
    except ConnectionClosed:
        raise ConnectorError(errors.AUTH_METHOD_UNSUPPORTED,
                             f"{wire.where} hung up when asked to sign in with {mechanism}: it does not offer "
                             "that mechanism (or does not use SASL on this port).",
                             "Choose the SASL mechanism the cluster's credentials are for (SCRAM-SHA-512, "
                             "SCRAM-SHA-256, PLAIN or OAUTHBEARER), and check the security protocol.") from None
    code = r.int16()
    offered = [m for m in (r.string() for _ in range(max(0, r.int32()))) if m]
    transcript.server(f"SaslHandshake error={code} mechanisms={','.join(offered) or '-'}")
    if code == UNSUPPORTED_SASL_MECHANISM:
        if mechanism in offered:
            raise ConnectorError(errors.AUTH_METHOD_UNSUPPORTED,
                                 f"{wire.where} lists {mechanism} but refuses to start it.",
                                 "This listener probably does not require sign-in: try the security protocol "
                                 "PLAINTEXT (or SSL) instead of SASL.")
        raise ConnectorError(errors.AUTH_METHOD_UNSUPPORTED,
                             f"{wire.where} does not offer {mechanism}; it offers "
                             f"{', '.join(offered) or 'no mechanism at all'}.",
                             "Choose one of the offered SASL mechanisms (the service's documentation says which "
                             "one its credentials are for).")
    if code:
        raise _broker_error(code, None, wire.where, mechanism)

    def step(data: bytes, secret: bool) -> bytes:
        if secret:
            transcript.client_secret("SaslAuthenticate ")
        else:
            transcript.client(f"SaslAuthenticate {data.decode('utf-8', 'replace')}")
        resp = wire.request(SASL_AUTHENTICATE, 1, struct.pack(">i", len(data)) + data, "signing in")
        err, message, reply = resp.int16(), resp.string(), resp.bytes_()
        transcript.server(f"SaslAuthenticate error={err}" + (f" {message}" if message else "") +
                          (f" {reply.decode('utf-8', 'replace')}" if reply and mechanism in HASHES else ""))
        if err:
            raise _broker_error(err, message, wire.where, mechanism)
        return reply

    if mechanism == "PLAIN":
        step(b"\0" + username.encode() + b"\0" + credential.reveal().encode(), True)
        return f"signed in as “{username}” with PLAIN"
    if mechanism == "OAUTHBEARER":
        reply = step(b"n,,\x01auth=Bearer " + credential.reveal().encode() + b"\x01\x01", True)
        if reply.startswith(b"{"):  # RFC 7628 §3.2.2: an error challenge; answer with %x01 to end it
            try:
                status = str(json.loads(reply).get("status", "invalid_token"))
            except ValueError:
                status = "invalid_token"
            try:
                step(b"\x01", False)
            except ConnectorError:
                pass
            raise ConnectorError(errors.AUTH_FAILED, f"{wire.where} refused the OAuth token ({status}).",
                                 "Check the token endpoint, client id, scope and audience the cluster expects.")
        return "signed in with an OAuth token (OAUTHBEARER)"
    client = ScramClient(mechanism, username, credential.reveal())
    server_first = step(client.first(), False)
    server_final = step(client.final(server_first), True)
    client.verify(server_final)
    return f"signed in as “{username}” with {mechanism}; the broker proved it knows the password"


def _broker_error(code: int, message: str | None, where: str, mechanism: str) -> ConnectorError:
    said = f": {message.rstrip('.')}" if message and message != "NONE" else ""
    if code == SASL_AUTHENTICATION_FAILED:
        hint = ("The token was issued but the cluster does not accept it: check the token endpoint, scope and "
                "audience the cluster is configured to trust." if mechanism == "OAUTHBEARER" else
                "Check the user name (API key) and password (secret), and that the user exists for "
                f"{mechanism} on the cluster.")
        return ConnectorError(errors.AUTH_FAILED, f"{where} rejected the {mechanism} sign-in{said}.", hint)
    if code == ILLEGAL_SASL_STATE:
        return ConnectorError(errors.AUTH_METHOD_UNSUPPORTED, f"{where} does not expect a SASL sign-in{said}.",
                              "This listener probably does not use SASL: check the security protocol and port.")
    return ConnectorError(errors.PROTOCOL_ERROR, f"{where} answered the SASL sign-in with Kafka error {code}{said}.",
                          "Check the security protocol and SASL mechanism the cluster expects.")
