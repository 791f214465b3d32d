"""Workspaces through the real main window against a real OpenBao: connect to a team vault from the
toolbar, see its connectors (not the local ones), switch back to this computer."""

from __future__ import annotations

from desktop.connectors import registry
from desktop.core import workspace
from desktop.core.service import Desk
from desktop.gui.main_window import MainWindow
from tests.conftest import smtp_document
from tests.servers.openbao import Bao


def connect_team_vault(qtbot, win, bao: Bao) -> None:  # type: ignore[no-untyped-def]
    """The user picks "Connect to a team vault…", names it "team", gives the address and a token, and
    presses Connect; until the window shows the vault."""
    box = win.workspace_choice
    box.activated.emit(box.findData(win.CONNECT))
    dialog = win.workspace_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    dialog.name.setText("team")
    dialog.address.setText(bao.url)
    dialog.token.setText(bao.root_token)
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: win.desk.team is not None and win.loaded and box.isEnabled(), timeout=15000)


def test_connect_to_a_team_vault_and_back(qtbot, app_home, bao, mail, certs, shoot):
    local = Desk(registry(), app_home)
    local.import_document(smtp_document(mail, certs, name="on-this-computer", env="PW"), {"PW": "pw"})
    win = MainWindow(local)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.loaded and win.workspace_choice.isEnabled(), timeout=5000)
    box = win.workspace_choice
    assert box.currentData() == "local" and box.findData(win.CONNECT) >= 0
    connect_team_vault(qtbot, win, bao)
    assert box.currentData() == "team" and win.windowTitle().endswith("— team")
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.empty_page, timeout=5000)  # the vault is empty
    win.desk.import_document(smtp_document(mail, certs, name="shared-mail", env="PW"), {"PW": "pw"})
    win.reload()
    qtbot.waitUntil(lambda: [c.name for c in win.connectors] == ["shared-mail"], timeout=10000)
    shoot(win, "team-workspace")
    assert workspace.listing(app_home)[1] == "team"  # the choice is kept for the next start
    box.activated.emit(box.findData("local"))
    qtbot.waitUntil(lambda: win.desk.team is None and [c.name for c in win.connectors] == ["on-this-computer"],
                    timeout=10000)
    win.runner.wait(3000)
