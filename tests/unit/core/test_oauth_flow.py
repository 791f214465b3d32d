"""The token side of OAuth for mail without a network: provider endpoints and scopes, the mapping of
token-endpoint answers to our codes, and the redirect checks of the loopback sign-in."""

from __future__ import annotations

import pytest

from desktop.core import errors, oauth_flow, oauth_signin
from desktop.core.errors import FieldError
from desktop.core.fields import check_settings


def test_google_endpoints_and_scopes():
    ep = oauth_flow.provider_endpoints({"oauth_provider": "google"})
    assert ep.token == "https://oauth2.googleapis.com/token" and ep.issuer == "https://accounts.google.com"
    assert ep.scopes_default[0] == "https://mail.google.com/" and ep.device
    assert oauth_flow.mail_scopes({"oauth_provider": "google"}) == ("https://mail.google.com/",)


@pytest.mark.parametrize(("tenant", "path"), [("", "organizations"), ("contoso.onmicrosoft.com",
                                                                        "contoso.onmicrosoft.com")])
def test_microsoft_endpoints_follow_the_tenant(tenant, path, monkeypatch):
    monkeypatch.delenv(oauth_flow.MICROSOFT_LOGIN_ENV, raising=False)
    ep = oauth_flow.provider_endpoints({"oauth_provider": "microsoft", "oauth_tenant": tenant})
    assert ep.authorize == f"https://login.microsoftonline.com/{path}/oauth2/v2.0/authorize"
    assert ep.token == f"https://login.microsoftonline.com/{path}/oauth2/v2.0/token"
    assert ep.device == f"https://login.microsoftonline.com/{path}/oauth2/v2.0/devicecode"


def test_microsoft_scopes_depend_on_the_protocol():
    smtp = oauth_flow.provider_endpoints({"oauth_provider": "microsoft"}, protocol="smtp")
    imap = oauth_flow.provider_endpoints({"oauth_provider": "microsoft", "mailbox": "INBOX"})
    assert smtp.scopes_default[:2] == (oauth_flow.MS_SMTP_SCOPE, "offline_access")
    assert imap.scopes_default[0] == oauth_flow.MS_IMAP_SCOPE  # inferred from the IMAP settings


def test_a_tenant_that_is_not_a_name_is_bad_input():
    with pytest.raises(FieldError) as info:
        oauth_flow.provider_endpoints({"oauth_provider": "microsoft", "oauth_tenant": "a/../b"})
    assert info.value.field == "settings.oauth_tenant"


def test_unknown_provider_and_missing_issuer_name_the_field():
    with pytest.raises(FieldError) as info:
        oauth_flow.provider_endpoints({"oauth_provider": "yahoo"})
    assert info.value.field == "settings.oauth_provider"
    with pytest.raises(FieldError) as info:
        oauth_flow.provider_endpoints({"oauth_provider": "oidc"})
    assert info.value.field == "settings.oauth_issuer"


def test_oidc_mail_scopes_are_the_non_identity_ones():
    settings = {"oauth_provider": "oidc", "oauth_scopes": ["openid", "email", "offline_access", "mail.send"]}
    assert oauth_flow.mail_scopes(settings) == ("mail.send",)
    assert oauth_flow.missing_scopes(["Mail.Send"], ["openid", "mail.send"]) == []  # case-insensitive
    assert oauth_flow.missing_scopes(["mail.send"], None) == []  # no scope in the answer: as requested
    assert oauth_flow.missing_scopes(["mail.send"], ["openid"]) == ["mail.send"]



def test_scopes_typed_space_separated_are_separate_scopes():
    """An administrator types the Scopes the way providers write them, space-separated: the field keeps
    the line as one entry (it splits on commas), yet the sign-in asks for, and the token check looks for,
    each scope — not for one scope called "openid email offline_access mail"."""
    from desktop.connectors import registry
    raw = {"host": "mail.example.test", "auth": "oauth2", "username": "erin@example.test", "oauth_provider": "oidc",
           "oauth_issuer": "https://id.example.test", "oauth_client_id": "desk",
           "oauth_scopes": "openid email offline_access mail"}
    settings, problems = check_settings(registry()["smtp"].fields, raw)
    assert not [p for p in problems if "scope" in str(p)]
    assert oauth_flow.requested_scopes(settings) == ("openid", "email", "offline_access", "mail")
    assert oauth_flow.mail_scopes(settings) == ("mail",)
    granted = ["openid", "email", "offline_access", "mail"]
    assert oauth_flow.missing_scopes(oauth_flow.mail_scopes(settings), granted) == []


