"""The one error model: a stable code, a plain-language message and a hint saying what to do.

Every failure an administrator can see is a :class:`ConnectorError`. Connectors classify
low-level exceptions here, once, so the GUI and the CLI only render.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

# Stable codes (DESIGN.md §3). Add new ones; never rename.
BAD_INPUT: Final = "bad_input"
DNS_FAILED: Final = "dns_failed"
CONNECT_REFUSED: Final = "connect_refused"
CONNECT_TIMEOUT: Final = "connect_timeout"
TIMEOUT: Final = "timeout"
TLS_FAILED: Final = "tls_failed"
CERT_UNTRUSTED: Final = "cert_untrusted"
CERT_EXPIRED: Final = "cert_expired"
CERT_HOSTNAME_MISMATCH: Final = "cert_hostname_mismatch"
STARTTLS_UNAVAILABLE: Final = "starttls_unavailable"
PLAINTEXT_REFUSED: Final = "plaintext_refused"
AUTH_FAILED: Final = "auth_failed"
AUTH_METHOD_UNSUPPORTED: Final = "auth_method_unsupported"
OAUTH_REFRESH_FAILED: Final = "oauth_refresh_failed"
MAILBOX_NOT_FOUND: Final = "mailbox_not_found"
TOPIC_NOT_FOUND: Final = "topic_not_found"
NOT_AUTHORIZED: Final = "not_authorized"
API_KEY_INVALID: Final = "api_key_invalid"
API_KEY_MISSING_SCOPE: Final = "api_key_missing_scope"
RATE_LIMITED: Final = "rate_limited"
SERVER_ERROR: Final = "server_error"
PROTOCOL_ERROR: Final = "protocol_error"
CANCELLED: Final = "cancelled"
# Added after the first list (still stable from here on):
SECRET_STORE_UNAVAILABLE: Final = "secret_store_unavailable"
RECIPIENT_REJECTED: Final = "recipient_rejected"
SENDER_REJECTED: Final = "sender_rejected"
INTERNAL_ERROR: Final = "internal_error"
CONFIRMATION_REQUIRED: Final = "confirmation_required"
ALREADY_REPLAYED: Final = "already_replayed"
# OAuth sign-in for mail (DESIGN.md §3):
OAUTH_SIGN_IN_REQUIRED: Final = "oauth_sign_in_required"
OAUTH_INVALID_CLIENT: Final = "oauth_invalid_client"
OAUTH_ACCESS_DENIED: Final = "oauth_access_denied"
OAUTH_SCOPE_MISSING: Final = "oauth_scope_missing"
# Team vault (DESIGN.md §3):
CONFLICT: Final = "conflict"  # someone else changed it since it was read; nothing was changed
VAULT_SEALED: Final = "vault_sealed"

ALL_CODES: Final = frozenset(
    {
        BAD_INPUT, DNS_FAILED, CONNECT_REFUSED, CONNECT_TIMEOUT, TIMEOUT, TLS_FAILED,
        CERT_UNTRUSTED, CERT_EXPIRED, CERT_HOSTNAME_MISMATCH, STARTTLS_UNAVAILABLE,
        PLAINTEXT_REFUSED, AUTH_FAILED, AUTH_METHOD_UNSUPPORTED, OAUTH_REFRESH_FAILED,
        MAILBOX_NOT_FOUND, TOPIC_NOT_FOUND, NOT_AUTHORIZED, API_KEY_INVALID,
        API_KEY_MISSING_SCOPE, RATE_LIMITED, SERVER_ERROR, PROTOCOL_ERROR, CANCELLED,
        SECRET_STORE_UNAVAILABLE, RECIPIENT_REJECTED, SENDER_REJECTED, INTERNAL_ERROR,
        CONFIRMATION_REQUIRED, ALREADY_REPLAYED, OAUTH_SIGN_IN_REQUIRED, OAUTH_INVALID_CLIENT,
        OAUTH_ACCESS_DENIED, OAUTH_SCOPE_MISSING, CONFLICT, VAULT_SEALED,
    }
)


class ConnectorError(Exception):
    """A failure the administrator can act on.

    ``code`` is stable (scripts match on it), ``message`` says what happened in plain words,
    ``hint`` says what to do, ``step`` names the validation step it happened in (set by the
    pipeline when not given). ``temporary`` marks failures worth retrying (SMTP 4xx).
    """

    def __init__(
        self,
        code: str,
        message: str,
        hint: str = "",
        *,
        step: str | None = None,
        temporary: bool = False,
        retry_after: float | None = None,
    ) -> None:
        if code not in ALL_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.step = step
        self.step_label: str | None = None  # the step's label as shown to the user
        self.temporary = temporary
        self.retry_after = retry_after  # seconds the server asked us to wait (rate limits)

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "step": self.step, "message": self.message, "hint": self.hint}

    def __str__(self) -> str:
        return f"{self.message} ({self.code})" + (f" — {self.hint}" if self.hint else "")


class FieldError(ConnectorError):
    """Bad input in one named field."""

    def __init__(self, field: str, problem: str, hint: str = "", *, label: str | None = None) -> None:
        """``label``: the field as the form shows it, for the message (default: ``field``); ``hint``:
        what to do, where more can be said than "correct the field"."""
        named = label or field
        super().__init__(BAD_INPUT, f"{named}: {problem}", hint or f"Correct the field “{named}” and try again.")
        self.field = field
        self.problem = problem
        self.own_hint = bool(hint)


# A problem that starts with one of these reads on from the field's label: "User name is required".
_READS_ON = ("is ", "must ", "may ", "needs ", "has ", "holds ", "does ", "cannot ", "was ")


def field_sentence(label: str, problem: str) -> str:
    """A field's problem as the form shows it: a sentence naming the field by its ``label``
    ("User name is required", "Host: “x y” is not a host name…"). FieldError.problem stays phrased
    to follow the field's name (the CLI prints "name: is required")."""
    if problem.startswith(_READS_ON):
        return f"{label} {problem}"
    return f"{label}: {problem}"


class InputErrors(ConnectorError):
    """Several bad fields at once: every invalid field is reported by name."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        text = "; ".join(e.message for e in errors)
        super().__init__(BAD_INPUT, text, "Correct the named fields and try again.")

    @property
    def fields(self) -> dict[str, str]:
        return {e.field: e.problem for e in self.errors}
