"""Shared fixtures: a private app folder per test, a test CA, real Postfix + Dovecot, and the
connector helpers. The suite runs inside a D-Bus session with gnome-keyring (tests/run_suite.py)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers.certs import CertPair, TestCA
from tests.servers.mailserver import MailServers, MailUser

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if f"{os.sep}gui{os.sep}" in path:
            item.add_marker(pytest.mark.gui)
        if f"{os.sep}integration{os.sep}" in path:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "app-home"
    home.mkdir()
    monkeypatch.setenv("CONNECTOR_DESK_HOME", str(home))
    return home


@dataclass
class Certs:
    ca: TestCA
    good: CertPair
    expired: CertPair
    wrong_name: CertPair
    self_signed: CertPair


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    ca = TestCA(tmp_path_factory.mktemp("ca"))
    return Certs(
        ca=ca,
        good=ca.issue("good", ["localhost", "127.0.0.1"]),
        expired=ca.issue("expired", ["localhost", "127.0.0.1"], expired=True),
        wrong_name=ca.issue("wrong", ["wrong.example"]),
        self_signed=ca.self_signed("selfsigned", "localhost"),
    )


@pytest.fixture(scope="session")
def mail(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[MailServers]:
    users = [MailUser("alice@example.test", "alice-" + secrets.token_hex(8)),
             MailUser("bob@example.test", "bob-" + secrets.token_hex(8)),
             MailUser("carol@example.test", "carol-" + secrets.token_hex(8))]  # rotation tests change hers
    servers = MailServers(tmp_path_factory.mktemp("mail"), certs.ca, users)
    servers.start()
    yield servers
    servers.stop()


def import_smtp_for(desk: Any, mail: MailServers, certs: Certs, user: MailUser, name: str) -> None:
    """Save an SMTP connector that signs in as ``user`` (its password into the keychain)."""
    doc = smtp_document(mail, certs, name=name, env="PW")
    doc["settings"]["username"] = doc["settings"]["from_address"] = user.address
    desk.import_document(doc, {"PW": user.password})


def smtp_document(mail: MailServers, certs: Certs, *, name: str = "billing-mail", security: str = "starttls",
                  port: int | None = None, env: str = "CD_TEST_SMTP_PASSWORD", **settings: Any) -> dict[str, Any]:
    ports = {"starttls": mail.ports["submission"], "tls": mail.ports["smtps"], "none": mail.ports["plain"]}
    doc: dict[str, Any] = {
        "name": name,
        "type": "smtp",
        "description": "Outbound mail for invoices",
        "settings": {"host": "localhost", "port": port or ports[security], "security": security,
                     "auth": "password", "username": mail.users[0].address,
                     "from_address": mail.users[0].address, "ca_file": str(certs.ca.ca_file),
                     "timeout_s": 5, **settings},
        "secrets": {"password": {"env": env}},
    }
    return doc


@pytest.fixture(scope="session")
def mailboxes(mail: MailServers, certs: Certs) -> MailServers:
    """alice's account gets the folders the IMAP tests need (made over real IMAP), and three
    messages in INBOX (delivered through real Postfix → Dovecot)."""
    import imaplib
    import smtplib
    import ssl

    user = mail.users[0]
    ctx = ssl.create_default_context(cafile=str(certs.ca.ca_file))
    c = imaplib.IMAP4("localhost", mail.ports["imap"])
    c.starttls(ssl_context=ctx)
    c.login(user.address, user.password)
    for name in ("Sent", "Trash", "Entw&APw-rfe", "Archive/2025"):  # Entwürfe in modified UTF-7
        c.create(name)
    c.logout()
    with smtplib.SMTP("localhost", mail.ports["submission"], timeout=10) as s:
        s.starttls(context=ctx)
        s.login(user.address, user.password)
        for i in range(3):
            s.sendmail(user.address, [user.address],
                       f"From: Sender {i} <s{i}@example.test>\r\nSubject: Seed message {i}\r\n"
                       f"Date: Mon, 1 Jun 2026 10:0{i}:00 +0000\r\n\r\nbody {i}\r\n".encode())
    for i in range(3):
        mail.wait_for_mail(user.address, lambda m, i=i: str(m["Subject"]) == f"Seed message {i}")
    return mail


def imap_document(mail: MailServers, certs: Certs, *, name: str = "inbox-trigger", security: str = "starttls",
                  env: str = "CD_TEST_IMAP_PASSWORD", **settings: Any) -> dict[str, Any]:
    ports = {"starttls": mail.ports["imap"], "tls": mail.ports["imaps"], "none": mail.ports["imap"]}
    return {
        "name": name, "type": "imap",
        "settings": {"host": "localhost", "port": ports[security], "security": security, "auth": "password",
                     "username": mail.users[0].address, "ca_file": str(certs.ca.ca_file), "timeout_s": 5,
                     "mailbox": "INBOX", **settings},
        "secrets": {"password": {"env": env}},
    }


@pytest.fixture
def sendgrid() -> Iterator[Any]:
    """The SendGrid stand-in; every request must satisfy SendGrid's OpenAPI documents."""
    from tests.servers.sendgrid_standin import StandIn
    standin = StandIn(verified=["billing@example.com"])
    standin.start()
    yield standin
    standin.stop()
    assert standin.violations == [], "requests or responses broke SendGrid's documented contract"


def sendgrid_document(base: str, *, name: str = "sg-mail", env: str = "CD_TEST_SENDGRID_KEY",
                      **settings: Any) -> dict[str, Any]:
    return {"name": name, "type": "sendgrid",
            "settings": {"region": "global", "api_base": base, "api_base_confirmed": True,
                         "from_address": "billing@example.com", "timeout_s": 5, **settings},
            "secrets": {"api_key": {"env": env}}}


@pytest.fixture(scope="session")
def kafka_plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.servers.kafka import Broker
    broker = Broker(tmp_path_factory.mktemp("kafka-plain")).start()
    broker.create_topics("orders", "orders.dlq", "Invoices")
    broker.produce("orders.dlq", [f"failed record {i}".encode() for i in range(3)], key=b"order-17")
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_tls(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Any]:
    from tests.servers.kafka import Broker
    broker = Broker(tmp_path_factory.mktemp("kafka-tls"), tls=certs.good, ca_file=certs.ca.ca_file).start()
    broker.create_topics("orders")
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """tansu requiring SASL (it offers SCRAM-SHA-512, SCRAM-SHA-256 and OAUTHBEARER)."""
    from tests.servers.kafka import Broker
    broker = Broker(tmp_path_factory.mktemp("kafka-auth"), authentication=True).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def oauth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real OAuth authorization server (npm oidc-provider) with a client-credentials client."""
    from tests.servers.oauth import OAuthServer
    server = OAuthServer(tmp_path_factory.mktemp("oauth") / "oidc-provider.log").start()
    yield server
    server.stop()


def kafka_document(bootstrap: str, *, name: str = "orders-trigger", protocol: str = "PLAINTEXT",
                   **settings: Any) -> dict[str, Any]:
    return {"name": name, "type": "kafka",
            "settings": {"bootstrap_servers": [bootstrap], "security_protocol": protocol, "topic": "orders",
                         "timeout_s": 8, **settings}}
