"""LineConn: the protocol line writer refuses a line that would become two commands, and reads
stay within their size limits (issue 12, item 1 and the paths no test ran)."""

from __future__ import annotations

import socket

import pytest

from desktop.core.deadline import CancelToken, Deadline
from desktop.core.errors import ConnectorError
from desktop.core.net import LineConn
from desktop.core.transcript import Transcript


@pytest.fixture
def pair():  # type: ignore[no-untyped-def]
    ours, theirs = socket.socketpair()
    conn = LineConn(ours, "peer.example.test", 25, Deadline(2), CancelToken(), Transcript(), max_line=100)
    yield conn, theirs
    conn.close()
    theirs.close()


def received(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return b""


@pytest.mark.parametrize("line", ["MAIL FROM:<a@b.test>\r\nRCPT TO:<evil@x.test>", "RCPT TO:<a@b.test>\nDATA",
                                  "LOGIN a\rb", "LOGIN a\0b", "LOGIN a\ud800b", b"MAIL FROM:<x>\r\nDATA"])
def test_send_line_refuses_cr_lf_nul_and_sends_nothing(pair, line):
    conn, theirs = pair
    with pytest.raises(ConnectorError) as e:
        conn.send_line(line, "announcing the sender")
    assert e.value.code == "bad_input" and "Nothing of it was sent" in e.value.message
    assert "evil" not in e.value.message and "DATA" not in e.value.message
    assert received(theirs) == b""


def test_send_line_sends_one_line_with_crlf(pair):
    conn, theirs = pair
    conn.send_line("EHLO [127.0.0.1]")
    assert received(theirs) == b"EHLO [127.0.0.1]\r\n"


def test_a_line_longer_than_the_limit_is_a_protocol_error(pair):
    conn, theirs = pair
    theirs.sendall(b"220 " + b"x" * 200 + b"\r\n")
    with pytest.raises(ConnectorError) as e:
        conn.readline()
    assert e.value.code == "protocol_error" and "longer than 100 bytes" in e.value.message


def test_an_endless_line_without_a_break_is_cut_off_at_the_limit(pair):
    conn, theirs = pair
    theirs.sendall(b"220 " + b"x" * 300)  # no line break at all, and the server keeps the line open
    with pytest.raises(ConnectorError) as e:
        conn.readline()
    assert e.value.code == "protocol_error" and "longer than 100 bytes" in e.value.message


def test_data_before_the_tls_handshake_is_refused_as_injection(pair):
    import ssl
    conn, theirs = pair
    theirs.sendall(b"220 go ahead\r\n250 injected before TLS\r\n")
    assert conn.readline() == "220 go ahead"
    with pytest.raises(ConnectorError) as e:
        conn.start_tls(ssl.create_default_context())
    assert e.value.code == "tls_failed" and "man-in-the-middle" in e.value.hint
