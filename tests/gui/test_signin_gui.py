"""The OAuth sign-in panel end to end, offscreen: Sign in… opens the "system browser" (the $BROWSER
program tests/servers/oauth_browser.py, through the panel's own opener) which signs in at the real
oidc-provider; the panel shows the account and scopes. Cancel, a declined sign-in, Copy, provider steps."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from desktop.connectors.base import ConnectorType
from desktop.core.errors import ConnectorError
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.oauth_signin import SignInResult
from desktop.core.service import Desk
from desktop.gui.signin import SignInAgainDialog, SignInPanel
from desktop.gui.worker import TaskRunner
from tests.servers import oauth_browser


@pytest.fixture
def browser_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "browser.jsonl"
    monkeypatch.setenv("BROWSER", str(oauth_browser.install(tmp_path)))
    monkeypatch.setenv("OAUTH_BROWSER_LOG", str(log))
    monkeypatch.setenv("OAUTH_BROWSER_MODE", "approve")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read $BROWSER afresh
    monkeypatch.setattr(webbrowser, "_browsers", {})
    return log


@pytest.fixture
def panel(qtbot: Any, oauth_server: Any) -> Any:
    runner = TaskRunner()
    settings = {"oauth_provider": "oidc", "oauth_issuer": oauth_server.issuer,
                "oauth_client_id": oauth_server.public_client,
                "oauth_scopes": ["openid", "email", "offline_access", "mail"]}
    p = SignInPanel(runner, lambda: (settings, {}, "smtp"), timeout_s=20)
    p.set_provider("oidc")
    qtbot.addWidget(p)
    p.resize(720, 560)
    p.show()
    yield p
    runner.cancel_all()
    runner.wait(3000)


def test_sign_in_through_the_system_browser(qtbot, panel, browser_program, shoot):
    assert panel.steps.isHidden()  # no empty step table before a sign-in
    with qtbot.waitSignal(panel.signedIn, timeout=20000) as signal:
        qtbot.mouseClick(panel.sign_in_btn, Qt.MouseButton.LeftButton)
        assert not panel.sign_in_btn.isEnabled() and panel.cancel_btn.isEnabled()
        assert not panel.steps.isHidden()
    got = signal.args[0]
    assert isinstance(got, SignInResult) and got.account == "alice@example.test"
    assert "Signed in as alice@example.test" in panel.banner.title.text()
    assert "mail" in panel.banner.message.text() and "refresh token came back" in panel.banner.message.text()
    assert panel.sign_in_btn.isEnabled() and not panel.cancel_btn.isEnabled()
    assert got.refresh_token is not None and got.refresh_token.reveal() not in panel.banner.message.text()
    assert oauth_browser.read_log(browser_program)[0]["delivered"] == [200]
    shoot(panel, "oauth-signed-in")


def test_cancel_while_the_browser_is_open(qtbot, panel, browser_program, monkeypatch):
    monkeypatch.setenv("OAUTH_BROWSER_MODE", "ignore")
    with qtbot.waitSignal(panel.failed, timeout=10000) as signal:
        qtbot.mouseClick(panel.sign_in_btn, Qt.MouseButton.LeftButton)
        # A browser that never shows up: the sign-in address is on the page as a link to open by hand.
        qtbot.waitUntil(lambda: panel.code.isVisible() and "If no browser opened" in panel.code.text(), timeout=5000)
        assert "href='http://127.0.0.1:" in panel.code.text() and "code_challenge" in panel.code.text()
        qtbot.mouseClick(panel.cancel_btn, Qt.MouseButton.LeftButton)
    assert signal.args[0].code == "cancelled" and not panel.code.isVisible()
    assert panel.sign_in_btn.isEnabled() and "Sign-in failed" in panel.banner.title.text()


def test_declined_sign_in_is_shown(qtbot, panel, browser_program, monkeypatch, shoot):
    monkeypatch.setenv("OAUTH_BROWSER_MODE", "deny")
    with qtbot.waitSignal(panel.failed, timeout=20000) as signal:
        qtbot.mouseClick(panel.sign_in_btn, Qt.MouseButton.LeftButton)
    assert signal.args[0].code == "oauth_access_denied"
    assert "oauth_access_denied" in panel.banner.message.text()
    shoot(panel, "oauth-declined")


def test_redirect_uri_copy_and_provider_steps(qtbot, panel, shoot):
    panel.set_provider("microsoft")
    assert panel.redirect.text() == "http://localhost"
    assert "entra.microsoft.com" in panel.steps_text.text() and "SMTP.SendAsApp" in panel.steps_text.text()
    qtbot.mouseClick(panel.copy_btn, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "http://localhost"
    shoot(panel, "oauth-microsoft-steps")
    panel.set_provider("google")
    assert panel.redirect.text() == "http://127.0.0.1" and "7 days" in panel.steps_text.text()


def test_device_code_is_shown_and_approved_elsewhere(qtbot, panel, browser_program):
    import os
    import re
    import subprocess
    panel.device.setChecked(True)
    with qtbot.waitSignal(panel.signedIn, timeout=30000):
        qtbot.mouseClick(panel.sign_in_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.code.isVisible(), timeout=10000)
        assert re.search(r"enter the code <b>[A-Z0-9-]+</b>", panel.code.text())
        uri = re.search(r"href='([^']+)'", panel.code.text()).group(1)
        # The person types the code on another device: the browser program does it from the address.
        code = re.search(r"<b>([^<]+)</b>", panel.code.text()).group(1)
        person = subprocess.Popen([os.environ["BROWSER"], f"{uri}?user_code={code}"])
    person.wait(20)
    assert not panel.code.isVisible() and "Signed in as alice@example.test" in panel.banner.title.text()


# -- Sign in again… for a saved connector: kept only after a validation passes ---------------------------
class OAuthMail(ConnectorType):
    """A mail-like connector type whose validate is the real token refresh plus a server verdict the test
    sets (settings.refuse): the shape of SMTP/IMAP with auth oauth2."""

    type_name = "oauthmail"
    label = "OAuth mail"
    summary = "test type"
    fields = (Field("oauth_provider", "Provider"), Field("oauth_issuer", "Issuer"),
              Field("oauth_client_id", "Client id"), Field("oauth_scopes", "Scopes", "list"),
              Field("refuse", "Refuse", "bool"))
    secrets = (SecretField("oauth_refresh_token", "Refresh token", optional=True),)

    def validate(self, conn: Any, secrets: Any, run: Any) -> None:
        from desktop.core.oauth_flow import access_token
        access_token(run, conn.settings, secrets)
        with run.step("mailserver", "Sign in to the mail server"):
            if conn.settings.get("refuse"):
                raise ConnectorError("auth_failed", "The mail server rejected the token.")


@pytest.fixture
def saved(app_home: Path, oauth_server: Any) -> Any:
    desk = Desk({"oauthmail": OAuthMail()}, app_home)
    settings = {"oauth_provider": "oidc", "oauth_issuer": oauth_server.issuer,
                "oauth_client_id": oauth_server.public_client,
                "oauth_scopes": ["openid", "email", "offline_access", "mail"]}
    return desk, desk.save(Connector(name="team-mail", type="oauthmail", settings=settings), {})


def test_sign_in_again_keeps_the_token_only_when_valid(qtbot, saved, browser_program, shoot):
    desk, conn = saved
    dialog = SignInAgainDialog(desk, conn, timeout_s=20)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.steps.isVisible()
    qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
    assert dialog.steps.isVisible()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert dialog.outcome.ok, dialog.outcome.error
    assert "Signed in as alice@example.test" in dialog.banner.title.text()
    first = desk.vault.get("team-mail/oauth_refresh_token")
    assert first is not None
    shoot(dialog, "oauth-sign-in-again")

    refusing = desk.get("team-mail")
    refusing.settings["refuse"] = True
    desk.catalogue.put([(refusing, None, False)])
    dialog.conn = desk.get("team-mail")
    dialog.outcome = None
    qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert dialog.outcome.error.code == "auth_failed"
    assert "left as it was" in dialog.banner.title.text()
    assert desk.vault.get("team-mail/oauth_refresh_token") == first
    dialog.reject()
    dialog.runner.wait(3000)
    # Rotate… on it points to a new sign-in for the refresh token (pasting one still works).
    from desktop.gui.rotate_dialog import RotateDialog
    rotate = RotateDialog(desk, desk.get("team-mail"))
    qtbot.addWidget(rotate)
    assert rotate.secret.currentData() == "oauth_refresh_token"
    assert "Sign in again…" in rotate.value.placeholderText()
    rotate.reject()


def test_sign_in_again_cancel(qtbot, saved, browser_program, monkeypatch):
    desk, conn = saved
    monkeypatch.setenv("OAUTH_BROWSER_MODE", "ignore")
    dialog = SignInAgainDialog(desk, conn, timeout_s=30)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
    qtbot.wait(300)
    qtbot.mouseClick(dialog.cancel_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=5000)
    assert dialog.outcome.error.code == "cancelled" and dialog.run_btn.isEnabled()
    assert desk.vault.get("team-mail/oauth_refresh_token") is None
    dialog.runner.wait(3000)


def test_panel_warns_when_no_refresh_token_came_back(qtbot, oauth_server, browser_program):
    runner = TaskRunner()
    settings = {"oauth_provider": "oidc", "oauth_issuer": oauth_server.issuer,
                "oauth_client_id": oauth_server.norefresh_client,
                "oauth_scopes": ["openid", "email", "offline_access", "mail"]}
    p = SignInPanel(runner, lambda: (settings, {}, "smtp"), timeout_s=20)
    qtbot.addWidget(p)
    p.show()
    with qtbot.waitSignal(p.signedIn, timeout=20000):
        qtbot.mouseClick(p.sign_in_btn, Qt.MouseButton.LeftButton)
    assert "no refresh token came back" in p.banner.title.text()
    assert "offline_access" in p.banner.hint.text()
    runner.wait(3000)


def test_sign_in_again_from_the_main_window(qtbot, saved, browser_program):
    from desktop.gui.main_window import MainWindow

    desk, _conn = saved
    win = MainWindow(desk)
    qtbot.addWidget(win)
    win.show()
    win.reload(select="team-mail")
    qtbot.waitUntil(lambda: win.selected_name() == "team-mail", timeout=5000)
    assert win.signin_action.isEnabled()
    win.signin_action.trigger()
    dialog = win.signin_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    qtbot.mouseClick(dialog.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert dialog.outcome.ok, dialog.outcome.error
    assert desk.vault.get("team-mail/oauth_refresh_token") is not None
    dialog.reject()
    qtbot.waitUntil(lambda: win.list_page.model.index(win.list_page.model.row_of("team-mail"), 3).data()
                    .startswith("Valid at"), timeout=5000)
    win.runner.wait(3000)


def test_the_wizard_signs_in_on_its_sign_in_page(qtbot, window, oauth_server, browser_program, shoot):
    """SMTP with OAuth in the real wizard: the sign-in panel appears with the OAuth choice, Sign in… goes
    through the "system browser" to the real oidc-provider, and the refresh token lands in the draft."""
    from tests.gui.test_wizard import field, fill_text, start_wizard

    wiz = start_wizard(window, "oauth-mail", "smtp")
    wiz.next()  # provider: other server
    fill_text(field(wiz, "server", "host"), "localhost")
    wiz.next()
    auth = wiz.page_named("auth")
    how = field(wiz, "auth", "auth")
    how.setCurrentIndex(how.findData("password"))
    assert not auth.signin.isVisibleTo(auth)  # a password sign-in has no OAuth panel
    how.setCurrentIndex(how.findData("oauth2"))
    assert auth.signin.isVisibleTo(auth)
    provider = field(wiz, "auth", "oauth_provider")
    provider.setCurrentIndex(provider.findData("oidc"))
    fill_text(field(wiz, "auth", "oauth_issuer"), oauth_server.issuer)
    fill_text(field(wiz, "auth", "oauth_client_id"), oauth_server.public_client)
    wiz.flow.set_setting("oauth_scopes", ["openid", "email", "offline_access", "mail"])
    assert auth.signin.redirect.text().startswith("http://127.0.0.1")
    with qtbot.waitSignal(auth.signin.signedIn, timeout=20000):
        qtbot.mouseClick(auth.signin.sign_in_btn, Qt.MouseButton.LeftButton)
    assert wiz.flow.secrets["oauth_refresh_token"].reveal()  # kept in the draft, for validation and Save
    shoot(wiz, "oauth-wizard-signed-in")
    wiz.reject()


def test_a_failed_sign_in_on_the_wizards_page_is_scrolled_into_view(qtbot, window):
    from tests.gui.test_wizard import oauth_sign_in_page

    wiz, auth = oauth_sign_in_page(window, "down-mail", "http://127.0.0.1:9", "mail-public")  # nobody listens
    auth.scroll_area.verticalScrollBar().setValue(0)
    with qtbot.waitSignal(auth.signin.failed, timeout=20000):
        qtbot.mouseClick(auth.signin.sign_in_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not auth.signin.banner.visibleRegion().isEmpty(), timeout=2000)
    assert "Sign-in failed" in auth.signin.banner.title.text()
    wiz.reject()


def test_a_complaint_about_a_field_leaves_once_the_field_is_filled_in(qtbot, window, oauth_server):
    from tests.gui.test_wizard import field, fill_text, oauth_sign_in_page

    wiz, auth = oauth_sign_in_page(window, "complaint-mail", oauth_server.issuer)  # no client id yet
    with qtbot.waitSignal(auth.signin.failed, timeout=20000):
        qtbot.mouseClick(auth.signin.sign_in_btn, Qt.MouseButton.LeftButton)
    assert "Client id" in auth.signin.banner.message.text() and auth.signin.banner.isVisible()
    fill_text(field(wiz, "auth", "oauth_client_id"), oauth_server.public_client)
    qtbot.waitUntil(lambda: not auth.signin.banner.isVisible(), timeout=2000)  # no stale "is required"
    wiz.reject()
