"""Discovery against real things: a real DNS server (dnslib) on a loopback port serving
example.test zones, an https autoconfig server with the test CA, and the harness's real
Postfix/Dovecot as the servers found. Hostile: a 50 MB autoconfig file, XML entity expansion, a
DNS server that never answers, a probe target that hangs — each within the deadline — and
scripted servers that prove discovery never sends a credential."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from desktop.core import errors
from desktop.core.deadline import CancelToken
from desktop.core.discover import Candidate, DiscoveryResult, discover
from desktop.core.errors import ConnectorError, InputErrors
from tests.conftest import ROOT, Certs
from tests.servers.autoconfig import BILLION_LAUGHS, FIFTY_MB, AutoconfigServer, client_config
from tests.servers.dns import SilentDns, ZoneServer
from tests.servers.mailserver import MailServers
from tests.servers.scripted import Peer, ScriptedServer, hung, server_context

ADDRESS = "alice@example.test"
DEADLINE = 8.0
SLACK = 1.5  # what the deadline may be overrun by on this loaded machine (threads, GC)


def srv_zone(mail: MailServers, target: str = "mail.example.test.") -> str:
    p = mail.ports
    return f"""
_submissions._tcp.example.test. 60 IN SRV 0 1 {p['smtps']} {target}
_submission._tcp.example.test.  60 IN SRV 0 1 {p['submission']} {target}
_imaps._tcp.example.test.       60 IN SRV 0 1 {p['imaps']} {target}
_imap._tcp.example.test.        60 IN SRV 0 1 {p['imap']} {target}
mail.example.test.              60 IN A 127.0.0.1
localhost.                      60 IN A 127.0.0.1
"""


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], ZoneServer]]:
    """Start a DNS server for a zone and point CONNECTOR_DESK_NAMESERVER at it."""
    started: list[ZoneServer] = []

    def start(text: str) -> ZoneServer:
        server = ZoneServer(text).start()
        started.append(server)
        monkeypatch.setenv("CONNECTOR_DESK_NAMESERVER", server.address)
        return server

    monkeypatch.delenv("CONNECTOR_DESK_DISCOVER_PORT_MAP", raising=False)
    yield start
    for s in started:
        s.stop()


@pytest.fixture
def autoconfig_cert(certs: Certs) -> Any:
    return certs.ca.issue("autoconfig", ["autoconfig.example.test", "example.test"])


def run(certs: Certs, address: str = ADDRESS, deadline: float = DEADLINE,
        events: list[str] | None = None, cancel: CancelToken | None = None) -> DiscoveryResult:
    seen = events if events is not None else []
    return discover(address, deadline, lambda e: seen.append(e["text"]), cancel,  # type: ignore[index]
                    ca_file=str(certs.ca.ca_file))


def of(result: DiscoveryResult, type_: str, port: int) -> Candidate:
    found = [c for c in result.candidates if c.type == type_ and c.port == port]
    assert found, f"no {type_} candidate on port {port}: {[c.to_dict() for c in result.candidates]}"
    return found[0]


def test_srv_only_finds_the_real_postfix_and_dovecot_verified(zone: Any, mail: MailServers, certs: Certs) -> None:
    zone(srv_zone(mail))
    events: list[str] = []
    started = time.monotonic()
    result = run(certs, events=events)
    assert time.monotonic() - started < DEADLINE
    assert not result.deadline_reached
    for type_, port, security in (("smtp", mail.ports["smtps"], "tls"), ("smtp", mail.ports["submission"], "starttls"),
                                  ("imap", mail.ports["imaps"], "tls"), ("imap", mail.ports["imap"], "starttls")):
        c = of(result, type_, port)
        assert (c.source, c.host, c.security, c.verified, c.outside_domain) == \
            ("srv", "mail.example.test", security, True, False), c.to_dict()
        assert "PLAIN" in c.auth  # the mechanisms Postfix/Dovecot offer once encrypted
        assert c.tls.startswith("TLSv1.")
        assert c.settings()["username"] == ADDRESS
    # Best first: verified SMTP and IMAP at the top; implicit TLS before STARTTLS (RFC 8314).
    assert result.best("smtp") is not None and result.best("smtp").security == "tls"  # type: ignore[union-attr]
    assert result.best("imap") is not None and result.best("imap").port == mail.ports["imaps"]  # type: ignore[union-attr]
    assert "Looking up DNS SRV records… found 4" in events
    assert any(e.startswith(f"Checking mail.example.test:{mail.ports['smtps']}… TLS ok") for e in events)


def test_srv_priority_orders_candidates_and_a_dead_target_is_not_verified(
        zone: Any, mail: MailServers, certs: Certs) -> None:
    dead_port = 1  # nothing listens there (and, below the ephemeral range, no client socket can be it)
    zone(srv_zone(mail) + f"_imaps._tcp.example.test. 60 IN SRV 10 1 {dead_port} mail.example.test.\n"
         f"_imaps._tcp.example.test. 60 IN SRV 5 1 {mail.ports['imaps']} localhost.\n")
    result = run(certs)
    imaps = [c for c in result.candidates if c.type == "imap" and c.security == "tls" and c.source == "srv"]
    # Verified and inside the domain first, then the flagged one, then the one that did not answer.
    assert [(c.rank[0], c.host, c.verified) for c in imaps] == \
        [(0, "mail.example.test", True), (5, "localhost", True), (10, "mail.example.test", False)]
    dead_c = of(result, "imap", dead_port)
    assert dead_c.code == errors.CONNECT_REFUSED and dead_c.reason


def test_a_hung_backup_server_does_not_hold_the_answer_until_the_deadline(
        zone: Any, mail: MailServers, certs: Certs) -> None:
    with ScriptedServer(hung) as hang:
        zone(srv_zone(mail) + f"_imaps._tcp.example.test. 60 IN SRV 10 1 {hang.port} mail.example.test.\n")
        started = time.monotonic()
        result = run(certs, deadline=DEADLINE)
        took = time.monotonic() - started
    assert took < 4.0  # the working SMTP and IMAP servers were known after well under a second
    assert result.best("smtp") is not None and result.best("imap") is not None
    backup = of(result, "imap", hang.port)
    assert not backup.verified and backup.reason == "Still being checked when working servers had been found."


def test_srv_outside_the_domain_is_flagged_but_still_checked(zone: Any, mail: MailServers, certs: Certs) -> None:
    zone(srv_zone(mail, target="localhost."))
    result = run(certs)
    c = of(result, "smtp", mail.ports["submission"])
    assert c.verified and c.outside_domain and c.host == "localhost"
    assert "localhost is outside example.test" in c.warning and "password" in c.warning
    d = c.to_dict()
    assert d["outside_domain"] is True and d["warning"] == c.warning


def test_srv_dot_target_means_not_offered(zone: Any, mail: MailServers, certs: Certs) -> None:
    zone(f"""
