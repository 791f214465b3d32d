"""The SMTP connector against real Postfix + Dovecot."""

from __future__ import annotations

import uuid

import pytest

from desktop.connectors import registry
from desktop.core.model import parse_document
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests.conftest import Certs, smtp_document
from tests.servers.mailserver import MailServers


def _conn(mail: MailServers, certs: Certs, **kw: object):  # type: ignore[no-untyped-def]
    conn, _refs = parse_document(smtp_document(mail, certs, **kw), registry())
    return conn


@pytest.fixture
def desk(app_home):  # type: ignore[no-untyped-def]
    return Desk(registry(), app_home)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_validate_succeeds_and_reports_every_step(desk, mail, certs, security):
    conn = _conn(mail, certs, security=security)
    conn.admin["test_recipient"] = mail.users[1].address
    result = desk.validate(conn, {"password": Secret(mail.users[0].password)})
    assert result.ok, result.error
    names = [s.name for s in result.steps]
    expected = ["resolve", "connect", "greeting", "ehlo", "starttls", "ehlo_tls", "authenticate",
                "sender", "recipient", "quit"] if security == "starttls" else \
        ["resolve", "connect", "tls", "greeting", "ehlo", "authenticate", "sender", "recipient", "quit"]
    assert names == expected
    assert all(s.ok and s.ms >= 0 for s in result.steps)
    tls = result.info["tls"]
    assert tls["issuer"] == "Connector Desk Test CA" and len(tls["sha256"]) == 95 and tls["expires"]
    # The password never appears in the transcript, but the AUTH line does, masked.
    text = "\n".join(result.transcript)
    assert mail.users[0].password not in text
    assert "C: AUTH PLAIN ********" in text


def test_wrong_password_is_auth_failed_with_hint(desk, mail, certs):
    result = desk.validate(_conn(mail, certs), {"password": Secret("not-the-password")})
    assert not result.ok
    assert result.error.code == "auth_failed" and result.error.step == "authenticate"
    assert "password" in result.error.hint.lower()


def test_gmail_preset_hint_names_app_passwords(desk, mail, certs):
    conn = _conn(mail, certs, provider="gmail")
    result = desk.validate(conn, {"password": Secret("wrong")})
    assert result.error.code == "auth_failed"
    assert "App Password" in result.error.hint


def test_plain_port_refuses_to_send_password(desk, mail, certs):
    result = desk.validate(_conn(mail, certs, security="none"), {"password": Secret(mail.users[0].password)})
    assert result.error.code == "plaintext_refused" and result.error.step == "authenticate"


def test_plain_port_with_explicit_permission_signs_in(desk, mail, certs):
    conn = _conn(mail, certs, security="none", allow_plaintext=True)
    result = desk.validate(conn, {"password": Secret(mail.users[0].password)})
    assert result.ok, result.error


def test_relay_to_foreign_domain_without_sign_in_is_recipient_rejected(desk, mail, certs):
    conn = _conn(mail, certs, security="none", auth="none")
    conn.admin["test_recipient"] = "someone@elsewhere.example"
    result = desk.validate(conn, {})
    assert result.error.code == "recipient_rejected"
    assert "relay" in result.error.message.lower()


def test_wrong_security_for_port_gives_tls_failed_fast(desk, mail, certs):
    conn = _conn(mail, certs, security="tls", port=mail.ports["submission"])
    result = desk.validate(conn, {"password": Secret(mail.users[0].password)})
    assert result.error.code == "tls_failed" and "plain text" in result.error.message


def test_starttls_on_implicit_tls_port_times_out_with_hint(desk, mail, certs):
    conn = _conn(mail, certs, security="starttls", port=mail.ports["smtps"], timeout_s=2)
    result = desk.validate(conn, {"password": Secret(mail.users[0].password)})
    assert result.error.code == "timeout" and result.error.step == "greeting"
    assert "TLS" in result.error.hint
    assert result.ms < 3500


def test_test_send_delivers_to_dovecot(desk, mail, certs):
    conn = _conn(mail, certs, name=f"invoices-{uuid.uuid4().hex[:6]}")
    result = desk.test_send(conn, {"password": Secret(mail.users[0].password)}, mail.users[1].address)
    assert result.ok, result.error
    assert result.info["attempts"] == [{"attempt": 1, "ok": True, "ms": result.info["attempts"][0]["ms"]}]
    msg = mail.wait_for_mail(mail.users[1].address, lambda m: conn.name in str(m["Subject"]))
    assert str(msg["Subject"]).startswith(f"Connector Desk test: {conn.name} at ")
    assert msg["X-Connector-Desk-Test"]


def test_without_a_sender_address_the_user_name_is_checked_as_the_sender(desk, mail, certs):
    conn = _conn(mail, certs, from_address="")
    result = desk.validate(conn, {"password": Secret(mail.users[0].password)})
    assert result.ok, result.error
    sender = next(s for s in result.steps if s.name == "sender")
    assert sender.detail == f"{mail.users[0].address} (the user name: no Sender (From) address is set)"
    assert f"C: MAIL FROM:<{mail.users[0].address}>" in "\n".join(result.transcript)


def test_with_no_sender_to_check_the_step_says_not_checked(desk, mail, certs):
    conn = _conn(mail, certs, security="none", auth="none", username="", from_address="", allow_plaintext=True)
    result = desk.validate(conn, {})
    assert result.ok, result.error
    sender = next(s for s in result.steps if s.name == "sender")
    assert sender.detail.startswith("not checked: no Sender (From) address is set")
    assert "MAIL FROM" not in "\n".join(result.transcript)
