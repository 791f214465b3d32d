"""Kafka (consume trigger and produce): bootstrap servers, TLS, SASL, the topic and dead-letter topic.
The protocol code in :mod:`.session` (and kafka-python) loads when a check runs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from desktop.core.contract import Action, ConnectorType, Fact, Listing, Row, Wording, plural
from desktop.core.errors import ConnectorError
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.record import replace
from desktop.core.secret import Secret
from desktop.core.textsafe import preview

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypedDict

    from desktop.core.failures import ReplayLog

PROTOCOLS = (("PLAINTEXT", "PLAINTEXT — no encryption, no sign-in"), ("SSL", "SSL — TLS, optional client certificate"),
             ("SASL_PLAINTEXT", "SASL_PLAINTEXT — sign-in without encryption"),
             ("SASL_SSL", "SASL_SSL — sign-in over TLS (cloud services)"))
MECHANISMS = (("PLAIN", "PLAIN (API key and secret)"), ("SCRAM-SHA-256", "SCRAM-SHA-256"),
              ("SCRAM-SHA-512", "SCRAM-SHA-512"), ("OAUTHBEARER", "OAUTHBEARER (OAuth client credentials)"))
PASSWORD_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
OAUTH = {"security_protocol": ("SASL_PLAINTEXT", "SASL_SSL"), "sasl_mechanism": ("OAUTHBEARER",)}
SASL = ("SASL_PLAINTEXT", "SASL_SSL")
TLS = ("SSL", "SASL_SSL")
TOPIC_RE = re.compile(r"[A-Za-z0-9._-]+")
TOPIC_MAX = 249


def topic_problem(name: str) -> str | None:
    """Why ``name`` cannot be a Kafka topic (Kafka's own rule: 1–249 ASCII letters, digits, “.”, “_”
    and “-”, and not “.” or “..”), or None. Checked before anything goes to the network."""
    if name in (".", ".."):
        return f"“{name}” is not a valid topic name (Kafka refuses “.” and “..”)"
    if len(name) > TOPIC_MAX:
        return f"is too long ({len(name):,} characters; Kafka allows at most {TOPIC_MAX})"
    if not TOPIC_RE.fullmatch(name):
        bad = sorted({c for c in name if not TOPIC_RE.fullmatch(c)})
        shown = ", ".join("a space" if c == " " else f"“{preview(c)}”" for c in bad[:5])
        return (f"“{preview(name)}” is not a valid topic name: use only ASCII letters, digits, “.”, “_” and “-” "
                f"(not: {shown})")
    return None


class KafkaConnector(ConnectorType):
    type_name = "kafka"
    label = "Kafka"
    summary = "A Kafka topic a workflow consumes from or produces to (Confluent, MSK, Aiven, Redpanda, your own)."
    test_action = Action.PRODUCE
    actions = frozenset({Action.PRODUCE, Action.PEEK})
    receipt_steps = ("produce",)
    wording = Wording(
        server_title="Cluster and security",
        server_text="Where the cluster is and how the connection is protected.",
        checks="Connector Desk reaches each bootstrap server, negotiates TLS, signs in and checks the topic",
        auth_title="Sign-in and topic",
        auth_text="How Connector Desk signs in to the cluster, and the topic to check. Secrets go to {secrets}, "
                  "never to a file.",
        test_title="Admin details and test record",
        test_text="Produce a test record into the live topic and read it back (its consumers see it too; you are "
                  "asked first), or look at the newest dead-letter records. No consumer offsets are committed.",
        next_step="You can add admin details and produce a test record next.",
        noun=("record", "records"),
        peek_button="&Peek at dead letters",
        peek_source="dead_letter_topic",
        peek_needs_source=True,
        peek_needs_hint="Set a dead-letter topic on the sign-in page first",
        peek_summary=("Dead-letter peek", "read the newest dead-letter records"))
    fields = (
        Field("provider", "Provider", "choice", "self-managed",
              choices=(("confluent", "Confluent Cloud"), ("msk", "Amazon MSK"), ("aiven", "Aiven"),
                       ("redpanda", "Redpanda Cloud"), ("self-managed", "Self-managed")),
              page="provider", help="Which service runs the cluster; selects its hints."),
        Field("bootstrap_servers", "Bootstrap servers", "list", required=True,
              placeholder="broker1.example.com:9092, broker2.example.com:9092",
              help="One or more host:port, separated by commas. Each is checked on its own."),
        Field("security_protocol", "Security protocol", "choice", "SASL_SSL", choices=PROTOCOLS),
        Field("ca_file", "CA file", "path", page="advanced", when={"security_protocol": TLS},
              help="A PEM file with the cluster's certificate authority (Aiven gives one), trusted in addition "
                   "to the system's."),
        Field("client_cert_file", "Client certificate", "path", page="advanced", when={"security_protocol": TLS},
              help="PEM or PKCS#12 (.p12/.pfx), for clusters that authenticate clients by certificate."),
        Field("client_key_file", "Client key", "path", page="advanced", when={"security_protocol": TLS},
              help="The client certificate's private key (PEM); not needed for PKCS#12."),
        Field("timeout_s", "Deadline (seconds)", "int", 15, minimum=1, maximum=600, page="advanced",
              help="How long a whole check may take."),
        Field("sasl_mechanism", "SASL mechanism", "choice", "PLAIN", choices=MECHANISMS, page="auth",
              when={"security_protocol": SASL}),
        Field("username", "User name / API key", "text", required=True, page="auth",
              when={"security_protocol": SASL, "sasl_mechanism": PASSWORD_MECHANISMS}),
        Field("oauth_token_endpoint", "Token endpoint", "text", required=True, page="auth", when=OAUTH,
              placeholder="https://login.example.com/oauth2/token",
              help="The identity provider's OAuth 2.0 token endpoint (client-credentials grant). https only."),
        Field("oauth_client_id", "Client id", "text", required=True, page="auth", when=OAUTH),
        Field("oauth_scope", "Scope", "text", page="auth", when=OAUTH,
              help="Optional: the scope the cluster expects in its tokens, space-separated."),
        Field("topic", "Topic", "text", required=True, page="auth", placeholder="orders", check=topic_problem,
              help="Must exist; names are case-sensitive."),
        Field("dead_letter_topic", "Dead-letter topic", "text", page="auth", placeholder="orders.dlq",
              check=topic_problem,
              help="Optional: where failed records go. Checked, and its newest records can be peeked at."),
        Field("consumer_group", "Consumer group", "text", page="auth", placeholder="workflow-orders",
              help="Optional: the group the trigger consumes as; checked to be describable."),
    )
    secrets = (
        SecretField("password", "Password / API secret", after="username",
                    when={"security_protocol": SASL, "sasl_mechanism": PASSWORD_MECHANISMS}),
        SecretField("oauth_client_secret", "Client secret", when=OAUTH, after="oauth_client_id"),
        SecretField("client_key_password", "Client key password", help="Only if the client key is encrypted.",
                    optional=True, when={"security_protocol": TLS}),
    )

    def test_wording(self, settings: Mapping[str, Any]) -> Wording:
        """Only what the security protocol does: no “TLS” without encryption, no “sign-in” without SASL."""
        protocol = str(settings.get("security_protocol") or "")
        steps = ["reaches each bootstrap server"]
        if protocol in TLS:
            steps.append("negotiates TLS")
        if protocol in SASL:
            steps.append("signs in" + ("" if protocol in TLS else " (without encryption)"))
        checks = "Connector Desk " + ", ".join(steps) + " and checks the topic"
        if protocol in SASL:
            return replace(self.wording, checks=checks)
        return replace(self.wording, checks=checks, auth_title="Topic",
                       auth_text="The topic to check. This security protocol has no sign-in"
                                 + (": the cluster may identify clients by certificate (Advanced, on the previous "
                                    "page)." if protocol in TLS else "."))

    def server_label(self, settings: Mapping[str, Any]) -> str:
        raw = settings.get("bootstrap_servers")
        # The form holds the text as typed ("a:9092, b:9092"); a saved connector holds a list.
        servers = (raw if isinstance(raw, list) else [s.strip() for s in str(raw or "").split(",") if s.strip()]) \
            or ["?"]
        more = f" (+{len(servers) - 1})" if len(servers) > 1 else ""
        return f"{servers[0]}{more} · {settings.get('topic') or '?'}"

    def warnings(self, settings: Mapping[str, Any]) -> list[str]:
        out = []
        proto = settings.get("security_protocol")
        if proto == "PLAINTEXT":
            out.append("Unencrypted connection: records travel in clear text.")
        if proto == "SASL_PLAINTEXT":
            carried = {"PLAIN": "the password", "OAUTHBEARER": "the access token"}.get(
                str(settings.get("sasl_mechanism")), "the user name (SCRAM does not send the password itself)")
            out.append(f"Unencrypted connection: {carried} and the records travel in clear text.")
        if proto in ("SASL_PLAINTEXT", "SASL_SSL") and settings.get("sasl_mechanism") == "OAUTHBEARER" and \
                str(settings.get("oauth_token_endpoint") or "").startswith("http://"):
            out.append("The token endpoint is not encrypted (http): the client secret travels in clear text.")
        return out

    def field_problems(self, settings: Mapping[str, Any]) -> dict[str, str]:
        raw = settings.get("bootstrap_servers")
        items = raw if isinstance(raw, list) else [s.strip() for s in str(raw or "").split(",") if s.strip()]
        for item in items:
            host, sep, port = str(item).strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                return {"bootstrap_servers": f"“{item}” is not host:port (for example broker1.example.com:9092)"}
        return {}

    def facts(self, info: Mapping[str, Any]) -> list[Fact]:
        return cluster_facts(info)

    def listing(self, info: Mapping[str, Any]) -> Listing | None:
        return record_listing(info)

    def _checks(self) -> Any:
        from desktop.connectors.kafka.session import KafkaChecks
        return KafkaChecks(self)

    def _with_provider_hints(self, conn: Connector, action: Any) -> None:
        """Run a check; a failure gets the provider's own advice (resources/presets/kafka.json)."""
        try:
            action()
        except ConnectorError as err:
            self.add_provider_hint(conn.settings, err)
            raise

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        self._with_provider_hints(conn, lambda: self._checks().validate(conn, secrets, run))

    def produce(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        self._with_provider_hints(conn, lambda: self._checks().produce(conn, secrets, run))

    def peek(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, count: int) -> None:
        self._with_provider_hints(conn, lambda: self._checks().peek(conn, secrets, run, count))

    def has_failures(self, settings: Mapping[str, Any]) -> bool:
        return bool(settings.get("dead_letter_topic"))

    def failures(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, limit: int,
                 linked: tuple[Connector, Mapping[str, Secret]] | None = None) -> None:
        from desktop.connectors.kafka.deadletters import DeadLetters
        DeadLetters(self).failures(conn, secrets, run, limit)

    def replay(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, ids: Sequence[str],
               replays: ReplayLog, force: bool = False) -> None:
        """Dead letters back to their original topics (``run.info["replayed"]``)."""
        from desktop.connectors.kafka.deadletters import DeadLetters
        DeadLetters(self).replay(conn, secrets, run, ids, replays, force)


if TYPE_CHECKING:
    class KafkaRecord(TypedDict):
        """One record a dead-letter peek read (run.info["records"], written by session.py)."""

        partition: int
        offset: int
        timestamp: str
        key: str | None
        headers: dict[str, str | None]
        value: str | None


def cluster_facts(info: Mapping[str, Any]) -> list[Fact]:
    out = []
    cluster = info.get("cluster")
    if isinstance(cluster, dict):
        out.append(Fact("Cluster", f"{cluster.get('id')}: brokers {', '.join(cluster.get('brokers', []))}"))
    if info.get("latency_ms") is not None:
        out.append(Fact("Produce → read back", f"{info['latency_ms']:.0f} ms"))
    return out


def record_listing(info: Mapping[str, Any]) -> Listing:
    """A dead-letter peek's records (``info["records"]``: timestamp, key, headers, value, partition, offset)."""
    from desktop.core.describe import local_time
    records: list[KafkaRecord] = info.get("records", [])
    rows, plain = [], []
    for r in records:
        headers = ", ".join(f"{k}={v}" for k, v in r["headers"].items())
        when = local_time(r["timestamp"], seconds=True)  # as every other time shown: local, to the second
        rows.append(Row((when, r["key"] or "", headers, r["value"] or ""),
                        f"partition {r['partition']}, offset {r['offset']}\n{r['value']}"))
        plain.append(f"{when}  key={r['key']}  [{headers}]  {r['value']}")
    n = len(rows)
    title = f"{n} newest dead-letter {plural(n, ('record', 'records'))}"
    note = "Read by partition assignment: no offsets were committed." if n else "The dead-letter topic is empty."
    return Listing(("Time", "Key", "Headers", "Value"), tuple(rows), title, note, tuple(plain))


CONNECTOR = KafkaConnector()
