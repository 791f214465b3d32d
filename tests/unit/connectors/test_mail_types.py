"""SMTP and IMAP declarations and pure logic (connectors/_mail.py, smtp, imap), without servers."""

from __future__ import annotations

import pytest

from desktop.connectors import _mail
from desktop.connectors.imap import CONNECTOR as IMAP
from desktop.connectors.imap import mailbox_facts, message_listing
from desktop.connectors.imap.session import _tokens, quotable, quote
from desktop.connectors.smtp import CONNECTOR as SMTP
from desktop.connectors.smtp.session import _dot_stuff, envelope_sender
from desktop.core.errors import ConnectorError
from desktop.core.secret import Secret


def test_the_port_follows_the_security_choice():
    assert SMTP.default_settings()["security"] == "starttls" and SMTP.default_settings()["port"] == 587
    assert IMAP.default_settings()["security"] == "tls" and IMAP.default_settings()["port"] == 993


def test_warnings_name_what_weakens_security():
    assert _mail.warnings({"security": "tls", "verify_tls": True}) == []
    assert _mail.warnings({"security": "none", "allow_plaintext": True}) == [
        "Unencrypted connection: mail and any password travel in clear text.",
        "The password may be sent unencrypted."]
    assert SMTP.warnings({"security": "starttls", "verify_tls": False}) == [
        "Certificate verification is OFF: anyone on the path can pose as the server."]


def test_field_help_depends_on_provider_and_port():
    assert SMTP.field_help("password", {"provider": "gmail"}) == _mail.GMAIL_PASSWORD_HELP
    assert SMTP.field_help("password", {"provider": "other"}) == ""
    assert IMAP.field_help("port", {"security": "tls", "port": 10993}) == "The usual port for this security is 993."
    assert IMAP.field_help("port", {"security": "tls", "port": 993}) == ""
    assert IMAP.field_help("host", {}) is None


def test_the_password_is_refused_over_plain_text_unless_allowed():
    with pytest.raises(ConnectorError) as exc:
        _mail.password_for({}, False, {"password": Secret("pw")})
    assert exc.value.code == "plaintext_refused"
    assert _mail.password_for({"allow_plaintext": True}, False, {"password": Secret("pw")}).reveal() == "pw"
    with pytest.raises(ConnectorError):
        _mail.password_for({}, True, {})


def test_server_labels():
    assert SMTP.server_label({"host": "smtp.example.com", "port": 587}) == "smtp.example.com:587"
    assert IMAP.server_label({"host": "imap.example.com", "port": 993}) == "imap.example.com:993 · INBOX"
    assert IMAP.server_label({"host": "h", "port": 1, "mailbox": "Orders"}) == "h:1 · Orders"


def test_the_envelope_sender_is_the_from_address_or_an_address_user_name():
    assert envelope_sender({"from_address": "a@example.com", "username": "b@example.com"}) == "a@example.com"
    assert envelope_sender({"username": "b@example.com"}) == "b@example.com"
    for settings in ({"from_address": "not an address"}, {"username": "svc-billing"}):
        with pytest.raises(ConnectorError) as exc:
            envelope_sender(settings)
        assert exc.value.code == "bad_input" and "Sender (From) address" in exc.value.message


def test_dot_stuffing_and_line_endings():
    assert _dot_stuff(b"a\n.b\r\n..c\n") == b"a\r\n..b\r\n...c\r\n"


def test_imap_quoting_and_tokens():
    assert quotable("INBOX") and not quotable("Entwürfe") and not quotable("a\r\nb")
    assert quote('a "b" \\c') == '"a \\"b\\" \\\\c"'
    with pytest.raises(ValueError):
        quote("Entwürfe")
    assert _tokens('(\\HasNoChildren) "/" "Sent Items"', []) == [["\\HasNoChildren"], "/", "Sent Items"]
    assert _tokens("NIL \x000\x00", [b"lit"]) == [None, b"lit"]


def test_imap_facts_and_listing_are_its_own_words():
    info = {"mailbox": {"name": "INBOX", "messages": 1, "uidvalidity": 7},
            "messages": [{"date": "Mon, 1 Jan 2026", "from": "a@example.com", "subject": "Hi", "seen": False}]}
    assert mailbox_facts(info) == [("Mailbox", "“INBOX”: 1 message, UIDVALIDITY 7")]
    listing = message_listing(info)
    assert listing.columns == ("State", "Date", "From", "Subject")
    assert listing.rows[0].cells[0] == "unread" and listing.rows[0].strong
    assert listing.rows[0].cells[1] == "Mon, 1 Jan 2026"  # not a whole date: shown as it is
    dated = {**info, "messages": [{**info["messages"][0], "date": "Wed, 02 Dec 2026 07:55:21 +0000"}]}
    from desktop.core.describe import local_time
    assert message_listing(dated).rows[0].cells[1] == local_time("2026-12-02T07:55:21+00:00", seconds=True)
    assert listing.title == "1 of 1 message in “INBOX”"
    assert message_listing({"mailbox": {"name": "X", "messages": 0}}).note == "The mailbox is empty."


def test_a_mailbox_not_found_suggests_the_near_matches_as_fixes():
    err = ConnectorError("mailbox_not_found", "No mailbox “sent”.", "Did you mean “Sent” or “Sent Items”?")
    assert [(f.field, f.value) for f in IMAP.fixes(err)] == [("mailbox", "Sent"), ("mailbox", "Sent Items")]
    assert IMAP.fixes(ConnectorError("auth_failed", "No.", "Did you mean “x”")) == []
    assert SMTP.fixes(err) == []
