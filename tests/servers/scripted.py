"""Hostile and misbehaving servers on loopback, scripted per test.

Every byte a server receives (after TLS decryption too) is kept in ``received``, so a test can
prove that no credential reached a server that must not get it.
"""

from __future__ import annotations

import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable

from tests.servers.ports import free_port


class Peer:
    def __init__(self, server: ScriptedServer, sock: socket.socket) -> None:
        self.server = server
        self.sock: socket.socket = sock
        self.buf = b""
        self.tls = isinstance(sock, ssl.SSLSocket)

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode() + b"\r\n"
        self.sock.sendall(data)

    def readline(self, timeout: float = 30.0) -> str | None:
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(4096)
            except (OSError, ssl.SSLError):
                return None
            if not chunk:
                return None
            self.server.record(chunk)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def read_exact(self, n: int, timeout: float = 30.0) -> bytes | None:
        self.sock.settimeout(timeout)
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                return None
            if not chunk:
                return None
            self.server.record(chunk)
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def imap_command(self) -> tuple[str, list[bytes]] | None:
        """One IMAP command as a server parses it: its line, with each synchronizing literal
        ``{N}`` answered by "+" and read as N bytes (shown as ``{N}`` in the line)."""
        line = self.readline()
        if line is None:
            return None
        literals: list[bytes] = []
        text = line
        while True:
            m = re.search(r"\{(\d+)\}$", line)
            if not m:
                return text, literals
            self.send("+ go ahead")
            data = self.read_exact(int(m.group(1)))
            line = self.readline() if data is not None else None
            if data is None or line is None:
                return None
            literals.append(data)
            text += line

    def starttls(self, ctx: ssl.SSLContext) -> bool:
        try:
            self.sock = ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError):
            return False
        self.tls = True
        return True

    def hang(self) -> None:
        self.server.stopped.wait()

    def reset(self) -> None:
        """Close with a TCP RST."""
        raw = self.sock
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()


Handler = Callable[[Peer], None]


class ScriptedServer:
    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.port = free_port()
        self.received = b""
        self.connections = 0
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    def record(self, data: bytes) -> None:
        with self._lock:
            self.received += data

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        peer: Peer | None = None
        try:
            sock: socket.socket = conn
            if self.tls is not None:
                sock = self.tls.wrap_socket(conn, server_side=True)
            peer = Peer(self, sock)
            self.handler(peer)
        except (OSError, ssl.SSLError):
            pass
        finally:
            for s in (conn, peer.sock if peer else None):
                try:
                    if s is not None:
                        s.close()
                except OSError:
                    pass

    def stop(self) -> None:
        self.stopped.set()
        self._sock.close()
        for c in self._open:
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def server_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


# -- behaviours ------------------------------------------------------------------------------
def hung(peer: Peer) -> None:
    peer.hang()


def silent_then_garbage(peer: Peer) -> None:
    peer.send(b"\x16\x03\x01garbage \xff\xfe not a protocol\r\n")
    peer.hang()


def slow_drip(text: bytes = b"220 slow.example ESMTP drip drip drip drip\r\n", every: float = 0.5) -> Handler:
    def handle(peer: Peer) -> None:
        while not peer.server.stopped.is_set():
            for byte in text:
                peer.send(bytes([byte]))
                time.sleep(every)
    return handle


def reset_on_hello(peer: Peer) -> None:
    """Read the first bytes (a TLS ClientHello), then reset the connection."""
    peer.sock.settimeout(5)
    try:
        peer.server.record(peer.sock.recv(1024))
    except OSError:
        return
    peer.reset()


