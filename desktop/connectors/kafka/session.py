"""Kafka checks. Reachability and TLS of each bootstrap server are checked with our own sockets
(a refused port fails in well under a second, certificate problems get their precise codes);
metadata, topics, groups and records go through kafka-python, run under our deadline, with its
connection warnings captured so a failure carries the real cause instead of a bare timeout."""

from __future__ import annotations

import difflib
import logging
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from desktop.connectors.base import ConnectorType
from desktop.connectors.kafka import sasl, topic_problem
from desktop.core import errors, net, oauth, tls
from desktop.core.blocking import bounded
from desktop.core.contract import counted
from desktop.core.errors import ConnectorError, FieldError
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

TLS = ("SSL", "SASL_SSL")
SASL = ("SASL_PLAINTEXT", "SASL_SSL")
T = TypeVar("T")


def parse_servers(raw: Any) -> list[tuple[str, int]]:
    servers = raw if isinstance(raw, list) else [s.strip() for s in str(raw or "").split(",") if s.strip()]
    out = []
    for item in servers:
        host, sep, port = str(item).strip().rpartition(":")
        # At most 5 ASCII digits: str.isdigit() is true for "²" (int() then fails) and "٣" (int() reads 3),
        # and int() refuses more than 4,300 digits.
        if not sep or not host or not (port.isascii() and port.isdigit() and len(port) <= 5) \
                or not 0 < int(port) < 65536:
            raise FieldError("settings.bootstrap_servers", f"“{item}” is not host:port")
        out.append((host.strip("[]"), int(port)))
    if not out:
        raise FieldError("settings.bootstrap_servers", "is required")
    return out


class _Capture(logging.Handler):
    """Collects what kafka-python only logs (connection warnings, SASL failures) during one check.

    Each check has its own handler and its own client id: kafka-python names its I/O thread
    ``kafka-io-<client id>`` and prefixes connection lines with it, so a line is this check's when it
    comes from that thread, names that client id, or comes from a thread the check runs a call in
    (:meth:`bind`). The ``kafka`` logger's level and propagation are never changed; the handler is
    there only while the check runs."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []
        self.client_id = f"connector-desk-{uuid.uuid4().hex[:12]}"
        self.threads: set[int] = {threading.get_ident()}
        self.addFilter(self._ours)

    def _ours(self, record: logging.LogRecord) -> bool:
        return (str(record.threadName).startswith(f"kafka-io-{self.client_id}") or record.thread in self.threads
                or self.client_id in str(record.msg) or any(self.client_id in str(a) for a in record.args or ()))

    def bind(self, fn: Callable[[], T]) -> Callable[[], T]:
        """``fn`` with the lines logged in the thread that runs it counted as this check's."""
        def run() -> T:
            me = threading.get_ident()
            self.threads.add(me)
            try:
                return fn()
            finally:
                self.threads.discard(me)
        return run

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.lines) < 200:
            self.lines.append(record.getMessage())


@contextmanager
def capture_kafka_logs() -> Iterator[_Capture]:
    handler = _Capture()
    logger = logging.getLogger("kafka")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def client_tls(settings: Mapping[str, Any], secrets: Mapping[str, Secret]) -> ssl.SSLContext | None:
    """The verified TLS context, with the client certificate loaded and checked before any connection."""
    if settings.get("security_protocol") not in TLS:
        return None
    cert, key = settings.get("client_cert_file"), settings.get("client_key_file")
    if not cert:
        return tls.make_context(settings.get("ca_file"))
    ctx = tls.new_context(settings.get("ca_file"))  # shared contexts are cached: this one is our own
    password = secrets.get("client_key_password")
    pw = password.reveal() if password else None
    if str(cert).lower().endswith((".p12", ".pfx")):
        cert, key = _from_pkcs12(Path(str(cert)), pw)
        pw = None
    try:
        ctx.load_cert_chain(str(cert), str(key) if key else None, pw)
    except ssl.SSLError as exc:
        reason = getattr(exc, "reason", "") or str(exc)
        if "KEY_VALUES_MISMATCH" in reason:
            raise FieldError("settings.client_key_file", "does not match the client certificate") from None
        if "PEM" in reason or "NO_START_LINE" in reason:
            raise FieldError("settings.client_cert_file", "is not a PEM certificate (with its key)") from None
        if "BAD_DECRYPT" in reason or "bad decrypt" in reason.lower():
            raise FieldError("secrets.client_key_password", "does not open the client key") from None
        raise FieldError("settings.client_cert_file", f"could not be loaded ({reason})") from None
    except OSError as exc:
        raise FieldError("settings.client_cert_file", f"could not be read ({exc.strerror})") from None
    finally:
        if str(settings.get("client_cert_file", "")).lower().endswith((".p12", ".pfx")):
            for f in (cert, key):
                Path(str(f)).unlink(missing_ok=True)
    return ctx


