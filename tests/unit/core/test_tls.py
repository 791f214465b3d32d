"""Trust anchors of the TLS contexts: the system's store is always trusted (a CA file adds to it),
read lazily from its hashed folder where the system keeps one, and verification is unchanged."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core import tls
from tests.servers import certs
from tests.servers.scripted import Peer, ScriptedServer, server_context


def _quiet(peer: Peer) -> None:
    peer.readline(timeout=5)


def _handshake(ctx: ssl.SSLContext, server: ScriptedServer, host: str = "localhost") -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=host) as s:
        s.sendall(b"bye\r\n")


def _fresh() -> None:
    tls._context.cache_clear()  # contexts are shared per CA file; the system store is read anew


class Stores:
    def __init__(self, root: Path) -> None:
        self.system = certs.TestCA(root / "system-ca", "System Root CA")      # a CA the "system" trusts
        self.internal = certs.TestCA(root / "internal-ca", "Internal CA")  # the user's CA file
        self.stranger = certs.TestCA(root / "stranger-ca", "Stranger CA")  # trusted by no one
        self.folder = root / "certs"
        self.folder.mkdir()
        self.bundle = self.folder / "ca-certificates.crt"
        shutil.copy(self.system.ca_file, self.bundle)
        digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(self.system.ca_file)],
                                capture_output=True, text=True, check=True).stdout.strip()
        (self.folder / f"{digest}.0").symlink_to(self.system.ca_file)

    def server(self, ca: certs.TestCA, stem: str, names: list[str] | None = None) -> ScriptedServer:
        pair = ca.issue(stem, names or ["localhost"])
        return ScriptedServer(_quiet, tls=server_context(str(pair.cert), str(pair.key)))


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stores]:
    """A system trust store as Debian keeps it (bundle file and hashed links in one folder), made
    OpenSSL's default through SSL_CERT_FILE / SSL_CERT_DIR."""
    st = Stores(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(st.bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(st.folder))
    _fresh()
    yield st
    _fresh()


def test_a_ca_file_adds_to_the_system_store(stores: Stores) -> None:
    ctx = tls.make_context(str(stores.internal.ca_file))
    with stores.server(stores.system, "public") as public, stores.server(stores.internal, "inside") as inside:
        _handshake(ctx, public)   # signed by a CA of the system's: still trusted with a CA file given
        _handshake(ctx, inside)   # signed by the CA file's CA


def test_the_system_bundle_is_not_parsed_up_front(stores: Stores) -> None:
    """Loading ~150 system certificates cost 20–30 ms of every check; the folder is read on demand."""
    ctx = tls.make_context(str(stores.internal.ca_file))
    assert ctx.cert_store_stats()["x509_ca"] == 1  # the CA file only; the old code had the bundle too
    with stores.server(stores.system, "public") as public:
        _handshake(ctx, public)
    assert ctx.cert_store_stats()["x509_ca"] == 2  # the system CA, looked up when a chain needed it


def test_unknown_authority_wrong_name_and_old_tls_are_still_refused(stores: Stores) -> None:
    ctx = tls.make_context(str(stores.internal.ca_file))
    assert (ctx.verify_mode, ctx.check_hostname, ctx.minimum_version) == \
        (ssl.CERT_REQUIRED, True, ssl.TLSVersion.TLSv1_2)
    with stores.server(stores.stranger, "stranger") as stranger, \
            stores.server(stores.system, "other-name", ["mail.example.test"]) as other:
        with pytest.raises(ssl.SSLCertVerificationError) as untrusted:
            _handshake(ctx, stranger)
        assert untrusted.value.verify_code == 20  # unable to get local issuer certificate
        with pytest.raises(ssl.SSLCertVerificationError) as wrong_name:
            _handshake(ctx, other)
        assert wrong_name.value.verify_code == 62  # hostname mismatch


def test_a_bundle_kept_apart_from_the_folder_is_loaded_as_before(stores: Stores, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    apart = tmp_path / "elsewhere.pem"
    shutil.copy(stores.system.ca_file, apart)
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    monkeypatch.setenv("SSL_CERT_FILE", str(apart))
    monkeypatch.setenv("SSL_CERT_DIR", str(empty))
    _fresh()
    assert tls.system_cert_folder() is None
    ctx = tls.make_context(str(stores.internal.ca_file))
    assert ctx.cert_store_stats()["x509_ca"] == 2  # the bundle, parsed, plus the CA file
    with stores.server(stores.system, "public") as public:
        _handshake(ctx, public)


def test_without_verification_no_anchor_is_loaded_and_any_certificate_passes(stores: Stores) -> None:
    ctx = tls.make_context(None, verify=False)
    assert ctx.cert_store_stats()["x509_ca"] == 0
    with stores.server(stores.stranger, "stranger") as stranger:
        _handshake(ctx, stranger, host="not-the-name.example")


def test_a_certificates_expiry_day_reads_as_before() -> None:
    from datetime import UTC, datetime
    for text in ("Dec 22 07:50:40 2026 GMT", "Jan  5 00:00:00 2030 GMT", "Feb 29 23:59:59 2028 GMT"):
        old = datetime.fromtimestamp(ssl.cert_time_to_seconds(text), UTC).strftime("%Y-%m-%d")
        assert tls._day(text) == old