def smtp(*, greeting: str = "220 scripted.example ESMTP", starttls: ssl.SSLContext | None = None,
         starttls_reply: str = "220 2.0.0 Ready to start TLS", auth: Iterable[str] | None = ("PLAIN", "LOGIN"),
         auth_replies: list[str] | None = None, drop_after_ehlo: bool = False,
         mail_replies: list[str] | None = None, rcpt_replies: list[str] | None = None,
         data_replies: list[str] | None = None, ehlo_extra: Iterable[str] = ()) -> Handler:
    """A scripted SMTP server. ``*_replies`` lists are consumed one per command across
    connections (the last one repeats), so retries can see a change."""
    mechanisms = list(auth) if auth is not None else None

    def pop(replies: list[str] | None, default: str) -> str:
        if not replies:
            return default
        return replies.pop(0) if len(replies) > 1 else replies[0]

    def handle(peer: Peer) -> None:
        peer.send(greeting)
        while True:
            line = peer.readline()
            if line is None:
                return
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                exts = ["scripted.example", *ehlo_extra]
                if starttls is not None and not peer.tls:
                    exts.append("STARTTLS")
                if mechanisms is not None:
                    exts.append("AUTH " + " ".join(mechanisms))
                for i, e in enumerate(exts):
                    peer.send(f"250{'-' if i < len(exts) - 1 else ' '}{e}")
                if drop_after_ehlo:
                    return
            elif verb == "STARTTLS":
                peer.send(starttls_reply)
                if starttls_reply.startswith("220") and starttls is not None:
                    if not peer.starttls(starttls):
                        return
            elif verb == "AUTH":
                parts = line.split()
                if len(parts) >= 2 and parts[1].upper() == "LOGIN":
                    peer.send("334 VXNlcm5hbWU6")
                    if peer.readline() is None:
                        return
                    peer.send("334 UGFzc3dvcmQ6")
                    if peer.readline() is None:
                        return
                peer.send(pop(auth_replies, "235 2.7.0 Authentication successful"))
            elif verb == "MAIL":
                peer.send(pop(mail_replies, "250 2.1.0 Ok"))
            elif verb == "RCPT":
                peer.send(pop(rcpt_replies, "250 2.1.5 Ok"))
            elif verb == "DATA":
                peer.send("354 End data with <CR><LF>.<CR><LF>")
                while True:
                    body = peer.readline()
                    if body is None:
                        return
                    if body == ".":
                        break
                peer.send(pop(data_replies, "250 2.0.0 Ok: queued as SCRIPTED"))
            elif verb == "QUIT":
                peer.send("221 2.0.0 Bye")
                return
            elif verb in ("RSET", "NOOP"):
                peer.send("250 2.0.0 Ok")
            else:
                peer.send("502 5.5.2 Error: command not recognized")
    return handle


def imap(*, greeting: str = "* OK scripted IMAP ready", starttls: ssl.SSLContext | None = None,
         caps: Iterable[str] = ("IMAP4rev1", "AUTH=PLAIN", "SASL-IR"), login_reply: str = "OK signed in",
         list_lines: Iterable[str | bytes] = ('* LIST (\\HasNoChildren) "/" INBOX',),
         examine_lines: Iterable[str] = ("* 2 EXISTS", "* OK [UIDVALIDITY 7] ok"),
         examine_reply: str = "OK [READ-ONLY] examined", starttls_reply: str = "OK begin TLS",
         commands: list[tuple[str, list[bytes]]] | None = None,
         other: Callable[[Peer, str, str], None] | None = None) -> Handler:
    """A scripted IMAP server. ``list_lines`` may hold raw bytes (e.g. a literal bomb).
    ``other(peer, tag, rest)`` answers commands it does not know itself (UID SEARCH, FETCH, …).
    Commands are parsed as a server does (literals after "+"); each one received is appended to
    ``commands`` as (line, literals), an AUTHENTICATE's continuation as a literal of its own.
    ``starttls_reply`` may hold several lines (CRLF-separated), sent in one write."""
    base_caps = list(caps)

    def handle(peer: Peer) -> None:
        peer.send(greeting)
        while True:
            got = peer.imap_command()
            if got is None:
                return
            line, literals = got
            if commands is not None:
                commands.append(got)
            tag, _, rest = line.partition(" ")
            verb = rest.split(" ", 1)[0].upper()
            if verb == "CAPABILITY":
                c = base_caps + (["STARTTLS"] if starttls is not None and not peer.tls else [])
                peer.send("* CAPABILITY " + " ".join(c))
                peer.send(f"{tag} OK done")
            elif verb == "STARTTLS":
                peer.send(f"{tag} {starttls_reply}")
                if not starttls_reply.startswith("OK"):
                    continue  # refused: the session goes on unencrypted
                if starttls is None or not peer.starttls(starttls):
                    return
            elif verb == "AUTHENTICATE" and len(rest.split()) == 2:
                # No initial response (no SASL-IR): ask for it with an empty continuation.
                peer.send("+ ")
                payload = peer.readline()
                if payload is None:
                    return
                literals.append(payload.encode())
                peer.send(f"{tag} {login_reply}")
            elif verb in ("LOGIN", "AUTHENTICATE"):
                peer.send(f"{tag} {login_reply}")
            elif verb == "LIST":
                for item in list_lines:
                    peer.send(item if isinstance(item, bytes) else item)
                peer.send(f"{tag} OK listed")
            elif verb == "EXAMINE":
                for item in examine_lines:
                    peer.send(item)
                peer.send(f"{tag} {examine_reply}")
            elif verb == "LOGOUT":
                peer.send("* BYE bye")
                peer.send(f"{tag} OK logged out")
                return
            elif other is not None:
                other(peer, tag, rest)
            else:
                peer.send(f"{tag} BAD unknown")
    return handle
