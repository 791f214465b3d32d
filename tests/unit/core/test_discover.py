"""Discovery's pure parts: the address, base domains, presets by domain and MX, clientConfig."""

from __future__ import annotations

import pytest

from desktop.core import discover
from desktop.core.errors import ConnectorError, FieldError, InputErrors
from tests.servers.autoconfig import BILLION_LAUGHS, client_config


def test_split_address_gives_the_dns_form_of_the_domain() -> None:
    assert discover.split_address("Alice@Example.TEST") == ("Alice", "example.test")
    assert discover.split_address("jürgen@bücher.example") == ("jürgen", "xn--bcher-kva.example")
    with pytest.raises(InputErrors) as info:
        discover.split_address("alice@@example.test")
    assert list(info.value.fields) == ["E-mail address"]


@pytest.mark.parametrize(("host", "base"), [
    ("aspmx.l.google.com", "google.com"), ("example-com.mail.protection.outlook.com", "outlook.com"),
    ("mx1.mail.example.co.uk", "example.co.uk"), ("example.test", "example.test"), ("localhost.", "localhost"),
])
def test_base_domain(host: str, base: str) -> None:
    assert discover.base_domain(host) == base


def test_outside_domain_compares_base_domains() -> None:
    assert not discover.is_outside("mail.example.test", "example.test")
    assert not discover.is_outside("imap.example.test", "eu.example.test")
    assert discover.is_outside("localhost", "example.test")
    assert discover.is_outside("mail.example.test.evil.example", "example.test")


def test_presets_match_by_domain_and_by_mx() -> None:
    assert discover.preset_by_domain("gmail.com")["id"] == "google"  # type: ignore[index]
    assert discover.preset_by_mx("aspmx.l.google.com.")["id"] == "google"  # type: ignore[index]
    assert discover.preset_by_mx("contoso-com.mail.protection.outlook.com")["id"] == "microsoft365"  # type: ignore[index]
    assert discover.preset_by_mx("mx-aol.mail.gm0.yahoodns.net")["id"] == "aol"  # type: ignore[index]
    assert discover.preset_by_mx("mta5.am0.yahoodns.net")["id"] == "yahoo"  # type: ignore[index]
    assert discover.preset_by_mx("mx.example.test") is None
    assert discover.preset_by_domain("example.test") is None
    assert len(discover.providers()) >= 14
    for p in discover.providers():
        assert {s["type"] for s in p["servers"]} == {"smtp", "imap"}, p["id"]


def test_clientconfig_fills_placeholders_and_maps_socket_types() -> None:
    xml = client_config([
        {"type": "imap", "host": "imap.%EMAILDOMAIN%", "port": 993, "socket": "SSL", "auth": ["OAuth2"]},
        {"type": "smtp", "host": "smtp.example.test", "port": 587, "socket": "STARTTLS",
         "username": "%EMAILLOCALPART%"},
        {"type": "smtp", "host": "bad host\r\nEHLO", "port": 25, "socket": "plain"},
        {"type": "smtp", "host": "smtp.example.test", "port": 70000, "socket": "SSL"},
    ])
    found = discover.parse_clientconfig(xml, "alice", "example.test")
    assert [(c.type, c.host, c.port, c.security, c.username) for c in found] == [
        ("imap", "imap.example.test", 993, "tls", "alice@example.test"),
        ("smtp", "smtp.example.test", 587, "starttls", "alice"),
    ]
    assert found[0].auth == ["XOAUTH2", "OAUTHBEARER"]


@pytest.mark.parametrize("data", [BILLION_LAUGHS, b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://x/"><x/>',
                                  b"<clientConfig", b"<html>not autoconfig</html>"])
def test_hostile_or_wrong_xml_is_refused(data: bytes) -> None:
    with pytest.raises(ConnectorError):
        discover.parse_clientconfig(data, "alice", "example.test")


@pytest.mark.parametrize("value", ["127.0.0.1:99999", "a:b:c"])
def test_a_bad_nameserver_setting_names_the_variable(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_DESK_NAMESERVER", value)
    with pytest.raises(FieldError) as info:
        discover.nameserver()
    assert info.value.field == "CONNECTOR_DESK_NAMESERVER"


def test_nameserver_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_DESK_NAMESERVER", "127.0.0.1:5353")
    assert discover.nameserver() == ("127.0.0.1", 5353)
    monkeypatch.setenv("CONNECTOR_DESK_NAMESERVER", "[::1]:53")
    assert discover.nameserver() == ("::1", 53)
    monkeypatch.delenv("CONNECTOR_DESK_NAMESERVER")
    assert discover.nameserver() is None


def test_candidate_settings_choose_oauth_for_a_provider_offering_it() -> None:
    c = discover.Candidate(type="imap", host="outlook.office365.com", port=993, security="tls", source="mx",
                           auth=["XOAUTH2"], oauth_provider="microsoft", tenant="contoso.com", username="a@contoso.com")
    assert c.settings() == {"host": "outlook.office365.com", "port": 993, "security": "tls", "auth": "oauth2",
                            "username": "a@contoso.com", "oauth_provider": "microsoft", "oauth_tenant": "contoso.com"}
    c.verified, c.auth = True, ["PLAIN"]  # the server itself offers no OAuth mechanism
    assert c.settings()["auth"] == "password"


def test_a_provider_server_named_by_autoconfig_or_srv_gets_its_oauth_sign_in() -> None:
    c = discover.Candidate(type="imap", host="outlook.office365.com", port=993, security="tls", source="autoconfig")
    discover.enrich(c, "contoso.com")
    assert c.settings()["oauth_provider"] == "microsoft"
    other = discover.Candidate(type="imap", host="mail.example.test", port=993, security="tls", source="srv")
    discover.enrich(other, "example.test")
    assert other.settings()["auth"] == "password" and "oauth_provider" not in other.settings()


def test_smtp_settings_send_from_the_address() -> None:
    c = discover.Candidate(type="smtp", host="mail.example.test", port=465, security="tls", source="srv",
                           username="alice@example.test")
    assert c.settings()["from_address"] == "alice@example.test"
