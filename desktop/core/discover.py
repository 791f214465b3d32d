"""Mail settings from an e-mail address: presets, autoconfig, DNS SRV (RFC 6186/8314), MX, probing.

Every look-up runs in parallel under one :class:`Deadline`; every candidate found is **verified**
by connecting, negotiating TLS with certificate checks and reading the capabilities (EHLO / IMAP
CAPABILITY) — never by sending a credential. A host that autoconfig or SRV names outside the
address's own domain is flagged before anyone sends a password there.

``CONNECTOR_DESK_NAMESERVER=host:port`` sends every DNS look-up (SRV, MX and the addresses of the
hosts) to that one server. ``CONNECTOR_DESK_DISCOVER_PORT_MAP`` (tests only) maps a well-known
port to another, e.g. ``443=8443,993=10993``: the autoconfig https port and the probed ports.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import http.client
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from desktop.core import errors, net, tls
from desktop.core.contract import counted
from desktop.core.deadline import CancelToken, Deadline
from desktop.core.errors import ConnectorError, FieldError, InputErrors
from desktop.core.transcript import Transcript

# The connector types whose settings discovery finds (the wizard offers it for these).
DISCOVERED_TYPES = frozenset({"smtp", "imap"})

NAMESERVER_ENV = "CONNECTOR_DESK_NAMESERVER"
PORT_MAP_ENV = "CONNECTOR_DESK_DISCOVER_PORT_MAP"  # tests only: "443=8443,993=10993"
ADDRESS_LABEL = "E-mail address"
PROVIDERS_FILE = "mail-providers.json"
MAX_AUTOCONFIG = 1024 * 1024  # bytes; a larger autoconfig file is refused
DNS_MARGIN = 0.25  # seconds: a DNS look-up gives up this long before the deadline
MAX_SERVERS = 20  # servers taken from one autoconfig file; half that per SRV service
GRACE = 1.5  # seconds the other checks still get once SMTP and IMAP are verified
SOURCES = ("preset", "autoconfig", "srv", "mx", "probe")  # best first
SRV_SERVICES = (  # (service, type, security, usual port)
    ("_submissions._tcp", "smtp", "tls", 465),
    ("_submission._tcp", "smtp", "starttls", 587),
    ("_imaps._tcp", "imap", "tls", 993),
    ("_imap._tcp", "imap", "starttls", 143),
)
PROBES = (  # (type, host prefix, port, security)
    ("smtp", "smtp.", 465, "tls"), ("smtp", "smtp.", 587, "starttls"),
    ("smtp", "mail.", 465, "tls"), ("smtp", "mail.", 587, "starttls"),
    ("imap", "imap.", 993, "tls"), ("imap", "imap.", 143, "starttls"),
    ("imap", "mail.", 993, "tls"), ("imap", "mail.", 143, "starttls"),
)
_HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
                      r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_LOCAL_RE = re.compile(r"^[^\s@\"(),:;<>\[\]\\]{1,64}$")  # RFC 5321 dot-atom; UTF-8 allowed (RFC 6531)
# Second-level public suffixes common enough to matter when reducing an MX host to its provider.
_SECOND_LEVEL = {"co.uk", "org.uk", "ac.uk", "com.au", "net.au", "co.jp", "ne.jp", "co.nz", "com.br",
                 "co.za", "com.cn", "com.tw", "co.in", "co.kr", "com.mx", "com.tr", "com.sg"}
_AUTH_HINTS = {"oauth2": ["XOAUTH2", "OAUTHBEARER"], "password-cleartext": ["PLAIN", "LOGIN"],
               "password-encrypted": ["CRAM-MD5"]}

Emit = Callable[[object], None]


# -- results -----------------------------------------------------------------------------------
@dataclass
class Candidate:
    """One server (type, host, port, security) found by a source, and what verifying it showed."""

    type: str  # smtp | imap
    host: str
    port: int
    security: str  # tls | starttls | none
    source: str  # preset | autoconfig | srv | mx | probe
    auth: list[str] = field(default_factory=list)  # SASL mechanisms (seen when verified, else declared)
    verified: bool = False
    reason: str = ""  # why it is not verified
    code: str = ""  # the error code of that reason
    origin: str = ""  # where it came from, in words
    provider: str = ""  # a preset's label
    oauth_provider: str = ""  # google | microsoft, from a preset
    tenant: str = ""  # Microsoft 365: the tenant (the address's domain)
    username: str = ""
    outside_domain: bool = False
    warning: str = ""
    tls: str = ""  # the TLS version negotiated
    rank: tuple[int, int] = (0, 0)  # SRV priority, -weight
    order: int = 0
    ms: float = 0.0

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.type, self.host.lower(), self.port, self.security)

    def settings(self) -> dict[str, Any]:
        """The connector settings this candidate fills in (the wizard's pages, still editable)."""
        oauth = bool(self.oauth_provider) and (
            not self.verified or any(m in self.auth for m in ("XOAUTH2", "OAUTHBEARER")))
        out: dict[str, Any] = {"host": self.host, "port": self.port, "security": self.security,
                               "auth": "oauth2" if oauth else "password", "username": self.username}
        if self.type == "smtp" and "@" in self.username:
            out["from_address"] = self.username
        if oauth:
            out["oauth_provider"] = self.oauth_provider
            if self.tenant:
                out["oauth_tenant"] = self.tenant
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type, "host": self.host, "port": self.port,
                             "security": self.security, "auth": list(self.auth), "source": self.source,
                             "verified": self.verified}
        if not self.verified:
            d["reason"] = self.reason or "Not checked."
            if self.code:
                d["code"] = self.code
        d["outside_domain"] = self.outside_domain
        for key in ("warning", "origin", "provider", "tls"):
            value = getattr(self, key)
            if value:
                d[key] = value
        d["settings"] = self.settings()
        return d


