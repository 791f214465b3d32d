"""A real OAuth 2.0 authorization server on loopback: npm oidc-provider (tests/servers/oidc-provider,
installed by `make test` with `npm ci`), with one client allowed the client-credentials grant."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.ports import free_port, stop_processes, wait_listening

FOLDER = Path(__file__).resolve().parent / "oidc-provider"


@dataclass
class OAuthServer:
    log: Path
    client_id: str = "kafka-client"
    client_secret: str = field(default_factory=lambda: "cs-" + secrets.token_hex(12))
    port: int = 0
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def token_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def start(self) -> OAuthServer:
        node = shutil.which("node")
        if not node or not (FOLDER / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("the OAuth test server needs Node.js and `npm ci` in tests/servers/oidc-provider "
                               "(make test does both)")
        self.port = free_port()
        with open(self.log, "wb") as out:
            self._procs.append(subprocess.Popen([node, "server.mjs", str(self.port), self.client_id,
                                                 self.client_secret], cwd=FOLDER, stdout=out,
                                                stderr=subprocess.STDOUT))
        wait_listening(self.port)
        return self

    def stop(self) -> None:
        stop_processes(self._procs)
