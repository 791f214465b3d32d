"""SendGrid over its Web API with the sendgrid library, under our deadline and cancel token.

Every call runs in a helper thread that we stop waiting for at the deadline (the library only has
per-socket timeouts). Errors — HTTP statuses, and plain ``urllib`` errors for unreachable hosts — map
to our codes here. The library's DEBUG log prints request headers (the API key): it is held at
WARNING whatever the application's log level. Requests go through :func:`desktop.core.web.opener`, so a
redirect is never followed with the key: it is an error naming the target. An ``api_base`` that is not
SendGrid's gets the key only once the user confirmed it (``api_base_confirmed``).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from desktop.connectors.base import ConnectorType
from desktop.connectors.sendgrid import API_BASES, CONNECTOR, is_sendgrid_host
from desktop.core import errors, web
from desktop.core.blocking import bounded
from desktop.core.errors import ConnectorError, FieldError
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

logging.getLogger("python_http_client").setLevel(logging.WARNING)

KEY_RE = re.compile(r"^SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{32,64}$")
RETRIES = 3


def api_base(settings: Mapping[str, Any]) -> str:
    """The API address the key goes to; an override that is not SendGrid's only once confirmed.
    Errors name the fields by their labels (“API address override”)."""
    override, confirm = CONNECTOR.field("api_base"), CONNECTOR.field("api_base_confirmed")
    base = str(settings.get("api_base") or API_BASES.get(str(settings.get("region")), API_BASES["global"]))
    try:
        url = web.check_url(base, "settings.api_base")
    except FieldError as exc:
        raise FieldError(exc.field, exc.problem, label=override.label) from None
    if not is_sendgrid_host(url) and settings.get("api_base_confirmed") is not True:
        raise ConnectorError(errors.CONFIRMATION_REQUIRED,
                             f"{override.label}: “{web.shown(url)}” is not SendGrid's address; the API key is "
                             "sent there only once you confirm it. Nothing was sent.",
                             f"Tick “{confirm.label}” (under “Advanced”; on the command line: --trust-api-base), "
                             f"or clear “{override.label}” to use SendGrid's own address.")
    return url


def check_key(secrets: Mapping[str, Secret]) -> Secret:
    label = CONNECTOR.field_label("secrets.api_key")
    key = secrets.get("api_key")
    if not key:
        raise FieldError("secrets.api_key", "is required", label=label)
    if not KEY_RE.match(key.reveal()):
        raise FieldError("secrets.api_key", "this does not look like a SendGrid API key (SG.xxxx.yyyy). Nothing "
                                            "was sent.",
                         "Copy the whole key shown once when it was created; it starts with “SG.”.", label=label)
    return key


def _client(base: str, key: Secret) -> Any:
    """The sendgrid library's HTTP client, sending through :func:`web.opener` (no redirects)."""
    import python_http_client
    import sendgrid

    class Client(python_http_client.Client):  # type: ignore[misc]
        def _build_client(self, name: str | None = None) -> Client:
            return Client(host=self.host, version=self._version, request_headers=self.request_headers,
                          url_path=self._url_path + [name] if name else self._url_path,
                          append_slash=self.append_slash, timeout=self.timeout)

        def _make_request(self, _opener: Any, request: Any, timeout: float | None = None) -> Any:
            return super()._make_request(web.opener(), request, timeout)

    library = sendgrid.SendGridAPIClient(api_key=key.reveal(), host=base).client
    return Client(host=library.host, version=library._version, request_headers=library.request_headers,
                  url_path=library._url_path, append_slash=library.append_slash, timeout=library.timeout)


