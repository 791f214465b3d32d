"""Bad input is rendered with the labels the user sees on the form, never internal field paths."""

from __future__ import annotations

from desktop.core.errors import FieldError, InputErrors
from desktop.gui.banner import ResultBanner


def test_internal_field_paths_become_labels(qtbot):
    banner = ResultBanner()
    qtbot.addWidget(banner)
    banner.error(InputErrors([FieldError("secrets.api_key", "is required"),
                              FieldError("settings.bootstrap_servers", "“kafka” is not host:port")]),
                 "Some fields need attention")
    text = banner.message.text() + banner.hint.text()
    assert banner.message.text().startswith("API key is required; Bootstrap servers: “kafka” is not host:port")
    assert "“API key”, “Bootstrap servers”" in banner.hint.text()
    for internal in ("secrets.", "settings.", "api_key", "bootstrap_servers"):
        assert internal not in text


def test_the_connector_types_own_labels_win(qtbot):
    """The same setting name can carry another label in another type (Kafka's user name)."""
    banner = ResultBanner()
    qtbot.addWidget(banner)
    banner.error(FieldError("settings.username", "is required"), labels={"username": "User name / API key"})
    assert banner.message.text().startswith("User name / API key is required")
    assert "“User name / API key”" in banner.hint.text()
