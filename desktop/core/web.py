"""HTTP(S) helpers shared by connectors that speak to web APIs: the address check (https unless
loopback) and the one mapping of urllib's failures to our error codes."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.error
from http.client import HTTPException
from urllib.parse import urlsplit

from desktop.core import errors, tls
from desktop.core.deadline import Deadline
from desktop.core.errors import ConnectorError, FieldError


def check_url(url: str, field: str) -> str:
    """``url`` without its trailing slash; https, or http only for a loopback host (tests, proxies)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise FieldError(field, f"“{url}” is not an http(s) address")
    if parts.scheme == "http":
        host = parts.hostname
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise FieldError(field, "must be https (http is allowed only for a loopback address)")
    return url.rstrip("/")


def classify(exc: BaseException, url: str, deadline: Deadline, doing: str, service: str) -> ConnectorError | None:
    """Our error for a failure to reach ``url`` (``service`` names what should answer there), or None
    when ``exc`` is not a transport failure."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLError):
        return tls.classify(reason, host, port)
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
