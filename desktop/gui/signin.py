"""The OAuth sign-in panel of a mail connector (SMTP/IMAP with ``auth: oauth2``): the redirect URI to
register (with Copy), short provider-specific setup steps with links to the consoles, **Sign in…** (the
system browser + the loopback listener of :mod:`desktop.core.oauth_signin`, on a worker), **Sign in in
a window…** (Microsoft and OpenID providers, when QtWebEngine is installed: the embedded window of
:mod:`desktop.gui.signin_window`, feeding the same listener), **Cancel**, an optional device code, and
the result: account, granted scopes, and a warning when no refresh token came back. The panel keeps
nothing: the caller decides what to store (``signedIn``).

It is a plain widget so the wizard's sign-in page and a "Sign in again…" dialog can both hold it.
"""

from __future__ import annotations

import html
import threading
import webbrowser
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import errors
from desktop.core.errors import ConnectorError
from desktop.core.model import Connector
from desktop.core.pipeline import Run, RunResult, execute
from desktop.core.secret import Secret
from desktop.core.service import Desk
from desktop.gui.banner import ResultBanner
from desktop.gui.widgets import StepList
from desktop.gui.worker import Task, TaskRunner

# What to register as the redirect URI (any port: the listener picks one each time; RFC 8252 §7.3).
REDIRECT_URIS = {"google": "http://127.0.0.1", "oidc": "http://127.0.0.1", "microsoft": "http://localhost"}

SETUP = {
    "google": (
        "<ol><li>In the <a href='https://console.cloud.google.com/apis/credentials'>Google Cloud console</a>, "
        "create an OAuth client ID of type <b>Desktop app</b> (enable the Gmail API for the project).</li>"
        "<li>On the <a href='https://console.cloud.google.com/apis/credentials/consent'>OAuth consent screen"
        "</a>, add the scope <code>https://mail.google.com/</code>; publish the app “In production” — while "
        "it is “Testing”, sign-ins expire after 7 days.</li>"
        "<li>Paste the client ID and secret here; Google accepts the loopback redirect below on any port.</li>"
        "</ol>"),
    "microsoft": (
        "<ol><li>In <a href='https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/"
        "ApplicationsListBlade'>Microsoft Entra → App registrations</a>, create a registration; under "
        "<b>Authentication</b> add the platform <b>Mobile and desktop applications</b> with the redirect URI "
        "below, and allow public client flows for device-code sign-in.</li>"
        "<li>Under <b>API permissions</b> add <i>Office 365 Exchange Online</i> → delegated "
        "<code>SMTP.Send</code> (sending) or <code>IMAP.AccessAsUser.All</code> (reading), plus "
        "<code>offline_access</code>, then <b>Grant admin consent</b>. <code>SMTP.SendAsApp</code> is an "
        "application permission for unattended apps, not for a signed-in mailbox.</li>"
        "<li>SMTP AUTH must be enabled for the mailbox (Exchange admin center → Mailboxes → Mail apps).</li>"
        "</ol>"),
    "oidc": (
        "<ol><li>At your OpenID provider, register a native/public (or confidential) client with the "
        "authorization-code grant, PKCE S256 and refresh tokens, and the loopback redirect below.</li>"
        "<li>Allow the scopes the mail server checks, and <code>offline_access</code>.</li></ol>"),
}


def system_browser(url: str) -> None:
    """The platform's way: QDesktopServices (which honours $BROWSER through xdg-open on Linux); Python's
    webbrowser (which honours $BROWSER too) where the platform plug-in has no URL handler (offscreen)."""
    if QGuiApplication.platformName() not in ("offscreen", "minimal") and QDesktopServices.openUrl(QUrl(url)):
        return
    # A console browser blocks until it is closed: never on the GUI thread.
    threading.Thread(target=webbrowser.open, args=(url,), name="browser", daemon=True).start()


class WindowHost:
    """The embedded sign-in window of one running sign-in, for the panel and the Sign in again dialog:
    ``open`` is that sign-in's browser, ``close`` ends the window when the sign-in ends, and a person
    closing it (or its Cancel) calls ``on_closed`` — the caller cancels the sign-in."""

    def __init__(self, parent: QWidget, on_closed: Callable[[], None]) -> None:
        self.parent, self.on_closed = parent, on_closed
        self.window: Any = None  # the open SignInWindow, if any
        self.closed_by_user = False
        self.ca_file: str | None = None  # the connector's CA file: the window trusts it too

    def start(self, settings: Mapping[str, Any]) -> None:
        self.closed_by_user = False
        self.ca_file = str(settings.get("ca_file") or "") or None

    def open(self, url: str) -> None:
        from desktop.gui.signin_window import SignInWindow

        self.close()
        self.window = SignInWindow(url, self.parent, ca_file=self.ca_file)
        self.window.cancelled.connect(self._cancelled)
        self.window.show()

    def _cancelled(self) -> None:
        self.window = None
        self.closed_by_user = True
        self.on_closed()
        self._back()

    def close(self) -> None:
        if self.window is not None:
            window, self.window = self.window, None
            window.finish()
            self._back()

    def _back(self) -> None:
        """The keyboard goes back to the page the sign-in started from (Alt+N was typed into a field)."""
        self.parent.window().activateWindow()


