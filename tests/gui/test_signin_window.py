"""The embedded sign-in window (QtWebEngine, offscreen) against the real oidc-provider: the panel's "Sign in
in a window…" opens it, the provider's login and consent forms are filled in inside the view with
``page().runJavaScript(...)`` as a person would, and the redirect goes to the core's loopback listener —
stopped in the view (the listener's page is never shown) for a query redirect, let through for a form
post. Then the refresh token is kept in the keychain only and IMAP validates with XOAUTH2 at the real
Dovecot, which introspects the access token at the same provider. Hostile: the window closed mid-sign-in
(Cancel, listener freed), a declined sign-in, Google (no button)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop.connectors import registry
from desktop.core import oauth_signin
from desktop.core.deadline import CancelToken
from desktop.core.model import parse_document
from desktop.core.pipeline import Run
from desktop.core.service import Desk
from desktop.gui import signin_window
from desktop.gui.signin import SignInPanel
from desktop.gui.worker import TaskRunner
from tests import leaks
from tests.conftest import Certs
from tests.servers.mailserver import MailServers, MailUser, OAuthIntrospection

# What Chromium says once per process when it finds no GPU (offscreen, Xvfb) and falls back to software.
pytestmark = pytest.mark.qt_log_ignore("QRhiGles2", "Failed to create RHI", "createPlatformVulkanInstance",
                                       "QVulkanInstance", "GBM is not supported", "GPUInfo not initialized")

ERIN = "erin@example.test"
SCOPES = ["openid", "email", "offline_access", "mail"]

# Fills in and sends the page's first form (oidc-provider's devInteractions: login, then consent), or
# follows its Cancel link ("deny"). A form that posts to another origin (the form_post page posting to
# the listener) is left to the page's own script.
DRIVE = """
(function(mode, login) {
  var abort = Array.prototype.find.call(document.links, function (a) { return a.href.indexOf('abort') >= 0; });
  if (mode === 'deny' && abort) { abort.click(); return 'abort ' + location.pathname; }
  var f = document.forms[0];
  if (!f) { return 'no form at ' + location.pathname; }
  if (new URL(f.action, location.href).origin !== location.origin) { return 'foreign form'; }
  var user = f.querySelector('[name=login]');
  if (user) { user.value = login; f.querySelector('[name=password]').value = 'any-password'; }
  var button = f.querySelector('button[type=submit]');
  if (button) { button.click(); } else { f.submit(); }
  return 'sent ' + location.pathname;
})(%s, %s)
"""


class Person:
    """Clicks through the provider's pages in a SignInWindow: on every page that finished loading, the
    DRIVE script. Records each address the view showed and what the script did."""

    def __init__(self, mode: str = "approve", login: str = "alice@example.test",
                 first_page: Callable[[Any], None] | None = None) -> None:
        self.mode, self.login, self.first_page = mode, login, first_page
        self.seen: list[str] = []
        self.did: list[str] = []
        self.window: Any = None

    def attach(self, window: Any) -> None:
        self.window = window
        window.view.urlChanged.connect(lambda url: self.seen.append(url.toString()))
        window.view.loadFinished.connect(self._loaded)

    def _loaded(self, ok: bool) -> None:
        if self.mode == "ignore" or self.window is None:
            return
        if self.first_page is not None:  # e.g. a screenshot of the login page as it was shown
            look, self.first_page = self.first_page, None
            look(self.window)
        script = DRIVE % (json.dumps(self.mode), json.dumps(self.login))
        self.window.view.page().runJavaScript(script, 0, lambda said: self.did.append(str(said)))


@pytest.fixture
def panel(qtbot: Any, oauth_server: Any) -> Iterator[SignInPanel]:
    runner = TaskRunner()
    settings = {"oauth_provider": "oidc", "oauth_issuer": oauth_server.issuer,
                "oauth_client_id": oauth_server.public_client, "oauth_scopes": SCOPES}
    p = SignInPanel(runner, lambda: (settings, {}, "imap"), timeout_s=30)
    p.set_provider("oidc")
    qtbot.addWidget(p)
    p.resize(760, 600)
    p.show()
    yield p
    runner.cancel_all()
    runner.wait(5000)


def open_window(qtbot: Any, panel: SignInPanel, person: Person) -> Any:
    qtbot.mouseClick(panel.window_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.sign_in_window is not None, timeout=10000)
    window = panel.sign_in_window
    person.attach(window)
    return window


def test_the_window_is_offered_for_openid_and_microsoft_but_not_google(panel, shoot):
    assert signin_window.available()  # make test installs the webview extra: the window is tested
    assert panel.window_btn.isVisibleTo(panel) and panel.window_btn.isEnabled()
    assert "private window" in panel.window_btn.toolTip() and not panel.window_note.isVisibleTo(panel)
    shoot(panel, "oauth-sign-in-window-button")
    panel.set_provider("microsoft")
    assert panel.window_btn.isVisibleTo(panel)
    panel.set_provider("google")
    assert not panel.window_btn.isVisibleTo(panel)
    assert panel.window_note.isVisibleTo(panel) and "Google blocks sign-in" in panel.window_note.text()
    shoot(panel, "oauth-google-no-window")
    panel.set_provider("oidc")
    assert panel.window_btn.isVisibleTo(panel) and not panel.window_note.isVisibleTo(panel)


def test_without_qtwebengine_the_button_says_how_to_get_it(qtbot, monkeypatch):
    monkeypatch.setattr(signin_window, "available", lambda: False)
    p = SignInPanel(TaskRunner(), lambda: ({}, {}, None))
    qtbot.addWidget(p)
    p.set_provider("oidc")
    assert not p.window_btn.isEnabled() and "webview extra" in p.window_btn.toolTip()
    assert "pip install 'connector-desk[webview]'" in p.window_note.text()
    with qtbot.waitSignal(p.failed, timeout=5000):  # a sign-in that ends (here at once: no provider) …
        qtbot.mouseClick(p.sign_in_btn, Qt.MouseButton.LeftButton)
    assert p.sign_in_btn.isEnabled() and not p.window_btn.isEnabled()  # … leaves the button as it was
    monkeypatch.setattr(signin_window, "frozen", lambda: True)  # the installers never carry it: no button
    p.set_provider("microsoft")
    assert not p.window_btn.isVisibleTo(p)


def test_qtwebengine_is_imported_neither_at_start_up_nor_by_the_sign_in_panel(app_home):
    """Start-up (run_gui, as `connector-desk --smoke` does) and the sign-in panel only look QtWebEngine up
    (it is imported when a window opens): neither the first paint nor the wizard's sign-in page pays for it."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    code = ("import sys, json; from desktop.gui.app import run_gui; rc = run_gui(smoke=True);"
            "at_start = sorted(m for m in sys.modules if 'WebEngine' in m);"
            "from desktop.gui.signin import SignInPanel; from desktop.gui.worker import TaskRunner;"
            "p = SignInPanel(TaskRunner(), lambda: ({}, {}, None)); p.set_provider('oidc');"
            "print(json.dumps([rc, at_start, p.window_btn.isEnabled(),"
            " sorted(m for m in sys.modules if 'WebEngine' in m)]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "CONNECTOR_DESK_HOME": str(app_home)})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [0, [], True, []]