class Http:
    """One API call through the sendgrid library, bounded by the run's deadline and cancel token."""

    def __init__(self, run: Run, base: str, key: Secret) -> None:
        self.run = run
        self.base = base
        self.client = _client(base, key)
        self.run.transcript.register(key)

    def call(self, doing: str, fn: Callable[[Any], Any]) -> tuple[int, dict[str, str], Any]:
        self.client.timeout = max(0.1, self.run.deadline.remaining())
        try:
            outcome = bounded(self.run, doing, lambda: fn(self.client))
        except ConnectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below
            return self._failure(exc, doing)
        return outcome.status_code, {k.lower(): v for k, v in (outcome.headers or {}).items()}, _json(outcome.body)

    def _failure(self, exc: BaseException, doing: str) -> tuple[int, dict[str, str], Any]:
        from python_http_client.exceptions import HTTPError

        if isinstance(exc, HTTPError):
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            if web.is_redirect(exc.status_code):
                raise web.redirect_error(exc.status_code, headers, self.base, "SendGrid Web API") from None
            return exc.status_code, headers, _json(exc.body)
        classified = web.classify(exc, self.base, self.run.deadline, doing, "SendGrid Web API")
        if classified is not None:
            raise classified from None
        raise exc


def _json(body: Any) -> Any:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def _messages(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(str(e.get("message")) for e in body["errors"] if isinstance(e, dict))
    return str(body)[:200] if body else ""


def _reset_in(headers: Mapping[str, str]) -> float | None:
    """Seconds until the rate limit resets, from X-RateLimit-Reset (epoch) or Retry-After."""
    reset = headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    after = headers.get("retry-after")
    if after and after.isdigit():
        return float(after)
    return None


def _status_error(status: int, headers: Mapping[str, str], body: Any, doing: str) -> ConnectorError:
    detail = _messages(body)
    if status == 401:
        return ConnectorError(errors.API_KEY_INVALID, f"SendGrid rejected the API key ({detail or 'unauthorized'}).",
                              "The key is wrong, revoked, or from another account or region. Create a new key "
                              "under Settings → API Keys and paste it whole.")
    if status == 403:
        return ConnectorError(errors.API_KEY_MISSING_SCOPE,
                              f"The API key may not do this ({detail or 'forbidden'}) while {doing}.",
                              "Give the key the Mail Send permission (Settings → API Keys → Edit).")
    if status == 429:
        wait = _reset_in(headers)
        when = f" Retry in {wait:.0f} s." if wait is not None else ""
        return ConnectorError(errors.RATE_LIMITED, f"SendGrid is rate-limiting this key.{when}",
                              "Wait until the limit resets, or lower how often workflows send.", temporary=True,
                              retry_after=wait)
    if status >= 500:
        return ConnectorError(errors.SERVER_ERROR, f"SendGrid answered {status} while {doing} ({detail}).",
                              "This is on SendGrid's side; try again shortly (status.sendgrid.com).",
                              temporary=True)
    return ConnectorError(errors.SERVER_ERROR if status != 400 else errors.BAD_INPUT,
                          f"SendGrid answered {status} while {doing}: {detail}",
                          "The message was refused as sent; the answer names the field.")


class SendGridChecks:
    def __init__(self, ctype: ConnectorType) -> None:
        self.ctype = ctype

    def _open(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> Http:
        with run.step("address", "Check the API address") as st:
            base = api_base(conn.settings)
            st.detail = base if is_sendgrid_host(base) else f"{base} (confirmed: not SendGrid's own address)"
        with run.step("key", "Check the key's shape") as st:
            key = check_key(secrets)
            st.detail = f"SG.…{key.reveal()[-4:]}"
        return Http(run, base, key)

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        http = self._open(conn, secrets, run)
        with run.step("scopes", "Read the key's permissions (GET /v3/scopes)") as st:
            status, headers, body = http.call("reading the key's scopes", lambda c: c.scopes.get())
            run.transcript.client("GET /v3/scopes (Authorization: Bearer ********)")
            run.transcript.server(f"{status} {_messages(body) if status >= 400 else ''}".strip())
            if status != 200:
                raise _status_error(status, headers, body, "reading the key's scopes")
            scopes = sorted(body.get("scopes", [])) if isinstance(body, dict) else []
            run.info["scopes"] = scopes
            if "mail.send" not in scopes:
                shown = ", ".join(scopes[:15]) + ("…" if len(scopes) > 15 else "") or "none"
                raise ConnectorError(errors.API_KEY_MISSING_SCOPE,
                                     f"The API key lacks the “mail.send” permission. It has: {shown}.",
                                     "Edit the key under Settings → API Keys and give it Mail Send (restricted "
                                     "access → Mail Send → Full Access).")
            st.detail = f"{len(scopes)} scope{'' if len(scopes) == 1 else 's'}, mail.send included"
        sender = str(conn.settings.get("from_address") or "")
        with run.step("sender", "Sender verification (GET /v3/verified_senders)") as st:
            if not any(s.startswith(("verified_senders", "sender_verification")) for s in scopes):
                st.detail = "not checked: the key may not read verified senders"
                run.info["sender_verified"] = None
            else:
                status, headers, body = http.call("reading verified senders", lambda c: c.verified_senders.get())
                run.transcript.client("GET /v3/verified_senders")
                run.transcript.server(str(status))
                if status != 200:
                    st.detail = f"not checked: SendGrid answered {status}"
                    run.info["sender_verified"] = None
                else:
                    emails = {str(r.get("from_email", "")).lower(): bool(r.get("verified"))
                              for r in (body or {}).get("results", []) if isinstance(r, dict)}
                    ok = emails.get(sender.lower())
                    run.info["sender_verified"] = bool(ok)
                    st.detail = (f"{sender} is a verified sender" if ok else
                                 f"{sender} is not among the verified senders — mail from it is refused unless "
                                 "its domain is authenticated")

    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, to: str,
                  tag: str | None = None) -> None:
        http = self._open(conn, secrets, run)
        tag = tag or uuid.uuid4().hex
        sandbox = bool(conn.settings.get("sandbox", True))
        now = datetime.now(UTC)
        message = {
            "personalizations": [{"to": [{"email": to}]}],
            "from": {"email": str(conn.settings.get("from_address"))},
            "subject": f"Connector Desk test: {conn.name} at {now:%Y-%m-%d %H:%M:%S} UTC",
            "content": [{"type": "text/plain",
                         "value": f"This is a test message sent by Connector Desk for the connector "
                                  f"“{conn.name}” at {now:%Y-%m-%d %H:%M:%S} UTC. No reply is needed."}],
            "headers": {"X-Connector-Desk-Test": tag},
            "mail_settings": {"sandbox_mode": {"enable": sandbox}},
        }
        attempts: list[dict[str, Any]] = []
        run.info.update({"attempts": attempts, "sandbox": sandbox, "to": to, "tag": tag})
        for n in range(1, RETRIES + 1):
            label = "" if n == 1 else f"Attempt {n}: "
            t0 = time.perf_counter()
            try:
                with run.step("send", label + ("Sandbox send" if sandbox else "Send") + " (POST /v3/mail/send)") as st:
                    status, headers, body = http.call("sending", lambda c: c.mail.send.post(request_body=message))
                    run.transcript.client(f"POST /v3/mail/send to {to} (sandbox {'on' if sandbox else 'off'})")
                    run.transcript.server(f"{status} {_messages(body) if status >= 400 else ''}".strip())
                    if status not in (200, 202):
                        raise _status_error(status, headers, body, "sending")
                    msg_id = headers.get("x-message-id")
                    run.info["message_id"] = msg_id
                    st.detail = ("accepted in sandbox mode (200): validated, nothing delivered" if status == 200 else
                                 f"accepted for delivery (202), X-Message-Id {msg_id}")
            except ConnectorError as exc:
                attempts.append({"attempt": n, "ok": False, "code": exc.code, "message": exc.message,
                                 "ms": round((time.perf_counter() - t0) * 1000, 1)})
                if not exc.temporary or n == RETRIES:
                    raise
                wait = (2.0 ** (n - 1)) if exc.retry_after is None else exc.retry_after + 0.2
                if wait > run.deadline.remaining() - 0.5:
                    raise
                if run.cancel.wait(wait):
                    run.cancel.raise_if_cancelled()
                continue
            attempts.append({"attempt": n, "ok": True, "ms": round((time.perf_counter() - t0) * 1000, 1)})
            return
