"""IMAP in the GUI: the folder picker, the read-only peek and the round trip, against real Dovecot."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox

from tests.conftest import imap_document, smtp_document
from tests.gui.test_wizard import field, fill_text, start_wizard


def folder_dialog(wiz):
    """The folder picker the wizard opened, found by its object name."""
    return wiz.findChild(QDialog, "folderDialog")


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
    qtbot.waitUntil(lambda: folder_dialog(wiz) is not None and folder_dialog(wiz).isVisible(), timeout=10000)
    dialog = folder_dialog(wiz)
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
    from PySide6.QtWidgets import QWizard
    qtbot.wait(50)
    # Enter must not go back: after the picker the focus is on the mailbox, not "< Back".
    assert wiz.focusWidget() is field(wiz, "auth", "mailbox").property("line_edit")
    assert wiz.focusWidget() is not wiz.button(QWizard.WizardButton.BackButton)
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
    assert dialog.findChild(QComboBox, "sender").currentData() == "rt-smtp"
    assert dialog.findChild(QComboBox, "receiver").currentData() == "rt-imap"
    qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30000)
    assert dialog.outcome.ok, dialog.outcome.error
    assert dialog.banner.title.text().startswith("✓ Delivered in")
    shoot(dialog, "roundtrip")
    dialog.reject()


def test_folder_look_up_can_be_cancelled(qtbot, window, certs):
    from tests.servers import scripted
    from tests.servers.scripted import ScriptedServer
    with ScriptedServer(scripted.hung) as srv:
        wiz = start_wizard(window, "hung-folders", "imap")
        wiz.next()
        fill_text(field(wiz, "server", "host"), "localhost")
        field(wiz, "server", "port").setValue(srv.port)
        field(wiz, "server", "timeout_s").setValue(60)
        wiz.next()
        auth = wiz.page_named("auth")
        fill_text(field(wiz, "auth", "username"), "u@example.test")
        fill_text(field(wiz, "auth", "password"), "pw")
        choose = auth.form.pick_buttons["mailbox"]
        qtbot.mouseClick(choose, Qt.MouseButton.LeftButton)
        assert choose.isEnabled() and "Cancel" in choose.text()  # the same button stops the look-up
        qtbot.wait(300)
        qtbot.mouseClick(choose, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: choose.text() == "Choose…", timeout=2000)
        assert "cancelled" in auth.notes.text() and folder_dialog(wiz) is None
        wiz.reject()


def test_wrong_case_mailbox_is_one_click_away_and_peek_shows_unread(qtbot, window, mailboxes, certs, shoot):
    wiz = start_wizard(window, "case-watch", "imap")
    wiz.next()
    fill_text(field(wiz, "server", "host"), "localhost")
    sec = field(wiz, "server", "security")
    sec.setCurrentIndex(sec.findData("starttls"))
    field(wiz, "server", "port").setValue(mailboxes.ports["imap"])
    fill_text(field(wiz, "server", "ca_file"), str(certs.ca.ca_file))
    wiz.next()
    fill_text(field(wiz, "auth", "username"), mailboxes.users[0].address)
    fill_text(field(wiz, "auth", "password"), mailboxes.users[0].password)
    fill_text(field(wiz, "auth", "mailbox"), "sent")
    wiz.next()
    vpage = wiz.page_named("validate")
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=15000)
    assert wiz.flow.result.error.code == "mailbox_not_found"
    assert [b.text() for b in vpage.fix_buttons] == ["Use ‘Sent’"]
    assert vpage.fix_buttons[0].isVisible()
    assert "sender" not in vpage.subTitle()  # IMAP has no sender
    shoot(wiz, "imap-validate-wrong-case")
    wiz.flow.result = None
    qtbot.mouseClick(vpage.fix_buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=15000)
    assert wiz.flow.result.ok, wiz.flow.result.error
    assert wiz.flow.draft.settings["mailbox"] == "Sent" and vpage.fix_buttons == []
    assert field(wiz, "auth", "mailbox").property("line_edit").text() == "Sent"
    assert "test message" not in vpage.banner.message.text() and "peek" in vpage.banner.message.text()
    # Peek at INBOX: its seed messages were never read, and the peek says so (and reads nothing).
    wiz.back()
    fill_text(field(wiz, "auth", "mailbox"), "INBOX")
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.validated_ok, timeout=15000)
    wiz.next()
    admin = wiz.page_named("admin")
    admin.peek_count.setValue(1)
    assert admin.peek_count.text() == "1 message"
    admin.peek_count.setValue(3)
    qtbot.mouseClick(admin.peek_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=15000)
    assert wiz.flow.test_result.ok, wiz.flow.test_result.error
    assert admin.messages.headerItem().text(0) == "State"
    assert {admin.messages.topLevelItem(i).text(0) for i in range(3)} == {"unread"}
    shoot(wiz, "imap-peek-unread")
    wiz.reject()


def test_round_trip_prefers_a_valid_receiver_checks_it_first_and_can_be_cancelled(qtbot, window, mailboxes, certs,
                                                                                   shoot):
    from desktop.core.model import Status
    desk = window.desk
    env = {"PW": mailboxes.users[0].password, "BAD": "not-the-password"}
    desk.import_document(smtp_document(mailboxes, certs, name="rt2-out", env="PW"), env)
    desk.import_document(imap_document(mailboxes, certs, name="aa-broken-in", env="BAD"), env)
    desk.import_document(imap_document(mailboxes, certs, name="zz-good-in", env="PW"), env)
    desk.catalogue.set_status("aa-broken-in", Status("failed", "2026-01-01T00:00:00+00:00", "auth_failed", "refused"))
    desk.catalogue.set_status("zz-good-in", Status("valid", "2026-01-01T00:00:00+00:00"))
    window.reload(select="rt2-out")
    qtbot.waitUntil(lambda: window.selected_name() == "rt2-out", timeout=5000)
    window.round_trip()
    dialog = window.roundtrip_dialog
    receiver = dialog.findChild(QComboBox, "receiver")
    assert receiver.currentData() == "zz-good-in"  # not the first alphabetically, which fails
    assert "failed" in receiver.itemText(receiver.findData("aa-broken-in"))
    assert not dialog.cancel_btn.isEnabled()
    # A receiver that cannot sign in fails before anything is sent.
    receiver.setCurrentIndex(receiver.findData("aa-broken-in"))
    qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30000)
    assert dialog.outcome.error.code == "auth_failed"
    assert not any(s.name.startswith("send.") for s in dialog.outcome.steps)
    assert dialog.outcome.error.step_label.startswith("Receiver:")
    # The wait can be cancelled: a message to another address never arrives in this mailbox.
    dialog.outcome = None
    receiver.setCurrentIndex(receiver.findData("zz-good-in"))
    dialog.to.setText(mailboxes.users[1].address)
    qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None or any(
        dialog.steps.topLevelItem(i).text(1).startswith("Receive: Wait")
        for i in range(dialog.steps.topLevelItemCount())), timeout=30000)
    assert dialog.outcome is None, (dialog.outcome.error, [(st.label, st.detail) for st in dialog.outcome.steps])
    assert dialog.cancel_btn.isEnabled() and not dialog.run_btn.isEnabled()
    shoot(dialog, "roundtrip-waiting")
    qtbot.mouseClick(dialog.cancel_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=3000)
    assert dialog.outcome.error.code == "cancelled" and "cancelled" in dialog.banner.title.text()
    assert dialog.run_btn.isEnabled() and not dialog.cancel_btn.isEnabled()
    dialog.reject()


def test_a_round_trip_without_a_receiver_names_the_types_that_could_be_one(qtbot, window, mailboxes, certs):
    """The words come from the connector types' declared actions, not from a list in the dialog."""
    env = {"CD_RT_PW": mailboxes.users[0].password}
    window.desk.import_document(smtp_document(mailboxes, certs, name="rt-only-smtp", env="CD_RT_PW"), env)
    window.reload(select="rt-only-smtp")
    qtbot.waitUntil(lambda: window.selected_name() == "rt-only-smtp", timeout=5000)
    window.round_trip()
    dialog = window.roundtrip_dialog
    assert not dialog.run_btn.isEnabled()
    assert "sends mail (SMTP or SendGrid) and one that receives it (IMAP)" in dialog.banner.title.text()
    dialog.reject()
