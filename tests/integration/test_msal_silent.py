"""Microsoft's token step through msal's silent refresh: a connector whose sign-in kept msal's token cache
(sealed in the keychain) refreshes with ``acquire_token_silent`` for the cached account, and falls back to
the stored refresh token when the cache cannot be used. Against the real oidc-provider over https dressed
as Microsoft's sign-in host (msal's ``oidc_authority``), rotating refresh tokens as Entra does and refusing
a used one. The changed cache is sealed again only after a validation that passed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.connectors.base import ConnectorType
from desktop.core import oauth_flow, oauth_signin
from desktop.core.errors import ConnectorError
from desktop.core.fields import Field, SecretField
from desktop.core.model import Connector
from desktop.core.secret import Secret
from desktop.core.service import Desk
from tests import leaks
from tests.conftest import Certs
from tests.integration.test_oauth_signin import Browser

NAME = "ms-mail"


class MsMail(ConnectorType):
    """SMTP's token side (oauth_flow.access_token, the step "token") and a mail server verdict the test
    sets (settings.refuse)."""

    type_name = "msmail"
    label = "Microsoft mail"
    summary = "test type"
    fields = (Field("oauth_provider", "Provider"), Field("oauth_client_id", "Client id"),
              Field("ca_file", "CA file"), Field("refuse", "Refuse", "bool"))
    secrets = (SecretField("oauth_refresh_token", "Refresh token", optional=True),)

    def validate(self, conn: Any, secrets: Any, run: Any) -> None:
        oauth_flow.access_token(run, conn.settings, secrets, protocol="smtp")
        with run.step("mailserver", "Sign in to the mail server"):
            if conn.settings.get("refuse"):
                raise ConnectorError("auth_failed", "The mail server rejected the token.")


@pytest.fixture(scope="module")
def ms_rotating(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Any]:
    from tests.servers.oauth import OAuthServer
    server = OAuthServer(tmp_path_factory.mktemp("msal-silent") / "oidc-provider.log", rotate=True,
                         tls=(str(certs.good.cert), str(certs.good.key)), prefix="/organizations/v2.0").start()
    yield server
    server.stop()


@pytest.fixture
def desk(app_home: Path, ms_rotating: Any, certs: Certs, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Desk:
    monkeypatch.setenv(oauth_flow.MICROSOFT_LOGIN_ENV, ms_rotating.base)
    monkeypatch.setenv("OAUTH_BROWSER_CA", str(certs.ca.ca_file))
    d = Desk({"msmail": MsMail()}, app_home)
    settings = {"oauth_provider": "microsoft", "oauth_client_id": ms_rotating.public_client,
                "ca_file": str(certs.ca.ca_file)}
    d.save(Connector(name=NAME, type="msmail", settings=settings), {})
    browser = Browser(tmp_path, monkeypatch)
    signed = d.sign_in(NAME, browser.open, timeout_s=30)
    browser.entries()
    assert signed.ok, signed.error
    assert cache_of(d) is not None  # the sign-in kept msal's cache, sealed
    return d


def vault(desk: Desk, secret: str) -> Secret | None:
    return desk.vault.get(f"{NAME}/{secret}")


def cache_of(desk: Desk) -> Secret | None:
    return vault(desk, "oauth_token_cache")


def refresh_tokens_in(cache: Secret | None) -> list[Secret]:
    """The refresh tokens in msal's cache (as Secret: a failed assertion prints no token)."""
    assert cache is not None
    return [Secret(rt["secret"]) for rt in json.loads(cache.reveal()).get("RefreshToken", {}).values()]


def token_step(result: Any) -> Any:
    return next(s for s in result.steps if s.name == "token")


def test_validation_refreshes_through_msal_and_seals_the_new_cache(desk):
    # The sign-in's own validation already rotated the refresh token (kept), after msal's cache was made:
    # the first validation has msal refresh with the stored one; from then on the cache is in step.
    hows = ["msal, with the stored refresh token", "msal, from the sealed token cache",
            "msal, from the sealed token cache"]
    for how in hows:  # each refresh rotates the refresh token, and the server refuses the used one
        before = cache_of(desk)
        r = desk.validate_saved(NAME)
        assert r.ok, r.error
        assert how in token_step(r).detail
        assert any("msal acquire_token_" in line for line in r.transcript)
        after = cache_of(desk)
        assert after is not None and after != before  # sealed again, holding the new refresh token
        stored = vault(desk, "oauth_refresh_token")
        assert stored is not None and refresh_tokens_in(after) == [stored]  # both in step
        data = json.dumps(r.to_dict()).encode()
        for secret in (after, stored, before):
            clean = secret is not None and not leaks.leaked(data, secret.reveal())
            assert clean  # (a bool: a failed assertion prints no token)