@dataclass
class DiscoveryResult:
    address: str
    candidates: list[Candidate]
    not_offered: list[str]  # SRV services whose target is "." (RFC 2782: decidedly not offered)
    ms: float
    deadline_reached: bool

    def best(self, type_: str) -> Candidate | None:
        """The first verified candidate of a type (candidates are best first)."""
        return next((c for c in self.candidates if c.type == type_ and c.verified), None)

    @property
    def ok(self) -> bool:
        return any(c.verified for c in self.candidates)

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "candidates": [c.to_dict() for c in self.candidates],
                "not_offered": list(self.not_offered), "ms": round(self.ms, 1),
                "deadline_reached": self.deadline_reached}


# -- input -------------------------------------------------------------------------------------
def split_address(address: str) -> tuple[str, str]:
    """(local part, domain in its DNS (IDNA) form); bad input names the field "E-mail address"."""
    try:
        return _split(address)
    except FieldError as exc:
        raise InputErrors([exc]) from None


def _split(address: str) -> tuple[str, str]:
    text = address.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise FieldError(ADDRESS_LABEL, "is not an e-mail address (name@example.com)")
    if not _LOCAL_RE.match(local) or ".." in local or not local.isprintable():
        raise FieldError(ADDRESS_LABEL, "the part before @ holds characters an address cannot have")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise FieldError(ADDRESS_LABEL, "the domain after @ is not a valid domain name") from None
    if "." not in ascii_domain or not _HOST_RE.match(ascii_domain):
        raise FieldError(ADDRESS_LABEL, "the domain after @ is not a valid domain name")
    return local, ascii_domain


def base_domain(host: str) -> str:
    """The registrable domain of a host name: mx1.mail.example.co.uk → example.co.uk."""
    labels = host.rstrip(".").lower().split(".")
    keep = 3 if len(labels) >= 3 and ".".join(labels[-2:]) in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def is_outside(host: str, domain: str) -> bool:
    return base_domain(host) != base_domain(domain)


def nameserver() -> tuple[str, int] | None:
    """``CONNECTOR_DESK_NAMESERVER`` as (address, port), or None."""
    value = os.environ.get(NAMESERVER_ENV, "").strip()
    if not value:
        return None
    m = re.match(r"^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$", value) or re.match(r"^([^:]+)(?::(\d+))?$", value)
    if not m:
        raise FieldError(NAMESERVER_ENV, f"“{value[:60]}” is not host:port")
    host, port = m.group(1), int(m.group(2) or 53)
    if not 0 < port < 65536:
        raise FieldError(NAMESERVER_ENV, f"port {port} is out of range")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            host = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4][0]
        except OSError:
            raise FieldError(NAMESERVER_ENV, f"the name server “{host[:60]}” could not be found") from None
    return host, port


def port_map() -> dict[int, int]:
    out: dict[int, int] = {}
    for part in os.environ.get(PORT_MAP_ENV, "").split(","):
        src, _, dst = part.partition("=")
        if src.strip().isdigit() and dst.strip().isdigit():
            out[int(src)] = int(dst)
    return out


# -- presets -----------------------------------------------------------------------------------
@functools.cache
def providers() -> list[dict[str, Any]]:
    """The built-in providers (resources/presets/mail-providers.json)."""
    import json

    from desktop.core.resources import resource
    path = resource("presets", PROVIDERS_FILE)
    if not path.exists():  # a source tree run beside another installed tree
        path = Path(__file__).resolve().parents[2] / "resources" / "presets" / PROVIDERS_FILE
    return list(json.loads(path.read_text(encoding="utf-8"))["providers"])


def preset_by_domain(domain: str) -> dict[str, Any] | None:
    for p in providers():
        if domain in p.get("domains", []) or any(domain.endswith("." + d) for d in p.get("domains", [])):
            return p
    return None


