"""A SendGrid stand-in built from SendGrid's own OpenAPI documents (../shared/vendor-specs/sendgrid).

Every request is checked against the documents — the operation must exist, the bearer token must be
there, query parameters must be declared, and the JSON body must satisfy the request schema — and
every response the stand-in sends is checked against the documented response schema for its status.
Anything off is recorded in ``violations``; tests assert it stays empty, so a malformed request from
our code fails the test. Behaviour follows the documents: 401 for unknown keys, 403 when a scope is
missing, 429 with rate-limit headers, 200 for sandbox sends, 202 with X-Message-Id for live ones.
Hostile modes: ``hang`` (never answers), ``redirect`` (answers every request 302 to that address),
and https with a test CA's certificate (``start(tls=...)``).
"""

from __future__ import annotations

import json
import os
import re
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]


def _specs_folder() -> Path:
    """../shared/vendor-specs/sendgrid beside the checkout (as CI lays it out); for a clone made from a
    local checkout elsewhere, beside that origin; or CONNECTOR_DESK_SENDGRID_SPECS."""
    if os.environ.get("CONNECTOR_DESK_SENDGRID_SPECS"):
        return Path(os.environ["CONNECTOR_DESK_SENDGRID_SPECS"])
    tail = Path("shared") / "vendor-specs" / "sendgrid"
    candidates = [ROOT.parent / tail]
    try:
        import subprocess
        origin = subprocess.run(["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
                                capture_output=True, text=True, timeout=5).stdout.strip()
        if origin and Path(origin).is_dir():
            candidates.append(Path(origin).resolve().parent / tail)
    except (OSError, subprocess.SubprocessError):
        pass
    return next((c for c in candidates if c.is_dir()), candidates[0])


SPECS = _specs_folder()


def _nullable(node: Any) -> Any:
    """The documents say openapi 3.1 but use 3.0's ``nullable: true`` (SendGrid really sends
    ``"field": null``): read it as the 3.1 spelling, a type that also admits null."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class Contract:
    """The operations of a set of OpenAPI 3.1 documents, with request and response validation."""

    def __init__(self, folder: Path = SPECS) -> None:
        if not folder.is_dir():
            raise FileNotFoundError(f"SendGrid's OpenAPI documents are not at {folder}")
        self.docs: dict[str, dict[str, Any]] = {}
        registry: Registry = Registry()
        for path in sorted(folder.glob("*.json")):
            doc = _nullable(json.loads(path.read_text(encoding="utf-8")))
            urn = f"urn:sendgrid:{path.stem}"
            self.docs[urn] = doc
            registry = registry.with_resource(urn, Resource.from_contents(doc, default_specification=DRAFT202012))
        self.registry = registry

    def _resolve(self, urn: str, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        while "$ref" in node:
            ref = node["$ref"]
            pointer = ref[1:]
            node = self.docs[urn]
            for part in pointer.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any], str] | None:
        for urn, doc in self.docs.items():
            for template, ops in doc["paths"].items():
                rx = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
                if re.match(rx, path) and method.lower() in ops:
                    pointer = f"/paths/{_escape(template)}/{method.lower()}"
                    return urn, ops[method.lower()], pointer
        return None

    def validator(self, urn: str, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{urn}#{pointer}"}, registry=self.registry)

    def check_request(self, method: str, path: str, query: dict[str, list[str]], headers: Any,
                      body: bytes) -> list[str]:
        found = self.operation(method, path)
        if found is None:
            return [f"{method} {path} is not an operation in SendGrid's documents"]
        urn, op, pointer = found
        problems = []
        if not str(headers.get("Authorization", "")).startswith("Bearer "):
            problems.append(f"{method} {path}: no bearer token (securitySchemes require one)")
        declared: dict[str, str] = {}
        for i, p in enumerate(op.get("parameters", [])):
            param, param_ptr = self._resolve(urn, p, f"{pointer}/parameters/{i}")
            where = param.get("in")
            if where == "query":
                declared[param["name"]] = param_ptr
                if param.get("required") and param["name"] not in query:
                    problems.append(f"{method} {path}: required query parameter {param['name']!r} is missing")
            elif where == "header" and param.get("required") and headers.get(param["name"]) is None:
                problems.append(f"{method} {path}: required header {param['name']!r} is missing")
        for name, values in query.items():
            if name not in declared:
                problems.append(f"{method} {path}: query parameter {name!r} is not documented")
                continue
            problems += self._check_value(urn, declared[name], method, path, name, values)
        if "requestBody" in op:
            rb, rb_pointer = self._resolve(urn, op["requestBody"], f"{pointer}/requestBody")
            if "application/json" not in str(headers.get("Content-Type", "")):
                problems.append(f"{method} {path}: body must be application/json")
            try:
                data = json.loads(body or b"null")
            except ValueError:
                return [*problems, f"{method} {path}: body is not JSON"]
            schema_ptr = f"{rb_pointer}/content/application~1json/schema"
            for err in self.validator(urn, schema_ptr).iter_errors(data):
                where = "/".join(str(x) for x in err.absolute_path) or "(body)"
                problems.append(f"{method} {path}: {where}: {err.message}")
        elif body:
            problems.append(f"{method} {path}: this operation takes no body")
        return problems

    def _check_value(self, urn: str, param_ptr: str, method: str, path: str, name: str,
                     values: list[str]) -> list[str]:
        """A query parameter's value against its documented schema (integers read as numbers)."""
        node = self.docs[urn]
        for part in param_ptr.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node.get("schema")
        if not isinstance(schema, dict):
            return []
        out = []
        for raw in values:
            value: Any = raw
            if schema.get("type") == "integer":
                if not re.fullmatch(r"-?\d+", raw):
                    out.append(f"{method} {path}: query parameter {name!r}={raw!r} is not an integer")
                    continue
                value = int(raw)
            for err in self.validator(urn, f"{param_ptr}/schema").iter_errors(value):
                out.append(f"{method} {path}: query parameter {name!r}: {err.message}")
        return out

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        found = self.operation(method, path)
        if found is None:
            return []
        urn, op, pointer = found
        resp = op.get("responses", {}).get(str(status))
        if resp is None:
            return []  # e.g. 429, which SendGrid documents outside these files
        resp, resp_ptr = self._resolve(urn, resp, f"{pointer}/responses/{status}")
        if "content" not in resp or "application/json" not in resp["content"]:
            return [] if body is None else [f"{method} {path} {status}: the documents give this status no body"]
        schema_ptr = f"{resp_ptr}/content/application~1json/schema"
        return [f"{method} {path} {status}: response {e.message}"
                for e in self.validator(urn, schema_ptr).iter_errors(body)]


def error(message: str, field: str | None = None) -> dict[str, Any]:
    return {"errors": [{"field": field, "message": message}]}


def make_key() -> str:
    """A key of SendGrid's shape: SG. + 22 + . + 43 characters."""
    raw = uuid.uuid4().hex + uuid.uuid4().hex + uuid.uuid4().hex
    return f"SG.{raw[:22]}.{raw[22:65]}"


@dataclass
class KeyBehaviour:
    scopes: list[str]
    rate_limited: int = 0  # answer 429 this many times before succeeding
    server_errors: int = 0  # answer 500 this many times before succeeding
    reset_in: int = 1  # seconds until the rate limit resets


@dataclass
class StandIn:
    contract: Contract = field(default_factory=Contract)
    keys: dict[str, KeyBehaviour] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    hang: bool = False
    redirect: str | None = None  # answer every request 302 with this Location
    # Suppression lists by kind (bounces, blocks, invalid_emails, spam_reports, unsubscribes), each
    # entry as SendGrid documents it; and daily delivery metrics by ISO date for /v3/stats.
    suppressions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)

    def start(self, tls: Any = None) -> None:
        """Listen on loopback; https with ``tls`` (a CertPair issued by the test CA)."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
                pass

            def do_GET(self) -> None:  # noqa: N802
                standin.handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                standin.handle(self, "POST")

            def do_DELETE(self) -> None:  # noqa: N802
                standin.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls.cert, tls.key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.base = f"https://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_key(self, scopes: list[str], **kw: Any) -> str:
        key = make_key()
        self.keys[key] = KeyBehaviour(scopes, **kw)
        return key

    # -- one request -----------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        self.requests.append({"method": method, "path": url.path, "headers": dict(h.headers), "body": body})
        if self.redirect is not None:
            h.send_response(302)
            h.send_header("Location", self.redirect)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        self.violations += self.contract.check_request(method, url.path, parse_qs(url.query), h.headers, body)
        if self.hang:
            time.sleep(30)
            return
        key = str(h.headers.get("Authorization", "")).removeprefix("Bearer ")
        kb = self.keys.get(key)
        if kb is None:
            return self.reply(h, method, url.path, 401, error("authorization required"))
        if kb.rate_limited > 0:
            kb.rate_limited -= 1
            reset = int(time.time()) + kb.reset_in
            return self.reply(h, method, url.path, 429, error("too many requests"),
                              {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": str(reset)})
        if kb.server_errors > 0:
            kb.server_errors -= 1
            return self.reply(h, method, url.path, 500, error("internal error"))
        if url.path == "/v3/scopes":
            return self.reply(h, method, url.path, 200, {"scopes": kb.scopes})
        if url.path == "/v3/verified_senders":
            if "verified_senders.read" not in kb.scopes and "sender_verification_eligible" not in kb.scopes:
                return self.reply(h, method, url.path, 403, error("access forbidden"))
            results = [{"id": i + 1, "nickname": e, "from_email": e, "from_name": "", "reply_to": e,
                        "reply_to_name": "", "address": "", "address2": "", "state": "", "city": "", "country": "",
                        "zip": "", "verified": True, "locked": False} for i, e in enumerate(self.verified)]
            return self.reply(h, method, url.path, 200, {"results": results})
        if url.path == "/v3/mail/send":
            if "mail.send" not in kb.scopes:
                return self.reply(h, method, url.path, 403, error("access forbidden"))
            try:
                data = json.loads(body)
            except ValueError:
                return self.reply(h, method, url.path, 400, error("bad JSON"))
            if not isinstance(data, dict) or "from" not in data:
                return self.reply(h, method, url.path, 400,
                                  error("The from object must be provided", "from"))
            sandbox = bool(data.get("mail_settings", {}).get("sandbox_mode", {}).get("enable"))
            self.sent.append({"sandbox": sandbox, **data})
            if sandbox:
                return self.reply(h, method, url.path, 200, None)
            return self.reply(h, method, url.path, 202, None, {"X-Message-Id": uuid.uuid4().hex[:22]})
        if url.path.startswith(("/v3/suppression/", "/v3/asm/suppressions/global/")):
            return self.suppression(h, method, url.path, parse_qs(url.query), kb)
        if url.path == "/v3/stats" and method == "GET":
            if "stats.read" not in kb.scopes:
                return self.reply(h, method, url.path, 403, error("access forbidden"))
            start = parse_qs(url.query).get("start_date", [""])[0]
            days = [{"date": d, "stats": [{"metrics": m}]} for d, m in sorted(self.stats.items()) if d >= start]
            return self.reply(h, method, url.path, 200, days)
        return self.reply(h, method, url.path, 404, error("not found"))

    def suppression(self, h: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, list[str]],
                    kb: KeyBehaviour) -> None:
        """GET /v3/suppression/<kind>?limit&offset (paged), DELETE …/<kind>/<email> and DELETE
        /v3/asm/suppressions/global/<email> (the global unsubscribes), each needing its scope."""
        from urllib.parse import unquote
        parts = path.split("/")
        if path.startswith("/v3/asm/"):
            kind, email, scope = "unsubscribes", unquote(parts[-1]), "asm.suppressions.global.delete"
        else:
            kind = parts[3]
            email = unquote(parts[4]) if len(parts) > 4 else ""
            scope = f"suppression.{kind}.{'read' if method == 'GET' else 'delete'}"
        if scope not in kb.scopes:
            return self.reply(h, method, path, 403, error("access forbidden"))
        entries = self.suppressions.setdefault(kind, [])
        if method == "GET" and not email:
            limit = int(query.get("limit", ["500"])[0])
            offset = int(query.get("offset", ["0"])[0])
            return self.reply(h, method, path, 200, entries[offset:offset + limit])
        if method == "DELETE" and email:
            before = len(entries)
            entries[:] = [e for e in entries if e.get("email") != email]
            if len(entries) == before:
                return self.reply(h, method, path, 404, error("email not found"))
            return self.reply(h, method, path, 204, None)
        return self.reply(h, method, path, 404, error("not found"))

    def reply(self, h: BaseHTTPRequestHandler, method: str, path: str, status: int, body: Any,
              headers: dict[str, str] | None = None) -> None:
        self.violations += self.contract.check_response(method, path, status, body)
        data = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if data:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
