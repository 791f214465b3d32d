"""OAuth 2.0 client-credentials grant (RFC 6749 §4.4): a service's token from its token endpoint,
for Kafka's OAUTHBEARER. The request runs under the run's deadline and cancel token; the token
endpoint's own error (``invalid_client``, ``invalid_scope``) is reported in its words. A redirect is
never followed (the request carries the client secret): it is an error naming the target."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from desktop.core import errors, tls, web
from desktop.core.blocking import bounded
from desktop.core.errors import ConnectorError
from desktop.core.pipeline import Run
from desktop.core.secret import Secret

ERRORS = {
    "invalid_client": ("The token endpoint does not accept this client id and secret.",
                       "Check the client id and client secret (they may have expired or been rotated)."),
    "unauthorized_client": ("This client may not use the client-credentials grant.",
                            "Enable the client-credentials grant for this client at the identity provider."),
    "invalid_scope": ("The token endpoint refused the requested scope.",
                      "Check the scope the cluster's identity provider expects (or leave it empty)."),
    "unsupported_grant_type": ("The token endpoint does not offer the client-credentials grant.",
                               "Check the token endpoint address; the provider must allow client credentials."),
}


def client_credentials(run: Run, endpoint: str, client_id: str, secret: Secret, scope: str = "",
                       ca_file: str | None = None, field: str = "settings.oauth_token_endpoint") -> Secret:
    """An access token for ``client_id``; the client secret goes in the Authorization header
    (client_secret_basic) over TLS (http only to a loopback address)."""
    url = web.check_url(endpoint, field)
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    basic = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(secret.reveal(), safe='')}"
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST", headers={
        "Authorization": "Basic " + base64.b64encode(basic.encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    run.transcript.register(secret)
    run.transcript.client(f"POST {url} grant_type=client_credentials client_id={client_id}"
                          + (f" scope={scope}" if scope else ""))
    context = tls.make_context(ca_file) if url.startswith("https") else None
    doing = "asking the token endpoint for a token"

    def call() -> tuple[int, bytes]:
        try:
            with web.opener(context).open(request, timeout=max(0.1, run.deadline.remaining())) as resp:
                return resp.status, resp.read(65536)
        except urllib.error.HTTPError as exc:
            with exc:
                if web.is_redirect(exc.code):
                    raise web.redirect_error(exc.code, exc.headers, url, "token endpoint") from None
                return exc.code, exc.read(65536)

    try:
        status, body = bounded(run, doing, call)
    except ConnectorError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified
        classified = web.classify(exc, url, run.deadline, doing, "token endpoint")
        if classified is None:
            raise
        raise classified from None
    data: Any
    try:
        data = json.loads(body or b"null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ConnectorError(errors.PROTOCOL_ERROR, f"The token endpoint answered HTTP {status} without a JSON "
                             "object.", "Check the token endpoint address (it is often …/oauth2/token).")
    run.transcript.server(f"HTTP {status} " + ", ".join(f"{k}={v}" for k, v in data.items()
                                                        if k in ("error", "error_description", "token_type",
                                                                 "expires_in", "scope")))
    if status != 200 or "error" in data:
        code = str(data.get("error", ""))
        message, hint = ERRORS.get(code, (f"The token endpoint refused the request (HTTP {status}).",
                                          "Check the token endpoint, client id and secret."))
        said = f" It said: {code}" + (f" — {data['error_description']}" if data.get("error_description") else "")
        kind = errors.SERVER_ERROR if status >= 500 else errors.AUTH_FAILED
        raise ConnectorError(kind, message + (said if code else ""), hint)
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise ConnectorError(errors.PROTOCOL_ERROR, "The token endpoint's answer has no access_token.",
                             "Check the token endpoint address.")
    access = Secret(token)
    run.transcript.register(access)
    return access
