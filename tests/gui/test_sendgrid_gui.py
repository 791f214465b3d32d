"""SendGrid in the GUI against the stand-in: key field with show/hide, region, sender, sandbox switch,
the key's scopes in the result view, a sandbox test send."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QToolButton

from tests.gui.test_wizard import field, fill_text, start_wizard


def test_sendgrid_wizard(qtbot, window, sendgrid, shoot):
    key = sendgrid.add_key(["mail.send", "verified_senders.read"])
    win = window
    wiz = start_wizard(win, "sg-transactional", "sendgrid")
    assert wiz.currentPage() is wiz.page_named("server")  # no provider page for SendGrid
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
    admin.edits["test_recipient"].setText("you@example.com")
    qtbot.mouseClick(admin.send_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=10000)
    assert wiz.flow.test_result.ok, wiz.flow.test_result.error
    assert "sandbox" in admin.banner.message.text()
    assert sendgrid.sent[-1]["sandbox"] is True
    wiz.next()
    with qtbot.waitSignal(wiz.saved, timeout=10000):
        wiz.accept()
    qtbot.waitUntil(lambda: win.model.rowCount() == 1, timeout=5000)
    assert win.model.data(win.model.index(0, 2)) == sendgrid.base.removeprefix("http://")
