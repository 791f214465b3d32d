"""IMAP in the GUI: the folder picker, the read-only peek and the round trip, against real Dovecot."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from tests.conftest import imap_document, smtp_document
from tests.gui.test_wizard import field, fill_text, start_wizard


def test_imap_wizard_folder_picker_and_peek(qtbot, window, mailboxes, certs, shoot):
    wiz = start_wizard(window, "inbox-watch", "imap")
    wiz.next()  # provider: other
    fill_text(field(wiz, "server", "host"), "localhost")
    sec = field(wiz, "server", "security")
    assert field(wiz, "server", "port").value() == 993
    sec.setCurrentIndex(sec.findData("starttls"))
    assert field(wiz, "server", "port").value() == 143
    field(wiz, "server", "port").setValue(mailboxes.ports["imap"])
    fill_text(field(wiz, "server", "ca_file"), str(certs.ca.ca_file))
    wiz.next()
    auth = wiz.page_named("auth")
    # Choose… before signing in is explained, not silently ignored.
    qtbot.mouseClick(auth.form.pick_buttons["mailbox"], Qt.MouseButton.LeftButton)
    assert auth.form.errors["username"].isVisible()
    assert auth.notes.isVisible() and "User name, Password" in auth.notes.text()
    fill_text(field(wiz, "auth", "username"), mailboxes.users[0].address)
    fill_text(field(wiz, "auth", "password"), mailboxes.users[0].password)
    qtbot.mouseClick(auth.form.pick_buttons["mailbox"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(wiz, "folder_dialog", None) is not None and wiz.folder_dialog.isVisible(),
                    timeout=10000)
    dialog = wiz.folder_dialog
    shoot(dialog, "imap-folder-picker")
    names = set(dialog.items)
    assert {"INBOX", "Sent", "Entwürfe", "Archive", "Archive/2025"} <= names
    assert dialog.items["Sent"].text(1) == "Sent"  # special-use shown
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.tree.setCurrentItem(dialog.items["Archive"])
    assert not ok.isEnabled() and "messages" in ok.toolTip()  # \Noselect cannot be chosen
    dialog.tree.setCurrentItem(dialog.items["Entwürfe"])
    assert ok.isEnabled()
    ok.click()
    assert field(wiz, "auth", "mailbox").property("line_edit").text() == "Entwürfe"
    assert not auth.notes.isVisible()  # the earlier “fill in first” note is gone
    qtbot.wait(50)  # one turn of the event loop for the relayout after the error lines went away
    shoot(wiz, "imap-auth")
    # Back to INBOX for the peek (the seed messages are there).
    fill_text(field(wiz, "auth", "mailbox"), "INBOX")
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=15000)
    assert wiz.flow.result.ok, wiz.flow.result.error
    wiz.next()
    admin = wiz.page_named("admin")
    assert admin.peek_btn.isVisible() and not admin.send_btn.isVisible()
    admin.peek_count.setValue(3)
    qtbot.mouseClick(admin.peek_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=15000)
    assert wiz.flow.test_result.ok, wiz.flow.test_result.error
    assert admin.messages.topLevelItemCount() == 3
    assert "nothing was marked as read" in admin.banner.message.text()
    shoot(wiz, "imap-peek")
    wiz.next()
    assert dict(wiz.flow.summary())["Peek"] == "read the newest messages"
    with qtbot.waitSignal(wiz.saved, timeout=10000):
        wiz.accept()


def test_round_trip_dialog(qtbot, window, mailboxes, certs, shoot):
    env = {"CD_RT_PW": mailboxes.users[0].password}
    window.desk.import_document(smtp_document(mailboxes, certs, name="rt-smtp", env="CD_RT_PW"), env)
    window.desk.import_document(imap_document(mailboxes, certs, name="rt-imap", env="CD_RT_PW"), env)
    window.reload(select="rt-imap")
    qtbot.waitUntil(lambda: window.selected_name() == "rt-imap", timeout=5000)
    window.round_trip()
    dialog = window.roundtrip_dialog
    assert dialog.sender.currentData() == "rt-smtp" and dialog.receiver.currentData() == "rt-imap"
    qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30000)
    assert dialog.result.ok, dialog.result.error
    assert dialog.banner.title.text().startswith("✓ Delivered in")
    shoot(dialog, "roundtrip")
    dialog.reject()