_submissions._tcp.example.test. 60 IN SRV 0 0 0 .
_imaps._tcp.example.test.       60 IN SRV 0 0 0 .
_submission._tcp.example.test.  60 IN SRV 0 1 {mail.ports['submission']} mail.example.test.
_imap._tcp.example.test.        60 IN SRV 0 1 {mail.ports['imap']} mail.example.test.
mail.example.test.              60 IN A 127.0.0.1
""")
    events: list[str] = []
    result = run(certs, events=events)
    assert result.not_offered == ["imaps", "submissions"]
    assert {(c.type, c.security) for c in result.candidates if c.source == "srv"} == \
        {("smtp", "starttls"), ("imap", "starttls")}
    assert all(c.verified for c in result.candidates if c.source == "srv")
    assert any("(submissions, imaps not offered)" in e for e in events)


def test_mx_to_google_matches_the_preset_by_mx(zone: Any, certs: Certs) -> None:
    zone("example.test. 60 IN MX 10 aspmx.l.google.com.\nexample.test. 60 IN MX 20 alt1.aspmx.l.google.com.\n")
    events: list[str] = []
    result = run(certs, events=events)
    hosts = {(c.type, c.host, c.port) for c in result.candidates if c.source == "mx"}
    assert hosts == {("smtp", "smtp.gmail.com", 465), ("smtp", "smtp.gmail.com", 587), ("imap", "imap.gmail.com", 993)}
    for c in result.candidates:
        # Google cannot be reached from here: not verified, and the reason says why.
        assert not c.verified and c.code == errors.DNS_FAILED and c.host in c.reason
        assert c.provider.startswith("Google") and c.oauth_provider == "google"
        assert c.settings()["auth"] == "oauth2" and c.settings()["oauth_provider"] == "google"
    assert "Looking up MX records… aspmx.l.google.com → Google (Gmail / Google Workspace)" in events


def test_mx_to_microsoft_365_chooses_oauth_with_the_tenant_from_the_domain(zone: Any, certs: Certs) -> None:
    zone("example.test. 60 IN MX 0 example-test.mail.protection.outlook.com.\n")
    result = run(certs)
    smtp = of(result, "smtp", 587)
    assert (smtp.source, smtp.host, smtp.provider) == ("mx", "smtp.office365.com", "Microsoft 365 (Exchange Online)")
    assert smtp.settings()["oauth_provider"] == "microsoft" and smtp.settings()["oauth_tenant"] == "example.test"


def test_preset_by_domain_needs_no_dns(zone: Any, certs: Certs) -> None:
    zone("")
    result = run(certs, address="someone@gmail.com")
    assert {c.source for c in result.candidates} == {"preset"}
    assert of(result, "imap", 993).host == "imap.gmail.com"


def test_autoconfig_only(zone: Any, mail: MailServers, certs: Certs, autoconfig_cert: Any,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    xml = client_config([
        {"type": "imap", "host": "mail.%EMAILDOMAIN%", "port": mail.ports["imaps"], "socket": "SSL",
         "auth": ["password-cleartext", "OAuth2"]},
        {"type": "smtp", "host": "mail.example.test", "port": mail.ports["submission"], "socket": "STARTTLS"},
    ])
    web = AutoconfigServer(autoconfig_cert, {"/mail/config-v1.1.xml": xml}).start()
    try:
        monkeypatch.setenv("CONNECTOR_DESK_DISCOVER_PORT_MAP", f"443={web.port}")
        dns = zone("autoconfig.example.test. 60 IN A 127.0.0.1\nmail.example.test. 60 IN A 127.0.0.1\n")
        result = run(certs)
    finally:
        web.stop()
    assert web.requests == ["/mail/config-v1.1.xml?emailaddress=alice@example.test"]
    imap, smtp = of(result, "imap", mail.ports["imaps"]), of(result, "smtp", mail.ports["submission"])
    for c in (imap, smtp):
        assert (c.source, c.host, c.verified, c.outside_domain, c.username) == \
            ("autoconfig", "mail.example.test", True, False, ADDRESS)
        assert c.provider == "Example Test Mail"
    assert smtp.security == "starttls" and imap.security == "tls"
    assert ("_submissions._tcp.example.test", "SRV") in dns.queries  # the other look-ups ran too


def test_mx_only_finds_the_providers_autoconfig(zone: Any, mail: MailServers, certs: Certs,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """MX → mx1.provider.test: the provider's base domain (provider.test) publishes autoconfig."""
    cert = certs.ca.issue("provider", ["autoconfig.provider.test"])
    xml = client_config([{"type": "imap", "host": "localhost", "port": mail.ports["imaps"], "socket": "SSL"},
                         {"type": "smtp", "host": "localhost", "port": mail.ports["smtps"], "socket": "SSL"}])
    web = AutoconfigServer(cert, {"/mail/config-v1.1.xml": xml}).start()
    try:
        monkeypatch.setenv("CONNECTOR_DESK_DISCOVER_PORT_MAP", f"443={web.port}")
        zone("example.test. 60 IN MX 10 mx1.provider.test.\nautoconfig.provider.test. 60 IN A 127.0.0.1\n"
             "localhost. 60 IN A 127.0.0.1\n")
        events: list[str] = []
        result = run(certs, events=events)
    finally:
        web.stop()
    assert web.requests == ["/mail/config-v1.1.xml?emailaddress=alice@example.test"]
    for c in (of(result, "imap", mail.ports["imaps"]), of(result, "smtp", mail.ports["smtps"])):
        assert (c.source, c.host, c.verified) == ("mx", "localhost", True)
        assert c.origin == "autoconfig https://autoconfig.provider.test/mail/config-v1.1.xml"
    assert "Looking up MX records… mx1.provider.test" in events