def test_signs_in_in_the_window_and_the_listener_page_is_never_shown(qtbot, panel, oauth_server, shoot):
    def look(window: Any) -> None:
        qtbot.wait(200)  # let the page paint
        shoot(window, "oauth-sign-in-window")

    person = Person(first_page=look)
    with qtbot.waitSignal(panel.signedIn, timeout=30000) as signal:
        window = open_window(qtbot, panel, person)
        assert window.isVisible() and window.profile.isOffTheRecord()
        assert window.address.isReadOnly() and window.address.text().startswith(oauth_server.issuer + "/auth")
        assert not panel.code.isVisible()  # no "if no browser opened" link: the window is the browser
    got = signal.args[0]
    assert got.account == "alice@example.test" and "mail" in got.scopes and got.refresh_token is not None
    assert "Signed in as alice@example.test" in panel.banner.title.text()
    assert panel.sign_in_window is None and not window.isVisible()  # closed when the sign-in ended
    # The redirect was stopped in the view: it never showed (or loaded) the listener's address.
    listener = window.redirect
    assert listener is not None and listener.hostname == "127.0.0.1" and listener.port
    assert not any(urllib.parse.urlsplit(u).port == listener.port for u in person.seen)
    assert panel.sign_in_btn.isEnabled() and panel.window_btn.isEnabled() and not panel.cancel_btn.isEnabled()
    # Off the record: no cookies, cache or local storage of the web engine anywhere under the (test's own) HOME.
    assert not [p for p in Path.home().rglob("*") if "qtwebengine" in str(p).lower()]


