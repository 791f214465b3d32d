"""A real OAuth 2.0 / OpenID Connect authorization server on loopback: npm oidc-provider
(tests/servers/oidc-provider, installed by `make test` with `npm ci`). See server.mjs for what it does.

Clients it knows (ids are attributes here):
- ``client_id`` / ``client_secret``: the Kafka client-credentials client (scope ``kafka``);
- ``public_client``: a native public client (no secret), code + PKCE, refresh, device grant;
- ``confidential_client`` / ``confidential_secret``: the same with a secret (client_secret_post);
- ``nomail_client``: a public client that may not have the ``mail`` scope (tokens without it);
- ``norefresh_client``: a public client without the refresh_token grant (no refresh token comes back);
- ``introspect_client`` / ``introspect_secret``: for Dovecot's introspection (client_secret_basic):
  ``introspection_url`` has them in it.
Access tokens are opaque (introspectable), refresh tokens come without prompt=consent and are not
rotated. ``issuer`` is ``http://127.0.0.1:PORT``, or ``https://localhost:PORT<prefix>`` with ``tls``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers.ports import free_port, stop_processes, wait_listening

FOLDER = Path(__file__).resolve().parent / "oidc-provider"
REDIRECTS = ["http://127.0.0.1/", "http://localhost/"]
MAIL_SCOPES = ("openid email profile offline_access mail https://outlook.office.com/SMTP.Send "
               "https://outlook.office.com/IMAP.AccessAsUser.All")
MAIL_GRANTS = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]


@dataclass
class OAuthServer:
    log: Path
    client_id: str = "kafka-client"
    client_secret: str = field(default_factory=lambda: "cs-" + secrets.token_hex(12))
    public_client: str = "mail-public"
    confidential_client: str = "mail-confidential"
    confidential_secret: str = field(default_factory=lambda: "ms-" + secrets.token_hex(12))
    nomail_client: str = "mail-nomail"
    norefresh_client: str = "mail-norefresh"
    introspect_client: str = "dovecot"
    introspect_secret: str = field(default_factory=lambda: "is-" + secrets.token_hex(12))
    tls: tuple[str, str] | None = None  # (cert, key) PEM files: serve https on localhost
    prefix: str = ""  # a path the provider is mounted at (e.g. "/organizations/v2.0")
    rotate: bool = False  # a new refresh token on each use (the used one is then refused)
    port: int = 0
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"https://localhost:{self.port}" if self.tls else f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.base + self.prefix

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def introspection_url(self) -> str:
        """For Dovecot's ``introspection_url`` (client credentials in the URL, client_secret_basic)."""
        scheme, rest = self.issuer.split("://", 1)
        return f"{scheme}://{self.introspect_client}:{self.introspect_secret}@{rest}/token/introspection"

    def clients(self) -> list[dict[str, Any]]:
        native = {"application_type": "native", "redirect_uris": REDIRECTS, "response_types": ["code"],
                  "grant_types": MAIL_GRANTS}
        return [
            {**native, "client_id": self.public_client, "token_endpoint_auth_method": "none",
             "scope": MAIL_SCOPES},
            {**native, "client_id": self.confidential_client, "client_secret": self.confidential_secret,
             "token_endpoint_auth_method": "client_secret_post", "scope": MAIL_SCOPES},
            {**native, "client_id": self.nomail_client, "token_endpoint_auth_method": "none",
             "scope": "openid email profile offline_access"},
            {**native, "client_id": self.norefresh_client, "token_endpoint_auth_method": "none",
             "grant_types": ["authorization_code"], "scope": MAIL_SCOPES},
            {"client_id": self.introspect_client, "client_secret": self.introspect_secret, "grant_types": [],
             "response_types": [], "redirect_uris": [], "token_endpoint_auth_method": "client_secret_basic"},
        ]

    def start(self) -> OAuthServer:
        node = shutil.which("node")
        if not node or not (FOLDER / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("the OAuth test server needs Node.js and `npm ci` in tests/servers/oidc-provider "
                               "(make test does both)")
        self.port = free_port()
        config: dict[str, Any] = {"issuer": self.issuer, "kafka": {"id": self.client_id, "secret": self.client_secret},
                                  "clients": self.clients(), "prefix": self.prefix,
                                  "rotate": self.rotate}
        if self.tls:
            config["tls"] = {"cert": self.tls[0], "key": self.tls[1]}
        path = self.log.with_suffix(".config.json")
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        with open(self.log, "wb") as out:
            self._procs.append(subprocess.Popen([node, "server.mjs", str(self.port), str(path)], cwd=FOLDER,
                                                stdout=out, stderr=subprocess.STDOUT))
        wait_listening(self.port)
        return self

    def stop(self) -> None:
        stop_processes(self._procs)