def test_the_cache_is_not_sealed_again_when_the_validation_fails(desk):
    before = cache_of(desk)
    refusing = desk.get(NAME)
    refusing.settings["refuse"] = True
    desk.catalogue.put([(refusing, None, False)])
    r = desk.validate_saved(NAME)
    assert r.error.code == "auth_failed" and "msal" in token_step(r).detail
    assert cache_of(desk) == before  # not kept: the run failed
    # The provider's new refresh token was kept (it already refuses the old one), so the cache is now
    # behind it: the next validation has msal refresh with the stored one, passes, and the cache catches up.
    stored = vault(desk, "oauth_refresh_token")
    assert stored is not None and refresh_tokens_in(before) != [stored]
    ok = desk.get(NAME)
    ok.settings["refuse"] = False
    desk.catalogue.put([(ok, None, False)])
    again = desk.validate_saved(NAME)
    assert again.ok, again.error
    assert "msal, with the stored refresh token" in token_step(again).detail
    assert any("another refresh token than the stored one" in line for line in again.transcript)
    now = vault(desk, "oauth_refresh_token")
    assert now is not None and now in refresh_tokens_in(cache_of(desk))
    then = desk.validate_saved(NAME)  # and from then on, silently from the cache again
    assert then.ok, then.error
    assert "msal, from the sealed token cache" in token_step(then).detail


def test_a_cache_without_an_account_refreshes_with_the_stored_token(desk):
    desk.vault.set(f"{NAME}/oauth_token_cache", Secret("{}"))
    r = desk.validate_saved(NAME)
    assert r.ok, r.error
    assert any("no account in the token cache" in line for line in r.transcript)
    assert "msal, with the stored refresh token" in token_step(r).detail
    stored = vault(desk, "oauth_refresh_token")
    assert stored is not None and refresh_tokens_in(cache_of(desk)) == [stored]


def test_an_unreadable_cache_falls_back_to_the_refresh_token(desk):
    desk.vault.set(f"{NAME}/oauth_token_cache", Secret("not json"))
    r = desk.validate_saved(NAME)
    assert r.ok, r.error
    assert any("could not be read" in line for line in r.transcript)
    assert any("grant_type=refresh_token" in line for line in r.transcript) and "msal" not in token_step(r).detail
    assert cache_of(desk) == Secret("not json")  # nothing new to seal


def test_a_revoked_sign_in_through_msal_is_sign_in_required(desk):
    """msal's refusal maps to our codes like the direct refresh's: the cached refresh token no longer
    works (here: it was already used, this server rotates and refuses a used one)."""
    r = desk.validate_saved(NAME)
    assert r.ok, r.error
    used = cache_of(desk)
    r2 = desk.validate_saved(NAME)
    assert r2.ok, r2.error
    desk.vault.set(f"{NAME}/oauth_token_cache", used)  # an old cache …
    desk.vault.set(f"{NAME}/oauth_refresh_token", refresh_tokens_in(used)[0])  # … and its (used) refresh token
    r3 = desk.validate_saved(NAME)
    assert r3.error.code == "oauth_sign_in_required" and r3.error.step == "token"
    assert "msal" in " ".join(r3.transcript)


def test_without_a_cache_nothing_changes(desk):
    desk.vault.delete(f"{NAME}/oauth_token_cache")
    r = desk.validate_saved(NAME)
    assert r.ok, r.error
    assert not any("msal" in line for line in r.transcript) and cache_of(desk) is None


def test_the_wizards_sign_in_keeps_the_rotated_token_and_msals_cache(app_home, ms_rotating, certs, tmp_path,
                                                                     monkeypatch):
    """The wizard's way, in core terms: sign in on the page, validate the draft (the provider rotates the
    refresh token and refuses the used one), save — the saved connector then validates, through msal."""
    from desktop.core.pipeline import Run, execute
    from desktop.core.wizard import WizardFlow
    monkeypatch.setenv(oauth_flow.MICROSOFT_LOGIN_ENV, ms_rotating.base)
    monkeypatch.setenv("OAUTH_BROWSER_CA", str(certs.ca.ca_file))
    types = {"msmail": MsMail()}
    d = Desk(types, app_home)
    draft = Connector(name=NAME, type="msmail", settings={"oauth_provider": "microsoft", "ca_file": str(
        certs.ca.ca_file), "oauth_client_id": ms_rotating.public_client})
    flow = WizardFlow(types, set(), existing=draft, duplicate=True)
    browser = Browser(tmp_path, monkeypatch)
    box: list[Any] = []
    signed = execute(NAME, "msmail", "sign-in", Run(30.0), lambda r: box.append(
        oauth_signin.sign_in(r, draft.settings, {}, browser.open)))
    browser.entries()
    assert signed.ok, signed.error
    flow.set_secret("oauth_refresh_token", box[0].refresh_token.reveal())
    flow.token_cache = box[0].token_cache
    checked = d.validate(flow.connector(), flow.needed_secrets())
    assert checked.ok, checked.error
    flow.record_validation(checked)
    assert flow.validated_ok  # the rotated token is the form's now, and the check still counts
    d.save(flow.connector(), flow.needed_secrets(), token_cache=flow.token_cache)
    assert cache_of(d) is not None
    again = d.validate_saved(NAME)
    assert again.ok, again.error  # the used refresh token would be refused here
    assert "msal" in token_step(again).detail
