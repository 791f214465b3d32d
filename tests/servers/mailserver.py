"""Real Postfix + Dovecot on loopback ephemeral ports, run from a temporary config folder.

Postfix: submission (STARTTLS, SASL through Dovecot), smtps (implicit TLS), and a plain port
that offers AUTH without TLS (to prove the client refuses to send the password there).
Dovecot: IMAP (STARTTLS) and IMAPS, LMTP delivery, SASL for Postfix. Mail submitted to Postfix
for @example.test is delivered over LMTP into the Dovecot mailbox of that user.

With ``oauth`` (an :class:`OAuthIntrospection`), Dovecot also signs in with XOAUTH2 and
OAUTHBEARER through its ``oauth2`` passdb, which checks each access token at the authorization
server's introspection endpoint (:class:`MailOAuthProvider`: the real npm oidc-provider); Postfix
submission offers the same through Dovecot. Such a server also listens on 127.0.0.2, so STARTTLS
behaves as for a remote client (Dovecot counts a client whose address equals its own as secure
and would offer sign-in before STARTTLS), and Postfix reads lines of up to 8,192 characters
(its default of 2,048 breaks ``AUTH XOAUTH2`` with a Microsoft-sized token). Without ``oauth``
the configuration is exactly what it always was.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import secrets
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from tests.servers.certs import TestCA
from tests.servers.ports import free_port, stop_processes, wait_listening

DOMAIN = "example.test"


@dataclass
class MailUser:
    address: str
    password: str


@dataclass
class OAuthIntrospection:
    """Where Dovecot's oauth2 passdb checks a token: ``url`` (POST ``token=…``), authenticated as
    a confidential client, and the scope every token must hold (Debian's Dovecot requires each
    scope listed in ``scope =``)."""

    url: str
    client_id: str
    client_secret: str
    scope: str = "mail"


@dataclass
class MailServers:
    folder: Path
    ca: TestCA
    users: list[MailUser] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    oauth: OAuthIntrospection | None = None
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    REMOTE = "127.0.0.2"  # an oauth server listens here too: a client from 127.0.0.1 is not "local"

    # -- layout --------------------------------------------------------------------------
    @property
    def mail_root(self) -> Path:
        return self.folder / "mail"

    def maildir(self, address: str) -> Path:
        return self.mail_root / address / "Maildir"

    def start(self) -> None:
        """Start both; a start that fails (a chosen port taken meanwhile, a loaded machine) stops what it
        started — no server and no Popen is left behind — and is tried once more with new ports."""
        for attempt in range(2):
            try:
                self._start()
                return
            except RuntimeError:
                self.stop()
                if attempt:
                    raise

    def _start(self) -> None:
        for name in ("submission", "smtps", "plain", "imap", "imaps", "lmtp", "auth"):
            self.ports[name] = free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        # The servers' unprivileged workers must reach the folder: make the path traversable.
        for parent in (self.folder, *self.folder.parents):
            if parent.stat().st_mode & 0o001 == 0:
                parent.chmod(parent.stat().st_mode | 0o711)
        # mail.example.test: the in-domain server the discovery tests find (their DNS maps it to 127.0.0.1)
        names = ["localhost", "127.0.0.1", "mail.example.test"] + ([self.REMOTE] if self.oauth else [])
        self.server_cert = self.ca.issue("mail", names)
        self._start_dovecot()
        for attempt in range(5):
            self._start_postfix()
            if self._postfix_listens():
                break
            # Its ports were free when chosen, but another process may have taken one since (on
            # a loaded machine, even as the source port of some connection); and on this loaded
            # machine Postfix's master sometimes exits at start with nothing logged: new ports,
            # a moment's pause, again.
            self._procs.pop()
            for name in ("submission", "smtps", "plain"):
                self.ports[name] = free_port()
            time.sleep(0.5 * (attempt + 1))
        for name in ("submission", "smtps", "plain", "imap", "imaps"):
            try:
                wait_listening(self.ports[name])
            except RuntimeError as exc:
                raise RuntimeError(f"{name}: {exc}\n{self._logs()}") from None

    def _postfix_listens(self, timeout: float = 20.0) -> bool:
        """Wait until Postfix listens on its submission port (True) or its master exits (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._procs[-1].poll() is not None:
                return False
            try:
                wait_listening(self.ports["submission"], timeout=0.2)
                return True
            except RuntimeError:
                continue
        return True  # still running: the wait below reports what does not listen

    def _logs(self) -> str:
        out = []
        for log in (self.folder / "postfix" / "postfix.log", self.folder / "postfix" / "master.stderr",
                    self.folder / "dovecot" / "dovecot.log"):
            out.append(f"--- {log.name}:\n" + (log.read_text()[-3000:] if log.exists() else "(none)"))
        out.append("--- processes: " + ", ".join(f"{p.args[0]} rc={p.poll()}" for p in self._procs))
        return "\n".join(out)

    def stop(self) -> None:
        stop_processes(self._procs)

    # -- Dovecot -------------------------------------------------------------------------
    def _start_dovecot(self) -> None:
        d = self.folder / "dovecot"
        for sub in ("run", "state"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        self.mail_root.mkdir(exist_ok=True)
        os.chown(self.mail_root, nobody.pw_uid, nobody.pw_gid)
        users = d / "users"
        users.write_text("".join(f"{u.address}:{{PLAIN}}{u.password}::::::\n" for u in self.users))
        users.chmod(0o644)
        addresses = "127.0.0.1" + (f" {self.REMOTE}" if self.oauth else "")
        mechanisms = "plain login scram-sha-256" + (" xoauth2 oauthbearer" if self.oauth else "")
        password_only = "\n  mechanisms = plain login scram-sha-256 none" if self.oauth else ""
        conf = d / "dovecot.conf"
        conf.write_text(f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap lmtp
listen = {addresses.replace(" ", ", ")}
ssl = yes
ssl_cert = <{self.server_cert.cert}
ssl_key = <{self.server_cert.key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = {mechanisms}
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
mail_location = maildir:~/Maildir
{self._oauth_passdb(d)}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}{password_only}
}}
userdb {{
  driver = static
  args = uid={nobody.pw_uid} gid={nobody.pw_gid} home={self.mail_root}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {addresses}
    port = {self.ports['imap']}
  }}
  inet_listener imaps {{
    address = {addresses}
    port = {self.ports['imaps']}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.ports['lmtp']}
  }}
}}
service auth {{
  inet_listener {{
    address = 127.0.0.1
    port = {self.ports['auth']}
  }}
}}
# Tests fail sign-ins on purpose, many times: no growing penalty, no delay.
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@{DOMAIN}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
}}
""")
        self._procs.append(subprocess.Popen(["dovecot", "-F", "-c", str(conf)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for name in ("auth", "lmtp"):
            try:
                wait_listening(self.ports[name])
            except RuntimeError as exc:
                raise RuntimeError(f"dovecot {name}: {exc}\n{self._logs()}") from None

    def _oauth_passdb(self, d: Path) -> str:
        """The oauth2 passdb (first, for the OAuth mechanisms only), or nothing."""
        if self.oauth is None:
            return ""
        o = self.oauth
        parts = urllib.parse.urlsplit(o.url)
        userinfo = f"{urllib.parse.quote(o.client_id, safe='')}:{urllib.parse.quote(o.client_secret, safe='')}"
        url = urllib.parse.urlunsplit((parts.scheme, f"{userinfo}@{parts.netloc}", parts.path, "", ""))
        ext = d / "dovecot-oauth2.conf.ext"
        ext.write_text(f"""introspection_url = {url}