def test_closing_the_window_cancels_and_frees_the_listener(qtbot, panel, shoot):
    person = Person(mode="ignore")
    with qtbot.waitSignal(panel.failed, timeout=10000) as signal:
        window = open_window(qtbot, panel, person)
        listener = signin_window.redirect_of(window.address.text())
        assert listener is not None and listener.port
        assert socket.create_connection(("127.0.0.1", listener.port), timeout=2).close() is None  # listening
        qtbot.wait(300)
        window.close()  # the window's own close button: the same as its Cancel
    error = signal.args[0]
    assert error.code == "cancelled" and "sign-in window was closed" in error.message
    assert "Sign-in cancelled" in panel.banner.title.text()
    steps = [panel.steps.topLevelItem(i).text(1) for i in range(panel.steps.topLevelItemCount())]
    assert steps == ["Find the provider's endpoints", "Sign in in the window"]
    assert "nothing was signed in" in panel.banner.message.text()
    assert panel.sign_in_btn.isEnabled() and panel.window_btn.isEnabled() and panel.sign_in_window is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", listener.port), timeout=2)  # nobody listens any more
    shoot(panel, "oauth-sign-in-window-closed")


def test_the_windows_cancel_button_cancels_too(qtbot, panel):
    with qtbot.waitSignal(panel.failed, timeout=10000) as signal:
        window = open_window(qtbot, panel, Person(mode="ignore"))
        qtbot.mouseClick(window.cancel_btn, Qt.MouseButton.LeftButton)
    assert signal.args[0].code == "cancelled" and not window.isVisible()



def test_the_address_starts_at_the_providers_host(qtbot, panel, oauth_server):
    """The read-only address of a long URL (the authorization request, and the provider's error page at
    it, e.g. for a client id it does not know) shows its beginning — whose page this is — not its tail."""
    window = open_window(qtbot, panel, Person(mode="ignore"))
    assert len(window.address.text()) > 200 and window.address.text().startswith(oauth_server.issuer)
    assert window.address.cursorPosition() == 0
    with qtbot.waitSignal(window.view.loadFinished, timeout=10000):
        pass
    assert window.address.text().startswith(oauth_server.issuer) and window.address.cursorPosition() == 0
    with qtbot.waitSignal(panel.failed, timeout=10000):
        qtbot.mouseClick(window.cancel_btn, Qt.MouseButton.LeftButton)

def test_the_panels_cancel_closes_the_window(qtbot, panel):
    with qtbot.waitSignal(panel.failed, timeout=10000) as signal:
        window = open_window(qtbot, panel, Person(mode="ignore"))
        qtbot.mouseClick(panel.cancel_btn, Qt.MouseButton.LeftButton)
    assert signal.args[0].code == "cancelled" and "Sign-in failed" in panel.banner.title.text()
    assert not window.isVisible() and panel.sign_in_window is None and window.profile is None  # the engine freed


