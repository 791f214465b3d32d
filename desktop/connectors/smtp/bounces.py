"""SMTP bounces: delivery status notifications (RFC 3464) in the IMAP mailbox an SMTP connector
names as its bounce mailbox, read with EXAMINE and BODY.PEEK (nothing is marked or changed)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from desktop.core import errors
from desktop.core.contract import plural
from desktop.core.errors import ConnectorError, FieldError
from desktop.core.failures import Failure, parse_dsn
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

PART_BYTES = 262_144  # the first 256 KiB of each message: the report comes before the returned original
MAX_MESSAGES = 1000


def read_bounces(smtp: Connector, linked: tuple[Connector, Mapping[str, Secret]] | None, run: Run,
                 limit: int) -> None:
    """The newest bounces (at most ``limit`` recipients from the newest ``MAX_MESSAGES`` reports)."""
    from desktop.connectors.imap import CONNECTOR as IMAP
    from desktop.connectors.imap.session import ImapChecks

    if linked is None:
        raise FieldError("settings.bounce_mailbox_connector",
                         "is not set: name the IMAP connector whose mailbox receives this sender's bounces")
    box, secrets = linked
    if box.type != "imap":
        raise FieldError("settings.bounce_mailbox_connector", f"“{box.name}” is not an IMAP connector")
    run.transcript.register_many(list(secrets.values()))
    checks = ImapChecks(IMAP)
    run.phase = ("bounces", f"Bounce mailbox ({box.name}): ")
    imap = checks.open(box, secrets, run)
    try:
        folder = checks._locate(box, imap, run)
        with run.step("examine", "Open the mailbox read-only (EXAMINE)") as st:
            facts = checks.examine(imap, folder)
            st.detail = f"{facts['messages']} messages"
        with run.step("search", "Find delivery status notifications (SEARCH)") as st:
            r = imap.command('UID SEARCH HEADER Content-Type "delivery-status"', "searching for bounces")
            if r.status != "OK":
                raise ConnectorError(errors.SERVER_ERROR, f"The server would not search: {r.text}", "Try again later.")
            uids: list[int] = []
            for resp in r.untagged:
                if resp.text.upper().startswith("* SEARCH"):
                    uids += [int(u) for u in resp.text.split()[2:] if u.isascii() and u.isdigit() and len(u) <= 10]
            uids = sorted(uids)[-MAX_MESSAGES:]
            st.detail = f"{len(uids)} {plural(len(uids), ('report', 'reports'))}"
        found: list[Failure] = []
        with run.step("fetch", "Read the reports (BODY.PEEK: nothing is marked as read)") as st:
            for uid in reversed(uids):
                if len(found) >= limit:
                    break
                found += parse_dsn(_fetch(imap, uid), str(uid))
            st.detail = f"{len(found)} failed {plural(len(found), ('recipient', 'recipients'))}"
        run.phase = ("", "")
        checks.logout(imap, run)
    finally:
        imap.conn.close()
    for f in found:
        f.detail["mailbox"] = box.name
    found.sort(key=lambda f: f.time or "", reverse=True)
    run.info["failures"] = [f.to_dict() for f in found[:limit]]


def _fetch(imap: Any, uid: int) -> bytes:
    r = imap.command(f"UID FETCH {uid} (UID BODY.PEEK[]<0.{PART_BYTES}>)", "reading a report")
    if r.status != "OK":
        raise ConnectorError(errors.SERVER_ERROR, f"The server would not return message {uid}: {r.text}",
                             "Try again later.")
    for resp in r.untagged:
        if resp.literals and re.search(rf"\bUID {uid}\b", resp.text, re.IGNORECASE):
            return bytes(resp.literals[-1])
    return b""