def offer_window(button: QPushButton, note: QLabel | None, provider: str) -> bool:
    """Show ``button`` (Sign in in a window…) as ``provider`` and the install allow: Microsoft and OpenID
    providers only (Google blocks embedded browsers), when QtWebEngine is installed; without it the button
    says how to get it (hidden in the frozen build, which never carries it). Whether it can be used."""
    from desktop.gui import signin_window

    text = ""
    usable = provider in signin_window.PROVIDERS and signin_window.available()
    if provider not in signin_window.PROVIDERS:
        button.hide()
        text = button.tr("Google blocks sign-in from windows embedded in applications, so Sign in… opens "
                         "your browser.")
    elif usable:
        button.show()
        button.setToolTip(button.tr("Sign in inside Connector Desk, in a private window that keeps nothing on "
                                    "disk"))
    elif signin_window.frozen():
        button.hide()
    else:
        button.show()
        button.setToolTip(button.tr(signin_window.EXTRA_HINT))
        text = button.tr(signin_window.EXTRA_HINT)
    button.setEnabled(usable)
    if note is not None:
        note.setText(text)
        note.setVisible(bool(text))
    return usable


def load_window(banner: ResultBanner) -> bool:
    """Import QtWebEngine now (a broken install is said here, not in a thread); False, with the reason on
    ``banner``, when it cannot be loaded."""
    from desktop.gui import signin_window

    try:
        signin_window.load()
    except ImportError as exc:
        banner.error(ConnectorError(errors.BAD_INPUT, banner.tr("QtWebEngine could not be loaded ({0}).")
                                    .format(exc), banner.tr(signin_window.EXTRA_HINT)),
                     banner.tr("Cannot sign in in a window"))
        return False
    return True


def window_closed_error(widget: QWidget, error: ConnectorError) -> ConnectorError:
    """The words for a sign-in cancelled by closing its window."""
    closed = ConnectorError(errors.CANCELLED, widget.tr("The sign-in window was closed before the sign-in "
                                                        "finished; nothing was signed in."),
                            widget.tr("Sign in again and finish it in the window. If the provider showed an "
                                      "error there (an unknown client, a redirect URI it does not know), check "
                                      "the Client id and the redirect URI registered with the provider."),
                            step=error.step)
    closed.step_label = error.step_label
    return closed


