"""The IMAP conversation: greeting → CAPABILITY → STARTTLS → login → LIST → EXAMINE → LOGOUT,
plus the read-only peek and the wait for a tagged message (round trip). Literals are read with a
size limit, so a server announcing ``{9999999999}`` cannot exhaust memory. ``email`` and ``difflib``
are imported where a peek or a missing mailbox needs them, not by every validation."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Mapping

from desktop.connectors import _mail
from desktop.connectors.base import ConnectorType
from desktop.core import errors, mutf7, net, tls
from desktop.core.contract import plural
from desktop.core.errors import ConnectorError
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.record import Record
from desktop.core.secret import MASK, Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_LITERAL = 1_000_000
LITERAL_RE = re.compile(r"\{(\d{1,20})\+?\}$")
CODE_RE = re.compile(r"^\[([A-Z-]+)")


class Response(Record):
    """One response line; literal contents in ``literals`` (not given: a new empty list), marked as
    \\x00N\\x00 in ``text``."""

    _fields = ("text", "literals")

    def __init__(self, text: str, literals: list[bytes] | None = None) -> None:
        self.text = text
        self.literals: list[bytes] = [] if literals is None else literals


class Tagged(Record):
    _fields = ("status", "text", "untagged")

    def __init__(self, status: str, text: str, untagged: list[Response]) -> None:
        self.status = status  # OK / NO / BAD
        self.text = text
        self.untagged = untagged

    @property
    def code(self) -> str | None:
        m = CODE_RE.match(self.text)
        return m.group(1) if m else None


class Folder(Record):
    _fields = ("name", "raw", "delimiter", "flags")

    def __init__(self, name: str, raw: str, delimiter: str | None, flags: list[str]) -> None:
        self.name = name  # decoded
        self.raw = raw  # as on the wire (modified UTF-7)
        self.delimiter = delimiter
        self.flags = flags

    @property
    def selectable(self) -> bool:
        return not any(f.lower() in ("\\noselect", "\\nonexistent") for f in self.flags)

    @property
    def special_use(self) -> list[str]:
        known = {"\\sent", "\\trash", "\\drafts", "\\junk", "\\archive", "\\all", "\\flagged", "\\important"}
        return [f for f in self.flags if f.lower() in known]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "delimiter": self.delimiter, "flags": self.flags,
                "selectable": self.selectable, "special_use": self.special_use}


def quotable(s: str) -> bool:
    """Whether ``s`` can be an IMAP quoted string (RFC 3501: 7-bit, no CR, LF or NUL)."""
    return all(0x01 <= ord(c) <= 0x7F and c not in "\r\n" for c in s)


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def quote(s: str) -> str:
    """``s`` as a quoted string; anything else must go as a literal (:meth:`ImapSession.call`)."""
    if not quotable(s):
        raise ValueError("not representable as an IMAP quoted string")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tokens(text: str, literals: list[bytes]) -> list[Any]:
    """Split an IMAP response into atoms, quoted strings, literals and parenthesised lists."""
    pos = 0
    stack: list[list[Any]] = [[]]
    while pos < len(text):
        ch = text[pos]
        if ch == " ":
            pos += 1
        elif ch == "(":
            stack.append([])
            pos += 1
        elif ch == ")":
            done = stack.pop() if len(stack) > 1 else []
            stack[-1].append(done)
            pos += 1
        elif ch == '"':
            out = []
            pos += 1
            while pos < len(text) and text[pos] != '"':
                if text[pos] == "\\" and pos + 1 < len(text):
                    pos += 1
                out.append(text[pos])
                pos += 1
            stack[-1].append("".join(out))
            pos += 1
        elif ch == "\x00":
            end = text.index("\x00", pos + 1)
            stack[-1].append(literals[int(text[pos + 1:end])])
            pos = end + 1
        else:
            m = re.match(r"[^ ()\"\x00]+", text[pos:])
            atom = m.group(0) if m else text[pos]
            stack[-1].append(None if atom == "NIL" else atom)
            pos += len(atom)
    return stack[0]


class ImapSession:
    def __init__(self, conn: net.LineConn) -> None:
        self.conn = conn
        self.t = conn.transcript
        self.n = 0
        self.capabilities: set[str] = set()

    def read(self, doing: str) -> Response:
        line = self.conn.readline(doing)
        literals: list[bytes] = []
        text = line
        while True:
            m = LITERAL_RE.search(text)
            if not m:
                break
            size = int(m.group(1))
            if size > MAX_LITERAL:
                self.t.server(line[:200])
                raise ConnectorError(
                    errors.PROTOCOL_ERROR,
                    f"The server announced a {size:,}-byte literal; Connector Desk reads at most "
                    f"{MAX_LITERAL:,} bytes and stopped.",
                    "The server misbehaves or is hostile. Check the host and port.")
            data = self.conn.read_exact(size, doing)
            text = text[:m.start()] + f"\x00{len(literals)}\x00"
            literals.append(data)
            text += self.conn.readline(doing)
        shown = re.sub(r"\x00(\d+)\x00", lambda mm: f"{{{len(literals[int(mm.group(1))])} bytes}}", text)
        self.t.server(shown)
        return Response(text, literals)

    def next_tag(self) -> str:
        self.n += 1
        return f"a{self.n}"

    def command(self, text: str, doing: str, secret_from: int | None = None) -> Tagged:
        tag = self.next_tag()
        line = f"{tag} {text}"
        self.conn.send_line(line, doing)  # refuses a line holding CR, LF or NUL
        self.t.client(line, secret_from=None if secret_from is None else secret_from + len(tag) + 1)
        return self.finish(tag, doing)

    def call(self, verb: str, args: list[str], doing: str, secret: int | None = None) -> Tagged:
        """``verb`` with string arguments: each one that can be a quoted string goes quoted, any
        other (line breaks, 8-bit text) as a synchronizing literal, its bytes sent only after the
        server's "+". A NUL cannot be sent at all. ``args[secret]`` is a credential."""
        if any("\0" in arg or not _encodable(arg) for arg in args):
            raise ConnectorError(
                errors.BAD_INPUT,
                f"A value for {verb} holds a NUL or an invalid character, which IMAP cannot carry. Nothing of "
                "it was sent.",
                "Enter the user name and password again in the connector's settings.")
        tag = self.next_tag()
        line, shown = f"{tag} {verb}", f"{tag} {verb}"
        for i, arg in enumerate(args):
            if i == secret:
                self.t.register(arg)
            if quotable(arg):
                if i == secret:
                    self.t.register(quote(arg)[1:-1])  # as escaped on the wire
                line += " " + quote(arg)
                shown += " " + (MASK if i == secret else quote(arg))
                continue
            data = arg.encode("utf-8")
            line += f" {{{len(data)}}}"
            shown += f" {{{len(data)}}}"
            self.conn.send_line(line, doing)
            self.t.client(shown)
            refused = self.await_continuation(tag, doing)
            if refused is not None:
                return refused
            self.conn.send(data, doing)
            if i == secret:
                self.t.client_secret()
            else:
                self.t.client(f"<literal, {len(data)} bytes>")
            line = shown = ""
        self.conn.send_line(line, doing)
        if line:
            self.t.client(shown)
        return self.finish(tag, doing)

    def await_continuation(self, tag: str, doing: str) -> Tagged | None:
        """Read up to the server's "+" (None) or its tagged answer refusing the command."""
        untagged: list[Response] = []
        while True:
            r = self.read(doing)
            if r.text.startswith("+"):
                return None
            if r.text.startswith("* "):
                untagged.append(r)
                if len(untagged) > 1000:
                    raise ConnectorError(errors.PROTOCOL_ERROR, "The server sent an endless answer.",
                                         "The server misbehaves; check the port.")
                self._note_capabilities(r.text[2:])
                continue
            if r.text.startswith(tag + " "):
                status, _, rest = r.text[len(tag) + 1:].partition(" ")
                if status.upper() not in ("OK", "NO", "BAD"):
                    raise self._garbage(r.text)
                return Tagged(status.upper(), rest, untagged)
            raise self._garbage(r.text)

    def finish(self, tag: str, doing: str, on_continue: Callable[[Response], None] | None = None) -> Tagged:
        """Read up to the tagged answer to ``tag``; each "+" continuation goes to ``on_continue``."""
        untagged: list[Response] = []
        while True:
            r = self.read(doing)
            if r.text.startswith("* "):
                untagged.append(r)
                if len(untagged) > 100_000:
                    raise ConnectorError(errors.PROTOCOL_ERROR, "The server sent an endless answer.",
                                         "The server misbehaves; check the port.")
                self._note_capabilities(r.text[2:])
            elif r.text.startswith("+"):
                if on_continue is None:
                    raise ConnectorError(errors.PROTOCOL_ERROR,
                                         "The server asked for more data where none was due.",
                                         "The server does not behave like an IMAP server.")
                on_continue(r)
            elif r.text.startswith(tag + " "):
                status, _, rest = r.text[len(tag) + 1:].partition(" ")
                status = status.upper()
                if status not in ("OK", "NO", "BAD"):
                    raise self._garbage(r.text)
                self._note_capabilities(rest)
                return Tagged(status, rest, untagged)
            else:
                raise self._garbage(r.text)

    def _note_capabilities(self, text: str) -> None:
        m = re.match(r"(?:OK \[)?\[?CAPABILITY ([^\]]*)\]?", text, re.IGNORECASE)
        if m:
            self.capabilities = {c.upper() for c in m.group(1).split()}

    def _garbage(self, line: str) -> ConnectorError:
        return ConnectorError(
            errors.PROTOCOL_ERROR,
            f"{self.conn.host}:{self.conn.port} did not answer like an IMAP server (it sent “{line[:60]}”).",
            "Check that the host and port belong to an IMAP service (993 TLS, 143 STARTTLS) and that the "
            "security setting matches the port.")

    def greeting(self) -> str:
        r = self.read("waiting for the server's greeting")
        upper = r.text.upper()
        for kind in ("OK", "PREAUTH", "BYE"):
            if upper.startswith(f"* {kind}"):
                self._note_capabilities(r.text[len(kind) + 3:])
                return kind
        raise self._garbage(r.text)


