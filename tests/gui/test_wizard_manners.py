"""The wizard's everyday manners, driven through the real main window: keyboard (Alt+N, Enter,
Esc), wording that fits the type and the state, providers, renaming, the summary."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QRadioButton, QWizard

from desktop.gui import ask
from tests.conftest import smtp_document
from tests.gui.test_wizard import field, fill_text, start_wizard
from tests.servers import scripted
from tests.servers.scripted import ScriptedServer


def mnemonics(widget) -> set[str]:  # type: ignore[no-untyped-def]
    """The Alt+letter of every visible label on ``widget``."""
    out = set()
    for lab in widget.findChildren(QLabel):
        m = re.search(r"&([^&])", lab.text().replace("&&", ""))
        if m and lab.isVisibleTo(widget):
            out.add(m.group(1).lower())
    return out


@pytest.mark.parametrize("type_name", ["smtp", "imap", "kafka", "sendgrid"])
def test_no_label_takes_alt_n_or_alt_b(qtbot, window, type_name):
    wiz = start_wizard(window, f"keys-{type_name}", type_name)
    assert "n" not in mnemonics(wiz.page_named("basics"))
    for name in ("server", "auth", "admin"):
        page = wiz.page_named(name)
        if name != "admin":
            page.initializePage()
        taken = mnemonics(page)
        assert not taken & {"n", "b"}, (name, taken)
    wiz.reject()


def test_alt_n_goes_next(qtbot, window):
    wiz = window.new_connector()
    qtbot.waitExposed(wiz)
    wiz.activateWindow()
    qtbot.waitUntil(lambda: wiz.isActiveWindow(), timeout=3000)
    basics = wiz.page_named("basics")
    basics.name_edit.setText("alt-n")
    basics.name_edit.setFocus()
    assert "&N" in wiz.button(QWizard.WizardButton.NextButton).text()
    qtbot.keyClick(basics.name_edit, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    # A mnemonic "animates" the click: it lands a moment later.
    qtbot.waitUntil(lambda: wiz.currentPage() is wiz.page_named("provider"), timeout=2000)
    wiz.reject()


def test_esc_asks_before_discarding(qtbot, window, monkeypatch):
    asked: list[str] = []

    def answer(reply):  # type: ignore[no-untyped-def]
        def question(_parent, title, text, *_a, **_k):  # type: ignore[no-untyped-def]
            asked.append(f"{title} {text}")
            return reply
        monkeypatch.setattr(ask, "question", question)

    # Nothing entered: Esc closes at once.
    answer(QMessageBox.StandardButton.Cancel)
    wiz = window.new_connector()
    qtbot.waitExposed(wiz)
    qtbot.keyClick(wiz, Qt.Key.Key_Escape)
    assert not wiz.isVisible() and asked == []

    # Something entered: Esc asks; "Cancel" keeps the wizard and its values.
    wiz = window.new_connector()
    qtbot.waitExposed(wiz)
    wiz.page_named("basics").name_edit.setText("half-done")
    wiz.next()
    qtbot.keyClick(wiz, Qt.Key.Key_Escape)
    assert wiz.isVisible() and len(asked) == 1 and "will be lost" in asked[0]
    assert wiz.flow.draft.name == "half-done"
    # The Cancel button asks the same way; "Discard" closes.
    answer(QMessageBox.StandardButton.Discard)
    wiz.button(QWizard.WizardButton.CancelButton).click()
    assert not wiz.isVisible() and len(asked) == 2


def test_esc_during_a_check_asks_and_stops_it(qtbot, window, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(ask, "question",
                        lambda _p, title, text, *a, **k: asked.append(text) or QMessageBox.StandardButton.Cancel)
    with ScriptedServer(scripted.hung) as srv:
        wiz = start_wizard(window, "hung-esc", "smtp")
        wiz.next()
        fill_text(field(wiz, "server", "host"), "localhost")
        field(wiz, "server", "port").setValue(srv.port)
        field(wiz, "server", "timeout_s").setValue(60)
        wiz.next()
        fill_text(field(wiz, "auth", "username"), "u@example.test")
        fill_text(field(wiz, "auth", "password"), "pw")
        wiz.next()
        vpage = wiz.page_named("validate")
        qtbot.waitUntil(lambda: vpage.task is not None, timeout=3000)
        qtbot.keyClick(wiz, Qt.Key.Key_Escape)
        assert wiz.isVisible() and vpage.task is not None  # kept, still checking
        assert "still running" in asked[0]
        monkeypatch.setattr(ask, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
        qtbot.keyClick(wiz, Qt.Key.Key_Escape)
        assert not wiz.isVisible()
        qtbot.waitUntil(lambda: vpage.task is None, timeout=3000)  # the check was cancelled


def test_name_problem_follows_what_is_typed(qtbot, window):
    wiz = window.new_connector()
    basics = wiz.page_named("basics")
    wiz.next()
    assert basics.name_error.isVisible() and "is required" in basics.name_error.text()
    basics.name_edit.setText("bad name!")
    assert "is required" not in basics.name_error.text()
    assert "letters, digits" in basics.name_error.text()
    basics.name_edit.setText("good-name")
    assert not basics.name_error.isVisible()
    wiz.reject()


def test_other_server_drops_the_previous_providers_host(qtbot, window, shoot):
    wiz = start_wizard(window, "provider-switch", "smtp")
    provider = wiz.page_named("provider")
    provider.findChild(QRadioButton, "preset_gmail").setChecked(True)
    wiz.next()
    assert field(wiz, "server", "host").text() == "smtp.gmail.com"
    wiz.next()
    auth = wiz.page_named("auth")
    assert wiz.flow.draft.settings["auth"] == "oauth2"  # Gmail's preset signs in with OAuth …
    how = field(wiz, "auth", "auth")
    how.setCurrentIndex(how.findData("password"))  # … an administrator may still choose an App Password
    help_ = auth.form.help_labels["password"]
    assert help_.isVisibleTo(auth) and "App Password" in help_.text()  # Gmail's advice under Gmail
    wiz.back()
    wiz.back()
    provider.findChild(QRadioButton, "preset_microsoft365").setChecked(True)
    wiz.next()
    assert field(wiz, "server", "host").text() == "smtp.office365.com"
    wiz.next()
    assert not help_.isVisibleTo(auth) and "App Password" not in help_.text()  # …not under Microsoft 365
    wiz.back()
    wiz.back()
    provider.findChild(QRadioButton, "preset_other").setChecked(True)
    wiz.next()
    assert field(wiz, "server", "host").text() == ""  # not smtp.office365.com
    assert wiz.flow.draft.settings["host"] in (None, "")
    wiz.next()
    assert wiz.currentPage() is wiz.page_named("server")  # the empty server is named, Next refused
    assert wiz.page_named("server").form.errors["host"].isVisible()
    wiz.next()
    assert not help_.isVisibleTo(auth)
    wiz.reject()


def test_security_choice_does_not_claim_a_port_the_field_contradicts(qtbot, window, shoot):
    wiz = start_wizard(window, "odd-port", "smtp")
    wiz.next()
    server = wiz.page_named("server")
    assert "port follows" in server.subTitle()
    sec = field(wiz, "server", "security")
    sec.setCurrentIndex(sec.findData("starttls"))
    field(wiz, "server", "port").setValue(21587)
    assert "587" not in sec.currentText()
    note = server.form.help_labels["port"]
    assert note.isVisibleTo(server) and "usual port" in note.text() and "587" in note.text()
    fill_text(field(wiz, "server", "host"), "mail.example.test")
    qtbot.wait(50)
    shoot(wiz, "manners-server-odd-port")
    field(wiz, "server", "port").setValue(587)
    assert not note.isVisibleTo(server)
    wiz.reject()


def test_renaming_warns_that_workflows_use_the_name(qtbot, window, mail, certs, shoot):
    window.desk.import_document(smtp_document(mail, certs, name="old-name", env="PW"), {"PW": "pw"})
    window.reload(select="old-name")
    qtbot.waitUntil(lambda: window.selected_name() == "old-name", timeout=5000)
    window.edit_connector()
    qtbot.waitUntil(lambda: getattr(window, "wizard", None) is not None and window.wizard.isVisible(),
                    timeout=5000)
    wiz = window.wizard
    basics = wiz.page_named("basics")
    assert not basics.rename_note.isVisible()
    basics.name_edit.setText("new-name")
    assert basics.rename_note.isVisible()
    assert "old-name" in basics.rename_note.text() and "workflow" in basics.rename_note.text()
    shoot(wiz, "manners-rename")
    wiz.next()
    assert "renamed from “old-name”" in dict(wiz.flow.summary())["Name"]
    wiz.back()
    basics.name_edit.setText("old-name")
    assert not basics.rename_note.isVisible()
    wiz.reject()


def test_focus_never_rests_on_back_after_a_test_send(qtbot, window, mail, certs):
    from tests.gui.test_wizard import walk_to_validation
    wiz = walk_to_validation(qtbot, window, mail, certs, "focus-send", mail.users[0].password)
    assert wiz.flow.result.ok, wiz.flow.result.error
    qtbot.wait(20)
    # After the check the focus is on "Next >" (Enter goes on), not "< Back".
    assert wiz.focusWidget() is wiz.button(QWizard.WizardButton.NextButton)
    wiz.next()
    admin = wiz.page_named("admin")
    admin.edits["test_recipient"].setText(mail.users[1].address)
    wiz.activateWindow()
    qtbot.waitUntil(lambda: wiz.isActiveWindow(), timeout=3000)
    admin.send_btn.setFocus()
    qtbot.keyClick(admin.send_btn, Qt.Key.Key_Space)  # the keyboard's "click"
    back = wiz.button(QWizard.WizardButton.BackButton)
    assert wiz.focusWidget() is not back  # while sending
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=30000)
    assert wiz.flow.test_result.ok, wiz.flow.test_result.error
    assert wiz.focusWidget() is admin.send_btn
    # And the message's Message-ID is in the sender's domain, not a made-up .invalid one.
    msg = mail.wait_for_mail(mail.users[1].address, lambda m: "focus-send" in str(m["Subject"]))
    assert str(msg["Message-ID"]).endswith("@" + mail.users[0].address.rpartition("@")[2] + ">")
    wiz.next()
    rows = dict(wiz.flow.summary())
    assert rows["Sender (From) address"] == mail.users[0].address
    assert rows["CA file"] == str(certs.ca.ca_file)
    assert rows["Secrets"] == "Password — stored in your system keychain"
    wiz.reject()


def test_untrusted_certificate_shows_its_issuer_and_fingerprint(qtbot, window, mail, certs, shoot):
    """STARTTLS to Postfix without its CA file: the failure names the presented certificate's
    issuer and SHA-256 fingerprint (fetched on a second connection that sends no credential)."""
    wiz = start_wizard(window, "untrusted", "smtp")
    wiz.next()
    fill_text(field(wiz, "server", "host"), "localhost")
    sec = field(wiz, "server", "security")
    sec.setCurrentIndex(sec.findData("starttls"))
    field(wiz, "server", "port").setValue(mail.ports["submission"])
    wiz.next()
    fill_text(field(wiz, "auth", "username"), mail.users[0].address)
    fill_text(field(wiz, "auth", "password"), mail.users[0].password)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=20000)
    result = wiz.flow.result
    assert result.error.code == "cert_untrusted"
    text = wiz.page_named("validate").banner.message.text()
    assert "issued by Connector Desk Test CA" in text
    assert re.search(r"SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}", text), text
    assert mail.users[0].password not in "\n".join(result.transcript)
    shoot(wiz, "manners-validate-untrusted")
    wiz.reject()


@pytest.mark.parametrize(("type_name", "first"), [("smtp", "host"), ("imap", "host"), ("kafka", "bootstrap_servers")])
def test_a_form_page_opens_with_the_focus_in_its_first_field(qtbot, window, type_name, first):
    # Keyboard only: after Alt+N the administrator types the server straight away; the keys used to go
    # nowhere because the form is built after QWizard had placed the focus.
    wiz = start_wizard(window, f"focus-{type_name}", type_name)
    qtbot.waitExposed(wiz)
    wiz.next()  # provider → server and security
    assert wiz.currentPage() is wiz.page_named("server")
    editor = field(wiz, "server", first)
    target = editor.property("line_edit") or editor
    qtbot.waitUntil(lambda: wiz.focusWidget() is target, timeout=2000)
    wiz.reject()


def test_a_complaint_leaves_its_field_once_the_field_is_filled_in(qtbot, window):
    # Next on an empty sign-in page says "is required" beside the user name and the password; typing
    # them in used to leave both complaints standing beside the filled-in fields until the next Next.
    wiz = start_wizard(window, "stale-complaint", "smtp")
    qtbot.waitExposed(wiz)
    wiz.next()  # provider → server
    fill_text(field(wiz, "server", "host"), "mail.example.com")
    wiz.next()  # → sign-in
    auth = wiz.page_named("auth")
    assert wiz.currentPage() is auth
    wiz.next()  # refused: both are empty
    assert wiz.currentPage() is auth
    errors = auth.form.errors
    assert not errors["username"].isHidden() and not errors["password"].isHidden()
    qtbot.keyClicks(field(wiz, "auth", "username"), "svc@example.com")
    assert errors["username"].isHidden() and not errors["password"].isHidden()
    qtbot.keyClicks(field(wiz, "auth", "password"), "s3cret")
    assert errors["password"].isHidden()
    wiz.reject()


def test_the_type_is_chosen_with_tab_and_the_arrow_keys(qtbot, window):
    wiz = window.new_connector()
    qtbot.waitExposed(wiz)
    wiz.activateWindow()
    qtbot.waitUntil(lambda: wiz.isActiveWindow(), timeout=3000)
    basics = wiz.page_named("basics")
    basics.name_edit.setText("keys")
    basics.desc_edit.setFocus()
    qtbot.keyClick(basics.desc_edit, Qt.Key.Key_Tab)
    chosen = basics.types.checkedButton()
    assert chosen.objectName() == "type_smtp" and chosen.hasFocus()  # the chosen type, not the first listed
    qtbot.keyClick(chosen, Qt.Key.Key_Down)
    now = basics.types.checkedButton()
    assert now is not chosen and now.hasFocus()  # the arrow chose the next type
    wiz.next()
    assert wiz.flow.draft.type == now.property("type_name")
    wiz.reject()
