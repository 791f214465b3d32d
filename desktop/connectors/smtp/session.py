"""The SMTP session: validation walks the real conversation step by step and stops before DATA;
the test send completes it with a real message, retrying temporary (4xx) failures with backoff.
``email`` is imported by the test send only."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from desktop.connectors import _mail
from desktop.connectors.base import ConnectorType
from desktop.core import errors, fields, net, tls
from desktop.core.errors import ConnectorError
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret
from desktop.core.textsafe import preview

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
RETRY_DELAYS = (1.0, 3.0)  # backoff before the 2nd and 3rd attempt of a test send


class SmtpReply:
    def __init__(self, code: int, lines: list[str]) -> None:
        self.code = code
        self.lines = lines

    @property
    def text(self) -> str:
        return " ".join(self.lines).strip()

    @property
    def enhanced(self) -> str | None:
        m = ENHANCED.search(self.lines[0] if self.lines else "")
        return m.group(1) if m else None

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class SmtpSession:
    """One SMTP conversation over a :class:`net.LineConn`, recorded in the run's transcript."""

    def __init__(self, conn: net.LineConn) -> None:
        self.conn = conn
        self.t = conn.transcript
        self.extensions: dict[str, str] = {}

    def reply(self, doing: str) -> SmtpReply:
        lines: list[str] = []
        while True:
            line = self.conn.readline(doing)
            self.t.server(line)
            if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
                raise ConnectorError(
                    errors.PROTOCOL_ERROR,
                    f"{self.conn.host}:{self.conn.port} did not answer like an SMTP server "
                    f"(it sent “{line[:60]}”).",
                    "Check that the host and port belong to a mail submission service "
                    "(587 STARTTLS, 465 TLS) and that the security setting matches the port.",
                )
            lines.append(line[4:])
            if len(lines) > 200:
                raise ConnectorError(errors.PROTOCOL_ERROR, "The server sent an endless reply.",
                                     "The server misbehaves; check the port.")
            if len(line) == 3 or line[3] == " ":
                return SmtpReply(int(line[:3]), lines)

    def command(self, line: str, doing: str, secret_from: int | None = None) -> SmtpReply:
        self.conn.send_line(line, doing)  # refuses a line holding CR, LF or NUL
        self.t.client(line, secret_from=secret_from)
        return self.reply(doing)

    def secret_line(self, payload: str, doing: str) -> SmtpReply:
        self.t.register(payload)
        self.conn.send_line(payload.encode("ascii"), doing)
        self.t.client_secret()
        return self.reply(doing)

    def ehlo(self, name: str) -> SmtpReply:
        r = self.command(f"EHLO {name}", "saying EHLO")
        if r.code != 250:
            r = self.command(f"HELO {name}", "saying HELO")
            self.extensions = {}
            return r
        self.extensions = {}
        for line in r.lines[1:]:
            key, _, value = line.partition(" ")
            self.extensions[key.upper()] = value
        return r

    @property
    def auth_mechanisms(self) -> list[str]:
        return self.extensions.get("AUTH", "").upper().split()


def envelope_sender(settings: Mapping[str, Any]) -> str:
    """The MAIL FROM address: the sender address, else the user name if it is an address."""
    sender = str(settings.get("from_address") or "")
    if sender:
        if fields.is_email(sender):
            return sender
        raise ConnectorError(errors.BAD_INPUT,
                             f"Sender (From) address: “{preview(sender)}” is not an e-mail address.",
                             "Enter the Sender (From) address again on the sign-in page.")
    username = str(settings.get("username") or "")
    if fields.is_email(username):
        return username
    raise ConnectorError(
        errors.BAD_INPUT,
        "Sender (From) address: none is set, and the user name is not an e-mail address to send from.",
        "Enter the Sender (From) address on the sign-in page.",
    )


def _temporary(reply: SmtpReply) -> bool:
    return 400 <= reply.code < 500