def test_a_declined_sign_in_is_shown_in_words(qtbot, panel):
    person = Person(mode="deny")
    with qtbot.waitSignal(panel.failed, timeout=30000) as signal:
        open_window(qtbot, panel, person)
    assert signal.args[0].code == "oauth_access_denied"
    assert "Access was denied" in panel.banner.message.text() and "Sign-in failed" in panel.banner.title.text()
    assert any(d.startswith("abort") for d in person.did) and panel.sign_in_window is None


# -- the window alone, with a form post (Microsoft's response_mode=form_post) to the core's listener -----
def test_a_form_post_reaches_the_listener_through_the_window(qtbot, oauth_server):
    """oidc-provider answers with an auto-posting form (response_mode=form_post, as Entra does for msal):
    the window lets that post through to the core's Listener and hides the page at once."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    got: dict[str, Any] = {}
    with oauth_signin.Listener() as listener:
        url = f"{oauth_server.issuer}/auth?" + urllib.parse.urlencode({
            "client_id": oauth_server.public_client, "response_type": "code", "scope": "openid email",
            "redirect_uri": listener.redirect_uri("localhost"), "response_mode": "form_post", "state": state,
            "code_challenge": challenge, "code_challenge_method": "S256"})
        run = Run(30, CancelToken())

        def wait() -> None:
            try:
                got["params"] = listener.wait(run, lambda p: oauth_signin.redirect_problem(
                    p, state, oauth_server.issuer, "oidc"))
            except Exception as exc:  # noqa: BLE001 - reported below
                got["error"] = exc

        waiter = threading.Thread(target=wait)
        waiter.start()
        window = signin_window.SignInWindow(url)
        handed = []
        window.handedOver.connect(handed.append)
        person = Person()
        person.attach(window)
        window.show()
        qtbot.waitUntil(lambda: "params" in got or "error" in got, timeout=30000)
        waiter.join(5)
    assert "error" not in got, got.get("error")
    assert got["params"]["code"] and got["params"]["state"] == state
    assert handed == [listener.redirect_uri("localhost")]
    assert window.stack.currentWidget() is window.finishing  # the listener's page is not shown
    window.finish()


# -- end to end: the refresh token in the keychain only, then XOAUTH2 at the real Dovecot ---------------
@pytest.fixture(scope="module")
def oauth_mail(tmp_path_factory: pytest.TempPathFactory, oauth_server: Any, certs: Certs) -> Iterator[MailServers]:
    introspection = OAuthIntrospection(f"{oauth_server.issuer}/token/introspection",
                                       oauth_server.introspect_client, oauth_server.introspect_secret)
    servers = MailServers(tmp_path_factory.mktemp("window-mail") / "mail", certs.ca,
                          [MailUser(ERIN, "erin-" + secrets.token_hex(8))], oauth=introspection)
    servers.start()
    yield servers
    servers.stop()


def test_window_sign_in_then_imap_validates_with_xoauth2(qtbot, oauth_server, oauth_mail, certs, app_home):
    doc = {"name": "erin-imap", "type": "imap",
           "settings": {"host": oauth_mail.REMOTE, "port": oauth_mail.ports["imap"], "security": "starttls",
                        "auth": "oauth2", "username": ERIN, "ca_file": str(certs.ca.ca_file), "timeout_s": 10,
                        "oauth_mechanism": "XOAUTH2", "mailbox": "INBOX", "oauth_provider": "oidc",
                        "oauth_issuer": oauth_server.issuer, "oauth_client_id": oauth_server.public_client,
                        "oauth_scopes": SCOPES}}
    conn, _refs = parse_document(doc, registry())
    runner = TaskRunner()
    panel = SignInPanel(runner, lambda: (conn.settings, {}, "imap"), timeout_s=30)
    panel.set_provider("oidc")
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.signedIn, timeout=30000) as signal:
        open_window(qtbot, panel, Person(login=ERIN))
    got = signal.args[0]
    assert got.account == ERIN
    desk = Desk(registry(), app_home)
    desk.save(conn, {"oauth_refresh_token": got.refresh_token})
    result = desk.validate_saved("erin-imap")
    assert result.ok, result.error
    assert "C: A2 AUTHENTICATE XOAUTH2 ********" in result.transcript or any(
        line.endswith("AUTHENTICATE XOAUTH2 ********") for line in result.transcript)
    token = got.refresh_token.reveal()
    assert desk.vault.get("erin-imap/oauth_refresh_token") == got.refresh_token  # in the keychain
    for path in [p for p in Path(app_home).rglob("*") if p.is_file()]:  # and in no file of the app's
        clean = not leaks.leaked(path.read_bytes(), token)
        assert clean, path  # (a bool: a failed assertion prints no token)
    clean = not leaks.leaked(json.dumps(result.to_dict()).encode(), token)
    assert clean
    runner.wait(5000)


# -- Microsoft through msal (response_mode=form_post) with the window, at an https "tenant" ------------------
@pytest.fixture(scope="module")
def ms_server(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Any]:
    """oidc-provider over https at https://localhost:PORT/organizations/v2.0, dressed as Microsoft's sign-in
    host (msal's oidc_authority wants https with a path), its certificate from the tests' own CA."""
    from tests.servers.oauth import OAuthServer
    server = OAuthServer(tmp_path_factory.mktemp("window-ms") / "oidc-provider.log",
                         tls=(str(certs.good.cert), str(certs.good.key)), prefix="/organizations/v2.0").start()
    yield server
    server.stop()


@pytest.fixture
def ms_panel(qtbot: Any, ms_server: Any, certs: Certs, monkeypatch: pytest.MonkeyPatch) -> Iterator[SignInPanel]:
    from desktop.core import oauth_flow
    monkeypatch.setenv(oauth_flow.MICROSOFT_LOGIN_ENV, ms_server.base)
    settings = {"oauth_provider": "microsoft", "oauth_client_id": ms_server.public_client,
                "ca_file": str(certs.ca.ca_file)}
    runner = TaskRunner()
    p = SignInPanel(runner, lambda: (settings, {}, "smtp"), timeout_s=30)
    p.set_provider("microsoft")
    qtbot.addWidget(p)
    p.show()
    yield p
    runner.cancel_all()
    runner.wait(5000)


def test_microsoft_signs_in_in_the_window_with_form_post(qtbot, ms_panel, ms_server):
    """msal's auth-code flow (form_post, redirect http://localhost:PORT): the window trusts the page's
    certificate only through the connector's ca_file, lets the post reach the listener, and msal's token
    cache comes back (to be sealed in the keychain)."""
    from desktop.core import oauth_flow
    person = Person()
    with qtbot.waitSignal(ms_panel.signedIn, timeout=30000) as signal:
        window = open_window(qtbot, ms_panel, person)
        assert "response_mode=form_post" in window.address.text()
        assert window.redirect is not None and window.redirect.hostname == "localhost"
    got = signal.args[0]
    assert got.provider == "microsoft" and got.account == "alice@example.test"
    assert oauth_flow.MS_SMTP_SCOPE in got.scopes and got.refresh_token is not None
    holds = got.token_cache is not None and got.refresh_token.reveal() in got.token_cache.reveal()
    assert holds  # msal's cache (to be sealed in the keychain) holds the refresh token
    assert "Signed in as alice@example.test" in ms_panel.banner.title.text() and ms_panel.sign_in_window is None
    assert any(d.startswith("foreign form") for d in person.did)  # the form_post page posted itself


def test_a_certificate_nobody_vouches_for_is_not_shown(qtbot, ms_server, certs):
    """Without the connector's ca_file the test CA is unknown: the window refuses the page (no "accept
    anyway"), nothing is typed anywhere; with another CA file it is refused too."""
    url = f"{ms_server.issuer}/.well-known/openid-configuration"
    from tests.servers.certs import TestCA
    other = TestCA(Path(str(certs.ca.ca_file)).parent / "other-ca").ca_file
    for ca_file in (None, str(other)):
        window = signin_window.SignInWindow(url, ca_file=ca_file)
        with qtbot.waitSignal(window.view.loadFinished, timeout=15000) as loaded:
            window.show()
        assert loaded.args == [False]
        window.finish()
    window = signin_window.SignInWindow(url, ca_file=str(certs.ca.ca_file))
    with qtbot.waitSignal(window.view.loadFinished, timeout=15000) as loaded:
        window.show()
    assert loaded.args == [True]
    window.finish()


def test_the_wizards_sign_in_page_offers_the_window_by_provider(qtbot, window):
    """In the real wizard (SMTP, OAuth): the window's button follows the provider chosen on the page."""
    from tests.gui.test_wizard import field, oauth_sign_in_page

    wiz, auth = oauth_sign_in_page(window, "window-mail")
    provider = field(wiz, "auth", "oauth_provider")
    shown = {}
    for name in ("google", "microsoft", "oidc"):
        provider.setCurrentIndex(provider.findData(name))
        shown[name] = auth.signin.window_btn.isVisibleTo(auth)
    assert shown == {"google": False, "microsoft": True, "oidc": True}
    wiz.reject()


def test_only_a_valid_chain_to_the_ca_file_is_trusted(certs):
    """What the window accepts beyond the system's store: the connector's CA, for the right name, in date."""
    import ssl

    def der(pair: Any) -> list[bytes]:
        return [ssl.PEM_cert_to_DER_cert(Path(pair.cert).read_text())]

    ca = str(certs.ca.ca_file)
    assert signin_window.trusted_by(ca, "localhost", der(certs.good))
    assert signin_window.trusted_by(ca, "127.0.0.1", der(certs.good))
    assert not signin_window.trusted_by(ca, "other.example", der(certs.good))  # not its name
    assert not signin_window.trusted_by(ca, "localhost", der(certs.expired))
    assert not signin_window.trusted_by(ca, "localhost", der(certs.self_signed))
    assert not signin_window.trusted_by(str(Path(ca).with_name("missing.pem")), "localhost", der(certs.good))


# -- Sign in again… for a saved connector, in the window -------------------------------------------------
def test_sign_in_again_in_the_window(qtbot, app_home, oauth_server):
    """The window is offered in "Sign in again…" too: the new refresh token is kept after its validation
    passes; closing the window cancels and leaves the stored sign-in as it was."""
    from desktop.core.model import Connector
    from desktop.gui.signin import SignInAgainDialog
    from tests.gui.test_signin_gui import OAuthMail

    desk = Desk({"oauthmail": OAuthMail()}, app_home)
    settings = {"oauth_provider": "oidc", "oauth_issuer": oauth_server.issuer,
                "oauth_client_id": oauth_server.public_client, "oauth_scopes": SCOPES}
    conn = desk.save(Connector(name="team-mail", type="oauthmail", settings=settings), {})
    dialog = SignInAgainDialog(desk, conn, timeout_s=30)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.window_btn.isVisibleTo(dialog) and dialog.window_btn.isEnabled()
    qtbot.mouseClick(dialog.window_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.host.window is not None, timeout=10000)
    Person().attach(dialog.host.window)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30000)
    assert dialog.outcome.ok, dialog.outcome.error
    assert "Sign in in the window" in [s.label for s in dialog.outcome.steps]
    assert "Signed in as alice@example.test" in dialog.banner.title.text() and dialog.host.window is None
    first = desk.vault.get("team-mail/oauth_refresh_token")
    assert first is not None

    dialog.outcome = None
    qtbot.mouseClick(dialog.window_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.host.window is not None, timeout=10000)
    qtbot.wait(300)
    dialog.host.window.close()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=10000)
    assert dialog.outcome.error.code == "cancelled" and "window was closed" in dialog.outcome.error.message
    assert "left as it was" in dialog.banner.title.text() and dialog.window_btn.isEnabled()
    assert desk.vault.get("team-mail/oauth_refresh_token") == first
    dialog.reject()
    dialog.runner.wait(3000)

    google = desk.save(Connector(name="gmail", type="oauthmail", settings={**settings, "oauth_provider": "google"}),
                       {})
    other = SignInAgainDialog(desk, google)
    qtbot.addWidget(other)
    assert not other.window_btn.isVisibleTo(other) and "Google blocks sign-in" in other.window_note.text()