def _from_pkcs12(path: Path, password: str | None) -> tuple[str, str]:
    """Convert PKCS#12 to a PEM pair in private temporary files (removed right after loading)."""
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

    try:
        key, cert, extra = pkcs12.load_key_and_certificates(path.read_bytes(),
                                                            password.encode() if password else None)
    except ValueError:
        raise FieldError("settings.client_cert_file", "is not a PKCS#12 file this password opens") from None
    if key is None or cert is None:
        raise FieldError("settings.client_cert_file", "holds no key and certificate")
    chain = cert.public_bytes(Encoding.PEM) + b"".join(c.public_bytes(Encoding.PEM) for c in extra or [])
    files = []
    for data in (chain, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())):
        fd, name = tempfile.mkstemp(prefix="cd-client-", suffix=".pem")
        with open(fd, "wb") as f:
            f.write(data)
        files.append(name)
    return files[0], files[1]


class KafkaChecks:
    def __init__(self, ctype: ConnectorType) -> None:
        self.ctype = ctype

    # -- connecting ------------------------------------------------------------------------
    def _reach(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> tuple[list[str], Any, Secret | None]:
        """Reach (and TLS) every bootstrap server, then sign in on the first one ourselves.
        Returns the reachable servers, the TLS context and the credential kafka-python is to use."""
        s = conn.settings
        label = "Check the settings" + (" and client certificate" if s.get("client_cert_file") else "")
        with run.step("settings", label) as st:
            servers = parse_servers(s.get("bootstrap_servers"))
            for name in ("topic", "dead_letter_topic"):  # a saved or hand-written name: refused before any network
                if s.get(name) and (problem := topic_problem(str(s[name]))):
                    raise FieldError(f"settings.{name}", problem, label=self.ctype.field_label(f"settings.{name}"))
            ctx = client_tls(s, secrets)
            mechanism = str(s.get("sasl_mechanism")) if s.get("security_protocol") in SASL else None
            credential = self._credential_secret(mechanism, secrets)
            plural = "" if len(servers) == 1 else "s"
            st.detail = f"{len(servers)} bootstrap server{plural}, {s.get('security_protocol')}" + \
                (f", {mechanism}" if mechanism else "")
        if mechanism == "OAUTHBEARER":
            with run.step("token", "Get an access token from the token endpoint") as st:
                assert credential is not None
                credential = oauth.client_credentials(
                    run, str(s.get("oauth_token_endpoint") or ""), str(s.get("oauth_client_id") or ""), credential,
                    str(s.get("oauth_scope") or ""), s.get("ca_file"))
                st.detail = "token received"
        reachable: list[str] = []
        first_error: ConnectorError | None = None
        signing_in: net.LineConn | None = None
        try:
            for host, port in servers:
                with run.step(f"reach:{host}:{port}", f"Reach {host}:{port}") as st:
                    try:
                        addrs = net.resolve(host, port, run.deadline, run.cancel)
                        sock = net.connect(host, port, addrs, run.deadline, run.cancel)
                        lc = net.LineConn(sock, host, port, run.deadline, run.cancel, run.transcript)
                        try:
                            if ctx is not None:
                                run.info["tls"] = lc.start_tls(ctx)
                                st.detail = f"TLS ok, issued by {run.info['tls'].get('issuer', '?')}"
                            else:
                                st.detail = "reachable"
                        except BaseException:
                            lc.close()
                            raise
                        if mechanism and signing_in is None:
                            signing_in = lc
                        else:
                            lc.close()
                    except ConnectorError as exc:
                        first_error = first_error or exc
                        if exc.code == errors.CANCELLED or len(servers) == 1 or exc.code.startswith("cert_") \
                                or exc.code == errors.TLS_FAILED:
                            raise
                        st.detail = f"unreachable: {exc.message}"
                        continue
                    reachable.append(f"{host}:{port}")
            if not reachable:
                assert first_error is not None
                raise first_error
            if signing_in is not None and mechanism and credential is not None:
                with run.step("sasl", f"Sign in ({mechanism})") as st:
                    st.detail = sasl.authenticate(signing_in, mechanism, str(s.get("username") or ""), credential)
        finally:
            if signing_in is not None:
                signing_in.close()
        return reachable, ctx, credential

    @staticmethod
    def _credential_secret(mechanism: str | None, secrets: Mapping[str, Secret]) -> Secret | None:
        if not mechanism:
            return None
        name = "oauth_client_secret" if mechanism == "OAUTHBEARER" else "password"
        secret = secrets.get(name)
        if not secret:
            raise FieldError(f"secrets.{name}", "is required")
        return secret

    def _config(self, conn: Connector, servers: list[str], ctx: Any, credential: Secret | None,
                run: Run) -> dict[str, Any]:
        s = conn.settings
        ms = int(max(0.5, run.deadline.remaining()) * 1000)
        cfg: dict[str, Any] = {"bootstrap_servers": servers, "security_protocol": s.get("security_protocol"),
                               "request_timeout_ms": ms, "bootstrap_timeout_ms": ms,
                               "reconnect_backoff_max_ms": 500}
        if ctx is not None:
            cfg["ssl_context"] = ctx
        if s.get("security_protocol") in SASL and credential is not None:
            cfg["sasl_mechanism"] = s.get("sasl_mechanism")
            if s.get("sasl_mechanism") == "OAUTHBEARER":
                cfg["sasl_oauth_token_provider"] = _token_provider(credential)
            else:
                cfg.update(sasl_plain_username=s.get("username"), sasl_plain_password=credential.reveal())
        return cfg

    def _classify(self, exc: BaseException, logs: _Capture, doing: str, run: Run) -> ConnectorError:
        if isinstance(exc, ConnectorError) and exc.code != errors.TIMEOUT:
            return exc
        import kafka.errors as ke

        said = " | ".join(dict.fromkeys(line for line in logs.lines if line))[-600:]
        cause = f" Kafka said: {said}" if said else ""
        text = f"{exc.__class__.__name__} {exc} {said}".lower()
        if isinstance(exc, getattr(ke, "SaslAuthenticationFailedError", ())) or "authentication failed" in text or \
                "sasl" in text and "fail" in text:
            return ConnectorError(errors.AUTH_FAILED, f"The cluster rejected the sign-in.{cause}",
                                  "Check the user name (API key) and password (secret), and the SASL mechanism "
                                  "the cluster expects (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512).")
        if isinstance(exc, (ke.TopicAuthorizationFailedError, ke.GroupAuthorizationFailedError,
                            ke.ClusterAuthorizationFailedError)):
            return ConnectorError(errors.NOT_AUTHORIZED, f"The cluster refused this user while {doing} "
                                  f"({exc.__class__.__name__}).", "Ask for ACLs on the topic and group.")
        if isinstance(exc, ke.UnsupportedVersionError):
            return ConnectorError(errors.PROTOCOL_ERROR, f"The broker does not support a request Connector Desk "
                                  f"needs while {doing} ({exc}).", "The cluster may be too old or not Kafka.")
        timeouts = tuple(t for t in (getattr(ke, "KafkaTimeoutError", None), getattr(ke, "NoBrokersAvailable", None),
                                     TimeoutError) if isinstance(t, type))
        if run.deadline.expired or isinstance(exc, timeouts) or (isinstance(exc, ConnectorError)
                                                                 and exc.code == errors.TIMEOUT):
            return ConnectorError(errors.TIMEOUT, f"No answer from the cluster while {doing} within the deadline."
                                  f"{cause}", "The brokers accept connections but do not answer Kafka requests: "
                                  "check the security protocol (TLS or not, SASL or not) and the port.")
        return ConnectorError(errors.PROTOCOL_ERROR, f"Kafka failed while {doing} ({exc.__class__.__name__}: "
                              f"{exc}).{cause}", "Check the security protocol and the port.")

    def _admin(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, logs: _Capture) -> tuple[Any, Any]:
        servers, ctx, credential = self._reach(conn, secrets, run)
        from kafka import KafkaAdminClient

        cfg = {**self._config(conn, servers, ctx, credential, run), "client_id": logs.client_id}
        if conn.settings.get("security_protocol") in SASL:
            label, doing = "Sign in and read the cluster metadata", "signing in and reading the cluster metadata"
        else:  # no “sign in” where the security protocol has none
            label, doing = "Read the cluster metadata", "reading the cluster metadata"
        with run.step("metadata", label) as st:
            try:
                admin = bounded(run, doing, logs.bind(lambda: KafkaAdminClient(**cfg)))
            except Exception as exc:  # noqa: BLE001 - classified
                raise self._classify(exc, logs, doing, run) from None
            advertised = self._advertised(admin)
            count = counted(len(advertised), ("broker", "brokers"))
            st.detail = count + " advertised" if advertised else "metadata read"
        with run.step("advertised", "Reach the advertised brokers") as st:
            bad = []
            for host, port in advertised:
                try:
                    addrs = net.resolve(host, port, run.deadline, run.cancel)
                    net.connect(host, port, addrs, run.deadline, run.cancel).close()
                except ConnectorError as exc:
                    if exc.code in (errors.CANCELLED, errors.TIMEOUT):
                        raise
                    bad.append((f"{host}:{port}", exc))
            if bad:
                admin.close()
                where, first = bad[0]
                raise ConnectorError(
                    first.code,
                    f"The bootstrap server answered, but the broker it advertises at {where} cannot be reached "
                    f"from this computer ({first.message}).",
                    "This is the classic advertised-listeners problem: the brokers tell clients an address that "
                    "works only inside their own network. Fix advertised.listeners on the brokers (or reach the "
                    "cluster from inside that network).")
            try:
                cluster = bounded(run, "describing the cluster", logs.bind(admin.describe_cluster))
            except Exception as exc:  # noqa: BLE001 - classified
                admin.close()
                raise self._classify(exc, logs, "describing the cluster", run) from None
            brokers = [f"{b['host']}:{b['port']}" for b in cluster.get("brokers", [])]
            run.info["cluster"] = {"id": cluster.get("cluster_id"), "brokers": brokers}
            st.detail = f"cluster {cluster.get('cluster_id')}: " + ", ".join(brokers)
        return admin, cfg

    @staticmethod
    def _advertised(admin: Any) -> list[tuple[str, int]]:
        """The broker addresses learned while bootstrapping (before any request goes to them)."""
        try:
            brokers = admin._client.cluster.brokers()  # kafka-python keeps the bootstrap metadata here
        except AttributeError:
            return []
        return sorted({(str(b.host), int(b.port)) for b in brokers})

    # -- the plug-in API -------------------------------------------------------------------
    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        s = conn.settings
        with capture_kafka_logs() as logs:
            admin, _cfg = self._admin(conn, secrets, run, logs)
            try:
                with run.step("topic", "The topic exists") as st:
                    topics = self._topics(admin, run, logs)
                    self._require(topics, str(s.get("topic")), "topic")
                    st.detail = f"“{s.get('topic')}” among {len(topics)} topics"
                if s.get("dead_letter_topic"):
                    with run.step("dead_letter_topic", "The dead-letter topic exists") as st:
                        self._require(topics, str(s["dead_letter_topic"]), "dead-letter topic")
                        st.detail = f"“{s['dead_letter_topic']}”"
                if s.get("consumer_group"):
                    with run.step("consumer_group", "The consumer group can be described") as st:
                        st.detail = self._group(admin, str(s["consumer_group"]), run, logs)
            finally:
                admin.close()

    def _topics(self, admin: Any, run: Run, logs: _Capture) -> list[str]:
        try:
            return sorted(bounded(run, "listing topics", logs.bind(admin.list_topics)))
        except ConnectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified
            raise self._classify(exc, logs, "listing topics", run) from None

    @staticmethod
    def _require(topics: list[str], wanted: str, what: str) -> None:
        if wanted in topics:
            return
        close = [t for t in topics if t.lower() == wanted.lower()] or \
            difflib.get_close_matches(wanted, topics, n=3, cutoff=0.6)
        hint = ("Topic names are case-sensitive. Did you mean " + " or ".join(f"“{c}”" for c in close) + "?") \
            if close else ("Create it, or check the name. Existing topics: " +
                           ", ".join(f"“{t}”" for t in topics[:10] if not t.startswith("__")) or "none")
        raise ConnectorError(errors.TOPIC_NOT_FOUND, f"There is no {what} named “{wanted}” on this cluster.", hint)

    def _group(self, admin: Any, group: str, run: Run, logs: _Capture) -> str:
        import kafka.errors as ke

        try:
            described = bounded(run, "describing the consumer group",
                                logs.bind(lambda: admin.describe_groups([group])))
            state = getattr(described[0], "state", None) if described else None
            return f"“{group}”: {state or 'described'}"
        except ke.GroupAuthorizationFailedError:
            raise ConnectorError(errors.NOT_AUTHORIZED, f"This user may not describe the consumer group “{group}”.",
                                 "Ask for DESCRIBE (and READ) on the group.") from None
        except ValueError:
            # kafka-python 3.0.12 fails to parse some brokers' authorized-operations field (tansu's);
            # the group's offsets still tell whether the broker knows and lets us see it.
            offsets = bounded(run, "reading the consumer group's offsets",
                              logs.bind(lambda: admin.list_group_offsets(group)))
            return f"“{group}”: {'has committed offsets' if offsets else 'known, no committed offsets yet'}"
        except ConnectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified
            raise self._classify(exc, logs, "describing the consumer group", run) from None

    def produce(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        """Produce one record (headers name the connector and time) and read it back."""
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition

        topic = str(conn.settings.get("topic"))
        tag = uuid.uuid4().hex
        with capture_kafka_logs() as logs:
            admin, cfg = self._admin(conn, secrets, run, logs)
            admin.close()
            base = {k: v for k, v in cfg.items() if k not in ("client_id",)}  # each client gets its own
            with run.step("produce", f"Produce a test record to “{topic}”") as st:
                headers = [("connector-desk-connector", conn.name.encode()),
                           ("connector-desk-time", datetime.now(UTC).isoformat(timespec="seconds").encode()),
                           ("connector-desk-test", tag.encode())]
                sent_at = time.monotonic()
                try:
                    producer = bounded(run, "connecting the producer", logs.bind(
                        lambda: KafkaProducer(**base, client_id=f"{logs.client_id}-producer")))
                    meta = bounded(run, "producing", logs.bind(lambda: producer.send(
                        topic, value=f"Connector Desk test record {tag}".encode(), headers=headers).get(
                            timeout=max(0.5, run.deadline.remaining()))))
                    producer.close(timeout=1)
                except ConnectorError:
                    raise
                except Exception as exc:  # noqa: BLE001 - classified
                    raise self._classify(exc, logs, "producing", run) from None
                st.detail = f"partition {meta.partition}, offset {meta.offset}"
            with run.step("read_back", "Read it back") as st:
                consumer = bounded(run, "connecting the consumer", logs.bind(lambda: KafkaConsumer(
                    **base, client_id=f"{logs.client_id}-consumer", enable_auto_commit=False)))
                try:
                    tp = TopicPartition(topic, meta.partition)
                    consumer.assign([tp])
                    consumer.seek(tp, meta.offset)
                    found = None
                    while found is None:
                        batch = bounded(run, "reading the record back",
                                        logs.bind(lambda: consumer.poll(timeout_ms=300)))
                        for records in batch.values():
                            for r in records:
                                if dict(r.headers or []).get("connector-desk-test") == tag.encode():
                                    found = r
                finally:
                    consumer.close()
                ms = (time.monotonic() - sent_at) * 1000
                run.info["latency_ms"] = round(ms, 1)
                st.detail = f"round trip {ms:.0f} ms (read by partition assignment: no consumer group is created)"

    def peek(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, count: int) -> None:
        """The newest ``count`` records of the dead-letter topic (key, headers, timestamp, value preview)."""
        from kafka import KafkaConsumer

        topic = str(conn.settings.get("dead_letter_topic") or "")
        if not topic:
            raise FieldError("settings.dead_letter_topic", "is not set, so there is nothing to peek at")
        with capture_kafka_logs() as logs:
            admin, cfg = self._admin(conn, secrets, run, logs)
            try:
                with run.step("dead_letter_topic", "The dead-letter topic exists") as st:
                    self._require(self._topics(admin, run, logs), topic, "dead-letter topic")
                    st.detail = f"“{topic}”"
            finally:
                admin.close()
            with run.step("peek", f"Read the newest {count} record{'' if count == 1 else 's'} of “{topic}”") as st:
                consumer = bounded(run, "connecting the consumer", logs.bind(lambda: KafkaConsumer(
                    **{**cfg, "client_id": f"{logs.client_id}-consumer"}, enable_auto_commit=False)))
                records: list[Any] = []
                try:
                    read_newest(run, logs, consumer, topic, count, records.append, "reading records")
                finally:
                    consumer.close()
                records.sort(key=lambda r: r.timestamp, reverse=True)
                run.info["records"] = [_record(r) for r in records[:count]]
                n = len(run.info["records"])
                st.detail = f"{n} record{'' if n == 1 else 's'}; nothing was committed"


def read_newest(run: Run, logs: Any, consumer: Any, topic: str, count: int, take: Callable[[Any], None],
                doing: str) -> None:
    """The newest ``count`` records of each partition of ``topic`` (nothing committed), each handed to
    ``take`` as it is read. Reads until every partition's position reaches the end it had at the start:
    offsets of transaction markers or compacted records are never returned, so counting records could
    wait for ever (a transactional topic held the check until its deadline)."""
    from kafka import TopicPartition

    parts = bounded(run, "reading partitions", logs.bind(lambda: consumer.partitions_for_topic(topic))) or set()
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    ends = bounded(run, "reading offsets", logs.bind(lambda: consumer.end_offsets(tps)))
    starts = bounded(run, "reading offsets", logs.bind(lambda: consumer.beginning_offsets(tps)))
    for tp in tps:
        consumer.seek(tp, max(starts[tp], ends[tp] - count))
    left = [tp for tp in tps if ends[tp] > consumer.position(tp)]
    while left:
        run.deadline.check(doing)
        batch = bounded(run, doing, logs.bind(lambda: consumer.poll(timeout_ms=300, max_records=2000)))
        for records in batch.values():
            for r in records:
                take(r)
        left = [tp for tp in left if ends[tp] > consumer.position(tp)]


def _token_provider(token: Secret) -> Any:
    """kafka-python's OAUTHBEARER hook, handing it the token we fetched (and checked) already."""
    from kafka.net.sasl.oauth import AbstractTokenProvider

    class Provider(AbstractTokenProvider):  # type: ignore[misc]
        def token(self) -> str:
            return token.reveal()

    return Provider()


def _record(r: Any) -> dict[str, Any]:
    def text(b: bytes | None, limit: int = 200) -> str | None:
        if b is None:
            return None
        s = b[:limit].decode("utf-8", "replace")
        return s + ("…" if len(b) > limit else "")
    return {"partition": r.partition, "offset": r.offset,
            "timestamp": datetime.fromtimestamp(r.timestamp / 1000, UTC).isoformat(timespec="seconds"),
            "key": text(r.key, 80), "headers": {k: text(v, 80) for k, v in (r.headers or [])},
            "value": text(r.value)}
