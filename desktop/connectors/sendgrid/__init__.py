"""SendGrid (transactional mail API): the key's scopes, the verified sender, sandbox and live sends.
The protocol code in :mod:`.session` (and the sendgrid library) loads when a check runs."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from desktop.core.contract import Action, ConnectorType, Fact, NoDelivery, Wording
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.record import replace
from desktop.core.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

API_BASES = {"global": "https://api.sendgrid.com", "eu": "https://api.eu.sendgrid.com"}


def is_sendgrid_host(base: str) -> bool:
    """True for an https address on one of SendGrid's own API hosts (the ones in API_BASES)."""
    parts = urlsplit(base)
    return parts.scheme == "https" and any(parts.netloc.lower() == urlsplit(b).netloc for b in API_BASES.values())


class SendGridConnector(ConnectorType):
    type_name = "sendgrid"
    label = "SendGrid"
    summary = "Transactional e-mail through SendGrid's Web API (global or EU data residency)."
    actions = frozenset({Action.SEND})
    receipt_steps = ("send",)
    wording = Wording(
        server_title="API and sender",
        server_text="Which SendGrid endpoint to use and the address mail comes from.",
        checks="Connector Desk checks the API key, its permissions and the sender")
    fields = (
        Field("region", "Region", "choice", "global",
              choices=(("global", "Global (api.sendgrid.com)"), ("eu", "EU data residency (api.eu.sendgrid.com)")),
              help="EU subusers must use the EU endpoint."),
        Field("from_address", "Sender (From) address", "email", required=True, placeholder="billing@example.com",
              help="Checked against the account's verified senders where the key may read them."),
        Field("sandbox", "Sandbox test sends (validated by SendGrid, nothing delivered)", "bool", True,
              page="auth", help="Turn off to deliver a real message to the test recipient."),
        Field("api_base", "API address override", "text", page="advanced", placeholder="https://api.sendgrid.com",
              help="Only for proxies and tests. Must be https unless it is a loopback address. The API key "
                   "is sent here: an address that is not SendGrid's must be confirmed before first use."),
        Field("api_base_confirmed", "Send the API key to this API address override", "bool", False,
              page="advanced",
              help="Set when you confirmed the override: without it, a check refuses to send the key to an "
                   "address that is not SendGrid's."),
        Field("timeout_s", "Deadline (seconds)", "int", 15, minimum=1, maximum=600, page="advanced",
              help="How long a whole check may take, retries included."),
    )
    secrets = (SecretField("api_key", "API key", help="Starts with “SG.”. Create it under Settings → API Keys "
                                                      "with at least the Mail Send permission."),)

    def server_label(self, settings: Mapping[str, Any]) -> str:
        base = settings.get("api_base") or API_BASES.get(str(settings.get("region")), API_BASES["global"])
        return str(base).removeprefix("https://").removeprefix("http://")

    def warnings(self, settings: Mapping[str, Any]) -> list[str]:
        base = str(settings.get("api_base") or "")
        out = []
        if base.startswith("http://"):
            out.append("The API address is not encrypted (http).")
        if base and not is_sendgrid_host(base):
            shown = "".join(c if c.isprintable() else "\ufffd" for c in base[:80]) + ("…" if len(base) > 80 else "")
            confirmed = "" if settings.get("api_base_confirmed") is True else " (not yet confirmed)"
            out.append(f"The API key is sent to “{shown}”, which is not SendGrid's address{confirmed}.")
        return out

    def test_wording(self, settings: Mapping[str, Any]) -> Wording:
        if not settings.get("sandbox"):
            return self.wording
        return replace(self.wording, test_text="Who looks after this connector, and where test messages go. Sandbox "
                                               "mode is on: SendGrid checks the test message and delivers nothing.")

    def undelivered(self, settings: Mapping[str, Any]) -> NoDelivery | None:
        if not settings.get("sandbox"):
            return None
        return NoDelivery("is in sandbox mode", "SendGrid accepts the message but delivers nothing",
                          "Turn sandbox test sends off in the connector's settings for a round trip.",
                          "In sandbox mode SendGrid checks the message and delivers nothing. Turn “Sandbox test "
                          "sends” off (Edit) for a round trip, or choose another sender.")

    def facts(self, info: Mapping[str, Any]) -> list[Fact]:
        out = []
        scopes = info.get("scopes")
        if isinstance(scopes, list):
            out.append(Fact(f"Key permissions ({len(scopes)})", ", ".join(scopes) or "none"))
        verified = info.get("sender_verified", "absent")
        if verified != "absent":
            out.append(Fact("Sender", {True: "verified", False: "not a verified sender",
                                       None: "not checked (the key may not read verified senders)"}[verified]))
        return out

    def _checks(self) -> Any:
        from desktop.connectors.sendgrid.session import SendGridChecks
        return SendGridChecks(self)

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        self._checks().validate(conn, secrets, run)

    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, to: str,
                  tag: str | None = None) -> None:
        self._checks().test_send(conn, secrets, run, to, tag)

    def has_failures(self, settings: Mapping[str, Any]) -> bool:
        return True

    def failures(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, limit: int,
                 linked: tuple[Connector, Mapping[str, Secret]] | None = None) -> None:
        from desktop.connectors.sendgrid.suppressions import Suppressions
        Suppressions(self).failures(conn, secrets, run, limit)

    def unsuppress(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, kind: str, email: str) -> None:
        """Remove ``email`` from the suppression list ``kind`` (``run.info["removed"]``)."""
        from desktop.connectors.sendgrid.suppressions import Suppressions
        Suppressions(self).unsuppress(conn, secrets, run, kind, email)


CONNECTOR = SendGridConnector()
