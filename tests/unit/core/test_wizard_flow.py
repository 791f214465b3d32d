"""Every wizard branch, without a display."""

from __future__ import annotations

from desktop.connectors import registry
from desktop.core import wizard as w
from desktop.core.errors import ConnectorError
from desktop.core.model import Connector
from desktop.core.pipeline import RunResult
from desktop.core.secret import Secret
from desktop.core.wizard import WizardFlow


def flow(**kw):  # type: ignore[no-untyped-def]
    return WizardFlow(registry(), {"taken"}, **kw)


def test_page_order_and_navigation():
    f = flow()
    assert f.pages() == list(w.ALL_PAGES)
    assert f.next_page(w.BASICS) == w.PROVIDER and f.previous_page(w.SERVER) == w.PROVIDER
    assert f.next_page(w.SUMMARY) is None and f.previous_page(w.BASICS) is None


def test_basics_needs_a_unique_valid_name():
    f = flow()
    f.set_basics("taken", "", "smtp")
    assert "already exists" in f.problems(w.BASICS)["name"]
    f.set_basics("", "", "smtp")
    assert f.problems(w.BASICS)["name"] == "Name is required"
    f.set_basics("new-one", "d", "smtp")
    assert f.problems(w.BASICS) == {}


def test_basics_refuses_the_description_import_would_refuse():
    """The same rule as import (model.check_description): what the wizard lets through, an export
    of it can be imported back."""
    f = flow()
    f.set_basics("described", "Line one\r\nLine two\x1b[31mred", "smtp")
    assert f.problems(w.BASICS)["description"].startswith("Description may not contain control characters")
    f.set_basics("described", "x" * 20_000, "smtp")
    assert f.problems(w.BASICS)["description"] == "Description is too long (20,000 characters; at most 4,000)"
    f.set_basics("described", "  tabs\tare fine  ", "smtp")
    assert f.problems(w.BASICS) == {} and f.draft.description == "tabs\tare fine"


def test_presets_fill_the_server():
    f = flow()
    f.apply_preset("gmail")
    assert f.draft.settings["host"] == "smtp.gmail.com" and f.draft.settings["port"] == 587
    f.apply_preset("microsoft365")
    assert f.draft.settings["host"] == "smtp.office365.com" and f.draft.settings["provider"] == "microsoft365"


def test_port_follows_security_unless_typed_by_hand():
    f = flow()
    f.set_setting("security", "tls")
    assert f.draft.settings["port"] == 465
    f.set_setting("security", "none")
    assert f.draft.settings["port"] == 25
    f.set_setting("port", 2525)
    f.set_setting("security", "starttls")
    assert f.draft.settings["port"] == 2525  # the administrator's own port stays


def test_auth_page_needs_user_and_password_only_for_password_sign_in():
    f = flow()
    problems = f.problems(w.AUTH)
    assert problems == {"username": "User name is required", "password": "Password is required"}
    f.set_setting("auth", "none")
    assert f.problems(w.AUTH) == {}
    assert f.secrets_for(w.AUTH) == []


def test_plaintext_permission_only_shows_for_unencrypted():
    f = flow()
    allow = f.ctype.field("allow_plaintext")
    assert not f.visible(allow)
    f.set_setting("security", "none")
    assert f.visible(allow)


def test_validation_goes_stale_when_the_form_changes():
    f = flow()
    f.set_basics("n", "", "smtp")
    f.set_setting("host", "h.example")
    f.set_setting("username", "u")
    f.set_secret("password", "p1")
    f.record_validation(RunResult(True, "n", "smtp", "validate", [], None, []))
    assert f.validated_ok
    f.set_admin("a@example.com", "A", "t@example.com")
    assert f.validated_ok  # admin details come after validation
    f.set_secret("password", "p2")
    assert not f.validation_current and "not run on these values" in dict(f.summary())["Validation"]


def test_failed_validation_shows_in_summary():
    f = flow()
    f.set_basics("n", "", "smtp")
    err = ConnectorError("auth_failed", "The server rejected the user name or password.")
    f.record_validation(RunResult(False, "n", "smtp", "validate", [], err, []))
    assert dict(f.summary())["Validation"].startswith("failed: The server rejected")


