"""OAuth mail end to end, once the token side is in the tree (it is skipped until then): a sign-in
through the test "system browser" at the real oidc-provider (tests/servers/oauth.py, server.mjs)
gives a refresh token; the SMTP and IMAP checks refresh it with ``desktop.core.oauth_flow`` (the step
"token") and sign in with XOAUTH2 and OAUTHBEARER at real Postfix + Dovecot, whose oauth2 passdb
introspects the access token at that same provider. A test message goes through and arrives."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

oauth_signin = pytest.importorskip("desktop.core.oauth_signin")
oauth_browser = pytest.importorskip("tests.servers.oauth_browser")

from desktop.connectors import registry  # noqa: E402 - after the skip
from desktop.core.model import parse_document  # noqa: E402
from desktop.core.pipeline import Run, execute  # noqa: E402
from desktop.core.secret import Secret  # noqa: E402
from desktop.core.service import Desk  # noqa: E402
from tests import leaks  # noqa: E402
from tests.conftest import Certs  # noqa: E402
from tests.servers.mailserver import MailServers, MailUser, OAuthIntrospection  # noqa: E402

DANA = "dana@example.test"


@pytest.fixture(scope="module")
def signed_in_mail(tmp_path_factory: pytest.TempPathFactory, oauth_server: Any,
                   certs: Certs) -> Iterator[tuple[MailServers, dict[str, Any], Secret]]:
    """Dovecot/Postfix introspecting at ``oauth_server``, and dana's refresh token from a real sign-in."""
    folder = tmp_path_factory.mktemp("oauth-e2e")
    settings = {"oauth_provider": "oidc", "oauth_issuer": oauth_server.issuer,
                "oauth_client_id": oauth_server.public_client,
                "oauth_scopes": ["openid", "email", "offline_access", "mail"]}
    program = oauth_browser.install(folder)
    env = {"BROWSER": str(program), "OAUTH_BROWSER_MODE": "approve", "OAUTH_BROWSER_LOGIN": DANA,
           "OAUTH_BROWSER_LOG": str(folder / "browser.jsonl")}
    procs: list[subprocess.Popen[bytes]] = []
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        got: list[Any] = []
        result = execute("mail", "smtp", "sign-in", Run(30), lambda run: got.append(oauth_signin.sign_in(
            run, settings, {}, lambda url: procs.append(subprocess.Popen([str(program), url])))))
        for p in procs:
            p.wait(20)
    assert result.ok, result.error
    refresh = got[0].refresh_token
    assert refresh is not None
    introspection = OAuthIntrospection(f"{oauth_server.issuer}/token/introspection",
                                       oauth_server.introspect_client, oauth_server.introspect_secret)
    servers = MailServers(folder / "mail", certs.ca, [MailUser(DANA, "dana-" + secrets.token_hex(8))],
                          oauth=introspection)
    servers.start()
    yield servers, settings, refresh
    servers.stop()


def _conn(kind: str, servers: MailServers, settings: dict[str, Any], certs: Certs, mechanism: str) -> Any:
    port = servers.ports["submission" if kind == "smtp" else "imap"]
    extra = {"from_address": DANA} if kind == "smtp" else {"mailbox": "INBOX"}
    doc = {"name": f"{kind}-e2e", "type": kind,
           "settings": {"host": servers.REMOTE, "port": port, "security": "starttls", "auth": "oauth2",
                        "username": DANA, "ca_file": str(certs.ca.ca_file), "timeout_s": 10,
                        "oauth_mechanism": mechanism, **settings, **extra}}
    conn, _refs = parse_document(doc, registry())
    return conn


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_signed_in_connectors_validate_and_send(signed_in_mail, certs, app_home, mechanism):
    servers, settings, refresh = signed_in_mail
    desk = Desk(registry(), app_home)
    secrets_ = {"oauth_refresh_token": refresh}
    for kind in ("smtp", "imap"):
        conn = _conn(kind, servers, settings, certs, mechanism)
        result = desk.validate(conn, secrets_)
        assert result.ok, result.error
        names = [s.name for s in result.steps]
        assert names[names.index("mechanism"):names.index("authenticate") + 1] == \
            ["mechanism", "token", "authenticate"]
        assert any(line.endswith(f"AUTHENTICATE {mechanism} ********") or line == f"C: AUTH {mechanism} ********"
                   for line in result.transcript)
        assert not leaks.leaked(str(result.to_dict()).encode(), refresh.reveal())
    sent = desk.test_send(_conn("smtp", servers, settings, certs, mechanism), secrets_, DANA)
    assert sent.ok, sent.error
    servers.wait_for_mail(DANA, lambda m: m["X-Connector-Desk-Test"] == sent.info["tag"])


def test_a_revoked_sign_in_is_refused_by_the_token_side_before_the_server(signed_in_mail, certs, app_home):
    servers, settings, _refresh = signed_in_mail
    result = Desk(registry(), app_home).validate(_conn("imap", servers, settings, certs, "XOAUTH2"),
                                                 {"oauth_refresh_token": Secret("not-a-refresh-token")})
    assert result.error.code == "oauth_sign_in_required" and result.error.step == "token"
    assert "authenticate" not in [s.name for s in result.steps]
