"""The embedded sign-in window (QtWebEngine, the optional ``webview`` extra): the provider's sign-in pages
in a private web view, for Microsoft and OpenID providers — never Google, which blocks embedded browsers.

It is only another browser for :mod:`desktop.core.oauth_signin`: it loads the same authorization URL the
system-browser path opens and feeds the same loopback listener, so the ``state``, ``iss`` and PKCE checks
are the core's. When the view is about to go to the redirect URI (the ``redirect_uri`` of that URL):

- a redirect or link (the code in the query) is stopped in the view and the URL is delivered to the
  listener by a plain GET from a helper thread, so the view never shows the listener's page;
- a form post (Microsoft's ``response_mode=form_post``: the code is in the body) is let through to the
  listener — its body cannot be read from a navigation request — and the view is hidden behind
  "Finishing the sign-in…" at once.

Certificates: the system's trust store, as any browser; a page whose certificate the system does not
trust is shown only if it verifies against the connector's own ``ca_file`` (the CA the core trusts for
the token endpoint too: a company's private CA) — never "accept anyway".

The profile is off the record: no cookies, passwords or cache on disk, nothing kept after the window
closes. Closing the window is Cancel (``cancelled``). QtWebEngine is imported only when a window is built
(never at start-up: +270 MB of memory per window); :func:`available` only looks for the module.
"""

from __future__ import annotations

import functools
import importlib.util
import ipaddress
import logging
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import shiboken6
from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

# Google refuses sign-in from embedded web views ("disallowed_useragent"); Microsoft and OpenID
# providers allow it (DESIGN.md §4.6).
PROVIDERS = ("microsoft", "oidc")
EXTRA_HINT = "Install the webview extra (pip install 'connector-desk[webview]') to sign in in a window."
WEBENGINE = "PySide6.QtWebEngineWidgets"


def available() -> bool:
    """Whether QtWebEngine is installed (looked up, not imported). The frozen build leaves it out."""
    try:
        return importlib.util.find_spec(WEBENGINE) is not None
    except (ImportError, ValueError):
        return False


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


# Linux settings under which Chromium's sandbox cannot start (it needs unprivileged user namespaces).
NO_SANDBOX_WHEN = (("/proc/sys/kernel/unprivileged_userns_clone", "0"), ("/proc/sys/user/max_user_namespaces", "0"),
                   ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"))


def sandbox_cannot_work() -> bool:
    """Chromium's sandbox refuses to run as root, and cannot start where user namespaces are closed."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return True
    for path, value in NO_SANDBOX_WHEN:
        try:
            with open(path) as f:
                if f.read().strip() == value:
                    return True
        except OSError:
            continue
    return False


def _allow_without_sandbox() -> None:
    """Turn Chromium's sandbox off only where it cannot work, before QtWebEngine is imported (it reads the
    variable once). A value the user set is left alone."""
    if sys.platform.startswith("linux") and sandbox_cannot_work():
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


@functools.cache
def _page_class() -> type[Any]:
    _allow_without_sandbox()
    from PySide6.QtWebEngineCore import QWebEnginePage

    class Page(QWebEnginePage):
        """Watches main-frame navigations for the redirect URI and hands them to ``on_redirect``, which
        answers whether the view may go there itself."""

        def __init__(self, profile: Any, parent: Any, is_redirect: Any, on_redirect: Any) -> None:
            super().__init__(profile, parent)
            self.is_redirect = is_redirect
            self.on_redirect = on_redirect

        def acceptNavigationRequest(self, url: QUrl | str, kind: Any, is_main_frame: bool) -> bool:  # noqa: N802
            target = url.toString() if isinstance(url, QUrl) else str(url)
            if is_main_frame and self.is_redirect(target):
                return bool(self.on_redirect(target, kind == QWebEnginePage.NavigationType.NavigationTypeFormSubmitted))
            return True

    return Page


def load() -> None:
    """Import QtWebEngine (ImportError when it cannot be loaded)."""
    _page_class()


def trusted_by(ca_file: str, host: str, chain_der: list[bytes]) -> bool:
    """Whether the certificate chain a page presented (leaf first, DER) verifies for ``host`` against the
    CAs in ``ca_file`` (PEM): path, validity, name and key usage, as a TLS client checks them."""
    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

    try:
        with open(ca_file, "rb") as f:
            cas = x509.load_pem_x509_certificates(f.read())
        leaf, *rest = [x509.load_der_x509_certificate(der) for der in chain_der]
        try:
            subject: x509.DNSName | x509.IPAddress = x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            subject = x509.DNSName(host)
        PolicyBuilder().store(Store(cas)).build_server_verifier(subject).verify(leaf, rest)
    except (OSError, ValueError, VerificationError):
        return False
    return True


def redirect_of(auth_url: str) -> urllib.parse.SplitResult | None:
    """The ``redirect_uri`` an authorization URL carries (where the listener waits)."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(auth_url).query))
    value = query.get("redirect_uri")
    return urllib.parse.urlsplit(value) if value else None


def same_place(url: str, redirect: urllib.parse.SplitResult) -> bool:
    """``url`` goes to the redirect URI: same scheme, host, port and path (any query)."""
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port, parts.path or "/") == \
        (redirect.scheme, redirect.hostname, redirect.port, redirect.path or "/")