def test_editing_keeps_values_and_allows_the_same_name():
    existing = Connector("taken", "smtp", settings={**registry()["smtp"].default_settings(), "host": "h.example",
                                                    "username": "u", "port": 2525})
    f = flow(existing=existing, secrets={"password": Secret("p")})
    assert f.editing and f.problems(w.BASICS) == {}
    assert f.draft.settings["port"] == 2525 and f.problems(w.AUTH) == {}
    conn = f.connector()
    assert conn.name == "taken" and conn.settings["host"] == "h.example"


def test_duplicate_needs_a_new_name():
    existing = Connector("taken", "smtp", settings=registry()["smtp"].default_settings())
    f = flow(existing=existing, duplicate=True)
    assert not f.editing and "already exists" in f.problems(w.BASICS)["name"]


def test_switching_the_type_away_and_back_keeps_what_was_entered():
    from desktop.connectors import registry
    from desktop.core.secret import Secret
    from desktop.core.wizard import WizardFlow
    flow = WizardFlow(registry(), set())
    flow.set_basics("m", "", "smtp")
    flow.set_setting("host", "mail.example.com")
    flow.set_secret("password", "pw")
    flow.set_basics("m", "", "kafka")
    assert "host" not in flow.draft.settings and flow.secrets == {}
    flow.set_basics("m", "", "smtp")
    assert flow.draft.settings["host"] == "mail.example.com" and flow.secrets["password"] == Secret("pw")


def test_the_bounce_mailbox_must_name_a_saved_imap_connector():
    from desktop.connectors import registry
    from desktop.core.wizard import SERVER, WizardFlow
    flow = WizardFlow(registry(), set(), saved_types={"bounces": "imap", "orders": "kafka"})
    flow.set_basics("m", "", "smtp")
    flow.set_setting("host", "mail.example.com")
    flow.set_setting("bounce_mailbox_connector", "bouncez")
    assert flow.problems(SERVER)["bounce_mailbox_connector"].startswith(
        "Bounce mailbox (IMAP connector): no saved connector is named “bouncez”")
    flow.set_setting("bounce_mailbox_connector", "orders")
    assert "is not an IMAP connector (its type is kafka)" in flow.problems(SERVER)["bounce_mailbox_connector"]
    flow.set_setting("bounce_mailbox_connector", "bounces")
    assert "bounce_mailbox_connector" not in flow.problems(SERVER)


def test_a_first_connector_may_not_name_a_bounce_mailbox_that_does_not_exist():
    from desktop.core.wizard import SERVER
    f = WizardFlow(registry(), set(), saved_types={})
    f.set_basics("first", "", "smtp")
    f.set_setting("host", "mail.example.com")
    f.set_setting("bounce_mailbox_connector", "nosuch-imap")
    assert f.problems(SERVER)["bounce_mailbox_connector"].startswith(
        "Bounce mailbox (IMAP connector): no saved connector is named “nosuch-imap”")
    f.set_setting("bounce_mailbox_connector", "")
    assert "bounce_mailbox_connector" not in f.problems(SERVER)


def test_the_summary_lists_the_admin_details_that_are_set():
    f = flow()
    f.set_basics("n", "", "smtp")
    f.set_admin("it-ops@example.com", "", "you@example.com")
    rows = dict(f.summary())
    assert rows["Admin e-mail"] == "it-ops@example.com" and rows["Test recipient"] == "you@example.com"
    assert "Admin name" not in rows  # not set: not listed


def test_field_problems_are_sentences_naming_the_label_and_the_cli_wording_stays():
    """The wizard shows "Admin e-mail: “nobody” is not an e-mail address" beside the field; the CLI
    keeps "field: problem" (FieldError.message), never "name: Name is required"."""
    from desktop.core.errors import FieldError
    f = flow()
    f.set_admin("nobody", "", "")
    assert f.problems(w.ADMIN)["email"].startswith("Admin e-mail: “nobody” is not an e-mail address")
    f.set_basics("", "", "smtp")
    try:
        f.connector()
    except ConnectorError as exc:
        assert "name: is required" in exc.message and "Name is required" not in exc.message
    else:
        raise AssertionError("an empty name was accepted")
    assert FieldError("settings.username", "is required").message == "settings.username: is required"
