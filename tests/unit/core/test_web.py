"""The web helpers: loopback decided by the resolved address, and the OAuth token fetch never
follows a redirect with the client secret (issue #12, item 12)."""

from __future__ import annotations

import socket
import urllib.error

import pytest

from desktop.core import oauth, web
from desktop.core.errors import ConnectorError, FieldError
from desktop.core.pipeline import Run
from desktop.core.secret import Secret
from tests.servers.sendgrid_standin import StandIn


def _resolving_to(monkeypatch: pytest.MonkeyPatch, name: str, address: str) -> None:
    real = socket.getaddrinfo

    def fake(host, *args, **kw):  # type: ignore[no-untyped-def]
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_localhost_is_loopback_only_when_it_resolves_there(monkeypatch):
    assert web.check_url("http://localhost:8080/", "f") == "http://localhost:8080"
    _resolving_to(monkeypatch, "localhost", "10.1.2.3")
    with pytest.raises(FieldError) as info:
        web.check_url("http://localhost:8080", "settings.api_base")
    assert "settings.api_base" in str(info.value) and "loopback" in str(info.value)


def test_a_name_that_resolves_to_loopback_may_use_http(monkeypatch):
    _resolving_to(monkeypatch, "api.internal.test", "127.0.0.9")
    assert web.check_url("http://api.internal.test", "f") == "http://api.internal.test"
    for url in ("http://10.0.0.1", "http://[::ffff:10.0.0.1]", "http://no-such-host.invalid"):
        with pytest.raises(FieldError):
            web.check_url(url, "f")
    assert web.check_url("http://[::1]:9", "f") and web.check_url("http://127.5.6.7", "f")


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent; the kernel picks the outgoing address
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if web.is_loopback(address) else address


def test_plain_http_to_a_non_loopback_peer_is_refused_on_the_socket():
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    with socket.socket() as listener:
        listener.bind((address, 0))
        listener.listen()
        with pytest.raises(urllib.error.URLError) as info:
            web.opener().open(f"http://{address}:{listener.getsockname()[1]}/", timeout=2)
    assert isinstance(info.value.reason, web.NotLoopback)


@pytest.fixture
def token_redirect(certs):  # type: ignore[no-untyped-def]
    """An https token endpoint (test CA) answering 302 to a plain-http one that records what reaches it."""
    target = StandIn()
    target.start()
    hostile = StandIn(redirect=f"{target.base}/token")
    hostile.start(tls=certs.good)
    yield hostile, target
    hostile.stop()
    target.stop()


def test_the_token_fetch_does_not_follow_a_redirect(certs, token_redirect):
    hostile, target = token_redirect
    secret = Secret("cs-" + "s3cret" * 4)
    with pytest.raises(ConnectorError) as info:
        oauth.client_credentials(Run(5), f"{hostile.base}/token", "kafka-client", secret,
                                 ca_file=str(certs.ca.ca_file))
    err = info.value
    assert err.code == "protocol_error" and f"“{target.base}/token”" in err.message and "302" in err.message
    assert len(hostile.requests) == 1 and hostile.requests[0]["headers"]["Authorization"].startswith("Basic ")
    assert target.requests == []  # the client secret went nowhere else


def test_a_redirect_to_https_is_not_followed_either(certs, token_redirect):
    hostile, target = token_redirect
    hostile.redirect = "https://idp.example.test/oauth2/token"
    with pytest.raises(ConnectorError) as info:
        oauth.client_credentials(Run(5), f"{hostile.base}/token", "kafka-client", Secret("cs-" + "x" * 20),
                                 ca_file=str(certs.ca.ca_file))
    assert "“https://idp.example.test/oauth2/token”" in info.value.message
