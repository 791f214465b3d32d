"""A sixth connector type that exists only for tests: "echo". It is the whole of what a new type
needs — declared fields and a secret, its wording, its own peek (lines, with its own columns) and
facts — and talks to no server, so it proves the plug-in shape: the wizard, the list, the CLI and
documents handle it with no change outside this module. Loaded through CONNECTOR_DESK_CONNECTORS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desktop.core import errors
from desktop.core.contract import Action, ConnectorType, Fact, Listing, Row, Wording, plural
from desktop.core.errors import ConnectorError
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.pipeline import Run
from desktop.core.secret import Secret


class EchoConnector(ConnectorType):
    type_name = "echo"
    label = "Echo"
    summary = "A test-only type: a server that says back what it hears."
    test_action = Action.PEEK
    actions = frozenset({Action.PEEK})
    wording = Wording(
        server_title="Echo server",
        server_text="Where the echo server is.",
        checks="Connector Desk greets the echo server",
        test_title="Admin details and echo",
        test_text="Echo shows the lines the server says back.",
        next_step="You can add admin details and hear the echo next.",
        noun=("line", "lines"),
        peek_button="&Hear the echo",
        peek_source="phrase",
        peek_summary=("Echo", "heard the echo"))
    fields = (
        Field("host", "Echo host", "host", required=True, placeholder="echo.example.com"),
        Field("port", "Port", "int", 7, minimum=1, maximum=65535),
        Field("phrase", "Phrase", "text", "hello", required=True, page="auth"),
    )
    secrets = (SecretField("token", "Echo token", help="Any value; “wrong” is refused."),)

    def server_label(self, settings: Mapping[str, Any]) -> str:
        return f"echo://{settings.get('host') or '?'}:{settings.get('port') or 7}"

    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        with run.step("greet", "Greet the echo server") as st:
            token = secrets.get("token")
            if token is not None and token.reveal() == "wrong":
                raise ConnectorError(errors.AUTH_FAILED, "The echo server refused the token.", "Use another token.")
            st.detail = f"it said “{conn.settings.get('phrase')}” back"
        run.info["echo"] = {"phrase": conn.settings.get("phrase"), "times": 3}

    def peek(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, count: int) -> None:
        self.validate(conn, secrets, run)
        with run.step("listen", "Listen to the echo"):
            phrase = str(conn.settings.get("phrase"))
            run.info["lines"] = [{"n": i + 1, "text": phrase.upper() if i == 0 else phrase} for i in range(count)]

    def facts(self, info: Mapping[str, Any]) -> list[Fact]:
        echo = info.get("echo")
        return [Fact("Echo", f"“{echo['phrase']}”, {echo['times']} times")] if isinstance(echo, dict) else []

    def listing(self, info: Mapping[str, Any]) -> Listing | None:
        lines = info.get("lines", [])
        rows = tuple(Row((str(x["n"]), x["text"]), x["text"], strong=x["n"] == 1) for x in lines)
        return Listing(("No.", "Echoed line"), rows, f"{len(rows)} echoed {plural(len(rows), self.wording.noun)}",
                       "The first one is the loudest." if rows else "Silence.",
                       tuple(f"#{x['n']} {x['text']}" for x in lines))


CONNECTOR = EchoConnector()