class ImapChecks:
    def __init__(self, ctype: ConnectorType) -> None:
        self.ctype = ctype

    # -- connecting and signing in ---------------------------------------------------------
    def open(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> ImapSession:
        """Connect, encrypt, sign in. The caller must close ``session.conn``."""
        s = conn.settings
        host, port, security = s["host"], int(s["port"]), s["security"]
        ctx = tls.make_context(s.get("ca_file"), verify=bool(s.get("verify_tls", True)))
        with run.step("resolve", "Look up the server") as st:
            addrs = net.resolve(host, port, run.deadline, run.cancel)
            st.detail = ", ".join(dict.fromkeys(str(a[4][0]) for a in addrs))
        with run.step("connect", "Connect") as st:
            sock = net.connect(host, port, addrs, run.deadline, run.cancel)
            st.detail = "{}:{}".format(*sock.getpeername()[:2])
        lc = net.LineConn(sock, host, port, run.deadline, run.cancel, run.transcript, max_line=65536)
        imap = ImapSession(lc)
        try:
            if security == "tls":
                with run.step("tls", "TLS handshake") as st:
                    run.info["tls"] = lc.start_tls(ctx)
                    st.detail = _mail.tls_detail(run.info["tls"])
            with run.step("greeting", "Server greeting") as st:
                try:
                    kind = imap.greeting()
                except ConnectorError as exc:
                    if exc.code == errors.TIMEOUT and security != "tls":
                        exc.hint = (f"The server said nothing on port {port}. A port that expects TLS from "
                                    "the first byte (usually 993) stays silent like this: choose “TLS”.")
                    raise
                if kind == "BYE":
                    raise ConnectorError(errors.SERVER_ERROR, "The server refused the session (BYE).",
                                         "It may be overloaded or block this address; try again later.")
                if kind == "PREAUTH" and security == "starttls":
                    raise ConnectorError(
                        errors.STARTTLS_UNAVAILABLE,
                        "The server signed this connection in before encryption (PREAUTH), so STARTTLS "
                        "cannot protect it. Nothing was sent.",
                        "A PREAUTH greeting on a STARTTLS port is a sign of a misconfigured server or of "
                        "tampering. Use port 993 with TLS.")
                st.detail = "pre-authenticated" if kind == "PREAUTH" else "OK"
            preauth = kind == "PREAUTH"
            with run.step("capability", "CAPABILITY") as st:
                self._capability(imap)
                st.detail = " ".join(sorted(imap.capabilities))[:200]
            if security == "starttls":
                with run.step("starttls", "STARTTLS") as st:
                    if "STARTTLS" not in imap.capabilities:
                        raise ConnectorError(
                            errors.STARTTLS_UNAVAILABLE,
                            f"{host}:{port} does not offer STARTTLS, so the connection cannot be encrypted. "
                            "Nothing was sent.",
                            "Use port 993 with TLS, or check whether something on the network strips "
                            "STARTTLS.")
                    r = imap.command("STARTTLS", "starting TLS")
                    if r.status != "OK":
                        raise ConnectorError(errors.STARTTLS_UNAVAILABLE,
                                             f"The server refused STARTTLS: {r.text}. Nothing was sent.",
                                             "Check the server's TLS configuration.")
                    run.info["tls"] = lc.start_tls(ctx)
                    st.detail = _mail.tls_detail(run.info["tls"])
                with run.step("capability_tls", "CAPABILITY after STARTTLS") as st:
                    self._capability(imap)
                    st.detail = " ".join(sorted(imap.capabilities))[:200]
            if not preauth and s.get("auth") == "oauth2":
                self._sign_in_oauth(conn, imap, secrets, run)
            elif not preauth:
                with run.step("authenticate", "Sign in") as st:
                    self._login(conn, imap, secrets)
                    st.detail = f"as {s.get('username')}"
            return imap
        except BaseException:
            lc.close()
            raise

    def _capability(self, imap: ImapSession) -> None:
        r = imap.command("CAPABILITY", "asking for capabilities")
        if r.status != "OK":
            raise ConnectorError(errors.PROTOCOL_ERROR, f"CAPABILITY failed: {r.text}",
                                 "The server does not behave like an IMAP server.")

    def _login(self, conn: Connector, imap: ImapSession, secrets: Mapping[str, Secret]) -> None:
        s = conn.settings
        password = _mail.password_for(s, imap.conn.encrypted, secrets)
        user = str(s.get("username") or "")
        caps = imap.capabilities
        if "AUTH=PLAIN" in caps:
            payload = base64.b64encode(f"\0{user}\0{password.reveal()}".encode()).decode()
            imap.t.register(payload)
            if "SASL-IR" in caps:
                r = imap.command(f"AUTHENTICATE PLAIN {payload}", "signing in",
                                 secret_from=len("AUTHENTICATE PLAIN "))
            else:
                tag = imap.next_tag()
                imap.conn.send_line(f"{tag} AUTHENTICATE PLAIN", "signing in")
                imap.t.client(f"{tag} AUTHENTICATE PLAIN")

                def send_payload(_plus: Response) -> None:
                    imap.conn.send_line(payload, "signing in")
                    imap.t.client_secret()
                r = imap.finish(tag, "signing in", on_continue=send_payload)
        elif "LOGINDISABLED" in caps:
            raise ConnectorError(
                errors.AUTH_METHOD_UNSUPPORTED,
                "The server disabled LOGIN here (LOGINDISABLED) and offers no other sign-in method Connector "
                f"Desk uses (it offers: {' '.join(c for c in sorted(caps) if c.startswith('AUTH=')) or 'none'}).",
                "Most servers allow sign-in only after encryption: choose STARTTLS or TLS.")
        else:
            r = self._plain_login(imap, user, password)
        if r.status == "OK":
            return
        raise self._auth_error(conn, r)

    def _sign_in_oauth(self, conn: Connector, imap: ImapSession, secrets: Mapping[str, Secret], run: Run) -> None:
        """OAuth: the mechanism checked (offered, over an encrypted connection), then the token
        (its own step, only now: nothing refreshes for a server that would not get it), then
        AUTHENTICATE."""
        s = conn.settings
        with run.step("mechanism", "Sign-in method") as st:
            _mail.require_encryption(s, imap.conn.encrypted, "access token")
            chosen = _mail.mechanism(s)
            offered = sorted(c[5:] for c in imap.capabilities if c.startswith("AUTH="))
            if chosen not in offered:
                raise _mail.mechanism_missing(chosen, offered, imap.conn.encrypted)
            st.detail = chosen + (" over TLS" if imap.conn.encrypted else " UNENCRYPTED")
        token = _mail.oauth_access_token(run, "imap", s, secrets)
        with run.step("authenticate", "Sign in") as st:
            self._authenticate_oauth(conn, imap, chosen, token)
            st.detail = f"as {s.get('username')} with {chosen}"

    def _authenticate_oauth(self, conn: Connector, imap: ImapSession, chosen: str, token: Secret) -> None:
        user = str(conn.settings.get("username") or "")
        payload = _mail.sasl_payload(chosen, user, token, imap.conn.host, imap.conn.port)
        imap.t.register(payload)
        tag = imap.next_tag()
        sent = "SASL-IR" in imap.capabilities  # RFC 4959: the initial response on the command line
        if sent:
            imap.conn.send_line(f"{tag} AUTHENTICATE {chosen} {payload}", "signing in")
            imap.t.client(f"{tag} AUTHENTICATE {chosen} ", secret_from=len(f"{tag} AUTHENTICATE {chosen} "))
        else:
            imap.conn.send_line(f"{tag} AUTHENTICATE {chosen}", "signing in")
            imap.t.client(f"{tag} AUTHENTICATE {chosen}")
        challenge: list[dict[str, str] | None] = []

        def on_continue(plus: Response) -> None:
            nonlocal sent
            if not sent:  # the server's empty "+": now the token
                imap.conn.send_line(payload, "signing in")
                imap.t.client_secret()
                sent = True
            elif not challenge:  # a refusal: the reason as base64 JSON, answered as the mechanism requires
                challenge.append(_mail.decode_challenge(plus.text[1:]))
                answer = _mail.challenge_answer(chosen)
                imap.conn.send_line(answer, "finishing the refused sign-in")
                imap.t.client(answer)
            else:
                raise ConnectorError(errors.PROTOCOL_ERROR,
                                     "The server kept asking for more after refusing the token.",
                                     "The server does not follow the XOAUTH2 / OAUTHBEARER exchange; check the port.")
        r = imap.finish(tag, "signing in", on_continue=on_continue)
        if r.status == "OK":
            return
        if r.code == "UNAVAILABLE":
            raise ConnectorError(errors.SERVER_ERROR, f"The server cannot check the token now: {r.text}",
                                 "This is temporary on the server's side; try again later.", temporary=True)
        if r.status == "BAD" and not challenge:
            raise ConnectorError(errors.AUTH_METHOD_UNSUPPORTED,
                                 f"The server rejected the sign-in command: {r.text}",
                                 "Ask the server's administrator which sign-in methods are enabled.")
        err = _mail.oauth_refused(chosen, user, f"{r.status} {r.text}", challenge[0] if challenge else None,
                                  bool(challenge), imap.t.redactor.scrub)
        _mail.oauth_hint(self.ctype, conn.settings, err, (f"oauth_{r.code}",) if r.code else ())
        raise err

    def _plain_login(self, imap: ImapSession, user: str, password: Secret) -> Tagged:
        # What cannot be a quoted string (line breaks, 8-bit text) goes as a literal.
        return imap.call("LOGIN", [user, password.reveal()], "signing in", secret=1)

    def _auth_error(self, conn: Connector, r: Tagged) -> ConnectorError:
        code = r.code or ""
        if code == "UNAVAILABLE":
            err = ConnectorError(errors.SERVER_ERROR, f"The server cannot check the password now: {r.text}",
                                 "This is temporary on the server's side; try again later.", temporary=True)
        elif code in ("PRIVACYREQUIRED",):
            err = ConnectorError(errors.PLAINTEXT_REFUSED, f"The server requires encryption: {r.text}",
                                 "Choose STARTTLS or TLS.")
        elif r.status == "BAD":
            err = ConnectorError(errors.AUTH_METHOD_UNSUPPORTED, f"The server rejected the sign-in command: "
                                 f"{r.text}", "Ask the server's administrator which sign-in methods are enabled.")
        else:
            err = ConnectorError(
                errors.AUTH_FAILED, f"The server rejected the user name or password ({r.text}).",
                "Check the user name (often the full e-mail address) and the password. If the password was "
                "changed recently, enter the new one.")
        keys = (code,) if code else ()
        if "application-specific password" in r.text.lower():
            keys = ("app_password", *keys)
        self.ctype.add_provider_hint(conn.settings, err, keys)
        return err

    # -- folders ---------------------------------------------------------------------------
    def list_folders(self, imap: ImapSession) -> list[Folder]:
        r = imap.command('LIST "" "*"', "listing mailboxes")
        if r.status != "OK":
            raise ConnectorError(errors.SERVER_ERROR, f"The server would not list mailboxes: {r.text}",
                                 "Check the account's permissions.")
        folders = []
        for resp in r.untagged:
            if not resp.text.upper().startswith("* LIST "):
                continue
            toks = _tokens(resp.text[len("* LIST "):], resp.literals)
            if len(toks) < 3 or not isinstance(toks[0], list):
                raise imap._garbage(resp.text)
            flags = [str(f) for f in toks[0]]
            delim = toks[1] if isinstance(toks[1], str) else None
            raw = toks[2].decode("utf-8", "replace") if isinstance(toks[2], bytes) else str(toks[2])
            folders.append(Folder(mutf7.decode(raw), raw, delim, flags))
        return folders

    def find(self, folders: list[Folder], wanted: str) -> Folder:
        for f in folders:
            if f.name == wanted or (wanted.upper() == "INBOX" and f.name.upper() == "INBOX"):
                if not f.selectable:
                    children = [g.name for g in folders if f.delimiter and g.name.startswith(f.name + f.delimiter)
                                and g.selectable]
                    raise ConnectorError(
                        errors.MAILBOX_NOT_FOUND,
                        f"“{wanted}” is a folder that only holds other folders (\\Noselect); it cannot hold mail.",
                        ("Choose one of its subfolders: " + ", ".join(f"“{c}”" for c in children[:5]))
                        if children else "Choose a mailbox that holds messages.")
                return f
        names = [f.name for f in folders if f.selectable]
        same_case = [n for n in names if n.lower() == wanted.lower()]
        import difflib
        close = same_case or difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
        if close:
            hint = ("Mailbox names are case-sensitive. Did you mean " +
                    " or ".join(f"“{c}”" for c in close) + "?")
        else:
            hint = "Existing mailboxes: " + ", ".join(f"“{n}”" for n in names[:12]) + \
                ("…" if len(names) > 12 else "") + ". Choose one with the folder picker."
        raise ConnectorError(errors.MAILBOX_NOT_FOUND, f"There is no mailbox named “{wanted}” on this account.",
                             hint)

    def examine(self, imap: ImapSession, folder: Folder) -> dict[str, int]:
        r = imap.call("EXAMINE", [folder.raw], "opening the mailbox read-only")
        if r.status != "OK":
            if r.code in ("NOPERM",):
                raise ConnectorError(errors.NOT_AUTHORIZED, f"This account may not open “{folder.name}”: {r.text}",
                                     "Ask the mailbox owner to grant read access.")
            raise ConnectorError(errors.MAILBOX_NOT_FOUND, f"“{folder.name}” could not be opened: {r.text}",
                                 "Choose another mailbox with the folder picker.")
        facts = {"messages": 0, "uidvalidity": 0}
        for resp in r.untagged:
            m = re.match(r"\* (\d+) EXISTS", resp.text, re.IGNORECASE)
            if m:
                facts["messages"] = int(m.group(1))
            m = re.search(r"\[UIDVALIDITY (\d+)\]", resp.text, re.IGNORECASE)
            if m:
                facts["uidvalidity"] = int(m.group(1))
        return facts

    def logout(self, imap: ImapSession, run: Run) -> None:
        with run.step("logout", "LOGOUT"):
            try:
                imap.command("LOGOUT", "saying goodbye")
            except ConnectorError as exc:
                if exc.code != errors.PROTOCOL_ERROR:
                    raise

    # -- the plug-in API -------------------------------------------------------------------
    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        if conn.settings.get("verify_tls") is False:
            run.transcript.note("certificate verification is OFF for this connector")
        imap = self.open(conn, secrets, run)
        try:
            folder = self._locate(conn, imap, run)
            with run.step("examine", "Open the mailbox read-only (EXAMINE)") as st:
                facts = self.examine(imap, folder)
                run.info["mailbox"] = {"name": folder.name, **facts}
                st.detail = f"{_count(facts['messages'], 'message')}, UIDVALIDITY {facts['uidvalidity']}"
            self.logout(imap, run)
        finally:
            imap.conn.close()

    def _locate(self, conn: Connector, imap: ImapSession, run: Run) -> Folder:
        wanted = str(conn.settings.get("mailbox") or "INBOX")
        with run.step("list", "Find the mailbox (LIST)") as st:
            folders = self.list_folders(imap)
            run.info["folders"] = [f.to_dict() for f in folders]
            folder = self.find(folders, wanted)
            st.detail = f"“{folder.name}” among {len(folders)} {plural(len(folders), ('folder', 'folders'))}"
        return folder

    def folders(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        imap = self.open(conn, secrets, run)
        try:
            with run.step("list", "List the folders (LIST)") as st:
                folders = self.list_folders(imap)
                run.info["folders"] = [f.to_dict() for f in folders]
                st.detail = f"{len(folders)} folders"
            self.logout(imap, run)
        finally:
            imap.conn.close()

    def peek(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, count: int) -> None:
        imap = self.open(conn, secrets, run)
        try:
            folder = self._locate(conn, imap, run)
            with run.step("examine", "Open the mailbox read-only (EXAMINE)") as st:
                facts = self.examine(imap, folder)
                st.detail = _count(facts['messages'], "message")
            messages: list[dict[str, Any]] = []
            with run.step("fetch", "Read the newest headers (BODY.PEEK)") as st:
                total = facts["messages"]
                if total and count > 0:
                    first = max(1, total - count + 1)
                    r = imap.command(f"FETCH {first}:{total} (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])",
                                     "reading message headers")
                    if r.status != "OK":
                        raise ConnectorError(errors.SERVER_ERROR, f"The server would not return headers: {r.text}",
                                             "Try again later.")
                    for resp in r.untagged:
                        if resp.literals and " FETCH " in resp.text.upper():
                            messages.append(_headers(resp))
                messages.reverse()
                run.info["messages"] = messages
                run.info["mailbox"] = {"name": folder.name, **facts}
                st.detail = f"{len(messages)} of {_count(total, 'message')}, nothing marked as read"
            self.logout(imap, run)
        finally:
            imap.conn.close()

    def wait_for(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, tag: str,
                 sent_at: float) -> None:
        """Poll the mailbox until a message with header X-Connector-Desk-Test: ``tag`` is there."""
        imap = self.open(conn, secrets, run)
        try:
            folder = self._locate(conn, imap, run)
            with run.step("wait", "Wait for the test message") as st:
                polls = 0
                while True:
                    polls += 1
                    self.examine(imap, folder)
                    r = imap.command(f'SEARCH HEADER X-Connector-Desk-Test "{tag}"', "searching for the message")
                    found = any(resp.text.upper().startswith("* SEARCH ") and len(resp.text.split()) > 2
                                for resp in r.untagged)
                    if found:
                        ms = (time.monotonic() - sent_at) * 1000
                        run.info["delivery_ms"] = round(ms, 1)
                        st.detail = f"arrived after {ms:.0f} ms ({polls} checks)"
                        break
                    if run.deadline.remaining() < 0.6:
                        raise ConnectorError(
                            errors.TIMEOUT,
                            f"The test message did not arrive in “{folder.name}” within the deadline.",
                            "The mail was accepted for delivery but has not reached this mailbox: check "
                            "the recipient address, filters that move mail to other folders, and the mail "
                            "server's queue.")
                    if run.cancel.wait(0.5):
                        run.cancel.raise_if_cancelled()
            self.logout(imap, run)
        finally:
            imap.conn.close()


def _decode(value: str | None) -> str:
    if not value:
        return ""
    from email.header import decode_header, make_header
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _headers(resp: Response) -> dict[str, Any]:
    from email.parser import BytesHeaderParser
    msg = BytesHeaderParser().parsebytes(resp.literals[-1])
    uid = re.search(r"UID (\d+)", resp.text, re.IGNORECASE)
    flags = re.search(r"FLAGS \(([^)]*)\)", resp.text, re.IGNORECASE)
    return {"uid": int(uid.group(1)) if uid else None, "from": _decode(msg.get("From")),
            "subject": _decode(msg.get("Subject")), "date": _decode(msg.get("Date")),
            "seen": "\\seen" in flags.group(1).lower().split() if flags else None}