introspection_mode = post
username_attribute = email
active_attribute = active
active_value = true
scope = {o.scope}
timeout_msecs = 5000
""")
        ext.chmod(0o600)
        return f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {ext}
}}
"""

    # -- Postfix -------------------------------------------------------------------------
    def _start_postfix(self) -> None:
        p = self.folder / "postfix"
        conf = p / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        queue, data = p / "queue", p / "data"
        queue.mkdir(exist_ok=True)
        data.mkdir(exist_ok=True)
        pf = pwd.getpwnam("postfix")
        os.chown(data, pf.pw_uid, pf.pw_gid)
        cert, key = self.server_cert.cert, self.server_cert.key
        (conf / "main.cf").write_text(f"""
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination =
mynetworks = 127.0.0.0/8
maillog_file = {p}/postfix.log
maillog_file_prefixes = {p}
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = no
virtual_mailbox_domains = {DOMAIN}
virtual_transport = lmtp:inet:127.0.0.1:{self.ports['lmtp']}
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{self.ports['auth']}
smtpd_sasl_auth_enable = no
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_sender_restrictions =
smtpd_helo_required = no
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
smtpd_client_connection_rate_limit = 0
anvil_rate_time_unit = 1s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
""" + ("line_length_limit = 8192\n" if self.oauth else ""))
        auth = "-o smtpd_sasl_auth_enable=yes"
        only_signed_in = "-o smtpd_client_restrictions=permit_sasl_authenticated,reject"
        (conf / "master.cf").write_text(f"""
127.0.0.1:{self.ports['submission']} inet n - n - - smtpd \
  -o smtpd_tls_security_level=encrypt {auth} -o smtpd_tls_auth_only=yes {only_signed_in}
127.0.0.1:{self.ports['smtps']} inet n - n - - smtpd \
  -o smtpd_tls_wrappermode=yes {auth} {only_signed_in}
127.0.0.1:{self.ports['plain']} inet n - n - - smtpd \
  -o smtpd_tls_security_level=none {auth} -o smtpd_tls_auth_only=no
{self._remote_submission(auth, only_signed_in)}pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""")
        env = {**os.environ, "MAIL_CONFIG": str(conf)}
        # Create the queue's subfolders with their owners (what `postfix start` would do; the
        # `postfix` command itself insists on alternate_config_directories in /etc/postfix).
        subprocess.run(["/usr/lib/postfix/sbin/post-install", f"config_directory={conf}",
                        "meta_directory=/etc/postfix", f"queue_directory={queue}",
                        "daemon_directory=/usr/lib/postfix/sbin", "command_directory=/usr/sbin",
                        "mail_owner=postfix", "setgid_group=postdrop", "create-missing"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        with open(p / "master.stderr", "wb") as err:
            self._procs.append(subprocess.Popen(
                ["/usr/lib/postfix/sbin/master", "-c", str(conf), "-d"], env=env,
                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True))

    def _remote_submission(self, auth: str, only_signed_in: str) -> str:
        """Submission on 127.0.0.2 too (an oauth server), so a test can reach it as a remote client."""
        if self.oauth is None:
            return ""
        return (f"{self.REMOTE}:{self.ports['submission']} inet n - n - - smtpd "
                f"-o smtpd_tls_security_level=encrypt {auth} -o smtpd_tls_auth_only=yes {only_signed_in}\n")

    def set_password(self, address: str, password: str) -> None:
        """Change a user's password on the server (Dovecot re-reads its passwd-file when it changes)."""
        for u in self.users:
            if u.address == address:
                u.password = password
        users = self.folder / "dovecot" / "users"
        before = users.stat().st_mtime
        # Written aside and moved into place: Dovecot re-reads the file on any sign-in once its mtime
        # changes, and must never find it half written (every user's sign-in would fail meanwhile).
        fresh = users.with_name("users.new")
        fresh.write_text("".join(f"{u.address}:{{PLAIN}}{u.password}::::::\n" for u in self.users))
        fresh.chmod(0o644)
        # Dovecot notices a change by mtime in whole seconds (and size, which may not change).
        stamp = max(time.time(), before + 2)
        os.utime(fresh, (stamp, stamp))
        os.replace(fresh, users)
        # It re-reads the file within about a second: wait until the new password really works.
        import imaplib
        import ssl
        ctx = ssl.create_default_context(cafile=str(self.ca.ca_file))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            c = imaplib.IMAP4_SSL("localhost", self.ports["imaps"], ssl_context=ctx, timeout=5)
            try:
                c.login(address, password)
                c.logout()
                return
            except imaplib.IMAP4.error:
                c.shutdown()
            time.sleep(0.2)
        raise RuntimeError(f"Dovecot did not take the new password of {address}")

    # -- inspection ----------------------------------------------------------------------
    def wait_for_mail(self, address: str, predicate: object = None, timeout: float = 20.0) -> Message:
        """The first message in ``address``'s mailbox that satisfies ``predicate`` (a callable)."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            for sub in ("new", "cur"):
                folder = self.maildir(address) / sub
                if not folder.is_dir():
                    continue
                for f in sorted(folder.iterdir()):
                    msg = message_from_bytes(f.read_bytes())
                    if predicate is None or predicate(msg):  # type: ignore[operator]
                        return msg
                    seen.append(str(msg["Subject"]))
            time.sleep(0.1)
        log = (self.folder / "postfix" / "postfix.log")
        tail = log.read_text()[-2000:] if log.exists() else "(no postfix log)"
        raise AssertionError(f"no matching mail for {address} within {timeout} s; seen {seen}; log:\n{tail}")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class MailOAuthProvider:
    """The real npm oidc-provider (tests/servers/oidc-provider/mail.mjs, a mail-only configuration) as
    the authorization server of an oauth :class:`MailServers`: Dovecot introspects with a confidential
    client of its own; :meth:`token` gets a real access token (client-credentials grant, opaque,
    introspection carries the mailbox's ``email``) — no person, no browser. Kinds: ``normal``,
    ``big`` (1,500 characters, Microsoft-sized), ``short`` (expires after one second)."""

    log: Path
    emails: list[str]
    port: int = 0
    introspector: tuple[str, str] = ("dovecot", "")
    _clients: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    KINDS = {"normal": {}, "big": {"bits": 9000}, "short": {"ttl": 1}}

    @property
    def introspection(self) -> OAuthIntrospection:
        return OAuthIntrospection(f"http://127.0.0.1:{self.port}/token/introspection", *self.introspector)

    def start(self) -> MailOAuthProvider:
        from tests.servers.oauth import FOLDER
        node = shutil.which("node")
        if not node or not (FOLDER / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("the OAuth test server needs Node.js and `npm ci` in tests/servers/oidc-provider")
        self.introspector = ("dovecot", "dv-" + secrets.token_hex(12))
        clients = []
        for n, email in enumerate(self.emails):
            for kind, extra in self.KINDS.items():
                cid, secret = f"mail-{n}-{kind}", "ms-" + secrets.token_hex(12)
                self._clients[(email, kind)] = (cid, secret)
                clients.append({"client_id": cid, "client_secret": secret, "email": email, **extra})
        config = self.log.with_name("oidc-mail.json")
        config.touch(mode=0o600)
        config.write_text(json.dumps({"introspector": list(self.introspector), "clients": clients}))
        self.port = free_port()
        with open(self.log, "wb") as out:
            self._procs.append(subprocess.Popen([node, "mail.mjs", str(self.port), str(config)], cwd=FOLDER,
                                                stdout=out, stderr=subprocess.STDOUT))
        wait_listening(self.port)
        return self

    def token(self, email: str, kind: str = "normal", scope: str | None = "mail") -> str:
        cid, secret = self._clients[(email, kind)]
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/token",
                                         urllib.parse.urlencode(form).encode(),
                                         headers={"Authorization": "Basic " + basic})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as resp:
            return str(json.load(resp)["access_token"])

    def stop(self) -> None:
        stop_processes(self._procs)
