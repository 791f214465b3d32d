"""TLS contexts (verified by default) and the classification of TLS failures."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import ssl
import sys

from desktop.core import errors
from desktop.core.errors import ConnectorError, FieldError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# OpenSSL X509_V_ERR_* codes we name precisely.
_EXPIRED = {10}  # CERT_HAS_EXPIRED
_NOT_YET_VALID = {9}
_HOSTNAME = {62}  # HOSTNAME_MISMATCH
_UNTRUSTED = {2, 18, 19, 20, 21, 27}


def make_context(ca_file: str | None = None, verify: bool = True) -> ssl.SSLContext:
    """A client context: the system's trust store plus ``ca_file``; TLS 1.2 or newer.

    Contexts are shared (an SSLContext is safe to use from many threads): building one holds the
    GIL for a while, which 50 parallel checks would feel."""
    stamp = None
    if ca_file:
        try:
            st = os.stat(ca_file)
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
    return _context(ca_file, stamp, verify)


@functools.lru_cache(maxsize=32)
def _context(ca_file: str | None, _stamp: tuple[int, int] | None, verify: bool) -> ssl.SSLContext:
    return new_context(ca_file, verify)


def new_context(ca_file: str | None = None, verify: bool = True) -> ssl.SSLContext:
    """A private (uncached) client context, for one that gets a client certificate loaded into it.

    Verification is that of ``ssl.create_default_context()`` (certificate required, host name
    checked) with TLS 1.2 at least. The system's trust anchors are always trusted; where the system
    keeps them in a hashed folder as well (Debian, Ubuntu…) OpenSSL reads from it only the
    certificates a chain needs, instead of parsing the whole bundle (~150 certificates, 20–30 ms)
    up front. A context that does not verify loads no trust anchors at all."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if verify:
        folder = system_cert_folder()
        if folder:
            ctx.load_verify_locations(capath=folder)
        else:
            ctx.load_default_certs()
    if ca_file:
        try:
            ctx.load_verify_locations(cafile=ca_file)
        except FileNotFoundError:
            raise FieldError("ca_file", f"no such file: {ca_file}") from None
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise FieldError("ca_file", f"not a readable PEM certificate file ({exc.__class__.__name__})") from None
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    keylog = os.environ.get("SSLKEYLOGFILE")  # as create_default_context() honours it
    if keylog and not sys.flags.ignore_environment:
        ctx.keylog_filename = keylog
    return ctx


_HASHED = re.compile(r"[0-9a-f]{8}\.\d+")


def system_cert_folder() -> str | None:
    """The system's hashed certificate folder when it holds the whole system trust store, else None.

    That is when OpenSSL's default bundle file lies in that folder (both written by
    update-ca-certificates, or `trust extract-compat`) and the folder has hashed names: then looking
    certificates up in the folder trusts exactly what loading the bundle would. Anything else
    (SSL_CERT_FILE or SSL_CERT_DIR pointing elsewhere, a bundle kept apart, Windows' and macOS'
    stores) loads the default store as Python does."""
    if sys.platform in ("win32", "darwin"):
        return None
    paths = ssl.get_default_verify_paths()  # read from the environment each time, as Python does
    return _hashed_folder(paths.cafile, paths.capath)


@functools.lru_cache(maxsize=8)
def _hashed_folder(cafile: str | None, capath: str | None) -> str | None:
    if not capath:
        return None
    folder = os.path.realpath(capath)
    if cafile and os.path.dirname(os.path.realpath(cafile)) != folder:
        return None
    try:
        with os.scandir(folder) as entries:
            if not any(_HASHED.fullmatch(e.name) for e in entries):
                return None
    except OSError:
        return None
    return folder


def _name(parts: Any) -> str:
    fields = {}
    for rdn in parts or ():
        for key, value in rdn:
            fields[key] = value
    return fields.get("commonName") or fields.get("organizationName") or "?"


