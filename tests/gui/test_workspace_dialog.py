"""“Connect to a team vault” against a real OpenBao: a token connects and saves the workspace (token
in the keychain, never in the file); a wrong token and a bad address save nothing and say why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core import workspace
from desktop.core.teamvault import token_key
from desktop.core.vault import open_vault
from desktop.gui.worker import TaskRunner
from desktop.gui.workspace_dialog import WorkspaceDialog


@pytest.fixture
def dialog(qtbot: Any, app_home: Path) -> Iterator[WorkspaceDialog]:
    runner = TaskRunner()
    dlg = WorkspaceDialog(runner, app_home)
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg
    runner.cancel_all()
    runner.wait(3000)


def test_a_token_connects_and_saves_the_workspace(qtbot, dialog, bao, app_home, shoot):
    dialog.name.setText("team")
    dialog.address.setText(bao.url)
    dialog.token.setText(bao.root_token)
    shoot(dialog, "workspace-dialog")
    with qtbot.waitSignal(dialog.connected, timeout=10000) as blocker:
        dialog.connect_button.click()
    assert blocker.args == ["team"]
    assert workspace.get("team", app_home).url == bao.url
    assert bao.root_token not in (app_home / "workspaces.json").read_text()
    assert open_vault(app_home).get(token_key("team")) is not None
    assert not dialog.isVisible()


def test_a_wrong_token_saves_nothing_and_says_so(qtbot, dialog, bao, app_home):
    dialog.name.setText("team")
    dialog.address.setText(bao.url)
    dialog.token.setText("not-a-token")
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10000)
    assert "auth_failed" in dialog.error.text()
    assert "Not connected" in dialog.status.text()
    assert [w.name for w in workspace.listing(app_home)[0]] == ["local"]
    assert open_vault(app_home).get(token_key("team")) is None


def test_a_bad_address_is_named_by_its_label(qtbot, dialog):
    dialog.name.setText("team")
    dialog.address.setText("vault.example.com")
    dialog.token.setText("x")
    dialog.connect_button.click()
    assert dialog.error.isVisible() and dialog.error.text().startswith("Vault address:")
    assert dialog.isVisible()