class SmtpChecks:
    """The SMTP session behind the connector type (imported only when a check runs)."""

    def __init__(self, ctype: ConnectorType) -> None:
        self.ctype = ctype
        self._token: Secret | None = None  # one access token for every attempt of a test send

    # -- the session ---------------------------------------------------------------------
    def _session(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, *,
                 recipient: str | None = None, message: bytes | None = None, label: str = "") -> None:
        s = conn.settings
        host: str = s["host"]
        port: int = int(s["port"])
        security: str = s["security"]
        ctx = tls.make_context(s.get("ca_file"), verify=bool(s.get("verify_tls", True)))
        pre = label

        with run.step("resolve", pre + "Look up the server") as st:
            addrs = net.resolve(host, port, run.deadline, run.cancel)
            st.detail = ", ".join(dict.fromkeys(str(a[4][0]) for a in addrs))
        with run.step("connect", pre + "Connect") as st:
            sock = net.connect(host, port, addrs, run.deadline, run.cancel)
            peer = sock.getpeername()
            st.detail = f"{peer[0]}:{peer[1]}"
        lc = net.LineConn(sock, host, port, run.deadline, run.cancel, run.transcript)
        smtp = SmtpSession(lc)
        try:
            if security == "tls":
                with run.step("tls", pre + "TLS handshake") as st:
                    run.info["tls"] = lc.start_tls(ctx)
                    st.detail = _mail.tls_detail(run.info["tls"])
            with run.step("greeting", pre + "Server greeting") as st:
                try:
                    r = smtp.reply("waiting for the server's greeting")
                except ConnectorError as exc:
                    if exc.code == errors.TIMEOUT and security != "tls":
                        exc.hint = (f"The server said nothing on port {port}. A port that expects TLS "
                                    "from the first byte (usually 465) stays silent like this: choose "
                                    "the security “TLS”, or use port 587 with STARTTLS.")
                    raise
                if r.code != 220:
                    raise ConnectorError(errors.SERVER_ERROR,
                                         f"The server refused the session: {r}",
                                         "The server does not accept mail from this computer now. "
                                         "Check its access rules and try again later.",
                                         temporary=_temporary(r))
                st.detail = r.text[:80]
            ehlo_name = f"[{lc.sock.getsockname()[0]}]"
            with run.step("ehlo", pre + "EHLO") as st:
                smtp.ehlo(ehlo_name)
                st.detail = " ".join(sorted(smtp.extensions)) or "no extensions"
            if security == "starttls":
                with run.step("starttls", pre + "STARTTLS") as st:
                    if "STARTTLS" not in smtp.extensions:
                        raise ConnectorError(
                            errors.STARTTLS_UNAVAILABLE,
                            f"{host}:{port} does not offer STARTTLS, so the connection cannot be "
                            "encrypted. Nothing was sent.",
                            "Use the port where the server offers encryption (465 with TLS, or 587), "
                            "or check whether something on the network strips STARTTLS.",
                        )
                    r = smtp.command("STARTTLS", "starting TLS")
                    if r.code != 220:
                        raise ConnectorError(errors.STARTTLS_UNAVAILABLE,
                                             f"The server refused STARTTLS: {r}. Nothing was sent.",
                                             "Check the server's TLS configuration.",
                                             temporary=_temporary(r))
                    run.info["tls"] = lc.start_tls(ctx)
                    st.detail = _mail.tls_detail(run.info["tls"])
                with run.step("ehlo_tls", pre + "EHLO after STARTTLS") as st:
                    smtp.ehlo(ehlo_name)
                    st.detail = " ".join(sorted(smtp.extensions)) or "no extensions"
            if s.get("auth") == "password":
                with run.step("authenticate", pre + "Sign in") as st:
                    self._authenticate(conn, smtp, secrets)
                    st.detail = f"as {s.get('username')}"
            elif s.get("auth") == "oauth2":
                self._sign_in_oauth(conn, smtp, secrets, run, pre)
            from_user = not s.get("from_address") and fields.is_email(str(s.get("username") or ""))
            if s.get("from_address") or recipient or from_user:
                with run.step("sender", pre + "Sender accepted (MAIL FROM)") as st:
                    sender = envelope_sender(s)
                    r = smtp.command(f"MAIL FROM:<{sender}>", "announcing the sender")
                    if r.code != 250:
                        raise self._sender_error(conn, r)
                    st.detail = sender + (" (the user name: no Sender (From) address is set)" if from_user else "")
            else:
                with run.step("sender", pre + "Sender accepted (MAIL FROM)") as st:
                    st.detail = ("not checked: no Sender (From) address is set, and the user name is not an "
                                 "e-mail address to send from")
            if recipient:
                with run.step("recipient", pre + "Recipient accepted (RCPT TO)") as st:
                    r = smtp.command(f"RCPT TO:<{recipient}>", "announcing the recipient")
                    if r.code not in (250, 251):
                        raise self._recipient_error(recipient, r)
                    st.detail = recipient
            if message is not None:
                with run.step("data", pre + "Send the message (DATA)") as st:
                    r = smtp.command("DATA", "starting the message")
                    if r.code != 354:
                        raise ConnectorError(errors.SERVER_ERROR, f"The server refused the message: {r}",
                                             "See the server's answer; try again later if it is temporary.",
                                             temporary=_temporary(r))
                    lc.send(_dot_stuff(message) + b".\r\n", "sending the message")
                    run.transcript.client(f"<message, {len(message)} bytes>")
                    r = smtp.reply("waiting for the server to accept the message")
                    if r.code != 250:
                        raise ConnectorError(errors.SERVER_ERROR, f"The server refused the message: {r}",
                                             "The server's answer says why (content, size or policy).",
                                             temporary=_temporary(r))
                    st.detail = r.text[:100]
                    run.info["queued_as"] = r.text
            with run.step("quit", pre + "QUIT"):
                try:
                    smtp.command("QUIT", "saying goodbye")
                except ConnectorError as exc:
                    if exc.code != errors.PROTOCOL_ERROR:
                        raise
        finally:
            lc.close()

    def _authenticate(self, conn: Connector, smtp: SmtpSession, secrets: Mapping[str, Secret]) -> None:
        s = conn.settings
        password = _mail.password_for(s, smtp.conn.encrypted, secrets)
        username = str(s.get("username") or "")
        mechanisms = smtp.auth_mechanisms
        if "AUTH" not in smtp.extensions:
            hint = "Choose password sign-in only if the server requires it, or check the port."
            if not smtp.conn.encrypted:
                hint = "Many servers offer sign-in only after encryption: choose STARTTLS or TLS."
            raise ConnectorError(errors.AUTH_METHOD_UNSUPPORTED,
                                 "The server does not offer sign-in (no AUTH in its EHLO answer).", hint)
        if "PLAIN" in mechanisms:
            payload = base64.b64encode(f"\0{username}\0{password.reveal()}".encode()).decode()
            smtp.t.register(payload)
            r = smtp.command(f"AUTH PLAIN {payload}", "signing in", secret_from=len("AUTH PLAIN "))
            if r.code == 334:
                r = smtp.secret_line("", "signing in")
        elif "LOGIN" in mechanisms:
            r = smtp.command("AUTH LOGIN", "signing in")
            if r.code == 334:
                r = smtp.secret_line(base64.b64encode(username.encode()).decode(), "signing in")
            if r.code == 334:
                r = smtp.secret_line(base64.b64encode(password.reveal().encode()).decode(), "signing in")
        else:
            raise ConnectorError(
                errors.AUTH_METHOD_UNSUPPORTED,
                f"The server offers only these sign-in methods: {' '.join(mechanisms) or 'none'}; "
                "Connector Desk signs in with PLAIN or LOGIN.",
                "Ask the server's administrator to enable PLAIN or LOGIN over TLS.",
            )
        if r.code == 235:
            return
        raise self._auth_error(conn, r)

    def _sign_in_oauth(self, conn: Connector, smtp: SmtpSession, secrets: Mapping[str, Secret], run: Run,
                       pre: str) -> None:
        """OAuth: the mechanism checked (offered, over an encrypted connection), then the token
        (its own step, only now: nothing refreshes for a server that would not get it), then AUTH."""
        s = conn.settings
        with run.step("mechanism", pre + "Sign-in method") as st:
            _mail.require_encryption(s, smtp.conn.encrypted, "access token")
            chosen = _mail.mechanism(s)
            if chosen not in smtp.auth_mechanisms:
                raise _mail.mechanism_missing(chosen, smtp.auth_mechanisms, smtp.conn.encrypted)
            st.detail = chosen + (" over TLS" if smtp.conn.encrypted else " UNENCRYPTED")
        if self._token is None:
            self._token = _mail.oauth_access_token(run, "smtp", s, secrets)
        with run.step("authenticate", pre + "Sign in") as st:
            self._authenticate_oauth(conn, smtp, chosen, self._token)
            st.detail = f"as {s.get('username')} with {chosen}"

    def _authenticate_oauth(self, conn: Connector, smtp: SmtpSession, chosen: str, token: Secret) -> None:
        user = str(conn.settings.get("username") or "")
        payload = _mail.sasl_payload(chosen, user, token, smtp.conn.host, smtp.conn.port)
        smtp.t.register(payload)
        line = f"AUTH {chosen} {payload}"
        if len(line) + 2 <= 512:  # RFC 4954 §4: an initial response only if the line stays within 512
            r = smtp.command(line, "signing in", secret_from=len(f"AUTH {chosen} "))
        else:
            r = smtp.command(f"AUTH {chosen}", "signing in")
            if r.code == 334:
                r = smtp.secret_line(payload, "signing in")
        challenge: dict[str, str] | None = None
        challenged = r.code == 334
        if challenged:
            # A refusal: the reason as base64 JSON; answered as the mechanism requires, the server
            # then ends the exchange with its failure reply.
            challenge = _mail.decode_challenge(r.text)
            r = smtp.command(_mail.challenge_answer(chosen), "finishing the refused sign-in")
            if r.code == 334:
                raise ConnectorError(errors.PROTOCOL_ERROR,
                                     "The server kept asking for more after refusing the token.",
                                     "The server does not follow the XOAUTH2 / OAUTHBEARER exchange; check the port.")
        if r.code == 235:
            return
        if 400 <= r.code < 500:  # e.g. the server could not reach its token introspection
            raise ConnectorError(errors.AUTH_FAILED, f"The server could not check the token now: {r}",
                                 "This is temporary on the server's side; try again in a few minutes.",
                                 temporary=True)
        if not challenged and r.code == 504:
            raise ConnectorError(errors.AUTH_METHOD_UNSUPPORTED, f"The server refused the sign-in method: {r}",
                                 "Ask the server's administrator which methods are enabled.")
        err = _mail.oauth_refused(chosen, user, str(r), challenge, challenged, smtp.t.redactor.scrub)
        enh = r.enhanced or ""
        _mail.oauth_hint(self.ctype, conn.settings, err, (f"oauth_{enh}",) if enh else ())
        raise err

    def _auth_error(self, conn: Connector, r: SmtpReply) -> ConnectorError:
        enh = r.enhanced or ""
        if enh == "5.7.30":
            err = ConnectorError(errors.AUTH_METHOD_UNSUPPORTED,
                                 f"The server does not accept password sign-in for this account: {r}",
                                 "Password (basic) authentication is disabled; use OAuth2.")
        elif r.code in (530, 538) and enh.startswith("5.7.0") and "TLS" in r.text.upper():
            err = ConnectorError(errors.PLAINTEXT_REFUSED,
                                 f"The server requires encryption before sign-in: {r}",
                                 "Choose STARTTLS or TLS.")
        elif r.code == 504:
            err = ConnectorError(errors.AUTH_METHOD_UNSUPPORTED,
                                 f"The server refused the sign-in method: {r}",
                                 "Ask the server's administrator which methods are enabled.")
        elif 400 <= r.code < 500:
            err = ConnectorError(errors.AUTH_FAILED, f"The server could not check the password now: {r}",
                                 "This is temporary on the server's side; try again in a few minutes.",
                                 temporary=True)
        else:
            err = ConnectorError(
                errors.AUTH_FAILED,
                f"The server rejected the user name or password ({r}).",
                "Check the user name (often the full e-mail address) and the password. If the "
                "password was changed recently, enter the new one.",
            )
        self.ctype.add_provider_hint(conn.settings, err, (enh,) if enh else ())
        return err

    def _sender_error(self, conn: Connector, r: SmtpReply) -> ConnectorError:
        if r.code in (530, 550, 553, 554) and ("auth" in r.text.lower() and r.code == 530):
            err = ConnectorError(errors.NOT_AUTHORIZED, f"The server requires sign-in before sending: {r}",
                                 "Choose password sign-in for this connector.")
        elif 400 <= r.code < 500:
            err = ConnectorError(errors.SENDER_REJECTED, f"The server deferred the sender: {r}",
                                 "This is temporary; try again later.", temporary=True)
        else:
            err = ConnectorError(
                errors.SENDER_REJECTED,
                f"The server will not send as {conn.settings.get('from_address')}: {r}",
                "Use an address this account is allowed to send as (its own address, or one it "
                "has “Send As” rights for).",
            )
        self.ctype.add_provider_hint(conn.settings, err, (r.enhanced or "",))
        return err

    def _recipient_error(self, recipient: str, r: SmtpReply) -> ConnectorError:
        if 400 <= r.code < 500:
            return ConnectorError(errors.RECIPIENT_REJECTED, f"The server deferred {recipient}: {r}",
                                  "This is temporary; try again later.", temporary=True)
        if "relay" in r.text.lower():
            return ConnectorError(errors.RECIPIENT_REJECTED,
                                  f"The server will not relay mail to {recipient}: {r}",
                                  "The server relays only for signed-in users or its own domains: "
                                  "choose password sign-in, or use an address on the server's domain.")
        return ConnectorError(errors.RECIPIENT_REJECTED, f"The server refused the recipient {recipient}: {r}",
                              "Check the test recipient's address.")

    # -- the plug-in API -----------------------------------------------------------------
    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        if conn.settings.get("verify_tls") is False:
            run.transcript.note("certificate verification is OFF for this connector")
        self._session(conn, secrets, run, recipient=conn.admin.get("test_recipient"))

    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, to: str,
                  tag: str | None = None) -> None:
        import uuid
        tag = tag or uuid.uuid4().hex
        message = build_test_message(conn, to, tag)
        run.info["tag"] = tag
        attempts: list[dict[str, Any]] = []
        run.info["attempts"] = attempts
        delays = (0.0, *RETRY_DELAYS)
        for n, delay in enumerate(delays, start=1):
            if delay:
                delay = min(delay, max(run.deadline.remaining() - 1, 0))
                if run.cancel.wait(delay):
                    run.cancel.raise_if_cancelled()
            t0 = time.perf_counter()
            try:
                self._session(conn, secrets, run, recipient=to, message=message,
                              label="" if n == 1 else f"Attempt {n}: ")
            except ConnectorError as exc:
                attempts.append({"attempt": n, "ok": False, "code": exc.code, "message": exc.message,
                                 "ms": round((time.perf_counter() - t0) * 1000, 1)})
                if not exc.temporary or n == len(delays) or run.deadline.remaining() < 1:
                    raise
                continue
            attempts.append({"attempt": n, "ok": True, "ms": round((time.perf_counter() - t0) * 1000, 1)})
            run.info["to"] = to
            run.info["sent_at"] = time.monotonic()
            return


def _dot_stuff(message: bytes) -> bytes:
    lines = message.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in lines)


def build_test_message(conn: Connector, to: str, tag: str) -> bytes:
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid
    now = datetime.now(UTC)
    try:
        sender = envelope_sender(conn.settings)
    except ConnectorError:
        sender = "connector-desk@localhost"  # the session refuses to send without a sender
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = f"Connector Desk test: {conn.name} at {now:%Y-%m-%d %H:%M:%S} UTC"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=str(sender or "").rpartition("@")[2] or "localhost")
    msg["X-Connector-Desk-Test"] = tag
    admin = conn.admin.get("name") or conn.admin.get("email") or "the administrator"
    msg.set_content(
        f"This is a test message sent by Connector Desk for the connector “{conn.name}”,\n"
        f"on behalf of {admin}, at {now:%Y-%m-%d %H:%M:%S} UTC.\n\n"
        "If you received it, the connector can send mail. No reply is needed.\n"
    )
    return msg.as_bytes()

