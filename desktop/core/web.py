"""HTTP(S) helpers shared by connectors that speak to web APIs: the address check (https unless
loopback), an opener that never follows a redirect (a request carries credentials; a redirect is an
error naming the target) and the one mapping of urllib's failures to our error codes.

"Loopback" is decided by the address a name resolves to (127.0.0.0/8, ::1), when the address is checked
and again on the connected socket, never by the host string ``localhost``."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from http.client import HTTPConnection, HTTPException
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from desktop.core import errors, tls
from desktop.core.deadline import Deadline
from desktop.core.errors import ConnectorError, FieldError


def is_loopback(address: str) -> bool:
    """True for an IP address in 127.0.0.0/8 or ::1 (also as ::ffff:127.x.y.z)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def resolves_to_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address (an IP literal is itself)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return False
    return bool(infos) and all(is_loopback(str(info[4][0])) for info in infos)


def check_url(url: str, field: str) -> str:
    """``url`` without its trailing slash; https, or http only for a host that resolves to loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise FieldError(field, f"“{shown(url)}” is not an http(s) address")
    if parts.scheme == "http" and not resolves_to_loopback(parts.hostname):
        raise FieldError(field, "must be https (http is allowed only for an address that resolves to loopback, "
                                "127.0.0.0/8 or ::1)")
    return url.rstrip("/")


def shown(text: str, limit: int = 120) -> str:
    """Untrusted text made safe to show: control characters escaped, cut at ``limit`` characters."""
    safe = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return safe if len(safe) <= limit else safe[:limit] + "…"


class NotLoopback(OSError):
    """A plain-http connection reached an address that is not loopback (the name resolved elsewhere)."""


class _LoopbackHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        peer = str(self.sock.getpeername()[0])
        if not is_loopback(peer):
            self.sock.close()
            raise NotLoopback(f"{self.host} is {peer}, not a loopback address")


class _LoopbackHTTPHandler(urllib.request.HTTPHandler):
    """Plain http only to a loopback peer, checked on the connected socket (no DNS-rebinding gap)."""

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_LoopbackHTTPConnection, req)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Leaves every 3xx answer to the caller as an HTTPError: the request carries credentials, and
    urllib would forward its Authorization header to wherever the answer points (even http)."""

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> None:
        return None

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def opener(context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    """urllib's opener without redirects, with plain http only to a loopback peer; ``context`` for https
    (None: Python's default verified context)."""
    handlers: list[Any] = [_NoRedirect(), _LoopbackHTTPHandler()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def is_redirect(status: int) -> bool:
    return 300 <= status < 400


def redirect_error(status: int, headers: Mapping[str, str] | Any, url: str, service: str) -> ConnectorError:
    """The error for a 3xx answer: it names where it pointed (escaped, cut short, without user:password@)."""
    location = str((headers or {}).get("Location") or (headers or {}).get("location") or "")
    if location:
        parts = urlsplit(urljoin(url, location))
        netloc = parts.netloc.rpartition("@")[2]
        where = f"“{shown(urlunsplit((parts.scheme, netloc, parts.path, parts.query, '')))}”"
    else:
        where = "an address it did not name"
    return ConnectorError(errors.PROTOCOL_ERROR,
                          f"The {service} answered HTTP {status}, a redirect to {where}. It was not followed: "
                          "the request carries credentials, which go only to the address in the settings.",
                          f"Check the address of the {service}; if the new address is right, put it in the "
                          "settings instead.")


def classify(exc: BaseException, url: str, deadline: Deadline, doing: str, service: str) -> ConnectorError | None:
    """Our error for a failure to reach ``url`` (``service`` names what should answer there), or None
    when ``exc`` is not a transport failure."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLError):
        return tls.classify(reason, host, port)
    if isinstance(reason, NotLoopback):
        return ConnectorError(errors.PLAINTEXT_REFUSED, f"“{shown(host)}” did not resolve to a loopback address "
                              f"({reason}); plain http is allowed only there.",
                              f"Use the https address of the {service}.")
    if isinstance(reason, socket.gaierror):
        return ConnectorError(errors.DNS_FAILED, f"The host name “{host}” could not be found.",
                              f"Check the address of the {service}, and this computer's DNS.")
    if isinstance(reason, ConnectionRefusedError):
        return ConnectorError(errors.CONNECT_REFUSED, f"{host}:{port} refused the connection.",
                              f"Check the address of the {service}; a proxy or firewall may be blocking it.")
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return deadline.error(doing)
    if isinstance(reason, (HTTPException, ConnectionError, OSError)):
        return ConnectorError(errors.PROTOCOL_ERROR,
                              f"{host}:{port} did not answer like the {service} ({reason.__class__.__name__}).",
                              f"Check the address: it must point at the {service}.")
    return None
