"""Sockets with an overall deadline and cancellation, and the classification of their errors.

:class:`LineConn` is shared by the line-based protocols (SMTP, IMAP): every read is bounded by
what is left of the deadline (so a server that drips one byte a second cannot hold a check past
it) and by a size limit (so a hostile server cannot exhaust memory).
"""

from __future__ import annotations

import errno
import socket
import ssl
import threading

from desktop.core import errors, tls
from desktop.core.deadline import CancelToken, Deadline
from desktop.core.errors import ConnectorError
from desktop.core.transcript import Transcript

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    AddrInfo = tuple[Any, ...]


def ascii_host(host: str) -> str | bytes:
    """An ASCII host name as bytes, for getaddrinfo and ssl: they then skip the "idna" codec, whose
    import (with stringprep and unicodedata) costs a fresh process ~1 ms; an ASCII name encodes to
    itself anyway. Other names stay text (encoded with IDNA as before)."""
    return host.encode("ascii") if host.isascii() else host


def resolve(host: str, port: int, deadline: Deadline, cancel: CancelToken) -> list[AddrInfo]:
    """getaddrinfo in a helper thread so the deadline and Cancel hold even for a hung resolver."""
    result: list[list[AddrInfo] | BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            result.append(socket.getaddrinfo(ascii_host(host), port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            result.append(exc)
        done.set()

    threading.Thread(target=work, name=f"resolve {host}", daemon=True).start()
    while not done.wait(min(0.05, max(deadline.remaining(), 0))):
        cancel.raise_if_cancelled()
        if deadline.expired:
            raise ConnectorError(
                errors.DNS_FAILED,
                f"Looking up “{host}” did not finish within the deadline.",
                "The DNS server is not answering. Check this computer's network and DNS settings.",
            )
    cancel.raise_if_cancelled()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise ConnectorError(
            errors.DNS_FAILED,
            f"The host name “{host}” could not be found.",
            "Check the spelling of the server name. If it is an internal name, check that this "
            "computer uses the right DNS server.",
        ) from None
    return outcome


def connect(host: str, port: int, addrs: list[AddrInfo], deadline: Deadline,
            cancel: CancelToken) -> socket.socket:
    """Connect to the first address that answers; classify refused / unreachable / timeout."""
    last: ConnectorError | None = None
    for family, type_, proto, _canon, sockaddr in addrs:
        cancel.raise_if_cancelled()
        remaining = deadline.remaining()
        if remaining <= 0:
            break
        sock = socket.socket(family, type_, proto)
        remove = cancel.on_cancel(sock.close)
        try:
            sock.settimeout(remaining)
            sock.connect(sockaddr)
            sock.settimeout(None)
            return sock
        except TimeoutError:
            sock.close()
            last = ConnectorError(
                errors.CONNECT_TIMEOUT,
                f"{host}:{port} did not answer the connection attempt within the deadline.",
                "A firewall may be silently dropping the connection, or the host is down. "
                "Check the host, the port, and that outbound traffic to that port is allowed.",
            )
        except ConnectionRefusedError:
            sock.close()
            last = ConnectorError(
                errors.CONNECT_REFUSED,
                f"{host}:{port} refused the connection: nothing listens on that port.",
                "Check the port number and that the service is running on that host.",
            )
        except OSError as exc:
            sock.close()
            cancel.raise_if_cancelled()
            if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
                last = ConnectorError(
                    errors.CONNECT_TIMEOUT,
                    f"{host}:{port} cannot be reached from this computer (network unreachable).",
                    "Check the host address and this computer's network route to it.",
                )
            else:
                last = ConnectorError(
                    errors.CONNECT_REFUSED,
                    f"Connecting to {host}:{port} failed ({exc.strerror or exc.__class__.__name__}).",
                    "Check the host and port.",
                )
        finally:
            remove()
    cancel.raise_if_cancelled()
    if last is None:
        raise deadline.error(f"connecting to {host}:{port}")
    raise last


class ConnectionClosed(ConnectorError):
    """The peer ended the connection cleanly (EOF) where an answer was due."""


class LineConn:
    """A connected socket (plain or TLS) read line by line under the deadline and cancel token."""

    def __init__(self, sock: socket.socket, host: str, port: int, deadline: Deadline,
                 cancel: CancelToken, transcript: Transcript, *, max_line: int = 8192) -> None:
        self.sock: socket.socket = sock
        self.host = host
        self.port = port
        self.deadline = deadline
        self.cancel = cancel
        self.transcript = transcript
        self.max_line = max_line
        self._buf = b""
        self.tls_info: dict[str, str] | None = None
        # What was exchanged before TLS, so an untrusted certificate can be fetched again on a
        # second connection and shown (issuer, fingerprint): ("send", bytes) / ("line", 0) / ("exact", n).
        self._before_tls: list[tuple[str, Any]] = []
        # A duplicate of the descriptor: shutting it down wakes a read blocked in another thread,
        # also after the socket object was replaced by its TLS wrapper.
        self._waker = sock.dup()
        self._remove_cancel = cancel.on_cancel(self._wake)

    def _wake(self) -> None:
        try:
            self._waker.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @property
    def encrypted(self) -> bool:
        return isinstance(self.sock, ssl.SSLSocket)

    def close(self) -> None:
        self._remove_cancel()
        for s in (self.sock, self._waker):
            try:
                s.close()
            except OSError:
                pass

    def _io_error(self, exc: OSError, doing: str) -> ConnectorError:
        self.cancel.raise_if_cancelled()
        if isinstance(exc, TimeoutError) or self.deadline.expired:
            return self.deadline.error(doing)
        if isinstance(exc, ssl.SSLError):
            return tls.classify(exc, self.host, self.port)
        return ConnectorError(
            errors.PROTOCOL_ERROR,
            f"The connection to {self.host}:{self.port} broke while {doing} "
            f"({exc.strerror or exc.__class__.__name__}).",
            "The server closed the connection unexpectedly. Check the port and security settings, "
            "and the server's logs.",
        )

    def _arm(self, doing: str) -> None:
        self.cancel.raise_if_cancelled()
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise self.deadline.error(doing)
        self.sock.settimeout(remaining)

    def send(self, data: bytes, doing: str = "sending") -> None:
        """Send raw bytes (a message body, a literal); protocol lines go through send_line."""
        if not self.encrypted:
            self._before_tls.append(("send", data))
        self._arm(doing)
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise self._io_error(exc, doing) from None

    def send_line(self, line: str | bytes, doing: str = "sending") -> None:
        """Send one protocol line and its CRLF. A line holding CR, LF or NUL would become more
        than one command (injection), whatever field it came from: it is refused, nothing sent."""
        try:
            data = line.encode("utf-8") if isinstance(line, str) else line
        except UnicodeEncodeError:  # a lone surrogate: not text that can be sent
            data = b"\0"
        if b"\r" in data or b"\n" in data or b"\0" in data:
            raise ConnectorError(
                errors.BAD_INPUT,
                f"Connector Desk refused to send a command to {self.host}:{self.port} while {doing}: "
                "a value in it holds a line break, a NUL or an invalid character. Nothing of it was sent.",
                "A setting (often the user name or an address) holds a control character, perhaps "
                "from a hand-edited or old file. Enter it again in the connector's settings.",
            )
        self.send(data + b"\r\n", doing)

    def readline(self, doing: str = "reading the server's answer") -> str:
        """One line without its CRLF. EOF and oversized lines are protocol errors."""
        while b"\n" not in self._buf:
            if len(self._buf) > self.max_line:
                raise ConnectorError(
                    errors.PROTOCOL_ERROR,
                    f"{self.host}:{self.port} sent a line longer than {self.max_line} bytes.",
                    "The server does not behave like the service chosen. Check the port.",
                )
            self._arm(doing)
            try:
                chunk = self.sock.recv(4096)
            except OSError as exc:
                raise self._io_error(exc, doing) from None
            if not chunk:
                self.cancel.raise_if_cancelled()
                raise ConnectorError(
                    errors.PROTOCOL_ERROR,
                    f"{self.host}:{self.port} closed the connection while {doing}.",
                    "The server hung up. It may reject this client's address, or the port may "
                    "belong to another service. Check the server's logs.",
                )
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        if not self.encrypted:
            self._before_tls.append(("line", 0))
        if len(line) > self.max_line:
            raise ConnectorError(
                errors.PROTOCOL_ERROR,
                f"{self.host}:{self.port} sent a line longer than {self.max_line} bytes.",
                "The server does not behave like the service chosen. Check the port.",
            )
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def read_exact(self, n: int, doing: str = "reading") -> bytes:
        while len(self._buf) < n:
            self._arm(doing)
            try:
                chunk = self.sock.recv(min(65536, n - len(self._buf)))
            except OSError as exc:
                raise self._io_error(exc, doing) from None
            if not chunk:
                self.cancel.raise_if_cancelled()
                raise ConnectionClosed(errors.PROTOCOL_ERROR,
                                       f"{self.host}:{self.port} closed the connection while {doing}.")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        if not self.encrypted:
            self._before_tls.append(("exact", n))
        return data

    def start_tls(self, ctx: ssl.SSLContext) -> dict[str, str]:
        """Wrap the socket in TLS (verified per ``ctx``) within the deadline."""
        if self._buf:
            # Bytes after the STARTTLS answer were injected before encryption began.
            raise ConnectorError(
                errors.TLS_FAILED,
                f"{self.host}:{self.port} sent unexpected data before the TLS handshake.",
                "This is a sign of a man-in-the-middle (STARTTLS command injection). Nothing "
                "was sent. Check the network path to the server.",
            )
        self._arm("negotiating TLS")
        try:
            tls_sock = ctx.wrap_socket(self.sock, server_hostname=ascii_host(self.host),
                                       do_handshake_on_connect=False)
            self.sock = tls_sock
            tls_sock.do_handshake()
        except OSError as exc:
            self.cancel.raise_if_cancelled()
            if isinstance(exc, TimeoutError) or self.deadline.expired:
                raise self.deadline.error("negotiating TLS") from None
            if isinstance(exc, ssl.SSLError):
                err = tls.classify(exc, self.host, self.port)
                if err.code == errors.CERT_UNTRUSTED:
                    self._describe_presented(err)
                raise err from None
            raise ConnectorError(
                errors.TLS_FAILED,
                f"{self.host}:{self.port} closed the connection during the TLS handshake "
                f"({exc.strerror or exc.__class__.__name__}).",
                "The server broke off the handshake. Check that this port speaks TLS, and the "
                "server's TLS settings.",
            ) from None
        info = tls.describe(tls_sock)
        self.tls_info = info
        self.transcript.note(
            f"TLS {info.get('version', '?')} {info.get('cipher', '')}; certificate for "
            f"{info.get('subject', '?')} issued by {info.get('issuer', '?')}, expires "
            f"{info.get('expires', '?')}"
        )
        return info


    def _describe_presented(self, err: ConnectorError) -> None:
        """Add the untrusted certificate's subject, issuer and SHA-256 fingerprint to ``err``, so the
        administrator can compare it with what their CA or the provider publishes. The certificate
        is fetched on a second connection that repeats only what was already sent in the clear
        before TLS (greeting, EHLO/CAPABILITY, STARTTLS), then closes: no credential is sent."""
        try:
            info = presented_certificate(self.host, self.port, self._before_tls, self.deadline, self.cancel)
        except (OSError, ValueError, ConnectorError):
            return
        if not info:
            return
        err.message += (f" It presented a certificate for {info.get('subject', '?')}, issued by "
                        f"{info.get('issuer', '?')} (SHA-256 {info.get('sha256', '?')}).")
        self.transcript.note(f"untrusted certificate: subject {info.get('subject', '?')}, issuer "
                             f"{info.get('issuer', '?')}, SHA-256 {info.get('sha256', '?')}")


def presented_certificate(host: str, port: int, before_tls: list[tuple[str, Any]], deadline: Deadline,
                          cancel: CancelToken) -> dict[str, str]:
    """Connect again, replay the clear-text exchange, and read the certificate without trusting it."""
    probe_deadline = Deadline(min(3.0, max(deadline.remaining(), 0.0)))
    sock = connect(host, port, resolve(host, port, probe_deadline, cancel), probe_deadline, cancel)
    lc = LineConn(sock, host, port, probe_deadline, cancel, Transcript())
    try:
        for kind, arg in before_tls:
            if kind == "send":
                lc.send(arg)
            elif kind == "line":
                lc.readline()
            else:
                lc.read_exact(int(arg))
        if lc._buf:
            return {}
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        lc._arm("reading the certificate")
        tls_sock = ctx.wrap_socket(lc.sock, server_hostname=ascii_host(host))
        lc.sock = tls_sock
        der = tls_sock.getpeercert(binary_form=True)
        return tls.describe_der(der) if der else {}
    finally:
        lc.close()