@pytest.mark.parametrize(("error", "code"), [
    ("invalid_grant", errors.OAUTH_SIGN_IN_REQUIRED),
    ("invalid_client", errors.OAUTH_INVALID_CLIENT),
    ("unauthorized_client", errors.OAUTH_INVALID_CLIENT),
    ("access_denied", errors.OAUTH_ACCESS_DENIED),
    ("consent_required", errors.OAUTH_ACCESS_DENIED),
    ("invalid_scope", errors.OAUTH_SCOPE_MISSING),
    ("temporarily_unavailable", errors.OAUTH_REFRESH_FAILED),
])
def test_token_errors_map_to_codes(error, code):
    err = oauth_flow.token_error("oidc", 400, {"error": error})
    assert err.code == code and error in err.message and err.hint


def test_google_invalid_grant_explains_testing_mode():
    err = oauth_flow.token_error("google", 400, {"error": "invalid_grant", "error_description": "Token has been "
                                                                                                 "expired or revoked."})
    assert err.code == errors.OAUTH_SIGN_IN_REQUIRED and "7 days" in err.hint and "In production" in err.hint


def test_error_text_from_the_provider_is_escaped():
    err = oauth_flow.token_error("oidc", 400, {"error": "invalid_grant\x1b[31m", "error_description": "x\r\ny"})
    assert "\x1b" not in err.message and "\r" not in err.message


STATE = "s-123"


@pytest.mark.parametrize(("params", "words", "code"), [
    ({"code": "c"}, "state", errors.PROTOCOL_ERROR),
    ({"code": "c", "state": "other"}, "state", errors.PROTOCOL_ERROR),
    ({"code": "c", "state": STATE, "iss": "https://evil.example"}, "RFC 9207", errors.PROTOCOL_ERROR),
    ({"state": STATE}, "no authorization code", errors.PROTOCOL_ERROR),
    ({"state": STATE, "error": "access_denied"}, "access_denied", errors.OAUTH_ACCESS_DENIED),
    ({"state": STATE, "error": "server_error"}, "server_error", errors.PROTOCOL_ERROR),
    # an error with the wrong state is not ours: it says nothing about this sign-in
    ({"state": "other", "error": "access_denied"}, "state", errors.PROTOCOL_ERROR),
])
def test_redirect_problems(params, words, code):
    err = oauth_signin.redirect_problem(params, STATE, "https://login.example", "oidc")
    assert err is not None and err.code == code and words in err.message


def test_a_good_redirect_and_an_absent_iss_pass():
    assert oauth_signin.redirect_problem({"state": STATE, "code": "c"}, STATE, "https://login.example", "oidc") is None
    assert oauth_signin.redirect_problem({"state": STATE, "code": "c", "iss": "https://login.example/"}, STATE,
                                         "https://login.example", "oidc") is None


def test_sign_in_result_never_shows_tokens():
    from desktop.core.secret import Secret
    r = oauth_signin.SignInResult("oidc", "a@example.test", ["mail"], Secret("at-xyz-1"), Secret("rt-xyz-2"))
    text = repr(r) + str(r.to_dict())
    assert "at-xyz-1" not in text and "rt-xyz-2" not in text and r.to_dict()["refresh_token"] is True


def test_microsoft_iss_is_checked_by_host():
    expected = "https://login.microsoftonline.com/organizations/v2.0"
    tenant = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
    ok = {"state": STATE, "code": "c", "iss": tenant}
    assert oauth_signin.redirect_problem(ok, STATE, expected, "microsoft") is None
    bad = {**ok, "iss": "https://login.evil.example/organizations/v2.0"}
    assert oauth_signin.redirect_problem(bad, STATE, expected, "microsoft").code == errors.PROTOCOL_ERROR
    assert oauth_signin.redirect_problem(ok, STATE, expected, "oidc").code == errors.PROTOCOL_ERROR


def test_the_oauth_libraries_load_only_for_a_sign_in():
    """Start-up must not grow: msal, google-auth-oauthlib, oauthlib and requests are imported only by a
    sign-in (oauth_signin), not by the CLI, the Desk, the connector declarations or the token refresh."""
    import subprocess
    import sys
    code = ("import sys, desktop.cli, desktop.core.service, desktop.core.oauth_flow\n"
            "from desktop.connectors import registry; registry()\n"
            "heavy = [m for m in ('msal', 'google_auth_oauthlib', 'oauthlib', 'requests', 'requests_oauthlib',"
            " 'desktop.core.oauth_signin') if m in sys.modules]\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""


def test_the_sign_in_hint_fits_a_connector_being_set_up_and_a_saved_one():
    for provider in ("google", "microsoft", "oidc"):
        hint = oauth_flow._sign_in_hint(provider)
        assert "Sign in… on the sign-in page" in hint and "Sign in again…" in hint and "sign-in NAME" in hint
