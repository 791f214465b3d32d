"""The whole wizard against real Postfix + Dovecot, driven like an administrator would."""

from __future__ import annotations

import uuid

import keyring
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox, QSpinBox

from desktop.core.store import Catalogue
from desktop.core.vault import service_name
from desktop.gui import ask
from tests.conftest import imap_document
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer


def field(wiz, page, name):  # type: ignore[no-untyped-def]
    form = wiz.page_named(page).form
    return form.editors[name]


def start_wizard(window, name, type_name):  # type: ignore[no-untyped-def]
    """Open the wizard, fill in the basics (name and type) and go to the next page."""
    wiz = window.new_connector()
    basics = wiz.page_named("basics")
    basics.name_edit.setText(name)
    basics.findChild(type(basics.types.buttons()[0]), f"type_{type_name}").setChecked(True)
    wiz.next()
    return wiz


def walk_to_summary(qtbot, wiz):  # type: ignore[no-untyped-def]
    """Next through every page (waiting for the check on the validation page) to the summary."""
    summary = wiz.page_named("summary")
    for _ in range(10):
        if wiz.currentPage() is summary:
            return
        if wiz.currentPage() is wiz.page_named("validate"):
            qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=30000)
        wiz.next()
    raise AssertionError("the wizard did not reach its summary")


def fill_text(widget, text):  # type: ignore[no-untyped-def]
    le = widget.property("line_edit") or widget
    le.setFocus()
    le.clear()
    le.insert(text)


def oauth_sign_in_page(window, name, issuer=None, client_id=None, *, host="localhost", port=None,  # type: ignore[no-untyped-def]
                       ca_file=None):
    """The real wizard on the sign-in page of an SMTP connector that signs in with OAuth (with ``issuer``:
    an OpenID provider's). Returns the wizard and that page."""
    wiz = start_wizard(window, name, "smtp")
    wiz.next()  # provider: any other server
    fill_text(field(wiz, "server", "host"), host)
    if port is not None:
        field(wiz, "server", "port").setValue(port)
    if ca_file is not None:
        fill_text(field(wiz, "server", "ca_file"), ca_file)
    wiz.next()
    how = field(wiz, "auth", "auth")
    how.setCurrentIndex(how.findData("oauth2"))
    if issuer is not None:
        provider = field(wiz, "auth", "oauth_provider")
        provider.setCurrentIndex(provider.findData("oidc"))
        fill_text(field(wiz, "auth", "oauth_issuer"), issuer)
    if client_id is not None:
        fill_text(field(wiz, "auth", "oauth_client_id"), client_id)
    return wiz, wiz.page_named("auth")


def walk_to_validation(qtbot, win, mail, certs, name, password, port=None, shoot=None):  # type: ignore[no-untyped-def]
    wiz = win.new_connector()
    qtbot.waitExposed(wiz)
    basics = wiz.page_named("basics")
    qtbot.keyClicks(basics.name_edit, name)
    basics.desc_edit.setText("Outbound mail for invoices")
    shoot and shoot(wiz, "1-basics")
    wiz.next()
    assert wiz.currentPage() is wiz.page_named("provider")
    shoot and shoot(wiz, "2-provider")
    wiz.next()
    server = wiz.page_named("server")
    assert wiz.currentPage() is server
    fill_text(field(wiz, "server", "host"), "localhost")
    sec = field(wiz, "server", "security")
    sec.setCurrentIndex(sec.findData("tls"))
    assert field(wiz, "server", "port").value() == 465  # port follows security
    sec.setCurrentIndex(sec.findData("starttls"))
    assert field(wiz, "server", "port").value() == 587
    port_box: QSpinBox = field(wiz, "server", "port")
    port_box.setValue(port or mail.ports["submission"])
    fill_text(field(wiz, "server", "ca_file"), str(certs.ca.ca_file))
    shoot and shoot(wiz, "3-server")
    wiz.next()
    assert wiz.currentPage() is wiz.page_named("auth")
    fill_text(field(wiz, "auth", "username"), mail.users[0].address)
    fill_text(field(wiz, "auth", "password"), password)
    fill_text(field(wiz, "auth", "from_address"), mail.users[0].address)
    shoot and shoot(wiz, "4-auth")
    wiz.next()
    assert wiz.currentPage() is wiz.page_named("validate")
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=20000)
    return wiz