def test_an_autoconfig_server_without_a_trusted_certificate_is_not_believed(
        zone: Any, mail: MailServers, certs: Certs, monkeypatch: pytest.MonkeyPatch) -> None:
    forged = certs.ca.self_signed("forged-autoconfig", "autoconfig.example.test")
    xml = client_config([{"type": "imap", "host": "localhost", "port": mail.ports["imaps"], "socket": "SSL"}])
    web = AutoconfigServer(forged, {"/mail/config-v1.1.xml": xml}).start()
    try:
        monkeypatch.setenv("CONNECTOR_DESK_DISCOVER_PORT_MAP", f"443={web.port}")
        zone("autoconfig.example.test. 60 IN A 127.0.0.1\nlocalhost. 60 IN A 127.0.0.1\n")
        events: list[str] = []
        result = run(certs, events=events)
    finally:
        web.stop()
    assert result.candidates == []
    assert any(e.startswith("Fetching autoconfig from autoconfig.example.test… none (The certificate of "
                            "autoconfig.example.test is not signed by an authority") for e in events), events


def test_nothing_at_all(zone: Any, certs: Certs) -> None:
    zone("")
    started = time.monotonic()
    result = run(certs)
    assert result.candidates == [] and not result.ok
    assert time.monotonic() - started < 3.0  # NXDOMAIN everywhere: no need to wait for the deadline


