"""An https server on loopback (certificate from the test CA) serving autoconfig files, and the
hostile ones: a 50 MB file (with and without Content-Length) and XML entity expansion.

Reach it as ``autoconfig.example.test`` by giving that name an A record of 127.0.0.1 in the DNS
test zone, and CONNECTOR_DESK_DISCOVER_PORT_MAP=443=<port>.
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.servers.certs import CertPair

FIFTY_MB = 50 * 1024 * 1024

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<clientConfig version="1.1"><emailProvider id="example.test">
 <displayName>&lol9;</displayName>
 <incomingServer type="imap"><hostname>mail.example.test</hostname><port>993</port>
  <socketType>SSL</socketType><authentication>password-cleartext</authentication>
  <username>%EMAILADDRESS%</username></incomingServer>
</emailProvider></clientConfig>
"""


def client_config(servers: list[dict[str, Any]], provider: str = "Example Test Mail") -> bytes:
    """A clientConfig 1.1 document; each server: type, host, port, socket (SSL/STARTTLS/plain), auth."""
    parts = []
    for s in servers:
        tag = "incomingServer" if s["type"] == "imap" else "outgoingServer"
        auth = "".join(f"<authentication>{a}</authentication>" for a in s.get("auth", ["password-cleartext"]))
        parts.append(f'<{tag} type="{s["type"]}"><hostname>{s["host"]}</hostname><port>{s["port"]}</port>'
                     f'<socketType>{s["socket"]}</socketType>{auth}'
                     f'<username>{s.get("username", "%EMAILADDRESS%")}</username></{tag}>')
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<clientConfig version="1.1">'
            f'<emailProvider id="example.test"><domain>example.test</domain><displayName>{provider}</displayName>'
            + "".join(parts) + "</emailProvider></clientConfig>").encode()


class AutoconfigServer:
    """``files``: path (without query) → bytes, or "huge" (50 MB announced) / "huge-unsized"
    (50 MB streamed with no length). ``sent`` counts the body bytes that left the server."""

    def __init__(self, cert: CertPair, files: dict[str, bytes | str]) -> None:
        self.files = files
        self.sent = 0
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.requests.append(self.path)
                body = outer.files.get(self.path.split("?")[0])
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                if body == "huge-unsized":
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self._stream()
                    return
                if body == "huge":
                    self.send_header("Content-Length", str(FIFTY_MB))
                    self.end_headers()
                    self._stream()
                    return
                assert isinstance(body, bytes)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer.sent += len(body)

            def _stream(self) -> None:
                chunk = b"<!-- " + b"x" * 65000 + b" -->"
                try:
                    while outer.sent < FIFTY_MB:
                        self.wfile.write(chunk)
                        outer.sent += len(chunk)
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])

    def start(self) -> AutoconfigServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