class SignInPanel(QWidget):
    """OAuth sign-in for the settings ``source()`` returns (settings, secrets, protocol).

    Signals:
        signedIn(object): the SignInResult after a successful sign-in (tokens as Secret values).
        failed(object): the ConnectorError of a failed or cancelled sign-in.
    """

    signedIn = Signal(object)
    failed = Signal(object)

    def __init__(self, runner: TaskRunner,
                 source: Callable[[], tuple[Mapping[str, Any], Mapping[str, Secret], str | None]],
                 parent: QWidget | None = None, opener: Callable[[str], object] = system_browser,
                 timeout_s: float = 300.0) -> None:
        super().__init__(parent)
        self.setObjectName("signInPanel")
        self.runner = runner
        self.source = source
        self.opener = opener
        self.timeout_s = timeout_s
        self.task: Task | None = None
        self.result: Any = None
        v = QVBoxLayout(self)
        self.steps_text = QLabel()
        self.steps_text.setObjectName("setupSteps")
        self.steps_text.setWordWrap(True)
        self.steps_text.setOpenExternalLinks(True)
        v.addWidget(self.steps_text)
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Redirect URI to register:")))
        self.redirect = QLineEdit()
        self.redirect.setObjectName("redirectUri")
        self.redirect.setReadOnly(True)
        row.addWidget(self.redirect, 1)
        self.copy_btn = QPushButton(self.tr("&Copy"))
        self.copy_btn.setObjectName("copyRedirect")
        self.copy_btn.clicked.connect(self.copy_redirect)
        row.addWidget(self.copy_btn)
        v.addLayout(row)
        buttons = QHBoxLayout()
        self.sign_in_btn = QPushButton(self.tr("&Sign in…"))
        self.sign_in_btn.setObjectName("signIn")
        self.sign_in_btn.setToolTip(self.tr("Opens your browser at the provider's sign-in page"))
        self.sign_in_btn.clicked.connect(self.sign_in)
        self.window_btn = QPushButton(self.tr("Sign in in a &window…"))
        self.window_btn.setObjectName("signInWindow")
        self.window_btn.clicked.connect(self.sign_in_in_window)
        self.cancel_btn = QPushButton(self.tr("Cancel"))
        self.cancel_btn.setToolTip(self.tr("Stops a sign-in that is waiting for the browser or the window"))
        self.cancel_btn.setObjectName("cancelSignIn")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(self.cancel)
        self.device = QCheckBox(self.tr("No browser here: use a device code"))
        self.device.setObjectName("deviceCode")
        buttons.addWidget(self.sign_in_btn)
        buttons.addWidget(self.window_btn)
        buttons.addWidget(self.cancel_btn)
        buttons.addWidget(self.device)
        buttons.addStretch(1)
        v.addLayout(buttons)
        self.window_note = QLabel()
        self.window_note.setObjectName("signInWindowNote")
        self.window_note.setWordWrap(True)
        v.addWidget(self.window_note)
        self.host = WindowHost(self, self._window_closed)
        self.opener_now: Callable[[str], object] = opener
        self.window_usable = False
        self.code = QLabel()
        self.code.setObjectName("deviceCodeText")
        self.code.setWordWrap(True)
        self.code.setOpenExternalLinks(True)
        self.code.hide()
        v.addWidget(self.code)
        self.steps = StepList()
        self.steps.hide()  # until a sign-in starts: no empty table
        v.addWidget(self.steps)
        self.banner = ResultBanner()
        v.addWidget(self.banner)
        v.addStretch(1)  # spare height below, not between the steps
        self.set_provider("google")

    def set_provider(self, provider: str) -> None:
        """Show the redirect URI and the setup steps of ``provider`` (google, microsoft, oidc)."""
        self.redirect.setText(REDIRECT_URIS.get(provider, REDIRECT_URIS["oidc"]))
        self.steps_text.setText(SETUP.get(provider, SETUP["oidc"]))
        self._offer_window(provider)

    def _offer_window(self, provider: str) -> None:
        self.window_usable = offer_window(self.window_btn, self.window_note, provider)

    @property
    def sign_in_window(self) -> Any:
        """The open sign-in window, if any."""
        return self.host.window

    def copy_redirect(self) -> None:
        QGuiApplication.clipboard().setText(self.redirect.text())
        self.banner.info(self.tr("Copied"), self.tr("Paste it as the app registration's redirect URI."))

    # -- the sign-in -----------------------------------------------------------------------------------
    def sign_in_in_window(self) -> None:
        """The same sign-in, with the embedded window as its browser."""
        if load_window(self.banner):
            self.sign_in(embedded=True)

    def _open_window(self, url: str) -> None:
        if self.task is not None:
            self.host.open(url)
            self.host.window.handedOver.connect(lambda _where: self.banner.busy(self.tr("Finishing the sign-in…")))

    def _window_closed(self) -> None:
        self.cancel()

    def sign_in(self, embedded: bool = False) -> None:
        from desktop.core import oauth_signin

        settings, secrets, protocol = self.source()
        settings, secrets = dict(settings), dict(secrets)
        device = self.device.isChecked() and not embedded
        self.opener_now = self._open_window if embedded else self.opener
        self.host.start(settings)
        label = self.tr("Sign in in the window") if embedded else self.tr("Sign in with the browser")
        timeout = self.timeout_s
        self.result = None
        self.steps.restart()
        self.steps.show()
        self.code.hide()
        self.banner.busy(self.tr("Asking for a device code…") if device
                         else self.tr("Waiting for the sign-in in the window…") if embedded
                         else self.tr("Waiting for the sign-in in the browser…"))

        def work(token: Any, emit: Callable[[object], None]) -> Any:
            box: list[Any] = []
            run = Run(timeout, token, emit, secrets)

            def body(r: Run) -> None:
                box.append(oauth_signin.sign_in(
                    r, settings, secrets, lambda url: emit(("open_url", url)), protocol=protocol, device=device,
                    show_code=lambda code, uri, complete: emit(("device_code", code, uri, complete)),
                    browser_label=label))
            outcome = execute("sign-in", "oauth", "sign-in", run, body)
            return outcome, (box[0] if box else None)

        self.sign_in_btn.setEnabled(False)
        self.window_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.task = self.runner.run(work, "sign-in", on_progress=self._progress, on_finished=self._done,
                                    on_failed=self._crashed)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _progress(self, event: object) -> None:
        if show_progress(self, event, self.opener_now, self.code, self.steps,
                         link=self.opener_now != self._open_window) == "device_code":
            self.banner.busy(self.tr("Waiting for the code to be approved…"))

    def _finish(self) -> None:
        self.task = None
        self.sign_in_btn.setEnabled(True)
        self.window_btn.setEnabled(self.window_usable)
        self.cancel_btn.setEnabled(False)
        self.host.close()

    def _done(self, outcome: Any) -> None:
        self._finish()
        run_result, got = outcome
        self.steps.show_result(run_result)
        self.code.hide()
        if got is None:
            error = run_result.error
            closed = self.host.closed_by_user and error is not None and error.code == errors.CANCELLED
            if closed:
                error = window_closed_error(self, error)
            self.result = error
            self.banner.error(error, self.tr("Sign-in cancelled") if closed else self.tr("Sign-in failed"))
            self.failed.emit(error)
            return
        self.result = got
        text = self.tr("Granted: {0}.").format(", ".join(got.scopes) or self.tr("nothing"))
        if got.refresh_token is None:
            self.banner._show("info", "⚠ " + self.tr("Signed in as {0}, but no refresh token came back")
                              .format(got.account or "?"), text, " ".join(got.warnings))
        else:
            self.banner.success(self.tr("Signed in as {0}").format(got.account or "?"),
                                text + " " + self.tr("A refresh token came back; it is kept only after a "
                                                     "validation with it passes."))
        self.signedIn.emit(got)

    def form_changed(self) -> None:
        """The form's values changed: a complaint about one of them (“Client id: is required”) no longer
        holds, so it goes; other outcomes stay."""
        from desktop.core.errors import FieldError, InputErrors
        if isinstance(self.result, FieldError | InputErrors) and self.task is None:
            self.result = None
            self.banner.hide()

    def _crashed(self, exc: object) -> None:
        self._finish()
        self.result = exc
        if isinstance(exc, BaseException):
            self.banner.error(exc, self.tr("Sign-in failed"))
        if isinstance(exc, ConnectorError):
            self.failed.emit(exc)


