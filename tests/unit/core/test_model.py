from __future__ import annotations

import pytest

from desktop.connectors import registry
from desktop.core.errors import InputErrors
from desktop.core.model import parse_document, resolve_refs, to_document

GOOD = {
    "name": "billing-mail", "type": "smtp", "description": "Outbound mail for invoices",
    "settings": {"host": "smtp.example.com", "port": 587, "security": "starttls", "auth": "password",
                 "username": "svc-billing@example.com", "from_address": "billing@example.com",
                 "ca_file": None, "timeout_s": 15},
    "secrets": {"password": {"env": "BILLING_SMTP_PASSWORD"}},
}


def test_the_design_example_parses():
    conn, refs = parse_document(GOOD, registry())
    assert conn.settings["port"] == 587 and conn.settings["verify_tls"] is True
    assert refs == {"password": "BILLING_SMTP_PASSWORD"}


def test_every_invalid_field_is_named():
    bad = {**GOOD, "name": "no spaces allowed", "extra": 1,
           "settings": {**GOOD["settings"], "port": "abc", "security": "ssl", "host": "bad host",
                        "from_address": "nobody", "colour": "blue"}}
    with pytest.raises(InputErrors) as e:
        parse_document(bad, registry())
    fields = e.value.fields
    assert set(fields) >= {"name", "extra", "settings.port", "settings.security", "settings.host",
                           "settings.from_address", "settings.colour"}
    assert "whole number" in fields["settings.port"] and "starttls" in fields["settings.security"]


def test_literal_secret_is_refused():
    for literal in ("hunter2", {"value": "hunter2"}):
        with pytest.raises(InputErrors) as e:
            parse_document({**GOOD, "secrets": {"password": literal}}, registry())
        assert "may not be written in a file" in e.value.fields["secrets.password"]
        assert "hunter2" not in str(e.value)


def test_unknown_type_and_missing_host():
    with pytest.raises(InputErrors) as e:
        parse_document({"name": "x", "type": "fax"}, registry())
    assert "smtp" in e.value.fields["type"]
    with pytest.raises(InputErrors) as e:
        parse_document({"name": "x", "type": "smtp", "settings": {"username": "u"}}, registry())
    assert e.value.fields["settings.host"] == "is required"


def test_port_follows_security_when_not_given():
    doc = {**GOOD, "settings": {"host": "h.example", "security": "tls", "auth": "none"}}
    conn, _ = parse_document(doc, registry())
    assert conn.settings["port"] == 465


def test_env_references_resolve_or_name_the_missing_variable():
    assert resolve_refs({"password": "V"}, {"V": "x"})["password"].reveal() == "x"
    with pytest.raises(InputErrors) as e:
        resolve_refs({"password": "NOT_SET_VAR"}, {})
    assert "NOT_SET_VAR" in e.value.fields["secrets.password"]


def test_export_writes_references_never_values():
    conn, _ = parse_document(GOOD, registry())
    conn.secret_names = ["password"]
    doc = to_document(conn)
    assert doc["secrets"] == {"password": {"env": "BILLING_MAIL_PASSWORD"}}
    again, refs = parse_document(doc, registry())
    assert again.settings == conn.settings and refs == {"password": "BILLING_MAIL_PASSWORD"}


def test_names_that_differ_only_in_case_are_refused():
    from desktop.core.errors import FieldError
    from desktop.core.model import check_name
    assert check_name("billing-mail", {"orders"}) == "billing-mail"
    with pytest.raises(FieldError) as caught:
        check_name("Billing-Mail", {"billing-mail"})
    assert "differ only in upper and lower case" in caught.value.problem


@pytest.mark.parametrize("description, problem", [
    ("Line one\r\nLine two\x1b[31mred", "may not contain control characters"),
    ("x" * 20_000, "is too long (20,000 characters; at most 4,000)"),
])
def test_no_save_path_stores_a_description_import_refuses(app_home, description, problem):
    """Desk.check (every save: wizard, rename, CLI) applies import's rule to the description, so a
    full export can always be imported back."""
    from desktop.core.model import Connector
    from desktop.core.secret import Secret
    from desktop.core.service import Desk
    conn, _refs = parse_document(GOOD, registry())
    conn.description = description
    desk = Desk(registry(), app_home)
    with pytest.raises(InputErrors) as e:
        desk.check(conn, {"password": Secret("pw")}, new=True)
    assert e.value.fields["description"].startswith(problem)
    with pytest.raises(InputErrors) as e:
        parse_document({**GOOD, "description": description}, registry())
    assert e.value.fields["description"].startswith(problem)
    ok = Connector(**{**conn.__dict__, "description": "  fits\ton one line  "})
    assert desk.check(ok, {"password": Secret("pw")}, new=True).description == "fits\ton one line"