def preset_by_mx(mx_host: str) -> dict[str, Any] | None:
    host = mx_host.rstrip(".").lower()
    for p in providers():
        if any(fnmatch.fnmatchcase(host, pattern) for pattern in p.get("mx", [])):
            return p
    return None


def enrich(c: Candidate, domain: str) -> None:
    """A server a built-in provider runs (autoconfig or SRV naming imap.gmail.com, say) gets that
    provider's OAuth sign-in (and Microsoft 365's tenant from the domain)."""
    if c.oauth_provider:
        return
    for p in providers():
        if any(s["host"] == c.host for s in p["servers"]):
            c.provider = c.provider or p["label"]
            c.oauth_provider = p.get("oauth_provider", "")
            c.tenant = domain if p.get("tenant_from_domain") else ""
            return


def preset_candidates(p: dict[str, Any], source: str, domain: str, address: str, origin: str) -> list[Candidate]:
    out = []
    for s in p["servers"]:
        out.append(Candidate(type=s["type"], host=s["host"], port=int(s["port"]), security=s["security"],
                             source=source, auth=list(s.get("auth", [])), origin=origin, provider=p["label"],
                             oauth_provider=p.get("oauth_provider", ""), username=address,
                             tenant=domain if p.get("tenant_from_domain") else ""))
    return out