def show_progress(widget: QWidget, event: object, opener: Callable[[str], object], code: QLabel,
                  steps: StepList, link: bool = True) -> str:
    """A sign-in's progress, shown the same way by the panel and the Sign in again dialog: the URL to
    open in the browser (with ``link``, also as a link for when no browser opens), a device code to
    enter elsewhere, or a step. Returns which it was."""
    if isinstance(event, tuple) and event and event[0] == "open_url":
        opener(str(event[1]))
        if link:
            code.setText(widget.tr("If no browser opened, open <a href='{0}'>the provider's sign-in page</a> "
                                   "yourself (right-click the link to copy it).").format(
                html.escape(str(event[1]), quote=True)))
            code.show()
        return "open_url"
    if isinstance(event, tuple) and event and event[0] == "device_code":
        code.setText(device_code_text(widget, str(event[1]), str(event[2])))
        code.show()
        return "device_code"
    steps.on_event(event)
    return "step"


def device_code_text(widget: QWidget, code: str, uri: str) -> str:
    return widget.tr("On any device with a browser, open <a href='{0}'>{0}</a> and enter the code <b>{1}</b>."
                     ).format(html.escape(uri, quote=True), html.escape(code))


class SignInAgainDialog(QDialog):
    """“Sign in again…” for a saved OAuth connector: ``Desk.sign_in`` on a worker (browser or device
    code), and the new refresh token kept only after a validation with it passes; the stored sign-in
    stays as it was on any failure or Cancel (closing the dialog cancels)."""

    def __init__(self, desk: Desk, conn: Connector, parent: QWidget | None = None,
                 opener: Callable[[str], object] = system_browser, timeout_s: float = 300.0) -> None:
        super().__init__(parent)
        self.setObjectName("signInAgainDialog")
        self.setWindowTitle(self.tr("Sign in again for “{0}”").format(conn.name))
        self.resize(640, 460)
        self.desk, self.conn, self.opener, self.timeout_s = desk, conn, opener, timeout_s
        self.runner = TaskRunner(self)
        self.task: Task | None = None
        self.outcome: RunResult | None = None
        v = QVBoxLayout(self)
        intro = QLabel(self.tr("Your browser (or, with Sign in in a window…, a window of Connector Desk) opens at "
                               "the provider's sign-in page. The new sign-in is checked "
                               "with a live validation first; only if that passes does it replace the current "
                               "one (which is kept for 24 hours). If anything fails, nothing changes."))
        intro.setWordWrap(True)
        v.addWidget(intro)
        self.device = QCheckBox(self.tr("No browser here: use a device code"))
        self.device.setObjectName("deviceCode")
        v.addWidget(self.device)
        self.window_note = QLabel()
        self.window_note.setObjectName("signInWindowNote")
        self.window_note.setWordWrap(True)
        v.addWidget(self.window_note)
        self.host = WindowHost(self, self.cancel)
        self.opener_now: Callable[[str], object] = opener
        self.code = QLabel()
        self.code.setObjectName("deviceCodeText")
        self.code.setOpenExternalLinks(True)
        self.code.setWordWrap(True)
        self.code.hide()
        v.addWidget(self.code)
        self.steps = StepList()
        self.steps.hide()  # until a sign-in starts: no empty table
        v.addWidget(self.steps, 1)
        self.banner = ResultBanner()
        v.addWidget(self.banner)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.run_btn = self.buttons.addButton(self.tr("&Sign in…"), QDialogButtonBox.ButtonRole.ActionRole)
        self.run_btn.setObjectName("signIn")
        self.run_btn.clicked.connect(lambda: self.start())
        self.window_btn = self.buttons.addButton(self.tr("Sign in in a &window…"),
                                                 QDialogButtonBox.ButtonRole.ActionRole)
        self.window_btn.setObjectName("signInWindow")
        self.window_btn.clicked.connect(self.sign_in_in_window)
        self.window_usable = offer_window(self.window_btn, self.window_note,
                                          str(conn.settings.get("oauth_provider") or "oidc"))
        self.cancel_btn = self.buttons.addButton(self.tr("Cancel sign-in"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_btn.setToolTip(self.tr("Stops a sign-in that is waiting for the browser or the window"))
        self.cancel_btn.setObjectName("cancelSignIn")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(self.cancel)
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)

    def sign_in_in_window(self) -> None:
        """The same, with the embedded sign-in window as the browser."""
        if load_window(self.banner):
            self.start(embedded=True)

    def start(self, embedded: bool = False) -> None:
        desk, name, timeout = self.desk, self.conn.name, self.timeout_s
        device = self.device.isChecked() and not embedded
        label = self.tr("Sign in in the window") if embedded else self.tr("Sign in with the browser")
        self.opener_now = self.host.open if embedded else self.opener
        self.host.start(self.conn.settings)
        self.outcome = None
        self.steps.restart()
        self.steps.show()
        self.code.hide()
        self.banner.busy(self.tr("Waiting for the sign-in…"))
        self.run_btn.setEnabled(False)
        self.window_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)

        def work(token: Any, emit: Callable[[object], None]) -> RunResult:
            return desk.sign_in(name, lambda url: emit(("open_url", url)), device=device,
                                show_code=lambda code, uri, complete: emit(("device_code", code, uri, complete)),
                                timeout_s=timeout, cancel=token, on_event=emit, browser_label=label)

        self.task = self.runner.run(work, "sign-in again", on_progress=self._progress, on_finished=self._done,
                                    on_failed=self._failed)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _progress(self, event: object) -> None:
        show_progress(self, event, self.opener_now, self.code, self.steps, link=self.opener_now != self.host.open)

    def _finish(self) -> None:
        self.task = None
        self.run_btn.setEnabled(True)
        self.window_btn.setEnabled(self.window_usable)
        self.cancel_btn.setEnabled(False)
        self.code.hide()
        self.host.close()

    def _done(self, result: RunResult) -> None:
        self._finish()
        error = result.error
        if self.host.closed_by_user and error is not None and error.code == errors.CANCELLED:
            result.error = window_closed_error(self, error)
        self.outcome = result
        self.steps.show_result(result)
        if result.ok:
            self.banner.success(self.tr("Signed in as {0}; the new sign-in is in use").format(
                result.info.get("account") or "?"), self.tr("Granted: {0}.").format(
                ", ".join(result.info.get("scopes") or []) or self.tr("nothing")))
        elif result.error is not None:
            self.banner.error(result.error, self.tr("Not changed: the stored sign-in was left as it was"))

    def _failed(self, exc: object) -> None:
        self._finish()
        if isinstance(exc, BaseException):
            self.banner.error(exc, self.tr("Not changed: the stored sign-in was left as it was"))

    def reject(self) -> None:
        self.runner.cancel_all()
        self.host.close()
        super().reject()
