"""Headless commands (DESIGN.md §3). Exit codes: 0 ok, 1 the check failed, 2 bad input."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Unused:
    """Stands in for the parser of a command that is not being run: nothing is declared on it."""

    def add_argument(self, *_a: Any, **_k: Any) -> None:
        pass

    def add_subparsers(self, *_a: Any, **_k: Any) -> _Unused:
        return self

    def add_parser(self, *_a: Any, **_k: Any) -> _Unused:
        return self


def _command_of(given: Sequence[str]) -> str | None:
    """The command ``given`` names, when that is plain without a parser: the first word that is not
    an option (nor --workspace's value), with no help asked for before it. None otherwise."""
    skip = False
    for word in given:
        if skip:
            skip = False
        elif len(word) > 3 and "--workspace".startswith(word):  # argparse takes "--work NAME" too
            skip = True
        elif word in ("-h", "--help"):
            return None
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


_QUICK_FLAGS = {"--json": "json", "--all": "all", "--trust-api-base": "trust_api_base"}


def _quick_validate(given: Sequence[str]) -> Any:
    """The arguments of ``validate NAME…`` / ``validate --spec FILE`` with ``--json``, ``--all``,
    ``--trust-api-base`` — the forms scripts run most — read as argparse reads them, without
    argparse (with gettext, locale and shutil ~4 ms of a ~75 ms run). None for anything else
    (an option's other spellings, a value starting with "-", names on both sides of an option…):
    argparse reads those, and says what is wrong."""
    if not given or given[0] != "validate":
        return None
    from types import SimpleNamespace
    out: dict[str, Any] = {"version": False, "smoke": False, "command": "validate", "workspace": None,
                           "name": [], "all": False, "spec": None, "trust_api_base": False, "json": False}
    words = list(given[1:])
    after_name = False
    while words:
        word = words.pop(0)
        if word in _QUICK_FLAGS:
            out[_QUICK_FLAGS[word]] = True
        elif word == "--spec" and out["spec"] is None and words and not words[0].startswith("-"):
            out["spec"] = Path(words.pop(0))
        elif word.startswith("-") or (out["name"] and not after_name):  # argparse takes names in one run
            return None
        else:
            out["name"].append(word)
        after_name = word not in _QUICK_FLAGS and word != "--spec"
    return SimpleNamespace(**out)


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser. Given ``command``, only that command's parser is built (all of them
    took ~7 ms of every run); argparse is imported here only (not on the way to the window)."""
    import argparse

    p = argparse.ArgumentParser(prog="connector-desk",
                                description="Set up and check messaging and e-mail connectors. "
                                            "Without a command, the application window opens.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("--smoke", action="store_true", help="start the window, exit 0 once it is painted")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    unused = _Unused()

    def add(name: str, **kw: Any) -> Any:
        return sub.add_parser(name, **kw) if command in (None, name) else unused

    s = add("list", help="list saved connectors and their status")
    s.add_argument("--json", action="store_true")

    s = add("validate", help="check a saved connector, or a connector document, live; several "
                             "names or --all check them in parallel")
    s.add_argument("name", nargs="*", help="a saved connector (several: checked in parallel)")
    s.add_argument("--all", action="store_true", help="check every saved connector, in parallel")
    s.add_argument("--spec", type=Path, help="a connector document (JSON) instead of a saved connector")
    s.add_argument("--trust-api-base", action="store_true",
                   help="confirm sending the SendGrid API key to the document's API address override")
    s.add_argument("--json", action="store_true")

    s = add("test-send", help="send a real test message through a connector")
    s.add_argument("name", nargs="?")
    s.add_argument("--spec", type=Path)
    s.add_argument("--to", required=True, help="the test recipient")
    s.add_argument("--trust-api-base", action="store_true",
                   help="confirm sending the SendGrid API key to the document's API address override")
    s.add_argument("--json", action="store_true")

    s = add("peek", help="show the newest messages of a mailbox, or a Kafka dead-letter topic's "
                         "newest records (read-only)")
    s.add_argument("name", nargs="?")
    s.add_argument("--spec", type=Path)
    s.add_argument("--count", type=int, default=10)
    s.add_argument("--json", action="store_true")

    s = add("produce", help="produce a test record to a Kafka connector's topic and read it back")
    s.add_argument("name", nargs="?")
    s.add_argument("--spec", type=Path)
    s.add_argument("--json", action="store_true")

    s = add("folders", help="list the folders of a mailbox connector's account")
    s.add_argument("name", nargs="?")
    s.add_argument("--spec", type=Path)
    s.add_argument("--json", action="store_true")

    s = add("roundtrip", help="send a tagged message through SMTP_NAME and wait for it in IMAP_NAME")
    s.add_argument("sender", metavar="SMTP_NAME")
    s.add_argument("receiver", metavar="IMAP_NAME")
    s.add_argument("--to", help="the address that delivers into IMAP_NAME's mailbox (default: its user name)")
    s.add_argument("--json", action="store_true")

    s = add("rotate", help="replace a secret: validated before it becomes current; the previous "
                           "one is kept for a grace period")
    s.add_argument("name")
    s.add_argument("--secret", default=None, help="which secret (default: the connector's only/first one)")
    s.add_argument("--from-env", metavar="VAR", help="read the new value from this environment variable")
    s.add_argument("--grace-hours", type=float, default=24.0)
    s.add_argument("--rollback", action="store_true", help="restore the previous value instead")
    s.add_argument("--json", action="store_true")

    s = add("sign-in", help="OAuth: sign in with the system browser (or a device code) and keep the "
                            "new refresh token only after a validation with it passes")
    s.add_argument("name")
    s.add_argument("--device-code", action="store_true",
                   help="no browser here: show a code to enter on another device (RFC 8628)")
    s.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the sign-in (default 300)")
    s.add_argument("--json", action="store_true")

    s = add("doctor", help="show the version, data folder and keychain in use, and prove the "
                           "keychain stores and returns a secret")
    s.add_argument("--json", action="store_true")

    s = add("import", help="import connector documents; secrets go to the keychain")
    s.add_argument("files", nargs="+", type=Path)
    s.add_argument("--replace", action="store_true", help="replace connectors with the same name")
    s.add_argument("--trust-api-base", action="store_true",
                   help="keep a SendGrid document's confirmation of its API address override (dropped otherwise)")
    s.add_argument("--json", action="store_true")

    s = add("export", help="write connector documents (secrets as references)")
    s.add_argument("names", nargs="*")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--with-secrets", action="store_true",
                   help="seal the secrets into the file with a passphrase "
                        "(CONNECTOR_DESK_EXPORT_PASSPHRASE, or asked for)")

    s = add("discover", help="find and check mail settings (SMTP, IMAP) from an e-mail address; "
                             "no credential is sent")
    s.add_argument("address")
    s.add_argument("--timeout", type=float, default=10.0, help="overall deadline in seconds (default 10)")
    s.add_argument("--ca-file", help="extra trust anchors (PEM) for internal certificate authorities")
    s.add_argument("--json", action="store_true")

    s = add("failures", help="failed sends: Kafka dead letters, SMTP bounces, SendGrid suppressions")
    s.add_argument("name", nargs="?")
    s.add_argument("--all", action="store_true", help="of every connector that has a source of failed sends")
    s.add_argument("--limit", type=int, default=100, help="at most this many, newest first (default 100)")
    s.add_argument("--json", action="store_true")

    s = add("replay", help="produce Kafka dead letters back to their original topic (asks first)")
    s.add_argument("name")
    s.add_argument("ids", nargs="+", metavar="ID", help="dead letter ids as `failures` shows them")
    s.add_argument("--yes", action="store_true", help="do not ask")
    s.add_argument("--force", action="store_true", help="replay even a record that was replayed before")
    s.add_argument("--json", action="store_true")

    s = add("unsuppress", help="remove an address from a SendGrid suppression list (asks first)")
    s.add_argument("name")
    s.add_argument("email")
    s.add_argument("--list", dest="kind", required=True,
                   choices=("bounces", "blocks", "invalid_emails", "spam_reports", "unsubscribes"))
    s.add_argument("--yes", action="store_true", help="do not ask")
    s.add_argument("--json", action="store_true")

    s = add("outbox", help="test sends and replays that failed temporarily, retried with backoff")
    s.add_argument("--retry", nargs="*", metavar="ID", help="attempt the due entries now (or exactly these)")
    s.add_argument("--remove", metavar="ID", help="cancel an entry")
    s.add_argument("--json", action="store_true")
    _team_commands(add)
    p.add_argument("--workspace", metavar="NAME", help="the workspace to use (default: CONNECTOR_DESK_WORKSPACE, "
                                                       "else the one chosen with `workspace use`, else local)")
    for s in sub.choices.values():
        s.add_argument("--workspace", metavar="NAME", default=argparse.SUPPRESS,
                       help="the workspace to use (local or a team vault)")
    return p


def _team_commands(add: Any) -> None:
    s = add("workspace", help="list, add or choose workspaces: local, or a team vault")
    ws = s.add_subparsers(dest="ws_command", metavar="ACTION", required=True)
    w = ws.add_parser("add", help="add a team vault (OpenBao or HashiCorp Vault, KV version 2)")
    w.add_argument("ws_name", metavar="NAME")
    w.add_argument("--vault", required=True, metavar="URL", help="the vault's address, https://…")
    w.add_argument("--mount", default="secret", help="the KV version 2 mount (default: secret)")
    w.add_argument("--prefix", default="connector-desk", help="path prefix (default: connector-desk)")
    w.add_argument("--ca-file", default="", metavar="PEM", help="the CA that issued the vault's certificate")
    w.add_argument("--timeout", type=float, default=10.0, help="seconds each call to the vault may take")
    w = ws.add_parser("use", help="make a workspace the default")
    w.add_argument("ws_name", metavar="NAME")
    w = ws.add_parser("list", help="list workspaces")
    w.add_argument("--json", action="store_true")
    w = ws.add_parser("login", help="sign in to a team vault with a user name (the token goes to the keychain)")
    w.add_argument("ws_name", metavar="NAME")
    w.add_argument("--username", required=True)
    w.add_argument("--method-mount", default="userpass", help="where userpass is mounted (default: userpass)")

    s = add("history", help="a connector's versions in a team vault: time, stage, author")
    s.add_argument("name")
    s.add_argument("--json", action="store_true")

    s = add("migrate", help="copy connectors with their secrets from one workspace to another")
    s.add_argument("--from", dest="source", required=True, metavar="WORKSPACE")
    s.add_argument("--to", dest="target", required=True, metavar="WORKSPACE")
    s.add_argument("--dry-run", action="store_true", help="only say what would be copied")
    s.add_argument("--json", action="store_true")


class BadInput(Exception):
    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("message", ""))
        self.payload = payload


_WORKSPACE: list[str | None] = [None]  # --workspace of this invocation


def _desk(workspace: str | None = None) -> Any:
    from desktop.connectors import registry
    from desktop.core.workspace import open_desk
    return open_desk(registry(), workspace or _WORKSPACE[0])


def _desk_for(args: argparse.Namespace) -> Any:
    """The Desk of a command given NAME or --spec. A document alone reads no workspace, catalogue,
    keychain or vault: its Desk has only the connector types (no platformdirs, no sqlite3)."""
    if args.spec is None or args.name:
        return _desk()
    from desktop.connectors import registry
    from desktop.core.service import Desk
    return Desk(registry())


def _cmd_workspace(args: argparse.Namespace) -> int:
    from desktop.core import workspace
    if args.ws_command == "add":
        ws = workspace.add(args.ws_name, args.vault, args.mount, args.prefix, args.ca_file, args.timeout)
        _say(f"added workspace {ws.name}: {ws.url} (mount {ws.mount}, prefix {ws.prefix})")
    elif args.ws_command == "use":
        ws = workspace.use(args.ws_name)
        _say(f"now using workspace {ws.name}")
    elif args.ws_command == "login":
        from desktop.core.paths import home
        from desktop.core.secret import Secret
        from desktop.core.teamvault import TeamStore
        password = _passphrase("VAULT_PASSWORD", f"Vault password for {args.username}: ")
        if not password:
            raise _field_error("password", "give VAULT_PASSWORD or type it when asked")
        who = TeamStore.sign_in_userpass(workspace.get(args.ws_name), args.username, Secret(password), home(),
                                         args.method_mount)
        _say(f"signed in to {args.ws_name} as {who}; the token is kept in the keychain")
    else:
        items, chosen = workspace.listing()
        if args.json:
            print(json.dumps([{"name": w.name, **w.to_dict(), "current": w.name == chosen} for w in items], indent=2))
        for w in items if not args.json else []:
            where = "catalogue + keychain on this computer" if w.kind == "local" else \
                f"{w.url} mount {w.mount} prefix {w.prefix}"
            _say(f"{'*' if w.name == chosen else ' '} {w.name:<16} {where}")
    return EXIT_OK


def _cmd_history(args: argparse.Namespace) -> int:
    desk = _desk()
    if desk.team is None:
        raise _field_error("workspace", "history is kept by a team vault; the local workspace has none "
                                        "(give --workspace NAME)")
    rows = desk.team.history(args.name)
    if args.json:
        print(json.dumps({"connector": args.name, "versions": [r.to_dict() for r in rows]}, indent=2))
        return EXIT_OK
    for r in rows:
        _say(f"{r.what:<9} v{r.version:<4} {r.time:<20} {r.stage:<20} {r.author}")
    return EXIT_OK


def _cmd_migrate(args: argparse.Namespace) -> int:
    from desktop.core.teamvault import migrate
    if args.source == args.target:
        raise _field_error("to", "give a workspace other than --from")
    plan = migrate(_desk(args.source), _desk(args.target), dry_run=args.dry_run)
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "steps": [s.to_dict() for s in plan.steps]}, indent=2))
    else:
        for st in plan.steps:
            verb = {"copy": "would copy", "copied": "copied", "skip": "skipped", "failed": "FAILED"}[st.action]
            _say(f"{verb:<10} {st.name}  {st.detail}")
        print(f"{'dry run: ' if args.dry_run else ''}{len(plan.steps)} connector(s) from {args.source} to "
              f"{args.target}; the source is unchanged")
    return EXIT_FAILED if any(s.action == "failed" for s in plan.steps) else EXIT_OK


MAX_DEPTH = 32  # a connector document is 4 levels deep; an export 6


def _field_error(field: str, problem: str) -> BadInput:
    return BadInput({"code": "bad_input", "message": f"{field}: {problem}", "fields": {field: problem}})


def _read_json(path: Path, field: str = "file") -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _field_error(field, f"no such file: {path}") from None
    except IsADirectoryError:
        raise _field_error(field, f"{path} is a folder, not a file") from None
    except UnicodeDecodeError:
        raise _field_error(field, f"{path} is not valid JSON (not UTF-8 text)") from None
    except OSError as exc:
        raise _field_error(field, f"{path} cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _field_error(field, f"{path} is not valid JSON ({exc})") from None
    except RecursionError:
        raise _field_error(field, f"{path} is not valid JSON (nested more than {MAX_DEPTH} levels deep)") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise _field_error(field, f"{path} is not valid JSON ({str(exc)[:100]})") from None
    if _depth_over(data, MAX_DEPTH):
        raise _field_error(field, f"{path} is not valid JSON (nested more than {MAX_DEPTH} levels deep)")
    return data


def _depth_over(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return False


def _bad_input(exc: Any) -> dict[str, Any]:
    from desktop.core.errors import InputErrors
    fields = exc.fields if isinstance(exc, InputErrors) else {getattr(exc, "field", "input"): exc.message}
    return {"code": "bad_input", "message": exc.message, "hint": exc.hint, "fields": fields}


def _say(text: str, file: Any = None) -> None:
    """Print a line that may hold untrusted text (a server's answer, a setting): escapes and
    control characters are shown as visible escapes, never acted on by the terminal."""
    from desktop.core.textsafe import escape
    print(escape(text), file=file)


def _print_result(result: Any, as_json: bool) -> int:
    from desktop.core import errors
    from desktop.core.textsafe import json_text
    if as_json:
        print(json_text(result.to_dict(), indent=2))
    else:
        for st in result.steps:
            mark = "✓" if st.ok else "✗"
            _say(f"  {mark} {st.label:<34} {st.ms:8.1f} ms  {st.detail}")
        for label, text in result.facts():
            _say(f"  {label}: {text}")
        if result.ok:
            _say(f"OK: {result.connector} ({result.type}) in {result.ms:.0f} ms")
        else:
            err = result.error
            _say(f"FAILED [{err.code}] at {err.step or 'start'}: {err.message}")
            if err.hint:
                _say(f"  What to do: {err.hint}")
    if result.ok:
        return EXIT_OK
    return EXIT_BAD_INPUT if result.error.code == errors.BAD_INPUT else EXIT_FAILED


def _draft_from_args(desk: Any, args: argparse.Namespace) -> tuple[Any, Any, bool]:
    """(connector, secrets, saved) from NAME or --spec."""
    if args.spec and args.name:
        raise BadInput({"code": "bad_input", "message": "give either NAME or --spec, not both"})
    if args.spec:
        draft = desk.connector_from_document(_read_json(args.spec, "spec"), os.environ)
        return _trusted(draft.connector, args), draft.secrets, False
    if not args.name:
        raise BadInput({"code": "bad_input", "message": "name: give a saved connector's name, or --spec FILE",
                        "fields": {"name": "is required"}})
    conn = desk.get(args.name)
    return _trusted(conn, args), desk.load_secrets(conn), True


def _without_confirmation(doc: Any) -> Any:
    """``doc`` without ``settings.api_base_confirmed``: a file cannot confirm where the key goes."""
    settings = doc.get("settings") if isinstance(doc, dict) else None
    if not isinstance(settings, dict) or "api_base_confirmed" not in settings:
        return doc
    return {**doc, "settings": {k: v for k, v in settings.items() if k != "api_base_confirmed"}}


def _trusted(conn: Any, args: argparse.Namespace) -> Any:
    """``conn`` with its SendGrid API address override confirmed for this run (--trust-api-base)."""
    if getattr(args, "trust_api_base", False) and conn.type == "sendgrid":
        conn = conn.copy()
        conn.settings["api_base_confirmed"] = True
    return conn


def _cmd_list(args: argparse.Namespace) -> int:
    desk = _desk()
    conns = desk.list()
    unknown = [c for c in conns if c.type not in desk.types]
    conns = [c for c in conns if c.type in desk.types]
    for note in desk.catalogue.report.notes:
        print(f"note: {note}", file=sys.stderr)
    for c in unknown:
        print(f"note: skipped {_safe(c.name)}: its type {_safe(c.type)!r} is unknown to this version", file=sys.stderr)
    if args.json:
        print(json.dumps([{"name": c.name, "type": c.type, "server": desk.ctype(c).server_label(c.settings),
                           "description": c.description, "status": c.status.to_dict(),
                           "warnings": desk.ctype(c).warnings(c.settings)} for c in conns], indent=2))
        return EXIT_OK
    if not conns:
        print("No connectors yet. Create one in the application, or: connector-desk import FILE")
        return EXIT_OK
    for c in conns:
        st = c.status
        status = {"valid": f"valid at {st.at}", "failed": f"failed: {st.message}"}.get(st.state, "never validated")
        _say(f"{c.name:<24} {c.type:<9} {desk.ctype(c).server_label(c.settings):<32} {status}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.all or len(args.name) > 1:
        return _cmd_validate_many(args)
    args.name = args.name[0] if args.name else None
    desk = _desk_for(args)
    conn, secrets, saved = _draft_from_args(desk, args)
    if saved:  # as Desk.validate_saved: msal's token cache in, a rotated refresh token kept
        secrets = desk.with_token_cache(conn, secrets)
    result = desk.validate(conn, secrets)
    if saved:
        desk.keep_renewed(conn, result)
    code = _print_result(result, args.json)
    if saved:
        from desktop.core.store import CatalogueError
        try:
            desk.record(conn.name, result)
        except CatalogueError as exc:  # e.g. a newer catalogue: checked, but its status is not written
            print(f"note: the outcome was not recorded: {exc.problem}", file=sys.stderr)
    return code


def _cmd_validate_many(args: argparse.Namespace) -> int:
    """``validate --all`` / ``validate A B C``: in parallel, one line per result as it arrives."""
    from desktop.core import health
    from desktop.core.textsafe import json_text
    if args.spec:
        raise BadInput({"code": "bad_input", "message": "give --spec alone, not with --all or several names"})
    if args.all and args.name:
        raise BadInput({"code": "bad_input", "message": "give either --all or names, not both"})

    def show(result: Any) -> None:
        if args.json:
            return
        err = result.error
        line = "✓ valid" if result.ok else f"✗ [{err.code}] {err.message}"
        _say(f"  {result.connector:<24} {result.type:<9} {result.ms:8.0f} ms  {line}")
        sys.stdout.flush()

    results, summary = health.validate_all(_desk(), args.name, on_result=show)
    if args.json:
        print(json_text({"ok": summary.failed == 0 and summary.cancelled == 0, "summary": summary.to_dict(),
                         "results": [r.to_dict() for r in results]}, indent=2))
    else:
        _say(summary.text() if results else "No connectors yet.")
    return EXIT_OK if summary.failed == 0 and summary.cancelled == 0 else EXIT_FAILED


def _cmd_test_send(args: argparse.Namespace) -> int:
    desk = _desk_for(args)
    conn, secrets, saved = _draft_from_args(desk, args)
    if saved and not args.trust_api_base:  # a temporary failure is kept in the outbox and retried
        from desktop.core import health
        result, queued = health.test_send(desk, conn.name, args.to)
    else:
        result, queued = desk.test_send(conn, secrets, args.to), None
    code = _print_result(result, args.json)
    if queued is not None and not args.json:
        _say(f"  Kept in the outbox as {queued.id}; retried from {queued.next_attempt} (connector-desk outbox).")
    return code


def _cmd_peek(args: argparse.Namespace) -> int:
    desk = _desk_for(args)
    conn, secrets, _saved = _draft_from_args(desk, args)
    result = desk.peek(conn, secrets, max(1, min(args.count, 200)))
    code = _print_result(result, args.json)
    if not args.json and result.ok:
        listing = desk.ctype(conn).listing(result.info)
        for line in listing.plain if listing is not None else ():
            _say(f"  {line}")
        if listing is None or not listing.rows:
            print("  (empty)")
    return code


def _cmd_produce(args: argparse.Namespace) -> int:
    desk = _desk_for(args)
    conn, secrets, _saved = _draft_from_args(desk, args)
    return _print_result(desk.produce(conn, secrets), args.json)


def _cmd_folders(args: argparse.Namespace) -> int:
    desk = _desk_for(args)
    conn, secrets, _saved = _draft_from_args(desk, args)
    result = desk.folders(conn, secrets)
    code = _print_result(result, args.json)
    if not args.json and result.ok:
        for f in result.info.get("folders", []):
            marks = " ".join(f["special_use"]) + ("" if f["selectable"] else " (holds only folders)")
            _say(f"  {f['name']}  {marks}".rstrip())
    return code


def _cmd_roundtrip(args: argparse.Namespace) -> int:
    desk = _desk()
    sender, receiver = desk.get(args.sender), desk.get(args.receiver)
    result = desk.roundtrip(sender, desk.load_secrets(sender), receiver, desk.load_secrets(receiver), args.to)
    code = _print_result(result, args.json)
    if not args.json and result.ok:
        print(f"Delivered in {result.info['delivery_ms']:.0f} ms")
    return code


def _cmd_rotate(args: argparse.Namespace) -> int:
    from desktop.core.secret import Secret
    from desktop.core.service import check_grace_hours
    check_grace_hours(args.grace_hours)  # before anything is written
    desk = _desk()
    conn = desk.get(args.name)
    which = args.secret or (conn.secret_names[0] if conn.secret_names else "")
    if args.rollback:
        desk.rollback(args.name, which)
        print(f"restored the previous {which} of {args.name}")
        return EXIT_OK
    value = os.environ.get(args.from_env) if args.from_env else _passphrase("", f"New {which}: ")
    if not value:
        raise BadInput({"code": "bad_input", "message": "new value: give --from-env VAR (set and not empty)",
                        "fields": {"from_env": "the new value is missing"}})
    result = desk.rotate(args.name, which, Secret(value), args.grace_hours)
    code = _print_result(result, args.json)
    if not args.json and not result.ok:
        print("  The current value was left as it was.")
    return code


def _cmd_sign_in(args: argparse.Namespace) -> int:
    import webbrowser

    desk = _desk()
    out = sys.stderr if args.json else sys.stdout

    def open_browser(url: str) -> None:
        # webbrowser honours $BROWSER; the address is printed too, for a browser on another screen.
        _say("Opening the browser to sign in. If it does not open, visit:", out)
        _say(f"  {url}", out)
        webbrowser.open(url)

    def show_code(user_code: str, uri: str, complete: str) -> None:
        _say(f"On any device with a browser, open {uri} and enter the code {user_code}", out)
        if complete:
            _say(f"  (or open {complete})", out)

    result = desk.sign_in(args.name, open_browser, device=args.device_code, show_code=show_code,
                          timeout_s=args.timeout)
    code = _print_result(result, args.json)
    if not args.json:
        info = result.info
        if info.get("account") or info.get("scopes"):
            _say(f"  Account: {info.get('account') or '?'}; scopes: {' '.join(info.get('scopes') or [])}")
        for warning in info.get("warnings") or []:
            _say(f"  Warning: {warning}")
        if result.ok:
            print("  The new refresh token is in the keychain; the previous one is kept for 24 hours.")
        elif any(st.name == "pending" for st in result.steps):
            print("  The stored sign-in was left as it was.")
    return code


def _passphrase(env: str, prompt: str) -> str | None:
    value = os.environ.get(env) if env else None
    if value:
        return value
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass
        return getpass.getpass(prompt)
    return None


def _cmd_import(args: argparse.Namespace) -> int:
    from desktop.core import bundle
    from desktop.core.errors import ConnectorError, InputErrors
    desk = _desk()
    items: list[tuple[Any, Any]] = []
    where: list[str] = []
    for path in args.files:
        data = _read_json(path)
        sealed: dict[str, Any] = {}
        if isinstance(data, dict) and "sealed_secrets" in data:
            sealed = bundle.open_sealed(data, _passphrase("CONNECTOR_DESK_EXPORT_PASSPHRASE", "Passphrase: "))
        for i, doc in enumerate(bundle.documents_of(data)):
            where.append(f"{path}" + (f"[{i}]" if not isinstance(data, dict) or "connectors" in data else ""))
            name = doc.get("name") if isinstance(doc, dict) else None
            doc = doc if args.trust_api_base else _without_confirmation(doc)
            items.append((bundle.strip_sealed_refs(doc), sealed.get(name) if isinstance(name, str) else None))
    imported, failed = [], []
    for place, outcome in zip(where, desk.import_documents(items, os.environ, replace=args.replace), strict=True):
        if isinstance(outcome, InputErrors | ConnectorError):
            failed.append({"where": place, **(_bad_input(outcome) if outcome.code == "bad_input"
                                              else outcome.to_dict())})
        else:
            imported.append(outcome.name)
    if args.json:
        print(json.dumps({"imported": imported, "failed": failed}, indent=2))
    else:
        for n in imported:
            _say(f"imported {n}")
        for f in failed:
            for field, problem in (f.get("fields") or {"": f["message"]}).items():
                _say(f"error: {f['where']}: {field}: {problem}" if field else f"error: {f['where']}: {problem}",
                     file=sys.stderr)
    if failed:
        return EXIT_BAD_INPUT if all(f.get("code") == "bad_input" for f in failed) else EXIT_FAILED
    return EXIT_OK


def _safe(text: Any) -> str:
    """Untrusted text for the terminal: control characters and lone surrogates escaped."""
    from desktop.core.textsafe import escape
    return escape(str(text))


def _out_path(path: Path) -> Path:
    if path.is_dir():
        raise _field_error("out", f"{path} is a folder; give a file name")
    return path


def _cmd_export(args: argparse.Namespace) -> int:
    from desktop.core import bundle
    from desktop.core.atomic import write_atomic
    from desktop.core.model import to_document
    out = _out_path(args.out)
    desk = _desk()
    conns = desk.list()
    if args.names:
        known = {c.name for c in conns}
        missing = [n for n in args.names if n not in known]
        if missing:
            raise BadInput({"code": "bad_input", "message": f"names: no connector named {', '.join(missing)}",
                            "fields": {"names": f"unknown: {', '.join(missing)}"}})
        conns = [c for c in conns if c.name in args.names]
    docs = [to_document(c, fields=desk.ctype(c).fields) for c in conns]
    secrets = None
    passphrase = None
    if args.with_secrets:
        passphrase = _passphrase("CONNECTOR_DESK_EXPORT_PASSPHRASE", "Passphrase for the export: ")
        secrets = {c.name: desk.load_secrets(c) for c in conns}
    data = bundle.make(docs, secrets, passphrase)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    except OSError as exc:
        raise _field_error("out", f"{out} cannot be written ({exc.strerror})") from None
    print(f"exported {len(docs)} connector(s) to {args.out}"
          + ("" if args.with_secrets else "; secrets are written as environment references"))
    return EXIT_OK


def _cmd_discover(args: argparse.Namespace) -> int:
    from desktop.core.discover import discover
    if not 0 < args.timeout <= 120:
        raise BadInput({"code": "bad_input", "message": "timeout: give 0 < seconds ≤ 120",
                        "fields": {"timeout": "must be more than 0 and at most 120 seconds"}})
    progress = None if args.json else (lambda e: _say(f"  {e['text']}") if isinstance(e, dict) else None)
    result = discover(args.address, args.timeout, progress, ca_file=args.ca_file)
    if args.json:
        from desktop.core.textsafe import json_text
        print(json_text(result.to_dict(), indent=2))
    else:
        for c in result.candidates:
            mark = "✓" if c.verified else "✗"
            auth = " ".join(c.auth) or "-"
            _say(f"{mark} {c.type.upper():<4} {c.host}:{c.port} {c.security:<8} AUTH {auth}  [{c.source}]"
                 + ("" if c.verified else f"  {c.reason}"))
            if c.warning:
                _say(f"    warning: {c.warning}")
        if not result.candidates:
            print("No mail servers were found for this address.")
    return EXIT_OK if any(c.verified for c in result.candidates) else EXIT_FAILED


def _confirm(question: str, yes: bool, what: str) -> None:
    """Ask ``question`` (y/N) in a terminal; without one, only ``--yes`` goes ahead (exit 2)."""
    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        problem = f"{what} changes data and there is no terminal to ask in: add --yes to go ahead"
        raise BadInput({"code": "bad_input", "message": problem, "fields": {"--yes": problem}})
    _say(question)
    answer = input("Go ahead? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise BadInput({"code": "bad_input", "message": "not confirmed: nothing was changed"})


def _cmd_failures_all(args: argparse.Namespace) -> int:
    from desktop.core import health
    from desktop.core.textsafe import json_text
    if args.name:
        raise BadInput({"code": "bad_input", "message": "give either NAME or --all, not both"})
    results = health.failures_all(_desk(), max(1, min(args.limit, 100_000)))
    found = [{"connector": r.connector, **f} for r in results if r.ok for f in r.info.get("failures", [])]
    found.sort(key=lambda f: f.get("time") or "", reverse=True)
    problems = [{"connector": r.connector, "error": r.error.to_dict()} for r in results if r.error is not None]
    if args.json:
        print(json_text({"failures": found, "errors": problems}, indent=2))
    else:
        for f in found:
            who = f.get("recipient") if "recipient" in f else f"key={f.get('key')}"
            _say(f"{f['connector']:<24} {f.get('time') or '?'}  {f['id']}  {who} {f.get('status') or ''}  "
                 f"{f['reason']}")
        for p in problems:
            error: Any = p["error"]
            _say(f"{p['connector']:<24} could not read: [{error['code']}] {error['message']}")
        _say(f"{len(found)} failed send(s) across {len(results)} connector(s)")
    return EXIT_FAILED if problems else EXIT_OK


def _cmd_failures(args: argparse.Namespace) -> int:
    from desktop.core import health
    from desktop.core.textsafe import json_text
    if args.all:
        return _cmd_failures_all(args)
    if not args.name:
        raise BadInput({"code": "bad_input", "message": "name: give a saved connector's name, or --all",
                        "fields": {"name": "is required: give a saved connector's name, or --all"}})
    result = health.failures(_desk(), args.name, max(1, min(args.limit, 100_000)))
    if not result.ok:
        return _print_result(result, args.json)
    found = result.info.get("failures", [])
    if args.json:
        print(json_text({"connector": result.connector, "failures": found,
                         "unread": result.info.get("unread", [])}, indent=2))
        return EXIT_OK
    for line in result.info.get("notes", []):
        _say(f"  note: {line}")
    for f in found:
        who = f.get("recipient") if "recipient" in f else f"key={f.get('key')}"
        status = f" {f['status']}" if f.get("status") else ""
        _say(f"{f['id']}  {f.get('time') or '?'}  {who}{status}  {f['reason']}")
        o = f.get("original") or {}
        if f["source"] == "kafka_dead_letter":
            where = ":".join(str(o.get(k, "?")) for k in ("topic", "partition", "offset"))
            _say(f"    original {where}  value ({f['detail'].get('value_bytes')} bytes): "
                 f"{f['detail'].get('value_preview')}")
            for problem in f["detail"].get("problems", []):
                _say(f"    unreadable header: {problem}")
        elif o.get("message_id"):
            _say(f"    original {o['message_id']}" + (f" (our {o['ours']})" if o.get("ours") else ""))
    for day in result.info.get("stats", []):
        _say(f"  {day['date']}  requests {day['requests']}, delivered {day['delivered']}, deferred "
             f"{day['deferred']}, bounces {day['bounces']}, blocks {day['blocks']}, dropped {day['bounce_drops']}")
    from desktop.core.failures import read_outcome
    outcome = read_outcome(result.info)
    _say(f"{result.connector}: {outcome.title}" + (f". {outcome.message}" if outcome.message else ""))
    if outcome.hint:
        _say(f"  what to do: {outcome.hint}")
    return EXIT_OK


def _cmd_replay(args: argparse.Namespace) -> int:
    from desktop.core import health
    desk = _desk()
    conn = desk.get(args.name)
    _confirm(f"Replay {len(args.ids)} dead letter(s) of {conn.name} ({', '.join(args.ids)}) to their original "
             "topic(s)? Consumers will process them again.", args.yes, "replay")
    result, queued = health.replay_or_queue(desk, args.name, args.ids, force=args.force)
    code = _print_result(result, args.json)
    if queued is not None and not args.json:
        _say(f"  Kept in the outbox as {queued.id}; retried from {queued.next_attempt} (connector-desk outbox).")
    if not args.json and result.ok:
        for d in result.info.get("replayed", []):
            _say(f"  replayed {d['id']} → {d['to']}")
    return code


def _cmd_unsuppress(args: argparse.Namespace) -> int:
    from desktop.core import health
    desk = _desk()
    conn = desk.get(args.name)
    from desktop.core.failures import SPAM_REPORT_WARNING
    warning = f"{SPAM_REPORT_WARNING}\n" if args.kind == "spam_reports" else ""
    _confirm(f"{warning}Remove {args.email} from {conn.name}'s {args.kind} list?", args.yes, "unsuppress")
    result = health.unsuppress(desk, args.name, args.kind, args.email)
    code = _print_result(result, args.json)
    return code


def _cmd_outbox(args: argparse.Namespace) -> int:
    from desktop.core import health
    from desktop.core.outbox import Outbox
    desk = _desk()
    box = Outbox(desk.folder)
    if args.remove:
        if not box.remove(args.remove):
            raise BadInput({"code": "bad_input", "message": f"remove: no outbox entry {args.remove}",
                            "fields": {"remove": f"no outbox entry {args.remove}"}})
        print(f"removed {args.remove} from the outbox")
        return EXIT_OK
    failed = False
    if args.retry is not None:
        for entry, result in health.retry_outbox(desk, args.retry):
            failed = failed or not result.ok
            if not args.json:
                error = result.error
                outcome = "sent" if result.ok or error is None else f"[{error.code}] {error.message}"
                _say(f"retried {entry.id} ({entry.action} of {entry.connector}): {outcome}")
    entries = box.entries()
    if args.json:
        print(json.dumps({"entries": [e.to_dict() for e in entries]}, indent=2))
    else:
        for e in entries:
            when = f"next attempt {e.next_attempt}" if e.state == "waiting" else "failed: retry with --retry ID"
            _say(f"{e.id}  {e.action:<9} {e.connector:<24} attempts {e.attempts}  {when}  "
                 f"last error [{e.last_error.get('code')}] {e.last_error.get('message')}")
        if not entries:
            print("The outbox is empty.")
    return EXIT_FAILED if failed else EXIT_OK


def qt_versions() -> dict[str, str]:
    try:
        import PySide6
        from PySide6 import QtCore
    except ImportError as exc:  # a headless gateway host may lack Qt's system libraries
        return {"qt": f"unavailable ({exc})"}
    return {"qt": QtCore.qVersion(), "pyside": PySide6.__version__}


def _cmd_doctor(args: argparse.Namespace) -> int:
    from desktop.core import about
    from desktop.core.errors import ConnectorError

    desk = _desk()
    report: dict[str, Any] = {**about.facts(desk), **qt_versions()}
    try:
        report["keychain_check"] = about.keychain_round_trip(desk)
        ok = True
    except ConnectorError as exc:
        report["keychain_check"] = f"failed: {exc.message}"
        report["error"] = exc.to_dict()
        ok = False
    report["ok"] = ok
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key in ("version", "python", "qt", "pyside", "platform", "frozen", "data_folder", "keychain_backend",
                    "keychain_check"):
            if key in report:
                print(f"{key.replace('_', ' '):<17} {report[key]}")
        if not ok and report["error"].get("hint"):
            print(f"  What to do: {report['error']['hint']}")
    return EXIT_OK if ok else EXIT_FAILED


def _home_is_a_file() -> str:
    home = os.environ.get("CONNECTOR_DESK_HOME")
    if home and os.path.exists(home) and not os.path.isdir(home):
        return f"{home} is a file; it must name a folder (it is created if missing)"
    return ""


COMMANDS = {
    "list": _cmd_list, "validate": _cmd_validate, "test-send": _cmd_test_send, "peek": _cmd_peek,
    "folders": _cmd_folders, "produce": _cmd_produce, "roundtrip": _cmd_roundtrip, "rotate": _cmd_rotate,
    "import": _cmd_import, "export": _cmd_export, "doctor": _cmd_doctor, "discover": _cmd_discover,
    "failures": _cmd_failures, "replay": _cmd_replay, "unsuppress": _cmd_unsuppress,
    "outbox": _cmd_outbox, "sign-in": _cmd_sign_in,
    "workspace": _cmd_workspace, "history": _cmd_history, "migrate": _cmd_migrate,
}


def _exit_now(code: int) -> int:
    """End this headless process with ``code`` without the interpreter's tear-down (module by
    module, ~12–16 ms of a ~100 ms command), once nothing is left to it: stdout and stderr flushed
    (a reader that went away is said as any write to it is: exit 1), the exit handlers run
    (logging's flushes and closes the log file; temporary folders…). SQLite connections are per
    operation, closed by then. A thread that is not a daemon still running: the interpreter's own
    exit waits for it, so it is left to do that (``code`` returned)."""
    threading = sys.modules.get("threading")
    if threading is not None and any(t.is_alive() and not t.daemon and t is not threading.main_thread()
                                     for t in threading.enumerate()):
        return code
    try:
        if sys.stdout is not None:  # None: pythonw (the gui-script on Windows)
            sys.stdout.flush()
    except OSError as exc:  # a reader gone, a full disk: as the OSError of a command's print (_headless)
        code = EXIT_FAILED
        print(f"error: {exc.strerror or exc}", file=sys.stderr)
    import atexit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except OSError:
            pass
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line. Called as the process's own (``argv`` None: the console script,
    ``python -m desktop``), a headless command ends the process through :func:`_exit_now`; called
    with ``argv`` (tests, other programs), it returns the exit code."""
    given = list(sys.argv[1:] if argv is None else argv)
    if given == ["--version"]:  # answered before the command parser is built
        print(f"connector-desk {__version__}")
        return _exit_now(EXIT_OK) if argv is None else EXIT_OK
    if given in ([], ["--smoke"]):
        if _home_is_a_file():
            print(f"error: CONNECTOR_DESK_HOME: {_home_is_a_file()}", file=sys.stderr)
            return EXIT_BAD_INPUT
        # Launching the window: skip building the command parser (start-up time counts).
        from desktop.gui.app import run_gui
        return run_gui(smoke=bool(given))
    args = _quick_validate(given) or _parser(_command_of(given)).parse_args(given)
    if args.version:
        print(f"connector-desk {__version__}")
        return EXIT_OK
    if args.command is None:
        from desktop.gui.app import run_gui
        return run_gui(smoke=args.smoke)
    code = _headless(args)
    return _exit_now(code) if argv is None else code


def _headless(args: argparse.Namespace) -> int:
    """Run a command (not the window) and say its error, if any; the exit code."""
    from desktop.core.errors import ConnectorError, InputErrors
    as_json = getattr(args, "json", False)
    try:
        if _home_is_a_file():
            raise _field_error("CONNECTOR_DESK_HOME", _home_is_a_file())
        from desktop.core.logsetup import setup_logging
        setup_logging()
        _WORKSPACE[0] = getattr(args, "workspace", None)
        return COMMANDS[args.command](args)
    except OSError as exc:  # a file system failure we did not foresee: said plainly, no traceback
        print(f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), file=sys.stderr)
        return EXIT_FAILED
    except (BadInput, InputErrors, ConnectorError) as exc:
        if isinstance(exc, BadInput):
            payload = exc.payload
        elif isinstance(exc, InputErrors) or exc.code == "bad_input":
            payload = _bad_input(exc)
        else:
            payload = exc.to_dict()
        code = EXIT_BAD_INPUT if payload.get("code") == "bad_input" else EXIT_FAILED
        if as_json:
            print(json.dumps({"ok": False, "error": payload}, indent=2))
        else:
            fields = payload.get("fields")
            if fields:
                for field, problem in fields.items():
                    print(f"error: {field}: {problem}", file=sys.stderr)
            else:
                print(f"error: {payload.get('message')}", file=sys.stderr)
            if payload.get("hint"):
                print(f"  What to do: {payload['hint']}", file=sys.stderr)
        return code
