"""Where secrets go, as the pages say it, follows the workspace in use: a team vault (a real OpenBao),
the passphrase vault, or the system keychain — never “the system keychain” while they are elsewhere."""

from __future__ import annotations

from desktop.connectors import registry
from desktop.core.service import Desk
from desktop.gui.main_window import MainWindow
from tests.conftest import sendgrid_document
from tests.gui.test_wizard import field, fill_text, start_wizard
from tests.gui.test_workspace_window import connect_team_vault

TEAM = "the team vault “team”"


def _window(qtbot, desk):  # type: ignore[no-untyped-def]
    win = MainWindow(desk)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.loaded and win.workspace_choice.isEnabled(), timeout=5000)
    return win


def _empty_text(win) -> str:  # type: ignore[no-untyped-def]
    return str(win.empty_page.text.text())


def test_a_team_vault_workspace_says_the_team_vault_everywhere(qtbot, app_home, bao, shoot):
    win = _window(qtbot, Desk(registry(), app_home))
    assert "Passwords and keys go to your system keychain" in _empty_text(win)
    connect_team_vault(qtbot, win, bao)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.empty_page, timeout=5000)
    # The empty list page.
    assert f"Passwords and keys go to {TEAM}, never to a file." in _empty_text(win)
    assert "keychain" not in _empty_text(win)
    shoot(win, "team-empty")
    # The wizard's sign-in page (its words and the secret's placeholder) and summary.
    wiz = start_wizard(win, "sg-team", "sendgrid")
    fill_text(field(wiz, "server", "from_address"), "billing@example.com")
    wiz.next()
    auth = wiz.page_named("auth")
    assert wiz.currentPage() is auth
    assert f"Secrets go to {TEAM}, never to a file." in auth.subTitle() and "keychain" not in auth.subTitle()
    key = field(wiz, "auth", "api_key")
    assert key.placeholderText() == f"stored in {TEAM}"
    shoot(wiz, "team-signin")
    fill_text(key, "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR")
    assert dict(wiz.flow.summary())["Secrets"] == f"API key — stored in {TEAM}"
    assert TEAM in wiz.page_named("summary").subTitle()
    wiz.reject()
    # The details pane of a saved connector.
    win.desk.import_document(sendgrid_document("https://api.sendgrid.com", name="sg-shared", env="K"),
                             {"K": "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR"})
    win.reload(select="sg-shared")
    qtbot.waitUntil(lambda: win.selected_name() == "sg-shared", timeout=10000)
    details = win.list_page.details.text.text()
    assert f"in {TEAM}" in details and "keychain" not in details
    shoot(win, "team-details")
    from desktop.gui.rotate_dialog import RotateDialog
    rotate = RotateDialog(win.desk, win.desk.get("sg-shared"), win)
    assert f"the previous value stays in {TEAM} for the grace period" in rotate.ui.intro.text()
    rotate.reject()
    # Back on this computer: the keychain again.
    box = win.workspace_choice
    box.activated.emit(box.findData("local"))
    qtbot.waitUntil(lambda: win.desk.team is None and win.loaded and box.isEnabled(), timeout=10000)
    assert "Passwords and keys go to your system keychain" in _empty_text(win)
    win.runner.wait(3000)


def test_the_passphrase_vault_is_named_where_it_is_used(qtbot, app_home, monkeypatch, shoot):
    monkeypatch.setenv("CONNECTOR_DESK_VAULT", "passphrase")
    monkeypatch.setenv("CONNECTOR_DESK_VAULT_PASSPHRASE", "correct horse battery staple")
    desk = Desk(registry(), app_home)
    assert desk.secrets_place() == "the passphrase vault on this computer"
    win = _window(qtbot, desk)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.empty_page, timeout=5000)
    assert "Passwords and keys go to the passphrase vault on this computer" in _empty_text(win)
    wiz = start_wizard(win, "sg-local", "sendgrid")
    fill_text(field(wiz, "server", "from_address"), "billing@example.com")
    wiz.next()
    assert "Secrets go to the passphrase vault on this computer" in wiz.page_named("auth").subTitle()
    assert desk.vault.place == desk.secrets_place()  # the vault opened is the one named
    wiz.reject()
    win.runner.wait(3000)
