"""Rotation (DESIGN.md §4.9): pending → validated → current; the previous value stays for a grace
period; any failure leaves current as it was. Against real Postfix + Dovecot."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

import keyring
import pytest

from desktop.connectors import registry
from desktop.core.deadline import CancelToken
from desktop.core.errors import InputErrors
from desktop.core.secret import Secret
from desktop.core.service import Desk
from desktop.core.vault import service_name
from tests.conftest import ROOT, import_smtp_for


@pytest.fixture
def carol(mail, certs, app_home):  # type: ignore[no-untyped-def]
    user = mail.users[2]
    desk = Desk(registry(), app_home)
    import_smtp_for(desk, mail, certs, user, "rot")
    return desk, user


def stored(app_home, key):  # type: ignore[no-untyped-def]
    return keyring.get_password(service_name(app_home), key)


def test_a_failing_new_value_leaves_current_as_it_was(carol, app_home):
    desk, user = carol
    r = desk.rotate("rot", "password", Secret("not-the-new-password"))
    assert r.error.code == "auth_failed"
    assert [s.name for s in r.steps][0] == "pending"
    assert stored(app_home, "rot/password") == user.password
    assert stored(app_home, "rot/password#pending") is None
    assert desk.validate_saved("rot").ok


def test_rotation_validates_then_promotes_and_keeps_the_previous(carol, mail, app_home):
    desk, user = carol
    old, new = user.password, "carol-" + secrets.token_hex(8)
    mail.set_password(user.address, new)  # the administrator changed it at the server
    try:
        assert desk.validate_saved("rot").error.code == "auth_failed"  # the stored one is now stale
        r = desk.rotate("rot", "password", Secret(new))
        assert r.ok, r.error
        assert [s.name for s in r.steps][-1] == "promote"
        assert stored(app_home, "rot/password") == new
        assert stored(app_home, "rot/password#previous") == old
        assert stored(app_home, "rot/password#pending") is None
        assert "rot" in [c.name for c in desk.list() if c.previous_until.get("password")]
        assert desk.validate_saved("rot").ok
        desk.rollback("rot", "password")
        assert stored(app_home, "rot/password") == old and stored(app_home, "rot/password#previous") is None
        with pytest.raises(InputErrors):
            desk.rollback("rot", "password")  # nothing left to restore
    finally:
        mail.set_password(user.address, old)


def test_expired_previous_values_are_purged(carol, mail, app_home):
    desk, user = carol
    old, new = user.password, "carol-" + secrets.token_hex(8)
    mail.set_password(user.address, new)
    try:
        assert desk.rotate("rot", "password", Secret(new), grace_hours=-1).ok
        assert desk.purge_expired() == ["rot/password"]
        assert stored(app_home, "rot/password#previous") is None
        assert desk.get("rot").previous_until == {}
    finally:
        mail.set_password(user.address, old)


def test_cancelled_rotation_changes_nothing(carol, app_home):
    desk, user = carol
    token = CancelToken()
    token.cancel()
    r = desk.rotate("rot", "password", Secret("whatever-new"), cancel=token)
    assert r.error.code == "cancelled"
    assert stored(app_home, "rot/password") == user.password and stored(app_home, "rot/password#pending") is None


def test_bad_rotation_input_names_the_field(carol):
    desk, user = carol
    with pytest.raises(InputErrors) as e:
        desk.rotate("rot", "api_key", Secret("x"))
    assert "secret" in e.value.fields
    with pytest.raises(InputErrors) as e:
        desk.rotate("rot", "password", Secret(user.password))
    assert "same as the current" in e.value.fields["new_value"]


def test_cli_rotate_and_rollback(carol, mail, app_home):
    desk, user = carol
    old, new = user.password, "carol-" + secrets.token_hex(8)
    env = {**os.environ, "CONNECTOR_DESK_HOME": str(app_home), "NEW_PW": new}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL)
    r = cli("rotate", "rot", "--from-env", "NEW_PW")
    assert r.returncode == 1 and "left as it was" in r.stdout  # the server still has the old one
    mail.set_password(user.address, new)
    try:
        time.sleep(0.05)
        r = cli("rotate", "rot", "--from-env", "NEW_PW", "--json")
        assert r.returncode == 0, r.stdout
        assert new not in r.stdout and old not in r.stdout
        assert cli("rotate", "rot", "--rollback").returncode == 0
        assert stored(app_home, "rot/password") == old
        r = cli("rotate", "rot", "--from-env", "UNSET_VARIABLE")
        assert r.returncode == 2 and "from_env" in r.stderr
    finally:
        mail.set_password(user.address, old)