# -- DNS ---------------------------------------------------------------------------------------
class Dns:
    """dnspython, pointed at ``CONNECTOR_DESK_NAMESERVER`` when set; every query within the deadline."""

    def __init__(self, server: tuple[str, int] | None) -> None:
        import dns.resolver
        self.server = server
        self.resolver: dns.resolver.Resolver | None
        if server:
            self.resolver = dns.resolver.Resolver(configure=False)
            self.resolver.nameservers = [server[0]]
            self.resolver.port = server[1]
        else:
            try:
                self.resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                self.resolver = None

    def query(self, name: str, rdtype: str, deadline: Deadline) -> list[Any]:
        """The answer's records; [] when the name or the record does not exist. A DNS server that
        does not answer within the deadline is a ``dns_failed`` ConnectorError."""
        import dns.exception
        import dns.resolver
        if self.resolver is None:
            raise ConnectorError(errors.DNS_FAILED, "This computer has no DNS server configured.",
                                 "Check the network settings.")
        # A little before the deadline, so that a DNS server that never answers is reported.
        remaining = deadline.remaining() - DNS_MARGIN
        if remaining <= 0:
            raise ConnectorError(errors.DNS_FAILED, f"No time was left to look up {name}.")
        try:
            answer = self.resolver.resolve(name, rdtype, lifetime=remaining, search=False,
                                           raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout:
            raise ConnectorError(errors.DNS_FAILED,
                                 f"The DNS server did not answer the {rdtype} look-up of {name} in time.",
                                 "Check this computer's DNS server (or CONNECTOR_DESK_NAMESERVER).") from None
        except dns.exception.DNSException as exc:
            raise ConnectorError(errors.DNS_FAILED,
                                 f"The {rdtype} look-up of {name} failed ({exc.__class__.__name__}).",
                                 "Check this computer's DNS server (or CONNECTOR_DESK_NAMESERVER).") from None
        return list(answer)

    def addresses(self, host: str, port: int, deadline: Deadline, cancel: CancelToken) -> list[net.AddrInfo]:
        """The host's addresses as getaddrinfo gives them (through the one name server when set)."""
        if self.server is None:
            return net.resolve(host, port, deadline, cancel)
        found: list[net.AddrInfo] = []
        for rdtype, family in (("A", socket.AF_INET), ("AAAA", socket.AF_INET6)):
            for r in self.query(host, rdtype, deadline):
                sockaddr: tuple[Any, ...] = (r.address, port) if family == socket.AF_INET else (r.address, port, 0, 0)
                found.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
            if found:
                break
        if not found:
            raise ConnectorError(errors.DNS_FAILED, f"The host name “{host}” could not be found.",
                                 "Check the spelling of the server name.")
        return found


def srv_candidates(dns_: Dns, domain: str, address: str, deadline: Deadline,
                   not_offered: list[str]) -> list[Candidate]:
    """The four services' SRV records, looked up at once; "." alone means not offered."""
    answers: dict[str, list[Any] | ConnectorError] = {}

    def look_up(service: str) -> None:
        try:
            answers[service] = dns_.query(f"{service}.{domain}", "SRV", deadline)
        except ConnectorError as exc:
            answers[service] = exc

    threads = [threading.Thread(target=look_up, args=(s,), daemon=True) for s, *_rest in SRV_SERVICES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(deadline.remaining(), 0))
    failed = [a for a in answers.values() if isinstance(a, ConnectorError)]
    if len(failed) == len(SRV_SERVICES) or not answers:
        raise failed[0] if failed else ConnectorError(errors.DNS_FAILED, "The SRV look-ups did not finish in time.")
    out: list[Candidate] = []
    for service, type_, security, _port in SRV_SERVICES:
        name = f"{service}.{domain}"
        records = answers.get(service, [])
        if isinstance(records, ConnectorError):
            continue  # the others answered: use what they said
        targets = [r for r in records if str(r.target) != "."]
        if records and not targets:
            not_offered.append(service.split(".")[0].lstrip("_"))
            continue
        for r in sorted(targets, key=lambda r: (r.priority, -r.weight))[:MAX_SERVERS // 2]:
            host = str(r.target).rstrip(".")
            if not _HOST_RE.match(host) or not 0 < int(r.port) < 65536:
                continue
            out.append(Candidate(type=type_, host=host.lower(), port=int(r.port), security=security, source="srv",
                                 origin=f"SRV {name} (priority {r.priority}, weight {r.weight})",
                                 username=address, rank=(int(r.priority), -int(r.weight))))
    return out


def mx_hosts(dns_: Dns, domain: str, deadline: Deadline) -> list[str]:
    records = dns_.query(domain, "MX", deadline)
    return [str(r.exchange).rstrip(".").lower() for r in sorted(records, key=lambda r: r.preference)
            if str(r.exchange) != "."]


# -- autoconfig --------------------------------------------------------------------------------
class AutoconfigRefused(ConnectorError):
    """An autoconfig answer that was refused (too large, DTD/entities, not clientConfig)."""


def https_get(dns_: Dns, host: str, path: str, ctx: ssl.SSLContext, deadline: Deadline,
              cancel: CancelToken) -> bytes | None:
    """GET https://host/path with a verified certificate; None unless 200. No redirects followed.
    At most MAX_AUTOCONFIG bytes are read: a larger (or endless) answer is refused."""
    port = port_map().get(443, 443)
    addrs = dns_.addresses(host, port, deadline, cancel)
    raw = net.connect(host, port, addrs, deadline, cancel)
    remove = cancel.on_cancel(lambda: _shutdown(raw))
    sock: socket.socket = raw
    try:
        raw.settimeout(max(deadline.remaining(), 0.01))
        try:
            sock = ctx.wrap_socket(raw, server_hostname=host)
        except ssl.SSLError as exc:
            raise tls.classify(exc, host, port) from None
        request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/xml, text/xml\r\n"
                   f"User-Agent: connector-desk\r\nConnection: close\r\n\r\n")
        sock.sendall(request.encode("ascii"))
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        if resp.status != 200:
            return None
        length = resp.getheader("Content-Length")
        if length and length.strip().isdigit() and int(length) > MAX_AUTOCONFIG:
            raise AutoconfigRefused(errors.PROTOCOL_ERROR,
                                    f"The autoconfig file at {host} is {int(length):,} bytes; "
                                    f"at most {MAX_AUTOCONFIG:,} are read.")
        body = b""
        while True:
            deadline.check(f"reading the autoconfig file from {host}")
            cancel.raise_if_cancelled()
            sock.settimeout(max(deadline.remaining(), 0.01))
            chunk = resp.read1(65536)  # one receive at a time: the deadline is checked between them
            if not chunk:
                return body
            body += chunk
            if len(body) > MAX_AUTOCONFIG:
                raise AutoconfigRefused(errors.PROTOCOL_ERROR,
                                        f"The autoconfig file at {host} is larger than {MAX_AUTOCONFIG:,} bytes.")
    except (OSError, http.client.HTTPException) as exc:
        cancel.raise_if_cancelled()
        if isinstance(exc, TimeoutError) or deadline.expired:
            raise deadline.error(f"reading the autoconfig file from {host}") from None
        raise ConnectorError(errors.PROTOCOL_ERROR,
                             f"Reading https://{host}{path.split('?')[0]} failed ({exc.__class__.__name__}).") from None
    finally:
        remove()
        sock.close()
        raw.close()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def parse_clientconfig(data: bytes, local: str, domain: str) -> list[Candidate]:
    """The IMAP and SMTP servers of a clientConfig 1.1 document (Thunderbird's autoconfig format).
    Parsed with no DTD, no entities, no external references."""
    import defusedxml
    import defusedxml.ElementTree as SafeET
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        what = exc.__class__.__name__.replace("Forbidden", "")
        raise AutoconfigRefused(errors.PROTOCOL_ERROR,
                                f"The autoconfig file was refused: it holds a {what} "
                                "(entities and DTDs are never expanded).") from None
    except SafeET.ParseError:
        raise AutoconfigRefused(errors.PROTOCOL_ERROR, "The autoconfig file is not well-formed XML.") from None
    if root.tag != "clientConfig":
        raise AutoconfigRefused(errors.PROTOCOL_ERROR, "The autoconfig file is not a clientConfig document.")
    address = f"{local}@{domain}"

    def fill(text: str) -> str:
        return (text.replace("%EMAILADDRESS%", address).replace("%EMAILLOCALPART%", local)
                .replace("%EMAILDOMAIN%", domain))

    out: list[Candidate] = []
    for provider in root.findall("emailProvider"):
        label = _printable(provider.findtext("displayName") or "")[:80]
        for elem in [*provider.findall("incomingServer"), *provider.findall("outgoingServer")]:
            type_ = elem.get("type", "")
            if type_ not in ("imap", "smtp"):
                continue
            host = fill((elem.findtext("hostname") or "").strip())
            port_text = (elem.findtext("port") or "").strip()
            socket_type = (elem.findtext("socketType") or "").strip().upper()
            security = {"SSL": "tls", "TLS": "tls", "STARTTLS": "starttls", "PLAIN": "none"}.get(socket_type)
            if not _HOST_RE.match(host) or not port_text.isdigit() or not 0 < int(port_text) < 65536 or not security:
                continue
            auth: list[str] = []
            for a in elem.findall("authentication"):
                for mech in _AUTH_HINTS.get((a.text or "").strip().lower(), []):
                    if mech not in auth:
                        auth.append(mech)
            username = _printable(fill(elem.findtext("username") or ""))[:254]
            out.append(Candidate(type=type_, host=host.lower(), port=int(port_text), security=security,
                                 source="autoconfig", auth=auth, provider=label,
                                 oauth_provider="", username=username or address))
            if len(out) >= MAX_SERVERS:
                return out
    return out


def _printable(text: str) -> str:
    """Untrusted text from a file: control characters dropped, whitespace collapsed."""
    return " ".join("".join(ch for ch in text if ch.isprintable() or ch.isspace()).split())


def autoconfig_urls(domain: str, address: str) -> list[tuple[str, str]]:
    return [(f"autoconfig.{domain}", f"/mail/config-v1.1.xml?emailaddress={quote(address, safe='@')}"),
            (domain, "/.well-known/autoconfig/mail/config-v1.1.xml")]


# -- verification ------------------------------------------------------------------------------
def _smtp_reply(lc: net.LineConn, doing: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    while True:
        line = lc.readline(doing)
        lc.transcript.server(line)
        if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
            raise ConnectorError(errors.PROTOCOL_ERROR,
                                 f"{lc.host}:{lc.port} did not answer like an SMTP server.")
        lines.append(line[4:])
        if len(lines) > 200:
            raise ConnectorError(errors.PROTOCOL_ERROR, f"{lc.host}:{lc.port} sent an endless reply.")
        if len(line) == 3 or line[3] == " ":
            return int(line[:3]), lines


def _smtp_command(lc: net.LineConn, line: str, doing: str) -> tuple[int, list[str]]:
    lc.send_line(line, doing)
    lc.transcript.client(line)
    return _smtp_reply(lc, doing)


def _smtp_ehlo(lc: net.LineConn) -> dict[str, str]:
    code, lines = _smtp_command(lc, f"EHLO [{lc.sock.getsockname()[0]}]", "saying EHLO")
    if code != 250:
        raise ConnectorError(errors.PROTOCOL_ERROR, f"{lc.host}:{lc.port} refused EHLO ({code}).")
    ext: dict[str, str] = {}
    for item in lines[1:]:
        key, _, value = item.replace("=", " ", 1).partition(" ") if item.upper().startswith("AUTH=") \
            else item.partition(" ")
        ext[key.upper()] = (ext.get(key.upper(), "") + " " + value).strip()
    return ext


def _verify_smtp(lc: net.LineConn, c: Candidate, ctx: ssl.SSLContext) -> list[str]:
    if c.security == "tls":
        c.tls = lc.start_tls(ctx).get("version", "")
    code, _ = _smtp_reply(lc, "waiting for the greeting")
    if code != 220:
        raise ConnectorError(errors.SERVER_ERROR, f"{c.host}:{c.port} refused the session ({code}).")
    ext = _smtp_ehlo(lc)
    if c.security == "starttls":
        if "STARTTLS" not in ext:
            raise ConnectorError(errors.STARTTLS_UNAVAILABLE, f"{c.host}:{c.port} does not offer STARTTLS.")
        code, _ = _smtp_command(lc, "STARTTLS", "starting TLS")
        if code != 220:
            raise ConnectorError(errors.STARTTLS_UNAVAILABLE, f"{c.host}:{c.port} refused STARTTLS ({code}).")
        c.tls = lc.start_tls(ctx).get("version", "")
        ext = _smtp_ehlo(lc)
    try:
        _smtp_command(lc, "QUIT", "saying goodbye")
    except ConnectorError:
        pass
    return ext.get("AUTH", "").upper().split()


def _imap_until(lc: net.LineConn, tag: str, doing: str) -> list[str]:
    """Lines up to and including the tagged answer (which must be OK)."""
    seen: list[str] = []
    while True:
        line = lc.readline(doing)
        lc.transcript.server(line)
        seen.append(line)
        if len(seen) > 200:
            raise ConnectorError(errors.PROTOCOL_ERROR, f"{lc.host}:{lc.port} sent an endless answer.")
        if line.startswith(tag + " "):
            if not line[len(tag) + 1:].upper().startswith("OK"):
                raise ConnectorError(errors.PROTOCOL_ERROR, f"{lc.host}:{lc.port} refused {doing}.")
            return seen


def _imap_caps(lc: net.LineConn, tag: str) -> list[str]:
    lc.send_line(f"{tag} CAPABILITY", "asking for capabilities")
    lc.transcript.client(f"{tag} CAPABILITY")
    caps: list[str] = []
    for line in _imap_until(lc, tag, "CAPABILITY"):
        if line.upper().startswith("* CAPABILITY "):
            caps += line.split()[2:]
    return [c.upper() for c in caps]


def _verify_imap(lc: net.LineConn, c: Candidate, ctx: ssl.SSLContext) -> list[str]:
    if c.security == "tls":
        c.tls = lc.start_tls(ctx).get("version", "")
    greeting = lc.readline("waiting for the greeting")
    lc.transcript.server(greeting)
    if not greeting.upper().startswith(("* OK", "* PREAUTH")):
        raise ConnectorError(errors.PROTOCOL_ERROR, f"{c.host}:{c.port} did not greet like an IMAP server.")
    caps = _imap_caps(lc, "d1")
    if c.security == "starttls":
        if "STARTTLS" not in caps:
            raise ConnectorError(errors.STARTTLS_UNAVAILABLE, f"{c.host}:{c.port} does not offer STARTTLS.")
        lc.send_line("d2 STARTTLS", "starting TLS")
        lc.transcript.client("d2 STARTTLS")
        _imap_until(lc, "d2", "STARTTLS")
        c.tls = lc.start_tls(ctx).get("version", "")
        caps = _imap_caps(lc, "d3")
    try:
        lc.send_line("d4 LOGOUT", "saying goodbye")
    except ConnectorError:
        pass
    return [cap[5:] for cap in caps if cap.startswith("AUTH=")]


def verify(c: Candidate, dns_: Dns, ctx: ssl.SSLContext, deadline: Deadline, cancel: CancelToken) -> None:
    """Connect, TLS (verified), capabilities; sets ``verified``/``auth`` or ``reason``/``code``.
    No credential is ever sent: the only commands are EHLO, STARTTLS, CAPABILITY, QUIT, LOGOUT."""
    started = time.monotonic()
    try:
        if c.security == "none":
            raise ConnectorError(errors.PLAINTEXT_REFUSED,
                                 f"{c.host}:{c.port} is named without encryption; it was not checked.")
        addrs = dns_.addresses(c.host, c.port, deadline, cancel)
        sock = net.connect(c.host, c.port, addrs, deadline, cancel)
        lc = net.LineConn(sock, c.host, c.port, deadline, cancel, Transcript())
        try:
            c.auth = (_verify_smtp if c.type == "smtp" else _verify_imap)(lc, c, ctx)
            c.verified = True
        finally:
            lc.close()
    except ConnectorError as exc:
        c.verified = False
        c.code, c.reason = exc.code, exc.message
    finally:
        c.ms = (time.monotonic() - started) * 1000


# -- the run -----------------------------------------------------------------------------------
def _outside_warning(c: Candidate, domain: str) -> str:
    named_by = "its SRV record" if c.source == "srv" else "its autoconfig file"
    return (f"{c.host} is outside {domain}, yet {domain} names it in {named_by}. Before you send a "
            f"password there, make sure {domain} really uses this server: a forged DNS record or "
            "autoconfig file could redirect your password.")


class _Discovery:
    def __init__(self, address: str, deadline: Deadline, emit: Emit, cancel: CancelToken,
                 ca_file: str | None) -> None:
        self.local, self.domain = split_address(address)
        self.address = f"{self.local}@{self.domain}"
        self.deadline = deadline
        self.emit_fn = emit
        self.outer = cancel
        self.cancel = CancelToken()  # ours: cancelled at the end, closing whatever still runs
        try:
            self.ctx = tls.make_context(ca_file)
            self.dns = Dns(nameserver())
        except FieldError as exc:
            raise InputErrors([FieldError(exc.field, exc.problem)]) from None
        self.cond = threading.Condition()
        self.emit_lock = threading.Lock()
        self.ended = False
        self.candidates: dict[tuple[str, str, int, str], Candidate] = {}
        self.not_offered: list[str] = []
        self.running: dict[str, int] = {"lookup": 0, "verify": 0, "probe": 0}
        self.order = 0
        self.settled_at: float | None = None
        self.closed = False

    # events
    def emit(self, stage: str, text: str, **extra: object) -> None:
        event = {"stage": stage, "text": text, "ms": round(self.deadline.elapsed() * 1000, 1), **extra}
        try:
            with self.emit_lock:  # one event at a time, in the order they happen; none after the end
                if not self.ended:
                    self.emit_fn(event)
                    self.ended = stage == "done"
        except Exception:  # noqa: BLE001 - a broken listener must not break discovery
            pass

    # tasks
    def spawn(self, kind: str, fn: Callable[[], None]) -> None:
        with self.cond:
            self.running[kind] += 1

        def run() -> None:
            try:
                fn()
            except ConnectorError:
                pass
            except Exception as exc:  # noqa: BLE001 - one failed source must not end discovery
                self.emit("error", f"A look-up failed unexpectedly ({exc.__class__.__name__}).")
            finally:
                with self.cond:
                    self.running[kind] -= 1
                    self.cond.notify_all()

        threading.Thread(target=run, name=f"discover {kind}", daemon=True).start()

    def add(self, found: list[Candidate]) -> None:
        for c in found:
            enrich(c, self.domain)
            if c.source in ("autoconfig", "srv") and is_outside(c.host, self.domain):
                c.outside_domain, c.warning = True, _outside_warning(c, self.domain)
            with self.cond:
                if self.closed:
                    return
                old = self.candidates.get(c.key)
                if old is not None:
                    if SOURCES.index(c.source) < SOURCES.index(old.source):
                        c.verified, c.auth, c.reason, c.code, c.tls, c.ms = (
                            old.verified, old.auth or c.auth, old.reason, old.code, old.tls, old.ms)
                        c.order = old.order
                        self.candidates[c.key] = c
                    continue
                self.order += 1
                c.order = self.order
                self.candidates[c.key] = c
            self.spawn("probe" if c.source == "probe" else "verify", functools.partial(self.check, c))

    def check(self, c: Candidate) -> None:
        probe = Candidate(type=c.type, host=c.host, port=c.port, security=c.security, source=c.source)
        verify(probe, self.dns, self.ctx, self.deadline, self.cancel)
        with self.cond:
            if self.closed:
                return
            target = self.candidates.get(c.key, c)
            target.verified, target.reason, target.code, target.tls, target.ms = (
                probe.verified, probe.reason, probe.code, probe.tls, probe.ms)
            if probe.verified:
                target.auth = probe.auth
        if probe.verified:
            mechs = " ".join(probe.auth) or "no AUTH offered"
            self.emit("check", f"Checking {c.host}:{c.port}… TLS ok ({probe.tls}), AUTH {mechs}",
                      type=c.type, verified=True)
        elif c.source != "probe" or probe.code not in (errors.DNS_FAILED, errors.CONNECT_REFUSED):
            self.emit("check", f"Checking {c.host}:{c.port}… failed: {probe.reason}", type=c.type, verified=False)

    # sources
    def presets(self) -> None:
        p = preset_by_domain(self.domain)
        self.emit("preset", f"Looking up built-in provider settings… {p['label'] if p else 'none for ' + self.domain}")
        if p:
            self.add(preset_candidates(p, "preset", self.domain, self.address, f"built-in settings for {p['label']}"))

    def srv(self) -> None:
        try:
            found = srv_candidates(self.dns, self.domain, self.address, self.deadline, self.not_offered)
        except ConnectorError as exc:
            self.emit("srv", f"Looking up DNS SRV records… failed: {exc.message}")
            raise
        extra = f" ({', '.join(self.not_offered)} not offered)" if self.not_offered else ""
        self.emit("srv", f"Looking up DNS SRV records… found {len(found)}{extra}")
        self.add(found)

    def autoconfig(self, domain: str, source: str, urls: list[tuple[str, str]]) -> None:
        for host, path in urls:
            self.emit("autoconfig", f"Fetching autoconfig from {host}…")
            try:
                data = https_get(self.dns, host, path, self.ctx, self.deadline, self.cancel)
                if data is None:
                    self.emit("autoconfig", f"Fetching autoconfig from {host}… none")
                    continue
                found = parse_clientconfig(data, self.local, self.domain)
            except AutoconfigRefused as exc:
                self.emit("autoconfig", f"Fetching autoconfig from {host}… refused: {exc.message}")
                continue
            except ConnectorError as exc:
                if exc.code == errors.CANCELLED:
                    raise
                self.emit("autoconfig", f"Fetching autoconfig from {host}… none ({exc.message})")
                continue
            for c in found:
                c.source, c.origin = source, f"autoconfig https://{host}{path.split('?')[0]}"
            self.emit("autoconfig", f"Fetching autoconfig from {host}… found {len(found)} servers")
            self.add(found)
            if found:
                return

    def mx(self) -> None:
        try:
            hosts = mx_hosts(self.dns, self.domain, self.deadline)
        except ConnectorError as exc:
            self.emit("mx", f"Looking up MX records… failed: {exc.message}")
            raise
        if not hosts:
            self.emit("mx", "Looking up MX records… none")
            return
        best = hosts[0]
        p = preset_by_mx(best)
        base = base_domain(best)
        if p is None and base != base_domain(self.domain):
            p = preset_by_domain(base)
        if p is not None:
            self.emit("mx", f"Looking up MX records… {best} → {p['label']}")
            self.add(preset_candidates(p, "mx", self.domain, self.address,
                                       f"MX {best} → built-in settings for {p['label']}"))
            return
        self.emit("mx", f"Looking up MX records… {best}")
        if base != base_domain(self.domain):
            self.autoconfig(base, "mx", [(f"autoconfig.{base}",
                                          f"/mail/config-v1.1.xml?emailaddress={quote(self.address, safe='@')}")])

    def probe(self) -> None:
        ports = port_map()
        self.emit("probe", f"Trying the usual server names of {self.domain}…")
        for type_, prefix, port, security in PROBES:
            c = Candidate(type=type_, host=prefix + self.domain, port=ports.get(port, port), security=security,
                          source="probe", origin=f"the usual name and port for {type_.upper()}",
                          username=self.address)
            self.add([c])

    # the whole
    def done(self) -> bool:
        """All work over; or every look-up over with a verified SMTP and IMAP server from a source
        better than probing, and the other checks given GRACE seconds more (a hung backup server
        must not hold the answer until the deadline)."""
        if all(n == 0 for n in self.running.values()):
            return True
        if self.running["lookup"]:
            return False
        found = {c.type for c in self.candidates.values() if c.verified and c.source != "probe"}
        if not {"smtp", "imap"} <= found:
            return False
        if not self.running["verify"]:
            return True  # only probes still running: not needed
        if self.settled_at is None:
            self.settled_at = time.monotonic()
        return time.monotonic() - self.settled_at >= GRACE

    def run(self) -> DiscoveryResult:
        remove = self.outer.on_cancel(self.cancel.cancel)
        try:
            self.spawn("lookup", self.presets)
            self.spawn("lookup", self.srv)
            self.spawn("lookup", lambda: self.autoconfig(self.domain, "autoconfig",
                                                         autoconfig_urls(self.domain, self.address)))
            self.spawn("lookup", self.mx)
            self.spawn("lookup", self.probe)
            with self.cond:
                while not self.done():
                    if self.outer.cancelled:
                        break
                    remaining = self.deadline.remaining()
                    if remaining <= 0:
                        break
                    self.cond.wait(min(remaining, 0.25))
                reached = self.deadline.expired and not self.done()
                self.closed = True  # checks still running can no longer change what is reported
                found = [dataclasses.replace(c, auth=list(c.auth)) for c in self.candidates.values()]
        finally:
            remove()
            self.cancel.cancel()
        self.outer.raise_if_cancelled()
        return self.result(found, reached)

    def result(self, found: list[Candidate], reached: bool) -> DiscoveryResult:
        ports = port_map()
        closed = {ports.get(p, p) for s, _t, _sec, p in SRV_SERVICES if s.split(".")[0].lstrip("_") in self.not_offered}
        keep = []
        for c in found:
            if c.source == "probe" and (not c.verified or c.port in closed):
                continue
            if not c.verified and not c.reason:
                c.reason, c.code = ("Not checked within the deadline." if reached else
                                    "Still being checked when working servers had been found."), errors.TIMEOUT
            keep.append(c)
        keep.sort(key=lambda c: (not c.verified, c.outside_domain, SOURCES.index(c.source), c.type != "smtp",
                                 c.rank, c.security != "tls", c.order))
        verified = sum(c.verified for c in keep)
        self.emit("done", f"Found {counted(verified, ('working server', 'working servers'))} in "
                          f"{self.deadline.elapsed():.1f} s"
                          + (" (deadline reached)" if reached else ""))
        return DiscoveryResult(self.address, keep, sorted(self.not_offered), self.deadline.elapsed() * 1000, reached)


def discover(address: str, deadline_s: float = 10.0, emit: Emit | None = None,
             cancel: CancelToken | None = None, *, ca_file: str | None = None) -> DiscoveryResult:
    """Find and verify SMTP and IMAP settings for ``address`` within ``deadline_s`` seconds.

    ``emit`` receives progress events ``{"stage", "text", "ms"}`` (checks add ``type`` and
    ``verified``) from worker threads; ``cancel`` (Stop)
    ends the run at once with a ``cancelled`` ConnectorError. A bad address is a FieldError naming
    "E-mail address". ``ca_file`` adds trust anchors (internal CAs) for autoconfig and the checks."""
    return _Discovery(address, Deadline(deadline_s), emit or _ignore, cancel or CancelToken(), ca_file).run()


def _ignore(_event: object) -> None:
    pass
