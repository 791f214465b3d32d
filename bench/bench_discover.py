"""Discovery benchmark: how long the wizard waits before its pages are filled.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_discover.py [--runs N] [--no-record]

Against a real DNS server (dnslib) on loopback and the real Postfix/Dovecot of the test harness:
1. an address whose domain publishes SRV records (RFC 6186/8314) for those servers;
2. an address with only an MX record: MX → mx1.provider.test, whose base domain publishes
   autoconfig naming the same servers (Thunderbird's MX path);
3. an address whose MX names Google (preset matched by MX; Google cannot be reached from here:
   the time until the unverified answer is shown);
4. the deadline: the only servers found (by probing) hang; discovery must return at its deadline.
For each: the median time until discover() returns (= the wizard fills its pages) and until the
first SMTP and IMAP servers were verified (progress events). Appends a section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop.core.discover import discover  # noqa: E402
from tests.servers.autoconfig import AutoconfigServer, client_config  # noqa: E402
from tests.servers.certs import TestCA  # noqa: E402
from tests.servers.dns import ZoneServer  # noqa: E402
from tests.servers.mailserver import MailServers, MailUser  # noqa: E402
from tests.servers.scripted import ScriptedServer, hung  # noqa: E402

ADDRESS = "alice@example.test"


def once(ca: TestCA, deadline: float) -> dict[str, float]:
    events: list[Any] = []
    t0 = time.perf_counter()
    result = discover(ADDRESS, deadline, events.append, ca_file=str(ca.ca_file))
    total = (time.perf_counter() - t0) * 1000
    first: dict[str, float] = {}
    for e in events:
        if isinstance(e, dict) and e.get("verified") and e["type"] not in first:
            first[e["type"]] = e["ms"]
    both = max(first.values()) if len(first) == 2 else float("nan")
    return {"total": total, "both_verified": both, "verified": float(sum(c.verified for c in result.candidates))}


def series(fn: Callable[[], dict[str, float]], runs: int) -> dict[str, dict[str, float]]:
    fn()  # warm-up
    values = [fn() for _ in range(runs)]
    out = {}
    for key in values[0]:
        xs = [v[key] for v in values]
        out[key] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}
    return out


def fmt(s: dict[str, float]) -> str:
    if s["median"] != s["median"]:  # NaN
        return "—"
    return f"{s['median']:.1f} ms (min {s['min']:.1f}, max {s['max']:.1f})"


def with_zone(text: str, fn: Callable[[], Any]) -> Any:
    zone = ZoneServer(text).start()
    os.environ["CONNECTOR_DESK_NAMESERVER"] = zone.address
    try:
        return fn()
    finally:
        zone.stop()
        os.environ.pop("CONNECTOR_DESK_NAMESERVER", None)
        os.environ.pop("CONNECTOR_DESK_DISCOVER_PORT_MAP", None)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-discover-"))
    ca = TestCA(work / "ca")
    mail = MailServers(work / "mail", ca, [MailUser(ADDRESS, "bench-password-1")])
    mail.start()
    p = mail.ports
    rows: list[tuple[str, dict[str, dict[str, float]]]] = []
    try:
        srv = (f"_submissions._tcp.example.test. 60 IN SRV 0 1 {p['smtps']} mail.example.test.\n"
               f"_submission._tcp.example.test. 60 IN SRV 0 1 {p['submission']} mail.example.test.\n"
               f"_imaps._tcp.example.test. 60 IN SRV 0 1 {p['imaps']} mail.example.test.\n"
               f"_imap._tcp.example.test. 60 IN SRV 0 1 {p['imap']} mail.example.test.\n"
               "mail.example.test. 60 IN A 127.0.0.1\n")
        rows.append(("SRV records (4 services → real Postfix/Dovecot), deadline 10 s",
                     with_zone(srv, lambda: series(lambda: once(ca, 10.0), args.runs))))

        cert = ca.issue("provider", ["autoconfig.provider.test"])
        xml = client_config([{"type": "imap", "host": "localhost", "port": p["imaps"], "socket": "SSL"},
                             {"type": "smtp", "host": "localhost", "port": p["smtps"], "socket": "SSL"}])
        web = AutoconfigServer(cert, {"/mail/config-v1.1.xml": xml}).start()
        try:
            def mx_only() -> dict[str, dict[str, float]]:
                os.environ["CONNECTOR_DESK_DISCOVER_PORT_MAP"] = f"443={web.port}"
                return series(lambda: once(ca, 10.0), args.runs)
            rows.append(("MX only (MX → provider.test, its autoconfig → real Postfix/Dovecot), deadline 10 s",
                         with_zone("example.test. 60 IN MX 10 mx1.provider.test.\n"
                                   "autoconfig.provider.test. 60 IN A 127.0.0.1\nlocalhost. 60 IN A 127.0.0.1\n",
                                   mx_only)))
        finally:
            web.stop()

        rows.append(("MX → aspmx.l.google.com (preset by MX; Google unreachable here, shown unverified)",
                     with_zone("example.test. 60 IN MX 10 aspmx.l.google.com.\n",
                               lambda: series(lambda: once(ca, 10.0), args.runs))))

        with ScriptedServer(hung) as hang:
            def hanging() -> dict[str, dict[str, float]]:
                os.environ["CONNECTOR_DESK_DISCOVER_PORT_MAP"] = ",".join(
                    f"{port}={hang.port}" for port in (465, 587, 993, 143))
                return series(lambda: once(ca, 3.0), max(3, args.runs // 3))
            rows.append(("Deadline: the only servers found (probing) hang, deadline 3 s",
                         with_zone("mail.example.test. 60 IN A 127.0.0.1\n", hanging)))
    finally:
        mail.stop()

    lines = [f"## Discovery (bench/bench_discover.py), run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"{args.runs} runs each after one warm-up (3 for the deadline row); medians. Real DNS server "
             "(dnslib) and real Postfix/Dovecot on loopback, so network latency is near zero: the numbers are "
             "Connector Desk's own cost (threads, DNS, TLS handshakes, capabilities).", ""]
    for label, s in rows:
        lines.append(f"- {label}: pages filled after **{fmt(s['total'])}**; first SMTP and IMAP verified "
                     f"after {fmt(s['both_verified'])}; {s['verified']['median']:.0f} verified candidates")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_record:
        results = ROOT / "bench" / "RESULTS.md"
        results.write_text(results.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
