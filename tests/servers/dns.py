"""A real authoritative DNS server on a loopback port (PyPI dnslib), serving one zone given as
zone-file text, and a "DNS server" that never answers. Used through CONNECTOR_DESK_NAMESERVER.

The zone answers exactly what it holds: a name it does not hold is NXDOMAIN, a name it holds
without the asked type is an empty NOERROR answer (as an authoritative server does).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from dnslib import QTYPE, RCODE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class ZoneResolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, zone: str) -> None:
        self.records = RR.fromZone(zone)
        self.queries: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        qname, qtype = request.q.qname, QTYPE[request.q.qtype]
        with self._lock:
            self.queries.append((str(qname).rstrip("."), qtype))
        held = [rr for rr in self.records if rr.rname == qname]
        for rr in held:
            if qtype in ("ANY", QTYPE[rr.rtype]):
                reply.add_answer(rr)
        if not held:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class ZoneServer:
    """``ZoneServer(zone_text).start()``; ``.address`` is the CONNECTOR_DESK_NAMESERVER value."""

    def __init__(self, zone: str) -> None:
        self.resolver = ZoneResolver(zone)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data,-log", prefix=False)
        for _attempt in range(20):  # a UDP port whose TCP twin is free too
            self.udp = DNSServer(self.resolver, address="127.0.0.1", port=0, logger=quiet)
            self.port = int(self.udp.server.server_address[1])
            try:
                self.tcp = DNSServer(self.resolver, address="127.0.0.1", port=self.port, tcp=True, logger=quiet)
                break
            except OSError:
                self.udp.server.server_close()
        else:
            raise RuntimeError("no free port pair for the DNS test server")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def queries(self) -> list[tuple[str, str]]:
        return list(self.resolver.queries)

    def start(self) -> ZoneServer:
        self.udp.start_thread()
        self.tcp.start_thread()
        return self

    def stop(self) -> None:
        for s in (self.udp, self.tcp):
            s.server.shutdown()
            s.server.server_close()


class SilentDns:
    """A UDP (and TCP) port that takes DNS queries and never answers."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = int(self.udp.getsockname()[1])
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.udp.close()
        self.tcp.close()