def describe(sock: ssl.SSLSocket) -> dict[str, str]:
    """Issuer, subject, expiry, SHA-256 fingerprint, protocol version of the peer certificate."""
    info: dict[str, str] = {"version": sock.version() or "?"}
    cipher = sock.cipher()
    if cipher:
        info["cipher"] = cipher[0]
    der = sock.getpeercert(binary_form=True)
    if der:
        digest = hashlib.sha256(der).hexdigest().upper()
        info["sha256"] = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    cert = sock.getpeercert()
    if cert:
        info["subject"] = _name(cert.get("subject"))
        info["issuer"] = _name(cert.get("issuer"))
        not_after = cert.get("notAfter")
        if isinstance(not_after, str):
            info["expires"] = _day(not_after)
    return info


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day(cert_time: str) -> str:
    """YYYY-MM-DD of a certificate time as Python gives it ("Dec 22 07:50:40 2026 GMT"), without
    ssl.cert_time_to_seconds (its time.strptime costs a module import of ~2 ms)."""
    parts = cert_time.split()
    if len(parts) == 5 and parts[0] in _MONTHS and parts[1].isdigit() and parts[3].isdigit() and parts[4] == "GMT":
        return f"{int(parts[3]):04d}-{_MONTHS.index(parts[0]) + 1:02d}-{int(parts[1]):02d}"
    from datetime import UTC, datetime
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(cert_time), UTC).strftime("%Y-%m-%d")


def describe_der(der: bytes) -> dict[str, str]:
    """Subject, issuer, expiry and SHA-256 fingerprint of a certificate that was not verified."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    def name(n: x509.Name) -> str:
        for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
            attrs = n.get_attributes_for_oid(oid)
            if attrs:
                return str(attrs[0].value)
        return n.rfc4514_string() or "?"

    digest = hashlib.sha256(der).hexdigest().upper()
    cert = x509.load_der_x509_certificate(der)
    return {"subject": name(cert.subject), "issuer": name(cert.issuer),
            "expires": cert.not_valid_after_utc.strftime("%Y-%m-%d"),
            "sha256": ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))}


def classify(exc: BaseException, host: str, port: int) -> ConnectorError:
    """Turn an exception raised during a TLS handshake into a ConnectorError."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        detail = exc.verify_message or str(exc)
        if code in _EXPIRED:
            return ConnectorError(
                errors.CERT_EXPIRED,
                f"The certificate of {host} has expired ({detail}).",
                "Ask the server's administrator to renew the certificate. Nothing was sent.",
            )
        if code in _NOT_YET_VALID:
            return ConnectorError(
                errors.CERT_EXPIRED,
                f"The certificate of {host} is not valid yet ({detail}).",
                "Check this computer's clock and the certificate's start date.",
            )
        if code in _HOSTNAME:
            return ConnectorError(
                errors.CERT_HOSTNAME_MISMATCH,
                f"The certificate presented on {host}:{port} is not for the name “{host}” ({detail}).",
                "Use the host name the certificate was issued for (often the provider's documented "
                "server name), or ask for a certificate that covers this name.",
            )
        return ConnectorError(
            errors.CERT_UNTRUSTED,
            f"The certificate of {host} is not signed by an authority this computer trusts ({detail}).",
            "If the server uses an internal certificate authority, give its certificate (PEM) as "
            "“CA file”. Do not turn verification off unless you know why it fails.",
        )
    reason = getattr(exc, "reason", None) or exc.__class__.__name__
    if isinstance(exc, ssl.SSLError) and reason in ("WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL",
                                                     "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
        return ConnectorError(
            errors.TLS_FAILED,
            f"{host}:{port} did not answer with TLS (the port speaks plain text).",
            "This port may expect STARTTLS or no encryption: choose the security that matches the "
            "port (587 and 143 use STARTTLS; 465 and 993 use TLS).",
        )
    return ConnectorError(
        errors.TLS_FAILED,
        f"The TLS handshake with {host}:{port} failed ({reason}).",
        "The server closed or broke the encrypted connection. Check the port and security settings; "
        "the server may require a newer TLS version or a client certificate.",
    )
