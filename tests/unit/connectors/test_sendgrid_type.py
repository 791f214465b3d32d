"""SendGrid's declarations and pure logic, without the API."""

from __future__ import annotations

import pytest

from desktop.connectors.sendgrid import CONNECTOR as SENDGRID
from desktop.connectors.sendgrid import is_sendgrid_host
from desktop.connectors.sendgrid.session import api_base, check_key
from desktop.core.errors import ConnectorError, FieldError
from desktop.core.secret import Secret


def test_sendgrid_hosts():
    assert is_sendgrid_host("https://api.sendgrid.com") and is_sendgrid_host("https://API.EU.sendgrid.com")
    assert not is_sendgrid_host("http://api.sendgrid.com") and not is_sendgrid_host("https://api.sendgrid.com.evil")


def test_the_api_base_follows_the_region_and_an_override_needs_confirmation():
    assert api_base({"region": "eu"}) == "https://api.eu.sendgrid.com"
    with pytest.raises(ConnectorError) as exc:
        api_base({"api_base": "https://proxy.example.com"})
    assert exc.value.code == "confirmation_required"
    assert api_base({"api_base": "https://proxy.example.com", "api_base_confirmed": True}) == \
        "https://proxy.example.com"


def test_the_key_must_look_like_a_key():
    with pytest.raises(FieldError):
        check_key({})
    with pytest.raises(ConnectorError):
        check_key({"api_key": Secret("not-a-key")})


def test_server_label_facts_and_sandbox():
    assert SENDGRID.server_label({"region": "eu"}) == "api.eu.sendgrid.com"
    assert SENDGRID.facts({"scopes": ["mail.send"], "sender_verified": None}) == [
        ("Key permissions (1)", "mail.send"), ("Sender", "not checked (the key may not read verified senders)")]
    assert SENDGRID.undelivered({"sandbox": False}) is None
    nothing = SENDGRID.undelivered({"sandbox": True})
    assert nothing is not None and nothing.state == "is in sandbox mode"
    assert "Sandbox mode is on" in SENDGRID.test_wording({"sandbox": True}).test_text
    assert "Sandbox" not in SENDGRID.test_wording({"sandbox": False}).test_text
