"""Our SCRAM client against an independent, real SCRAM server: Dovecot's IMAP AUTHENTICATE
SCRAM-SHA-256. tansu cannot keep a SCRAM user (see tests/servers/kafka.py), so a successful sign-in,
including the check of the server's signature, is proven here; the Kafka framing around it is
tested against tansu."""

from __future__ import annotations

import base64

from desktop.core import net, tls
from desktop.core.deadline import CancelToken, Deadline
from desktop.core.errors import ConnectorError
from desktop.core.scram import ScramClient
from desktop.core.transcript import Transcript


def imap_scram(mail, certs, user: str, password: str) -> str:  # type: ignore[no-untyped-def]
    port = mail.ports["imaps"]
    deadline, cancel = Deadline(10), CancelToken()
    sock = net.connect("localhost", port, net.resolve("localhost", port, deadline, cancel), deadline, cancel)
    lc = net.LineConn(sock, "localhost", port, deadline, cancel, Transcript())
    try:
        lc.start_tls(tls.make_context(str(certs.ca.ca_file)))
        assert lc.readline().startswith("* OK")
        client = ScramClient("SCRAM-SHA-256", user, password)
        lc.send(b"a1 AUTHENTICATE SCRAM-SHA-256 " + base64.b64encode(client.first()) + b"\r\n")
        challenge = lc.readline()
        assert challenge.startswith("+ "), challenge
        lc.send(base64.b64encode(client.final(base64.b64decode(challenge[2:]))) + b"\r\n")
        answer = lc.readline()
        if answer.startswith("+ "):
            client.verify(base64.b64decode(answer[2:]))
            lc.send(b"\r\n")
            answer = lc.readline()
        return answer
    finally:
        lc.close()


def test_scram_sha_256_signs_in_and_the_server_proves_itself(mail, certs):
    user = mail.users[1]
    answer = imap_scram(mail, certs, user.address, user.password)
    assert answer.startswith("a1 OK"), answer


def test_scram_wrong_password_is_refused(mail, certs):
    user = mail.users[1]
    try:
        answer = imap_scram(mail, certs, user.address, user.password + "x")
    except ConnectorError as exc:  # Dovecot may say e=invalid-proof in its final message
        assert exc.code == "auth_failed"
        return
    assert answer.startswith("a1 NO"), answer
