"""The details pane beside the connector list: the selected connector's status (colour, icon and
words), its settings in words, its secrets and their rotation state, warnings, the last check of this
session step by step, and buttons for what can be done with it."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from desktop.core.describe import secret_lines, settings_lines, status_words
from desktop.core.model import Connector
from desktop.core.pipeline import RunResult
from desktop.core.service import Desk
from desktop.gui.banner import FAIL_COLOR, OK_COLOR, WARN_COLOR

DESCRIPTION_SHOWN = 240  # characters of the description in the pane; the wizard shows all of it


def escape(text: str) -> str:
    """html.escape, whose module is loaded when a connector is first shown (not to get the list on
    screen: it loads the table of HTML entities too)."""
    from html import escape as html_escape
    return html_escape(text)


STATE_MARK = {"valid": ("✓", OK_COLOR), "failed": ("✗", FAIL_COLOR), "never": ("○", "#666666")}


class DetailsPane(QWidget):
    """What the list knows of one connector.

    Signals:
        validate(): the pane's Validate button was pressed.
        show_failures(): its Failed sends… button was pressed.
    """

    validate = Signal()
    show_failures = Signal()

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setObjectName("detailsPane")
        self.setMinimumWidth(280)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.text = QLabel()
        self.text.setObjectName("detailsText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll.setWidget(self.text)
        outer.addWidget(scroll, 1)
        row = QHBoxLayout()
        self.validate_btn = QPushButton(self.tr("Validate"))
        self.validate_btn.setObjectName("detailsValidate")
        self.validate_btn.clicked.connect(self.validate.emit)
        self.failures_btn = QPushButton(self.tr("Failed sends…"))
        self.failures_btn.setObjectName("detailsFailures")
        self.failures_btn.clicked.connect(self.show_failures.emit)
        row.addWidget(self.validate_btn)
        row.addWidget(self.failures_btn)
        row.addStretch(1)
        outer.addLayout(row)
        self.show_connector(None, None, busy=False)

    def show_connector(self, conn: Connector | None, last: RunResult | None, busy: bool) -> None:
        if conn is None:
            self.text.setText(self.tr("<p style='color:#666'>Select a connector to see its settings, secrets and "
                                      "last check here.</p>"))
            self.validate_btn.setEnabled(False)
            self.failures_btn.setEnabled(False)
            self.failures_btn.setToolTip("")
            return
        ctype = self.desk.types.get(conn.type)
        mark, color = ("…", "#1e6fd9") if busy else STATE_MARK.get(conn.status.state, STATE_MARK["never"])
        status = self.tr("Validating…") if busy else status_words(conn.status)
        parts = [f"<h3 style='margin:0'>{escape(conn.name)}</h3>",
                 f"<p style='margin-top:2px;color:#555'>{escape(ctype.label if ctype else conn.type)}"
                 + (f" — {escape(short_description(conn.description))}" if conn.description else "") + "</p>",
                 f"<p><span style='color:{color};font-weight:bold'>{mark} {escape(status)}</span>"
                 + (f"<br><span style='color:#555'>[{escape(conn.status.code)}]</span>"
                    if conn.status.state == "failed" and conn.status.code and not busy else "") + "</p>"]
        if ctype is not None:
            for w in ctype.warnings(conn.settings):
                parts.append(f"<p style='color:{WARN_COLOR}'>⚠ {escape(w)}</p>")
            parts.append(self._table(self.tr("Settings"), [(ln.label, ln.value) for ln in settings_lines(conn, ctype)]))
            parts.append(self._table(self.tr("Secrets"), [(ln.label, ln.value) for ln in secret_lines(
                conn, ctype, place=self.desk.secrets_place())]))
        if last is not None:
            steps = [(("✓ " if s.ok else "✗ ") + s.label, f"{s.ms:.0f} ms" + (f" — {s.detail}" if s.detail else ""))
                     for s in last.steps]
            parts.append(self._table(self.tr("Last check (this session)"), steps or [("—", "no step ran")]))
        self.text.setText("".join(parts))
        self.validate_btn.setEnabled(not busy)
        self.validate_btn.setToolTip(self.tr("A check of it is running (the toolbar's Cancel validation stops it)")
                                     if busy else "")
        has = bool(ctype and ctype.has_failures(conn.settings))
        self.failures_btn.setEnabled(has)
        self.failures_btn.setToolTip("" if has else self.tr(
            "Failed sends are read from a Kafka dead-letter topic, an SMTP bounce mailbox or SendGrid's "
            "suppression lists; this connector names none."))

    @staticmethod
    def _table(title: str, rows: list[tuple[str, str]]) -> str:
        body = "".join(f"<tr><td style='color:#555;padding-right:8px' valign='top'>{escape(k)}</td>"
                       f"<td>{escape(v)}</td></tr>" for k, v in rows)
        return f"<p style='margin-bottom:2px'><b>{escape(title)}</b></p><table>{body}</table>"


def short_description(text: str, limit: int = DESCRIPTION_SHOWN) -> str:
    """The description as the pane shows it: its start when long (it may be 4,000 characters, which
    pushed the status out of view), and a break opportunity (a zero-width space) in every run of 30
    characters without a space, so a pasted address or token wraps instead of widening the pane."""
    shown = text if len(text) <= limit else text[:limit].rstrip() + "…"
    return re.sub(r"(\S{30})(?=\S)", "\\1\u200b", shown)
