"""Warnings that say where credentials go (issue #12, item 12): shown in the list, the wizard and
`list --json` through each connector type's warnings()."""

from __future__ import annotations

from desktop.connectors import registry


def test_a_plain_http_token_endpoint_is_a_warning():
    kafka = registry()["kafka"]
    oauth = {"security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER"}
    assert kafka.warnings({**oauth, "oauth_token_endpoint": "https://idp.example.test/token"}) == []
    warned = kafka.warnings({**oauth, "oauth_token_endpoint": "http://127.0.0.1:8080/token"})
    assert warned == ["The token endpoint is not encrypted (http): the client secret travels in clear text."]


def test_a_sendgrid_api_address_that_is_not_sendgrids_is_a_warning():
    sendgrid = registry()["sendgrid"]
    assert sendgrid.warnings({"region": "eu"}) == []
    assert sendgrid.warnings({"api_base": "https://api.eu.sendgrid.com"}) == []
    warned = sendgrid.warnings({"api_base": "https://api.sendgrid.com.evil.test/\x1b]0;x"})
    assert len(warned) == 1 and "api.sendgrid.com.evil.test" in warned[0] and "\x1b" not in warned[0]