def test_whole_wizard_validates_sends_and_saves(qtbot, window, mail, certs, app_home, shoot):
    shoot(window, "0-empty")
    assert window.stack.currentWidget() is window.empty_page
    name = f"billing-{uuid.uuid4().hex[:6]}"
    wiz = walk_to_validation(qtbot, window, mail, certs, name, mail.users[0].password, shoot=shoot)
    vpage = wiz.page_named("validate")
    assert wiz.flow.result.ok, wiz.flow.result.error
    assert vpage.steps.topLevelItemCount() == len(wiz.flow.result.steps) >= 8
    assert all(vpage.steps.topLevelItem(i).text(0) == "✓" for i in range(vpage.steps.topLevelItemCount()))
    assert "All checks passed" in vpage.banner.title.text()
    vpage.transcript.toggle.click()
    assert "AUTH PLAIN ********" in vpage.transcript.text.toPlainText()
    assert mail.users[0].password not in vpage.transcript.text.toPlainText()
    shoot(wiz, "5-validate")

    wiz.next()
    admin = wiz.page_named("admin")
    assert not admin.send_btn.isEnabled() and "test recipient" in admin.send_hint.text()
    admin.edits["email"].setText("it-ops@example.test")
    admin.edits["name"].setText("Jane Admin")
    admin.edits["test_recipient"].setText(mail.users[1].address)
    assert admin.send_btn.isEnabled()
    qtbot.mouseClick(admin.send_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=30000)
    assert wiz.flow.test_result.ok, wiz.flow.test_result.error
    shoot(wiz, "6-admin-test-send")
    msg = mail.wait_for_mail(mail.users[1].address, lambda m: name in str(m["Subject"]))
    assert "Jane Admin" in msg.get_payload(decode=True).decode()

    wiz.next()
    summary = wiz.page_named("summary")
    assert wiz.currentPage() is summary
    shoot(wiz, "7-summary")
    with qtbot.waitSignal(wiz.saved, timeout=10000):
        wiz.accept()

    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    assert window.stack.currentWidget() is window.list_page
    status = window.model.data(window.model.index(0, 3))
    assert status.startswith("Valid at")
    shoot(window, "8-list")
    # The password is in the keychain, and in no file.
    assert keyring.get_password(service_name(app_home), f"{name}/password") == mail.users[0].password
    for f in app_home.rglob("*"):
        if f.is_file():
            assert mail.users[0].password.encode() not in f.read_bytes(), f
    saved = Catalogue(app_home).get(name)
    assert saved is not None and saved.admin["test_recipient"] == mail.users[1].address


def test_failed_validation_keeps_the_form_and_explains(qtbot, window, mail, certs, shoot):
    wiz = walk_to_validation(qtbot, window, mail, certs, "wrong-pw", "not-the-password")
    vpage = wiz.page_named("validate")
    assert wiz.flow.result.error.code == "auth_failed"
    assert "auth_failed" in vpage.banner.message.text()
    assert vpage.banner.hint.text().startswith("What to do:")
    assert vpage.steps.topLevelItem(vpage.steps.topLevelItemCount() - 1).text(0) == "✗"
    shoot(wiz, "5-validate-failed")
    wiz.back()
    pw: QLineEdit = field(wiz, "auth", "password")
    assert pw.text() == "not-the-password"  # nothing was cleared
    assert field(wiz, "auth", "username").text() == mail.users[0].address
    fill_text(pw, mail.users[0].password)
    wiz.next()  # validation runs again, on the corrected values
    qtbot.waitUntil(lambda: wiz.flow.result is not None and wiz.flow.result.ok, timeout=20000)
    wiz.reject()


def test_cancel_stops_a_hung_server_at_once(qtbot, window, mail, certs):
    with ScriptedServer(scripted.hung) as srv:
        wiz = window.new_connector()
        wiz.page_named("basics").name_edit.setText("hung")
        wiz.next()
        wiz.next()
        fill_text(field(wiz, "server", "host"), "localhost")
        field(wiz, "server", "port").setValue(srv.port)
        field(wiz, "server", "timeout_s").setValue(60)
        wiz.next()
        fill_text(field(wiz, "auth", "username"), "u@example.test")
        fill_text(field(wiz, "auth", "password"), "pw")
        wiz.next()
        vpage = wiz.page_named("validate")
        qtbot.waitUntil(lambda: vpage.cancel_btn.isEnabled(), timeout=3000)
        qtbot.wait(300)
        assert "Checking" in vpage.banner.title.text()
        qtbot.mouseClick(vpage.cancel_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=1500)
        assert wiz.flow.result.error.code == "cancelled"
        assert "cancelled" in vpage.banner.title.text().lower()
        wiz.reject()


