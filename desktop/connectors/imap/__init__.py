"""IMAP (inbound mail trigger): implicit TLS, STARTTLS or plain; AUTHENTICATE PLAIN or LOGIN, or
OAuth (AUTHENTICATE XOAUTH2 / OAUTHBEARER);
the mailbox matched exactly. The protocol code in :mod:`.session` loads when a check runs."""

from __future__ import annotations

import re
from collections.abc import Mapping

from desktop.connectors import _mail
from desktop.core.contract import Action, ConnectorType, Fact, Fix, Listing, Row, Wording, plural
from desktop.core.errors import ConnectorError
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypedDict

# No port in the labels: the port is its own field and may differ (a choice saying "port 587"
# beside port 21587 misleads); a differing port gets a note with the usual one instead.
SECURITY = (("tls", "TLS (implicit)"), ("starttls", "STARTTLS"),
            ("none", "None — unencrypted (not recommended)"))
PORTS = {"tls": 993, "starttls": 143, "none": 143}


class ImapConnector(ConnectorType):
    type_name = "imap"
    label = "IMAP"
    summary = "Inbound e-mail: a mailbox a workflow watches (Gmail, Microsoft 365, or your own)."
    test_action = Action.PEEK
    actions = frozenset({Action.PEEK, Action.FOLDERS, Action.RECEIVE})
    wording = Wording(
        checks="Connector Desk connects, negotiates encryption, signs in and opens the mailbox read-only",
        test_title="Admin details and peek",
        test_text="Who looks after this connector. Peek shows the newest messages the trigger would see, "
                  "read-only: nothing is marked as read.",
        next_step="You can add admin details and peek at the newest messages next.",
        peek_source="mailbox")
    fields = (
        *_mail.server_fields("IMAP", "imap.example.com", SECURITY, "tls", PORTS),
        Field("auth", "Sign-in", "choice", "password",
              choices=(("password", "User name and password"), ("oauth2", "OAuth (sign in with the provider)")),
              page="auth"),
        Field("username", "User name", "text", required=True, page="auth", placeholder="inbox@example.com",
              help="Usually the full e-mail address; with OAuth, the mailbox that signs in."),
        *_mail.oauth_fields("imap"),
        _mail.ALLOW_PLAINTEXT,
        Field("mailbox", "Mailbox", "text", "INBOX", required=True, page="auth", picker="folders",
              help="Matched exactly: names are case-sensitive. Use “Choose…” to pick it from the account."),
    )
    secrets = (SecretField("password", "Password", when={"auth": ("password",)}, after="username",
                           help=""),
               *_mail.OAUTH_SECRETS)

    def warnings(self, settings: Mapping[str, Any]) -> list[str]:
        return _mail.warnings(settings)

    def field_help(self, name: str, settings: Mapping[str, Any]) -> str | None:
        return _mail.field_help(name, settings, PORTS)

    def server_label(self, settings: Mapping[str, Any]) -> str:
        return f"{super().server_label(settings)} · {settings.get('mailbox') or 'INBOX'}"

    def facts(self, info: Mapping[str, Any]) -> list[Fact]:
        return mailbox_facts(info)

    def fixes(self, err: ConnectorError) -> list[Fix]:
        """A mailbox not found whose hint names near matches (“Did you mean “Sent”…”): use one."""
        if err.code != "mailbox_not_found" or "Did you mean" not in err.hint:
            return []
        return [Fix("mailbox", name) for name in re.findall(r"“([^”]+)”", err.hint.partition("Did you mean")[2])[:3]]

    def listing(self, info: Mapping[str, Any]) -> Listing | None:
        return message_listing(info)

    def _checks(self) -> Any:
        from desktop.connectors.imap.session import ImapChecks
        return ImapChecks(self)

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        self._checks().validate(conn, secrets, run)

    def peek(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, count: int) -> None:
        self._checks().peek(conn, secrets, run, count)

    def folders(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        self._checks().folders(conn, secrets, run)

    def wait_for(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, tag: str,
                 sent_at: float) -> None:
        self._checks().wait_for(conn, secrets, run, tag, sent_at)


# One message a peek read (run.info["messages"], written by session.py; "from" is a keyword, hence the form).
if TYPE_CHECKING:
    MailMessage = TypedDict("MailMessage", {"date": str, "from": str, "subject": str, "seen": bool | None})


def mailbox_facts(info: Mapping[str, Any]) -> list[Fact]:
    box = info.get("mailbox")
    if not isinstance(box, dict):
        return []
    n = box.get("messages", 0)
    return [Fact("Mailbox", f"“{box.get('name')}”: {n} message{'' if n == 1 else 's'}, "
                            f"UIDVALIDITY {box.get('uidvalidity', '?')}")]


def _shown_date(header: str) -> str:
    """A Date header in local time like every other time shown; as it is when it is not a date."""
    from email.utils import parsedate_to_datetime

    from desktop.core.describe import local_time
    try:
        return local_time(parsedate_to_datetime(header).isoformat(), seconds=True)
    except (TypeError, ValueError, IndexError):
        return header[:31]


def message_listing(info: Mapping[str, Any]) -> Listing:
    """A peek's messages (``info["messages"]``: date, from, subject, seen) as a listing; unread in bold."""
    messages: list[MailMessage] = info.get("messages", [])
    rows = []
    for m in messages:
        seen = m.get("seen")
        state = "" if seen is None else "read" if seen else "unread"
        rows.append(Row((state, _shown_date(m["date"]), m["from"], m["subject"]), m["subject"], strong=seen is False))
    box = info.get("mailbox", {})
    total = int(box.get("messages", 0))
    title = f"{len(rows)} of {total} {plural(total, ('message', 'messages'))} in “{box.get('name')}”"
    note = "Read-only: nothing was marked as read." if rows else "The mailbox is empty."
    plain = tuple(f"{_shown_date(m['date']):<19}  {m['from'][:32]:<32}  {m['subject']}" for m in messages)
    return Listing(("State", "Date", "From", "Subject"), tuple(rows), title, note, plain)


CONNECTOR = ImapConnector()