def test_the_wizard_signs_in_in_the_window_validates_test_sends_and_saves(qtbot, window, oauth_server, oauth_mail,
                                                                            certs, app_home, shoot):
    """SMTP with OAuth through the whole real wizard, signing in in the embedded window: the refresh token
    comes back to the page, validation signs in to the real Postfix with XOAUTH2, a test message is sent,
    and Save keeps the token in the keychain only."""
    from desktop.core.store import Catalogue
    from tests.gui.test_wizard import field, fill_text, oauth_sign_in_page

    wiz, auth = oauth_sign_in_page(window, "erin-smtp", oauth_server.issuer, oauth_server.public_client,
                                   host=oauth_mail.REMOTE, port=oauth_mail.ports["submission"],
                                   ca_file=str(certs.ca.ca_file))
    fill_text(field(wiz, "auth", "username"), ERIN)
    fill_text(field(wiz, "auth", "from_address"), ERIN)
    # The scopes are on this page once OAuth is chosen, typed as providers write them (spaces).
    assert auth.form.rows["oauth_scopes"].isVisibleTo(auth) and auth.form.rows["oauth_mechanism"].isVisibleTo(auth)
    fill_text(field(wiz, "auth", "oauth_scopes"), " ".join(SCOPES))
    assert auth.signin.window_btn.isEnabled()
    with qtbot.waitSignal(auth.signin.signedIn, timeout=30000):
        open_window(qtbot, auth.signin, Person(login=ERIN))
    assert auth.signin.sign_in_window is None  # the window closed itself once the redirect came
    qtbot.waitUntil(wiz.isActiveWindow, timeout=3000)  # the keyboard is back on the wizard (Alt+N is Next)
    qtbot.waitUntil(lambda: not auth.signin.banner.visibleRegion().isEmpty(), timeout=2000)  # scrolled into view
    shoot(wiz, "oauth-wizard-window-signed-in")
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=30000)
    assert wiz.flow.result.ok, wiz.flow.result.error
    assert any(line.endswith("AUTH XOAUTH2 ********") for line in wiz.flow.result.transcript)
    wiz.next()
    admin = wiz.page_named("admin")
    admin.edits["test_recipient"].setText(ERIN)
    qtbot.mouseClick(admin.send_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=30000)
    assert wiz.flow.test_result.ok, wiz.flow.test_result.error
    oauth_mail.wait_for_mail(ERIN, lambda m: "erin-smtp" in str(m["Subject"]))
    wiz.next()
    with qtbot.waitSignal(wiz.saved, timeout=10000):
        wiz.accept()
    saved = Catalogue(app_home).get("erin-smtp")
    assert saved is not None and saved.settings["auth"] == "oauth2"
    desk = window.desk
    token = desk.vault.get("erin-smtp/oauth_refresh_token")
    assert token is not None  # in the keychain
    for path in [p for p in Path(app_home).rglob("*") if p.is_file()]:  # and in no file of the app's
        clean = not leaks.leaked(path.read_bytes(), token.reveal())
        assert clean, path
    again = desk.validate_saved("erin-smtp")  # the saved connector works with what was kept
    assert again.ok, again.error