def deliver(url: str) -> None:
    """The browser's last hop, done for the view: GET ``url`` from the loopback listener (no proxy), on a
    helper thread. The listener's verdict reaches the sign-in through the core, not through this answer."""
    def go() -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(url, timeout=10) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:  # 400: the listener refused it; the sign-in says why
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            log.warning("could not hand the sign-in redirect to the listener: %s", exc.__class__.__name__)

    threading.Thread(target=go, name="sign-in redirect", daemon=True).start()


class SignInWindow(QDialog):
    """The provider's sign-in pages for one authorization URL.

    Signals:
        handedOver(str): the redirect went to the listener (the redirect URI, without its query).
        cancelled(): the person closed the window or pressed Cancel before the sign-in finished.
    """

    handedOver = Signal(str)
    cancelled = Signal()

    def __init__(self, auth_url: str, parent: QWidget | None = None, ca_file: str | None = None) -> None:
        super().__init__(parent)
        page_class = _page_class()
        from PySide6.QtWebEngineCore import QWebEngineProfile
        from PySide6.QtWebEngineWidgets import QWebEngineView

        self.setObjectName("signInWindow")
        self.setWindowTitle(self.tr("Sign in — Connector Desk"))
        self.resize(760, 720)
        self.redirect = redirect_of(auth_url)
        self.ca_file = ca_file or None
        self.handed_over = False
        self.finished_by_us = False
        v = QVBoxLayout(self)
        self.address = QLineEdit()
        self.address.setObjectName("signInAddress")
        self.address.setReadOnly(True)
        self.address.setToolTip(self.tr("The address of the page shown (read-only)"))
        v.addWidget(self.address)
        # The view (and its page) before the profile: children are deleted in the order they became
        # children, and a page must go before its profile.
        self.stack = QStackedWidget(self)
        self.view: Any = QWebEngineView(self.stack)
        self.view.setObjectName("signInView")
        self.profile: Any = QWebEngineProfile(self)  # no storage name: off the record, nothing on disk
        self.page: Any = page_class(self.profile, self.view, self._is_redirect, self._redirected)
        self.page.certificateError.connect(self._certificate_error)
        self.view.setPage(self.page)
        self.view.urlChanged.connect(self._show_address)
        self.stack.addWidget(self.view)
        self.finishing = QLabel(self.tr("Finishing the sign-in…"))
        self.finishing.setObjectName("signInFinishing")
        self.finishing.setProperty("alignment", "AlignCenter")
        self.stack.addWidget(self.finishing)
        v.addWidget(self.stack, 1)
        note = QLabel(self.tr("A private window: nothing you type here is kept after it closes. "
                              "Closing it cancels the sign-in."))
        note.setWordWrap(True)
        note.setObjectName("signInNote")
        v.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.cancel_btn = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        v.addWidget(buttons)
        self._set_address(auth_url)
        self.view.load(QUrl(auth_url))

    def _show_address(self, url: QUrl) -> None:
        if not self.handed_over:
            self._set_address(url.toString())

    def _set_address(self, text: str) -> None:
        """Shown from its start: whose page this is, not the tail of a long query."""
        self.address.setText(text)
        self.address.setCursorPosition(0)

    def _certificate_error(self, error: Any) -> None:
        """A certificate the system does not trust: shown only if it verifies against ``ca_file``."""
        host = error.url().host()
        chain = [bytes(cert.toDer().data()) for cert in error.certificateChain()]
        if self.ca_file and chain and trusted_by(self.ca_file, host, chain):
            error.acceptCertificate()
            return
        log.warning("sign-in window: refused the certificate of %s (%s)", host, error.description())
        error.rejectCertificate()

    def _is_redirect(self, url: str) -> bool:
        return self.redirect is not None and same_place(url, self.redirect)

    def _redirected(self, url: str, form_post: bool) -> bool:
        """The view is about to go to the redirect URI. True: let it (a form post reaches the listener
        itself); False: stopped here, the URL delivered by us."""
        if self.handed_over:
            return False
        self.handed_over = True
        self.stack.setCurrentWidget(self.finishing)
        self.address.setText(urllib.parse.urlsplit(url)._replace(query="", fragment="").geturl())
        self.handedOver.emit(self.address.text())
        if form_post:
            return True
        deliver(url)
        return False

    def finish(self) -> None:
        """Close after the sign-in ended (not a Cancel), and free the web engine's memory now."""
        self.finished_by_us = True
        self.close()
        self._release()

    def done(self, result: int) -> None:
        if not self.finished_by_us:
            self.finished_by_us = True
            self.cancelled.emit()
        super().done(result)
        # Not from inside the close event itself: once control is back in the event loop.
        QTimer.singleShot(0, self._release)

    def _release(self) -> None:
        """Delete the view (with its page) and then the profile, at once and in that order: a page left
        for later (deleteLater) may outlive its profile when the application quits, which crashes
        QtWebEngine. The dialog itself then belongs to whoever still holds it (Python)."""
        if self.profile is None:
            return
        self.page.certificateError.disconnect(self._certificate_error)
        self.view.stop()
        view, profile = self.view, self.profile
        self.view = self.page = self.profile = None
        shiboken6.delete(view)
        shiboken6.delete(profile)
        self.setParent(None)
