"""The discovery panel against the real DNS test server and the harness's Postfix/Dovecot:
staged progress, the verified servers chosen, Stop, a bad address, and the found signal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QPushButton

from desktop.gui.discover_panel import DiscoverPanel
from desktop.gui.worker import TaskRunner
from tests.conftest import Certs
from tests.servers.dns import ZoneServer
from tests.servers.mailserver import MailServers
from tests.servers.scripted import ScriptedServer, hung


@pytest.fixture
def panel(qtbot: Any, certs: Certs) -> Iterator[DiscoverPanel]:
    runner = TaskRunner()
    widget = DiscoverPanel(runner, deadline_s=8.0, ca_file=str(certs.ca.ca_file))
    qtbot.addWidget(widget)
    widget.resize(760, 520)
    widget.show()
    yield widget
    runner.cancel_all()
    runner.wait(3000)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    servers: list[ZoneServer] = []

    def start(text: str) -> ZoneServer:
        s = ZoneServer(text).start()
        servers.append(s)
        monkeypatch.setenv("CONNECTOR_DESK_NAMESERVER", s.address)
        return s

    monkeypatch.delenv("CONNECTOR_DESK_DISCOVER_PORT_MAP", raising=False)
    yield start
    for s in servers:
        s.stop()


def find_button(panel: DiscoverPanel) -> QPushButton:
    button = panel.findChild(QPushButton, "discoverFind")
    assert button is not None
    return button


def lines(widget: Any) -> list[str]:
    return [widget.item(i).text() for i in range(widget.count())]


def test_find_settings_fills_progress_and_chooses_verified_servers(
        qtbot: Any, panel: DiscoverPanel, zone: Any, mail: MailServers, shoot: Any) -> None:
    p = mail.ports
    zone(f"""