def test_bad_input_is_named_on_the_page(qtbot, window):
    wiz = window.new_connector()
    basics = wiz.page_named("basics")
    basics.name_edit.setText("bad name!")
    wiz.next()
    assert wiz.currentPage() is basics
    assert basics.name_error.isVisible() and "letters, digits" in basics.name_error.text()
    basics.name_edit.setText("ok-name")
    wiz.next()
    wiz.next()
    fill_text(field(wiz, "server", "host"), "not a host")
    wiz.next()
    server = wiz.page_named("server")
    assert wiz.currentPage() is server
    assert server.form.errors["host"].isVisible() and "not a host name" in server.form.errors["host"].text()
    sec = field(wiz, "server", "security")
    sec.setCurrentIndex(sec.findData("none"))
    assert server.warnings.isVisible() and "Unencrypted" in server.warnings.text()
    wiz.reject()


def test_list_search_duplicate_and_delete(qtbot, window, app_home, monkeypatch, mail, certs):

    from tests.conftest import smtp_document
    desk = window.desk
    for n in ("alpha-mail", "beta-mail"):
        desk.import_document(smtp_document(mail, certs, name=n, env="CD_GUI_PW"), {"CD_GUI_PW": "pw-for-list"})
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=5000)
    assert not window.edit_action.isEnabled() and "select a connector first" in window.edit_action.toolTip()
    qtbot.keyClicks(window.list_page.search, "BETA")  # filtered once typing pauses, case-insensitively
    qtbot.waitUntil(lambda: window.list_page.proxy.rowCount() == 1, timeout=2000)
    assert window.count_label.text() == "1 of 2 connectors shown"
    window.list_page.search.setText("zzz")
    qtbot.waitUntil(lambda: window.list_page.no_match.isVisible(), timeout=2000)
    assert "zzz" in window.list_page.no_match.text()
    window.list_page.search.clear()
    qtbot.waitUntil(lambda: window.list_page.proxy.rowCount() == 2, timeout=2000)
    assert window.count_label.text() == "2 connectors"
    window.list_page.table.selectRow(0)
    assert window.selected_name() == "alpha-mail" and window.delete_action.isEnabled()

    window.duplicate_connector()
    qtbot.waitUntil(lambda: getattr(window, "wizard", None) is not None and window.wizard.isVisible(), timeout=5000)
    wiz = window.wizard
    assert wiz.flow.draft.name == "alpha-mail-copy"
    assert wiz.flow.secrets["password"].reveal() == "pw-for-list"  # read from the keychain in a worker
    wiz.reject()

    monkeypatch.setattr(ask, "warning", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.list_page.table.selectRow(0)
    window.delete_connector()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    assert window.model.connectors[0].name == "beta-mail"
    assert keyring.get_password(service_name(app_home), "alpha-mail/password") is None


def test_a_bounce_mailbox_that_is_not_a_saved_imap_connector_is_named(qtbot, window, mail, certs):
    window.desk.import_document(imap_document(mail, certs, name="billing-bounces", env="PW"),
                                {"PW": mail.users[0].password})
    window.reload()
    qtbot.waitUntil(lambda: "billing-bounces" in {c.name for c in window.connectors}, timeout=5000)
    wiz = start_wizard(window, "billing", "smtp")
    wiz.next()  # any server
    server = wiz.page_named("server")
    fill_text(field(wiz, "server", "host"), "mail.example.com")
    fill_text(field(wiz, "server", "bounce_mailbox_connector"), "billing-bounce")  # a typo
    wiz.next()
    assert wiz.currentPage() is server
    error = server.form.errors["bounce_mailbox_connector"]
    assert error.isVisible() and "no saved connector is named “billing-bounce”" in error.text()
    fill_text(field(wiz, "server", "bounce_mailbox_connector"), "billing-bounces")
    wiz.next()
    assert wiz.currentPage() is wiz.page_named("auth")
    wiz.reject()
