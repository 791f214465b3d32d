"""The "system browser" of the OAuth tests: a small program set as ``$BROWSER`` (through the executable
wrapper :func:`install` writes) that a sign-in opens with the authorization URL. It drives oidc-provider's
login and consent forms (devInteractions) with a cookie jar, like a person clicking through them, and
then delivers the redirect to the loopback listener — a query redirect by GET, a ``form_post`` page by
POST, as a browser does.

Its behaviour comes from the environment (inherited from the test):
  OAUTH_BROWSER_MODE   approve (default) | deny (the "Cancel" link: error=access_denied) | ignore (never
                       opens anything: the listener waits) | wrong_state | no_code | wrong_iss | twice
                       (delivers the redirect a second time) | garbage (sends junk, then the right one)
  OAUTH_BROWSER_LOGIN  the login typed into the form (default alice@example.test)
  OAUTH_BROWSER_CA     a CA file for an https provider
  OAUTH_BROWSER_LOG    a file where each run appends one JSON line: what it did and what it saw
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import ssl
import stat
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


class Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(), "inputs": {}})
        elif tag in ("input", "button") and self.forms and a.get("name"):
            if tag == "button" and a.get("name") == "abort":
                return
            self.forms[-1]["inputs"][a["name"]] = a.get("value", "")
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])


class Intercept(urllib.request.HTTPRedirectHandler):
    """Follows the provider's redirects but stops at one to the loopback listener (recorded)."""

    def __init__(self) -> None:
        self.loopback: str | None = None

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if urllib.parse.urlsplit(newurl).hostname in ("127.0.0.1", "localhost", "::1") and \
                urllib.parse.urlsplit(newurl).port != urllib.parse.urlsplit(req.full_url).port:
            self.loopback = newurl
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def deliver(url: str, data: dict[str, str] | None, log: dict[str, Any]) -> None:
    """GET (or POST ``data``) to the loopback listener, as the browser's last hop."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as resp:
            log.setdefault("delivered", []).append(resp.status)
    except urllib.error.HTTPError as exc:
        log.setdefault("delivered", []).append(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        log.setdefault("delivered", []).append("refused" if isinstance(reason, ConnectionRefusedError)
                                               else f"error {reason}")


def tamper(url: str, data: dict[str, str] | None, mode: str) -> tuple[str, dict[str, str] | None]:
    parts = urllib.parse.urlsplit(url)
    params = dict(urllib.parse.parse_qsl(parts.query)) if data is None else dict(data)
    if mode == "wrong_state":
        params["state"] = "forged-" + params.get("state", "")[:6]
    elif mode == "no_code":
        params.pop("code", None)
    elif mode == "wrong_iss":
        params["iss"] = "https://evil.example"
    if data is None:
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(params))), None
    return url, params


def run(url: str) -> dict[str, Any]:
    mode = os.environ.get("OAUTH_BROWSER_MODE", "approve")
    login = os.environ.get("OAUTH_BROWSER_LOGIN", "alice@example.test")
    log: dict[str, Any] = {"mode": mode, "url": url, "pages": []}
    if mode == "ignore":
        return log
    ca = os.environ.get("OAUTH_BROWSER_CA")
    context = ssl.create_default_context(cafile=ca) if ca else None
    intercept = Intercept()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                         urllib.request.HTTPSHandler(context=context), intercept)
    request: urllib.request.Request | None = urllib.request.Request(url)
    final: tuple[str, dict[str, str] | None] | None = None
    for _ in range(12):
        assert request is not None
        try:
            with opener.open(request, timeout=10) as resp:
                page, where = resp.read().decode("utf-8", "replace"), resp.geturl()
        except urllib.error.HTTPError as exc:
            if intercept.loopback:
                final = (intercept.loopback, None)
                break
            log["pages"].append(f"HTTP {exc.code}")
            page, where = exc.read().decode("utf-8", "replace"), exc.geturl()  # shown like any page
            if "<form" not in page:
                log["error_page"] = page[:500]
                return log
        else:
            if intercept.loopback:
                final = (intercept.loopback, None)
                break
            log["pages"].append(urllib.parse.urlsplit(where).path)
        forms = Forms()
        forms.feed(page)
        if mode == "deny":
            abort = next((link for link in forms.links if "abort" in link), None)
            if abort:
                request = urllib.request.Request(urllib.parse.urljoin(where, abort))
                continue
        if not forms.forms:
            log["stopped_at"] = page[:300]
            return log
        form = forms.forms[0]
        action = urllib.parse.urljoin(where, form["action"])
        fields = dict(form["inputs"])
        if "login" in fields or form["inputs"].get("prompt") == "login":
            fields["login"], fields["password"] = login, "any-password"
        if urllib.parse.urlsplit(action).hostname in ("127.0.0.1", "localhost") and \
                urllib.parse.urlsplit(action).port != urllib.parse.urlsplit(where).port:
            final = (action, fields)  # response_mode=form_post: the page posts itself to the listener
            break
        body = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(action, data=body if form["method"] == "post" else None)
        if form["method"] != "post":
            request = urllib.request.Request(action + "?" + urllib.parse.urlencode(fields))
    if final is None:
        log["stopped_at"] = "too many pages"
        return log
    target, data = final
    log["redirect"] = urllib.parse.urlsplit(target)._replace(query="").geturl()
    log["redirect_keys"] = sorted(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query)) if data is None
                                  else data)
    if mode == "garbage":
        host, port = urllib.parse.urlsplit(target).hostname, urllib.parse.urlsplit(target).port
        with socket.create_connection((host or "127.0.0.1", port or 80), timeout=5) as s:
            s.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
            s.recv(100)
    if mode in ("wrong_state", "no_code", "wrong_iss"):
        target, data = tamper(target, data, mode)
    deliver(target, data, log)
    if mode == "twice":
        deliver(target, data, log)
    return log


def main() -> int:
    url = sys.argv[-1]
    try:
        log = run(url)
    except Exception as exc:  # noqa: BLE001 - reported to the test through the log
        log = {"url": url, "crashed": f"{exc.__class__.__name__}: {exc}"}
    target = os.environ.get("OAUTH_BROWSER_LOG")
    if target:
        with open(target, "a") as out:
            out.write(json.dumps(log) + "\n")
    return 0


def install(folder: Path) -> Path:
    """An executable wrapper to put in ``$BROWSER`` (webbrowser runs it with the URL as its argument)."""
    path = folder / "test-browser"
    root = Path(__file__).resolve().parents[2]
    path.write_text(f"#!/bin/sh\nPYTHONPATH={root} exec {sys.executable} -m tests.servers.oauth_browser \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    sys.exit(main())
