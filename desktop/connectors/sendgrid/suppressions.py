"""SendGrid suppressions (bounces, blocks, invalid emails, spam reports, global unsubscribes) as
failures, paged; removing one; the last days' delivery stats. What the key's scopes allow decides
what is read: a list the key may not read is named with the scope to add."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from desktop.connectors.sendgrid.session import Http, SendGridChecks, _messages, _status_error
from desktop.core import errors
from desktop.core.contract import plural
from desktop.core.errors import ConnectorError, FieldError
from desktop.core.failures import SUPPRESSION_LISTS, Failure, suppression
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

PAGE = 500  # SendGrid's largest page
MAX_LIMIT = 100_000
STATS_DAYS = 7
STAT_METRICS = ("requests", "delivered", "deferred", "bounces", "blocks", "bounce_drops", "spam_reports",
                "invalid_emails", "unsubscribes")
_EMAIL = re.compile(r"^[^@\s/?#]{1,64}@[^@\s/?#]{1,255}$")


def _words(kind: str) -> str:
    return kind.replace("_", " ")


def read_scope(kind: str) -> str:
    return f"suppression.{kind}.read"


def delete_scope(kind: str) -> str:
    return "asm.suppressions.global.delete" if kind == "unsubscribes" else f"suppression.{kind}.delete"


def _delete_path(kind: str, email: str) -> list[str]:
    where = ["asm", "suppressions", "global"] if kind == "unsubscribes" else ["suppression", kind]
    return [*where, quote(email, safe="@+")]


class Suppressions(SendGridChecks):
    def _scopes(self, http: Http, run: Run) -> list[str]:
        with run.step("scopes", "Read the key's permissions (GET /v3/scopes)") as st:
            status, headers, body = http.call("reading the key's scopes", lambda c: c.scopes.get())
            run.transcript.client("GET /v3/scopes (Authorization: Bearer ********)")
            run.transcript.server(str(status))
            if status != 200:
                raise _status_error(status, headers, body, "reading the key's scopes")
            scopes = sorted(body.get("scopes", [])) if isinstance(body, dict) else []
            st.detail = f"{len(scopes)} scopes"
            return scopes

    def _page(self, http: Http, kind: str, offset: int, size: int) -> list[Any]:
        def get(c: Any) -> Any:
            endpoint = getattr(c.suppression, kind)
            return endpoint.get(query_params={"limit": size, "offset": offset},
                                request_headers={"Accept": "application/json"})
        status, headers, body = http.call(f"reading the {kind} list", get)
        http.run.transcript.client(f"GET /v3/suppression/{kind}?limit={size}&offset={offset}")
        http.run.transcript.server(f"{status} {_messages(body) if status >= 400 else ''}".strip())
        if status == 403:
            raise ConnectorError(errors.API_KEY_MISSING_SCOPE, f"This key may not read the {kind} list.",
                                 f"Give the key the scope “{read_scope(kind)}” (Suppressions → Read Access).")
        if status != 200:
            raise _status_error(status, headers, body, f"reading the {kind} list")
        if not isinstance(body, list):
            raise ConnectorError(errors.PROTOCOL_ERROR, f"SendGrid's {kind} list was not a JSON list.", "")
        return body

    def failures(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, limit: int) -> None:
        """Every suppression list the key may read (each up to ``limit``, paged) → the newest
        ``limit`` as failures; ``run.info["read"]`` / ``["unread"]`` / ``["unread_hint"]`` say which
        lists were read, which could not be and why, and what to do (desktop.core.failures.read_outcome);
        ``run.info["stats"]`` the last days' delivery counts where the key may read stats."""
        limit = max(1, min(limit, MAX_LIMIT))
        http = self._open(conn, secrets, run)
        scopes = self._scopes(http, run)
        readable = [k for k in SUPPRESSION_LISTS if read_scope(k) in scopes]
        unreadable = [k for k in SUPPRESSION_LISTS if k not in readable]
        if not readable:
            raise ConnectorError(errors.API_KEY_MISSING_SCOPE,
                                 "This key may not read suppressions (bounces, blocks, invalid emails, spam reports, "
                                 "unsubscribes).",
                                 "Edit the key under Settings → API Keys and give it Suppressions → Read Access "
                                 f"(scopes {', '.join(read_scope(k) for k in SUPPRESSION_LISTS)}).")
        found: list[Failure] = []
        for kind in readable:
            with run.step(f"list_{kind}", f"Read the {_words(kind)} list") as st:
                entries: list[Any] = []
                while len(entries) < limit:
                    size = min(PAGE, limit - len(entries))
                    page = self._page(http, kind, len(entries), size)
                    entries.extend(page)
                    if len(page) < size:
                        break
                found += [suppression(kind, e) for e in entries if isinstance(e, dict)]
                st.detail = f"{len(entries)} address(es)"
        found.sort(key=lambda f: f.time or "", reverse=True)
        run.info["failures"] = [f.to_dict() for f in found[:limit]]
        run.info["notes"] = []  # other things not read (stats); the lists not read are in "unread"
        # What was read and what was not (desktop.core.failures.read_outcome): never an all-clear for a part.
        run.info["read"] = [_words(k) for k in readable]
        run.info["unread"] = [{"what": _words(k), "why": "this key may not read them", "scope": read_scope(k)}
                              for k in unreadable]
        if unreadable:
            run.info["unread_hint"] = ("Edit the key under Settings → API Keys and give it Suppressions → Read Access "
                                       f"(scopes {', '.join(f'“{read_scope(k)}”' for k in unreadable)}), then Refresh.")
        self._stats(http, run, scopes)

    def _stats(self, http: Http, run: Run, scopes: list[str]) -> None:
        if "stats.read" not in scopes:
            run.info["notes"].append("This key may not read delivery stats: add the scope “stats.read”.")
            return
        start = (datetime.now(UTC) - timedelta(days=STATS_DAYS - 1)).date().isoformat()
        with run.step("stats", f"Read the last {STATS_DAYS} days' delivery stats (GET /v3/stats)") as st:
            status, headers, body = http.call("reading stats", lambda c: c.stats.get(
                query_params={"start_date": start, "aggregated_by": "day"}))
            run.transcript.client(f"GET /v3/stats?start_date={start}&aggregated_by=day")
            run.transcript.server(str(status))
            if status != 200:
                raise _status_error(status, headers, body, "reading stats")
            days: list[dict[str, Any]] = []
            for day in body if isinstance(body, list) else []:
                totals = dict.fromkeys(STAT_METRICS, 0)
                for s in day.get("stats", []) if isinstance(day, dict) else []:
                    metrics = s.get("metrics", {}) if isinstance(s, dict) else {}
                    for m in STAT_METRICS:
                        value = metrics.get(m)
                        totals[m] += value if isinstance(value, int) else 0
                days.append({"date": str(day.get("date"))[:10], **totals})
            run.info["stats"] = days
            delivered, bounced = sum(int(d["delivered"]) for d in days), sum(int(d["bounces"]) for d in days)
            st.detail = f"{delivered} delivered, {bounced} bounced in {len(days)} {plural(len(days), ('day', 'days'))}"

    def unsuppress(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, kind: str, email: str) -> None:
        if kind not in SUPPRESSION_LISTS:
            raise FieldError("list", f"must be one of {', '.join(SUPPRESSION_LISTS)}")
        if not _EMAIL.match(email):
            raise FieldError("email", "is not an e-mail address")
        http = self._open(conn, secrets, run)
        scopes = self._scopes(http, run)
        if delete_scope(kind) not in scopes:
            raise ConnectorError(errors.API_KEY_MISSING_SCOPE,
                                 f"This key may not remove addresses from the {kind.replace('_', ' ')} list.",
                                 f"Give the key the scope “{delete_scope(kind)}” (Suppressions → Full Access).")
        path = "/v3/" + "/".join(_delete_path(kind, email))
        with run.step("remove", f"Remove {email} (DELETE {path})") as st:
            def delete(c: Any) -> Any:
                for part in _delete_path(kind, email):
                    c = c._(part)
                return c.delete()
            status, headers, body = http.call("removing the suppression", delete)
            run.transcript.client(f"DELETE {path}")
            run.transcript.server(str(status))
            if status == 404:
                raise FieldError("email", f"{email} is not on the {kind} list")
            if status not in (200, 204):
                raise _status_error(status, headers, body, "removing the suppression")
            run.info["removed"] = {"list": kind, "email": email}
            st.detail = f"SendGrid answered {status}: mail to {email} is no longer suppressed by this list"
