"""The command line builds only the parser of the command being run (building all of them took
~7 ms of every run), and answers --version before any parser: what a user sees is unchanged."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import __version__, cli

ROOT = Path(__file__).resolve().parents[2]


def _sub(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_each_commands_own_parser_is_the_full_one(name: str) -> None:
    full, own = cli._parser(), cli._parser(name)
    assert _sub(own, name).format_help() == _sub(full, name).format_help()


@pytest.mark.parametrize("argv", [
    ["validate", "--spec", "doc.json", "--json"],
    ["validate", "a", "b", "--workspace", "team"],
    ["--workspace", "team", "list", "--json"],
    ["--work", "list", "list"],  # argparse's abbreviation of --workspace: its value is not the command
    ["workspace", "add", "team", "--vault", "https://vault.example", "--ca-file", "ca.pem"],
    ["rotate", "mailer", "--from-env", "NEW", "--grace-hours", "2"],
    ["import", "a.json", "b.json", "--replace"],
])
def test_arguments_read_as_with_the_full_parser(argv: list[str]) -> None:
    assert cli._parser(cli._command_of(argv)).parse_args(argv) == cli._parser().parse_args(argv)


@pytest.mark.parametrize("argv", [["-h", "validate"], ["--help"], ["no-such-command"], ["--version"], []])
def test_help_and_unknown_commands_get_the_full_parser(argv: list[str]) -> None:
    assert cli._command_of(argv) is None


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in cli.COMMANDS)


def test_version_is_answered_before_any_parser_is_built() -> None:
    code = "import sys; from desktop.cli import main; main(['--version']); print('argparse' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.stdout.split("\n")[:2] == [f"connector-desk {__version__}", "False"]


@pytest.mark.parametrize("argv", [
    ["validate", "--spec", "doc.json"],
    ["validate", "--spec", "doc.json", "--json"],
    ["validate", "--json", "--spec", "doc.json", "--trust-api-base"],
    ["validate", "mailer"],
    ["validate", "--json", "mailer"],
    ["validate", "mailer", "--json"],
    ["validate", "a", "b", "c", "--json"],
    ["validate", "--all", "--json"],
    ["validate", "mailer", "--spec", "doc.json"],  # argparse reads it; the command says "not both"
    ["validate"],
    ["validate", ""],
])
def test_a_validation_is_read_as_argparse_reads_it_without_argparse(argv: list[str]) -> None:
    quick = cli._quick_validate(argv)
    assert quick is not None and vars(quick) == vars(cli._parser().parse_args(argv))


@pytest.mark.parametrize("argv", [
    ["validate", "a", "--json", "b"],  # argparse refuses names on both sides of an option
    ["validate", "--spec"], ["validate", "--spec", "-odd.json"], ["validate", "--spec=doc.json"],
    ["validate", "--spec", "a.json", "--spec", "b.json"], ["validate", "--js"], ["validate", "-h"],
    ["validate", "--workspace", "team", "mailer"], ["validate", "--", "-mailer"], ["list"], [],
])
def test_other_forms_of_a_validation_go_to_argparse(argv: list[str]) -> None:
    assert cli._quick_validate(argv) is None