# -- hostile -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["huge", "huge-unsized"])
def test_a_50_mb_autoconfig_file_is_refused_fast(zone: Any, certs: Certs, autoconfig_cert: Any,
                                                 monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    web = AutoconfigServer(autoconfig_cert, {"/mail/config-v1.1.xml": kind}).start()
    try:
        monkeypatch.setenv("CONNECTOR_DESK_DISCOVER_PORT_MAP", f"443={web.port}")
        zone("autoconfig.example.test. 60 IN A 127.0.0.1\n")
        events: list[str] = []
        started = time.monotonic()
        result = run(certs, events=events)
        took = time.monotonic() - started
    finally:
        web.stop()
    assert took < 3.0
    assert result.candidates == []
    assert any("autoconfig.example.test… refused" in e and "1,048,576" in e for e in events), events
    assert web.sent < FIFTY_MB / 5  # the client stopped reading long before the end


def test_xml_entity_expansion_is_refused(zone: Any, certs: Certs, autoconfig_cert: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    web = AutoconfigServer(autoconfig_cert, {"/.well-known/autoconfig/mail/config-v1.1.xml": BILLION_LAUGHS}).start()
    try:
        monkeypatch.setenv("CONNECTOR_DESK_DISCOVER_PORT_MAP", f"443={web.port}")
        zone("autoconfig.example.test. 60 IN A 127.0.0.1\nexample.test. 60 IN A 127.0.0.1\n"
             "mail.example.test. 60 IN A 127.0.0.1\n")
        events: list[str] = []
        started = time.monotonic()
        result = run(certs, events=events)
    finally:
        web.stop()
    assert time.monotonic() - started < 3.0
    assert [c for c in result.candidates if c.source == "autoconfig"] == []
    assert any("example.test… refused" in e and "entities and DTDs are never expanded" in e for e in events), events


def test_a_dns_server_that_never_answers_keeps_the_deadline(monkeypatch: pytest.MonkeyPatch, certs: Certs) -> None:
    silent = SilentDns()
    monkeypatch.setenv("CONNECTOR_DESK_NAMESERVER", silent.address)
    try:
        events: list[str] = []
        started = time.monotonic()
        result = run(certs, deadline=2.0, events=events)
        took = time.monotonic() - started
    finally:
        silent.stop()
    assert 1.5 < took < 2.0 + SLACK  # every look-up waited for an answer, none past the deadline
    assert result.candidates == []
    assert any(e.startswith("Looking up DNS SRV records… failed: The DNS server did not answer") for e in events)


def test_a_probe_target_that_hangs_keeps_the_deadline(zone: Any, monkeypatch: pytest.MonkeyPatch,
                                                      certs: Certs) -> None:
    with ScriptedServer(hung) as plain_hang, ScriptedServer(hung) as tls_hang:
        monkeypatch.setenv("CONNECTOR_DESK_DISCOVER_PORT_MAP",
                           f"465={tls_hang.port},993={tls_hang.port},587={plain_hang.port},143={plain_hang.port}")
        zone("mail.example.test. 60 IN A 127.0.0.1\n")
        events: list[str] = []
        started = time.monotonic()
        result = run(certs, deadline=2.0, events=events)
        took = time.monotonic() - started
        assert plain_hang.connections >= 1 and tls_hang.connections >= 1  # the probes did reach them
    assert took < 2.0 + SLACK
    assert result.deadline_reached and result.candidates == []
    time.sleep(0.5)  # the checks cut off at the deadline end now; what they say is no longer shown
    assert events[-1].startswith("Found 0 working servers in 2.0 s (deadline reached)"), events


def test_probing_finds_the_usual_names(zone: Any, mail: MailServers, monkeypatch: pytest.MonkeyPatch,
                                       certs: Certs) -> None:
    monkeypatch.setenv("CONNECTOR_DESK_DISCOVER_PORT_MAP",
                       f"465={mail.ports['smtps']},587={mail.ports['submission']},993={mail.ports['imaps']},"
                       f"143={mail.ports['imap']}")
    zone("mail.example.test. 60 IN A 127.0.0.1\n")
    result = run(certs)
    assert result.candidates and {c.source for c in result.candidates} == {"probe"}
    assert all(c.verified and c.host == "mail.example.test" for c in result.candidates)
    assert {c.type for c in result.candidates} == {"smtp", "imap"}


def test_stop_ends_discovery_at_once(zone: Any, monkeypatch: pytest.MonkeyPatch, certs: Certs) -> None:
    with ScriptedServer(hung) as hang:
        monkeypatch.setenv("CONNECTOR_DESK_DISCOVER_PORT_MAP", f"993={hang.port}")
        zone("mail.example.test. 60 IN A 127.0.0.1\n")
        cancel = CancelToken()
        threading.Timer(0.5, cancel.cancel).start()
        started = time.monotonic()
        with pytest.raises(ConnectorError) as info:
            run(certs, deadline=20.0, cancel=cancel)
        assert info.value.code == errors.CANCELLED
        assert time.monotonic() - started < 1.5


def test_a_bad_address_names_the_field(certs: Certs) -> None:
    for bad in ("alice", "alice@", "@example.test", "al ice@example.test", "alice@exa mple.test", "alice@localhost"):
        with pytest.raises(InputErrors) as info:
            run(certs, address=bad)
        assert list(info.value.fields) == ["E-mail address"]


# -- no credential is ever sent ----------------------------------------------------------------
def _smtp_server(tls_ctx: Any, implicit: bool) -> Callable[[Peer], None]:
    def handle(peer: Peer) -> None:
        peer.send("220 mx.example.test ESMTP")
        while (line := peer.readline(10)) is not None:
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                starttls = "" if implicit or peer.tls else "250-STARTTLS\r\n"
                peer.send(f"250-mx.example.test\r\n{starttls}250-AUTH PLAIN LOGIN XOAUTH2\r\n250 8BITMIME".encode()
                          + b"\r\n")
            elif verb == "STARTTLS":
                peer.send("220 go ahead")
                if not peer.starttls(tls_ctx):
                    return
            elif verb == "QUIT":
                peer.send("221 bye")
                return
            else:
                peer.send("250 ok")
    return handle


def _imap_server(tls_ctx: Any) -> Callable[[Peer], None]:
    def handle(peer: Peer) -> None:
        peer.send("* OK IMAP4rev1 ready")
        while (line := peer.readline(10)) is not None:
            tag, _, rest = line.partition(" ")
            verb = rest.split(" ")[0].upper()
            if verb == "CAPABILITY":
                extra = "" if peer.tls else " STARTTLS"
                peer.send(f"* CAPABILITY IMAP4rev1{extra} AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER")
                peer.send(f"{tag} OK done")
            elif verb == "STARTTLS":
                peer.send(f"{tag} OK begin TLS")
                if not peer.starttls(tls_ctx):
                    return
            elif verb == "LOGOUT":
                peer.send("* BYE")
                peer.send(f"{tag} OK bye")
                return
            else:
                peer.send(f"{tag} OK")
    return handle


def test_no_credential_is_sent_during_discovery(zone: Any, certs: Certs) -> None:
    ctx = server_context(str(certs.good.cert), str(certs.good.key))
    servers = {"smtps": ScriptedServer(_smtp_server(ctx, True), tls=ctx),
               "submission": ScriptedServer(_smtp_server(ctx, False)),
               "imaps": ScriptedServer(_imap_server(ctx), tls=ctx),
               "imap": ScriptedServer(_imap_server(ctx))}
    try:
        p = {k: s.port for k, s in servers.items()}
        zone(f"""
_submissions._tcp.example.test. 60 IN SRV 0 1 {p['smtps']} localhost.
_submission._tcp.example.test.  60 IN SRV 0 1 {p['submission']} localhost.
_imaps._tcp.example.test.       60 IN SRV 0 1 {p['imaps']} localhost.
_imap._tcp.example.test.        60 IN SRV 0 1 {p['imap']} localhost.
localhost.                      60 IN A 127.0.0.1
""")
        result = run(certs)
    finally:
        for s in servers.values():
            s.stop()
    assert all(c.verified for c in result.candidates), [c.to_dict() for c in result.candidates]
    assert len(result.candidates) == 4
    assert of(result, "imap", p["imaps"]).auth == ["PLAIN", "XOAUTH2", "OAUTHBEARER"]
    assert of(result, "smtp", p["smtps"]).auth == ["PLAIN", "LOGIN", "XOAUTH2"]
    for name, server in servers.items():
        lines = [ln for ln in server.received.decode("utf-8", "replace").split("\r\n") if ln]
        verbs = {ln.split(" ")[0].upper() for ln in lines} if "smtp" in name or "submission" in name else \
            {ln.split(" ")[1].upper() for ln in lines}
        allowed = {"EHLO", "STARTTLS", "QUIT"} if name in ("smtps", "submission") else \
            {"CAPABILITY", "STARTTLS", "LOGOUT"}
        assert verbs <= allowed, (name, lines)
        assert server.connections == 1
        assert b"alice" not in server.received and b"AUTH" not in server.received.upper()


# -- the command line --------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "desktop", "discover", *args], capture_output=True, text=True,
                          env=env, timeout=60, cwd=str(ROOT))


def test_cli_discover_json(zone: Any, mail: MailServers, certs: Certs) -> None:
    zone(srv_zone(mail))
    out = _cli(ADDRESS, "--json", "--timeout", "8", "--ca-file", str(certs.ca.ca_file))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["address"] == ADDRESS
    first = data["candidates"][0]
    assert {"type", "host", "port", "security", "auth", "source", "verified"} <= set(first)
    assert first["verified"] is True and first["source"] == "srv" and first["host"] == "mail.example.test"
    assert {c["type"] for c in data["candidates"] if c["verified"]} == {"smtp", "imap"}


def test_cli_discover_exit_codes(zone: Any, certs: Certs, monkeypatch: pytest.MonkeyPatch) -> None:
    zone("")
    nothing = _cli(ADDRESS, "--timeout", "3")
    assert nothing.returncode == 1 and "No mail servers were found" in nothing.stdout
    bad = _cli("not-an-address", "--json")
    assert bad.returncode == 2
    fields = json.loads(bad.stdout)["error"]["fields"]
    assert fields == {"E-mail address": "is not an e-mail address (name@example.com)"}
    monkeypatch.setenv("CONNECTOR_DESK_NAMESERVER", "127.0.0.1:99999")
    bad_env = _cli(ADDRESS)
    assert bad_env.returncode == 2
    assert bad_env.stderr.startswith("error: CONNECTOR_DESK_NAMESERVER: port 99999 is out of range")


def test_cli_text_shows_progress_and_warnings(zone: Any, mail: MailServers, certs: Certs) -> None:
    zone(srv_zone(mail, target="localhost."))
    out = _cli(ADDRESS, "--timeout", "8", "--ca-file", str(certs.ca.ca_file))
    assert out.returncode == 0, out.stderr
    assert "Looking up DNS SRV records… found 4" in out.stdout
    assert "warning: localhost is outside example.test" in out.stdout

