"""SendGrid in the GUI against the stand-in: key field with show/hide, region, sender, sandbox switch,
the key's scopes in the result view, a sandbox test send."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QToolButton

from tests.gui.test_wizard import field, fill_text, start_wizard


def test_sendgrid_wizard(qtbot, window, sendgrid, shoot):
    key = sendgrid.add_key(["mail.send", "verified_senders.read"])
    win = window
    wiz = start_wizard(win, "sg-transactional", "sendgrid")
    assert wiz.currentPage() is wiz.page_named("server")  # no provider page for SendGrid
    assert "port" not in wiz.page_named("server").subTitle()
    region = field(wiz, "server", "region")
    region.setCurrentIndex(region.findData("eu"))
    fill_text(field(wiz, "server", "from_address"), "billing@example.com")
    fill_text(field(wiz, "server", "api_base"), sendgrid.base)
    field(wiz, "server", "api_base_confirmed").setChecked(True)  # the stand-in is not SendGrid's address
    shoot(wiz, "sendgrid-server")
    wiz.next()
    pw: QLineEdit = field(wiz, "auth", "api_key")
    fill_text(pw, key)
    assert pw.echoMode() == QLineEdit.EchoMode.Password
    show: QToolButton = wiz.page_named("auth").form.findChild(QToolButton, "show_api_key")
    show.click()
    assert pw.echoMode() == QLineEdit.EchoMode.Normal and show.text() == "Hide"
    show.click()
    assert field(wiz, "auth", "sandbox").isChecked()
    shoot(wiz, "sendgrid-auth")
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=10000)
    assert wiz.flow.result.ok, wiz.flow.result.error
    vpage = wiz.page_named("validate")
    assert "Key permissions (2)" in vpage.facts.text() and "mail.send" in vpage.facts.text()
    assert "Sender:</b> verified" in vpage.facts.text()
    shoot(wiz, "sendgrid-validate")
    wiz.next()
    admin = wiz.page_named("admin")
    # Sandbox on: nothing is said to be delivered or "sent".
    assert "delivers a real message" not in admin.subTitle() and "delivers nothing" in admin.subTitle()
    admin.edits["test_recipient"].setText("you@example.com")
    qtbot.mouseClick(admin.send_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=10000)
    assert wiz.flow.test_result.ok, wiz.flow.test_result.error
    assert "sandbox" in admin.banner.message.text()
    assert "Test message sent" not in admin.banner.title.text()
    assert "nothing was delivered" in admin.banner.title.text()
    shoot(wiz, "sendgrid-admin-sandbox")
    assert sendgrid.sent[-1]["sandbox"] is True
    wiz.next()
    rows = dict(wiz.flow.summary())
    assert rows["Sender (From) address"] == "billing@example.com"
    assert rows["Sandbox test sends (validated by SendGrid, nothing delivered)"] == "yes"
    assert rows["Secrets"] == "API key — stored in your system keychain"
    shoot(wiz, "sendgrid-summary")
    with qtbot.waitSignal(wiz.saved, timeout=10000):
        wiz.accept()
    qtbot.waitUntil(lambda: win.model.rowCount() == 1, timeout=5000)
    assert win.model.data(win.model.index(0, 2)) == sendgrid.base.removeprefix("http://")


def test_sendgrid_sender_not_checked_is_not_a_tick_for_verified(qtbot, window, sendgrid, shoot):
    """A key that may not read verified senders: the step must not read "Sender is verified" ✓."""
    key = sendgrid.add_key(["mail.send"])
    wiz = start_wizard(window, "sg-unchecked", "sendgrid")
    fill_text(field(wiz, "server", "from_address"), "billing@example.com")
    fill_text(field(wiz, "server", "api_base"), sendgrid.base)
    field(wiz, "server", "api_base_confirmed").setChecked(True)  # the stand-in is not SendGrid's address
    wiz.next()
    fill_text(field(wiz, "auth", "api_key"), key)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=10000)
    assert wiz.flow.result.ok, wiz.flow.result.error
    steps = wiz.page_named("validate").steps
    row = next(steps.topLevelItem(i) for i in range(steps.topLevelItemCount())
               if "sender" in steps.topLevelItem(i).text(1).lower())
    assert row.text(3).startswith("not checked")
    assert "is verified" not in row.text(1) and row.text(0) == "–"  # no ✓ for what was not checked
    banner = wiz.page_named("validate").banner
    assert "(1 not checked)" in banner.title.text()
    shoot(wiz, "sendgrid-validate-sender-unchecked")
    wiz.reject()


def test_round_trip_through_a_sandbox_is_refused_before_sending(qtbot, window, sendgrid, mailboxes, certs, shoot):
    from tests.conftest import imap_document, sendgrid_document
    key = sendgrid.add_key(["mail.send"])
    window.desk.import_document(sendgrid_document(sendgrid.base, name="sg-sandbox", sandbox=True),
                                {"CD_TEST_SENDGRID_KEY": key})
    window.desk.import_document(imap_document(mailboxes, certs, name="rt-in", env="PW"),
                                {"PW": mailboxes.users[0].password})
    window.reload(select="sg-sandbox")
    qtbot.waitUntil(lambda: window.selected_name() == "sg-sandbox", timeout=5000)
    window.round_trip()
    dialog = window.roundtrip_dialog
    assert dialog.findChild(QComboBox, "sender").currentData() == "sg-sandbox"
    assert not dialog.run_btn.isEnabled() and "sandbox" in dialog.run_btn.toolTip()
    assert dialog.banner.isVisible() and "nothing can arrive" in dialog.banner.title.text()
    shoot(dialog, "roundtrip-sandbox")
    # The core refuses too (the CLI's round trip), before anything is sent.
    sg, imap = window.desk.get("sg-sandbox"), window.desk.get("rt-in")
    r = window.desk.roundtrip(sg, window.desk.load_secrets(sg), imap, window.desk.load_secrets(imap))
    assert not r.ok and "sandbox" in r.error.message and sendgrid.sent == []
    dialog.reject()


def _failed_step(steps):  # type: ignore[no-untyped-def]
    return next(steps.topLevelItem(i) for i in range(steps.topLevelItemCount())
                if steps.topLevelItem(i).text(0) == "✗")


def test_sendgrid_errors_name_fields_by_their_labels_under_the_right_step(qtbot, window, sendgrid, shoot):
    """A key of the wrong shape and an unconfirmed address override: the banner says “API key” and
    “API address override” (never secrets.api_key / settings.api_base), the address failure is
    under the address step (not the key's shape), and the hint names the checkbox by its label."""
    key = sendgrid.add_key(["mail.send"])
    wiz = start_wizard(window, "sg-labels", "sendgrid")
    fill_text(field(wiz, "server", "from_address"), "billing@example.com")
    fill_text(field(wiz, "server", "api_base"), sendgrid.base)  # not confirmed
    wiz.next()
    fill_text(field(wiz, "auth", "api_key"), key)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=10000)
    vpage = wiz.page_named("validate")
    banner = vpage.banner
    text = banner.title.text() + banner.message.text() + banner.hint.text()
    assert "settings." not in text and "secrets." not in text
    assert banner.message.text().startswith(f"API address override: “{sendgrid.base}” is not SendGrid's address")
    assert "“Send the API key to this API address override”" in banner.hint.text()
    assert "Check the API address" in banner.title.text() and "key's shape" not in banner.title.text()
    assert _failed_step(vpage.steps).text(1) == "Check the API address"
    assert sendgrid.requests == []
    shoot(wiz, "sendgrid-validate-unconfirmed-address")

    wiz.back()
    wiz.back()
    field(wiz, "server", "api_base_confirmed").setChecked(True)
    wiz.next()
    fill_text(field(wiz, "auth", "api_key"), "notakey-123")
    wiz.flow.result = None
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=10000)
    text = banner.title.text() + banner.message.text() + banner.hint.text()
    assert "secrets." not in text
    assert banner.message.text().startswith("API key: this does not look like a SendGrid API key")
    assert "“SG.”" in banner.hint.text()
    assert _failed_step(vpage.steps).text(1) == "Check the key's shape"
    assert sendgrid.requests == []
    shoot(wiz, "sendgrid-validate-key-shape")
    wiz.reject()