_submissions._tcp.example.test. 60 IN SRV 0 1 {p['smtps']} mail.example.test.
_submission._tcp.example.test.  60 IN SRV 0 1 {p['submission']} mail.example.test.
_imaps._tcp.example.test.       60 IN SRV 0 1 {p['imaps']} mail.example.test.
_imap._tcp.example.test.        60 IN SRV 0 1 {p['imap']} localhost.
mail.example.test.              60 IN A 127.0.0.1
localhost.                      60 IN A 127.0.0.1
""")
    assert panel.candidates.isHidden() and panel.progress.isHidden()  # no empty boxes before a search
    qtbot.keyClicks(panel.address, "alice@example.test")
    qtbot.mouseClick(find_button(panel), qtbot_left())
    assert not panel.candidates.isHidden() and not panel.progress.isHidden()
    assert panel.running and panel.stop.isEnabled() and not find_button(panel).isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=10000)
    progress = lines(panel.progress)
    assert "Looking up DNS SRV records… found 4" in progress
    assert any(t.startswith(f"Checking mail.example.test:{p['smtps']}… TLS ok") for t in progress)
    found = lines(panel.candidates)
    assert found[0].startswith(f"✓ SMTP  mail.example.test:{p['smtps']}  TLS") and "DNS SRV" in found[0]
    assert any(t.startswith("⚠ ✓ IMAP  localhost:") for t in found)  # outside the domain, flagged
    chosen = panel.chosen()
    assert chosen["smtp"] is not None and chosen["smtp"].port == p["smtps"]
    assert chosen["imap"] is not None and chosen["imap"].port == p["imaps"]
    assert panel.use.isEnabled() and not panel.warning.isVisible()
    shoot(panel, "discover-found")
    with qtbot.waitSignal(panel.found, timeout=1000) as sig:
        qtbot.mouseClick(panel.use, qtbot_left())
    payload = sig.args[0]
    assert payload["address"] == "alice@example.test"
    assert payload["smtp"].settings()["host"] == "mail.example.test"
    assert payload["imap"].settings()["security"] == "tls"
    # Choosing the flagged server instead shows its warning before it is used.
    for i in range(panel.candidates.count()):
        item = panel.candidates.item(i)
        item.setSelected(item.text().startswith("⚠"))
    assert panel.warning.isVisible() and "localhost is outside example.test" in panel.warning.text()
    shoot(panel, "discover-outside-domain")


def test_google_by_mx_is_offered_with_its_oauth_sign_in_even_unverified(
        qtbot: Any, panel: DiscoverPanel, zone: Any, shoot: Any) -> None:
    zone("example.test. 60 IN MX 10 aspmx.l.google.com.\n")
    panel.address.setText("alice@example.test")
    qtbot.mouseClick(find_button(panel), qtbot_left())
    qtbot.waitUntil(lambda: not panel.running, timeout=10000)
    assert "none could be checked from this computer" in panel.status.text()
    shoot(panel, "discover-google-mx")
    with qtbot.waitSignal(panel.found, timeout=1000) as sig:
        qtbot.mouseClick(panel.use, qtbot_left())
    smtp, imap = sig.args[0]["smtp"], sig.args[0]["imap"]
    assert (smtp.host, smtp.port, smtp.source) == ("smtp.gmail.com", 465, "mx")
    assert imap.settings() == {"host": "imap.gmail.com", "port": 993, "security": "tls", "auth": "oauth2",
                               "username": "alice@example.test", "oauth_provider": "google"}


def test_stop_ends_the_search(qtbot: Any, panel: DiscoverPanel, zone: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer(hung) as hang:
        monkeypatch.setenv("CONNECTOR_DESK_DISCOVER_PORT_MAP", f"993={hang.port}")
        zone("mail.example.test. 60 IN A 127.0.0.1\n")
        panel.deadline_s = 30.0
        panel.address.setText("alice@example.test")
        qtbot.mouseClick(find_button(panel), qtbot_left())
        qtbot.waitUntil(lambda: hang.connections >= 1, timeout=5000)
        started = time.monotonic()
        qtbot.mouseClick(panel.stop, qtbot_left())
        qtbot.waitUntil(lambda: not panel.running, timeout=3000)
        assert time.monotonic() - started < 1.5
    assert panel.status.text() == "Stopped." and find_button(panel).isEnabled()


def test_a_bad_address_names_the_field(qtbot: Any, panel: DiscoverPanel) -> None:
    panel.address.setText("not an address")
    qtbot.mouseClick(find_button(panel), qtbot_left())
    qtbot.waitUntil(lambda: not panel.running, timeout=3000)
    assert panel.error.isVisible() and panel.error.text().startswith("E-mail address: ")
    assert not panel.use.isEnabled()


def test_nothing_found_says_so(qtbot: Any, panel: DiscoverPanel, zone: Any) -> None:
    zone("")
    panel.address.setText("alice@example.test")
    qtbot.mouseClick(find_button(panel), qtbot_left())
    qtbot.waitUntil(lambda: not panel.running, timeout=10000)
    assert panel.candidates.count() == 0 and "No mail servers were found" in panel.status.text()
    assert not panel.use.isEnabled()


def qtbot_left() -> Any:
    from PySide6.QtCore import Qt
    return Qt.MouseButton.LeftButton


def test_the_wizard_fills_its_pages_from_an_address(qtbot: Any, window: Any, zone: Any, mail: MailServers,
                                                    certs: Certs, shoot: Any) -> None:
    """In the real wizard: type the address on the first page, Find settings, Use these settings — the
    wizard moves on with the verified server, port, security and user name filled in, still editable."""
    from desktop.core import wizard as flowmod

    p = mail.ports
    zone(f"""
_submission._tcp.example.test.  60 IN SRV 0 1 {p['submission']} mail.example.test.
_imaps._tcp.example.test.       60 IN SRV 0 1 {p['imaps']} mail.example.test.
mail.example.test.              60 IN A 127.0.0.1
""")
    wiz = window.new_connector()
    basics = wiz.page_named(flowmod.BASICS)
    assert basics.discovery.isVisibleTo(basics)  # SMTP is chosen first
    panel = basics.discover_panel
    panel.ca_file = str(certs.ca.ca_file)
    qtbot.keyClicks(panel.address, "alice@example.test")
    qtbot.mouseClick(find_button(panel), qtbot_left())
    qtbot.waitUntil(lambda: not panel.running and panel.use.isEnabled(), timeout=15000)
    shoot(wiz, "discover-in-wizard")
    qtbot.mouseClick(panel.use, qtbot_left())
    assert wiz.currentPage() is not basics  # on to the next page
    settings = wiz.flow.draft.settings
    assert (settings["host"], settings["port"], settings["security"]) == ("mail.example.test", p["submission"],
                                                                          "starttls")
    assert settings["username"] == "alice@example.test" and wiz.flow.draft.name == "example-smtp"
    wiz.reject()
