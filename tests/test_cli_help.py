"""Every command explains itself: help text with an example (a habit worth keeping)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from contractwatch.cli import app

COMMANDS = ["ingest", "status", "top", "trend", "award", "search", "company", "serve", "sync",
            "enrich", "report", "export", "resolve explain", "resolve review", "resolve update",
            "watch add", "watch list", "watch remove", "watch check", "purpose list",
            "purpose explain", "purpose judge", "purpose review", "purpose update",
            "index"]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_every_registered_command_is_listed_here() -> None:
    import typer

    group = typer.main.get_command(app)
    registered = set()
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        registered |= {f"{name} {s}" for s in subs} if subs else {name}
    assert registered == set(COMMANDS)


@pytest.mark.parametrize(("args", "module"), [
    (["top", "--agency", "ICE"], "commands"),
    (["--store", "/x", "-q", "company", "GEO"], "resolve"),
    (["--engine=duckdb", "watch", "check"], "watch"),
    (["report", "--help"], "watch"),
    (["--help"], None), ([], None), (["tpo"], None), (["--bogus", "top"], None),
])
def test_a_command_line_names_the_module_to_load(args, module):
    from contractwatch.cli import command_module

    assert command_module(args) == module


def test_every_command_is_found_in_the_module_named_for_it():
    """The start-up map (contractwatch.cli.COMMAND_MODULE) names every command's module:
    a command missing there would still work (everything loads), only slower."""
    import typer

    from contractwatch.cli import COMMAND_MODULE, load_commands

    group = typer.main.get_command(load_commands())
    assert set(COMMAND_MODULE) == set(group.commands)  # type: ignore[attr-defined]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        callback = command.callback or next(iter(command.commands.values())).callback
        assert callback.__module__.endswith(f".{COMMAND_MODULE[name]}"), name


def test_a_command_runs_with_only_its_own_module_loaded(tmp_path):
    import os
    import subprocess
    import sys

    code = ("import sys\nfrom contractwatch.cli import main\n"
            "sys.argv = ['contractwatch', 'top', '--help']\n"
            "try:\n    main()\nexcept SystemExit as e:\n"
            "    print(e.code, sorted(m for m in sys.modules"
            "                         if m.startswith('contractwatch.cli')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "CONTRACTWATCH_STORE": str(tmp_path)}, timeout=60)
    code_and_modules = done.stdout.strip().splitlines()[-1]
    assert code_and_modules.startswith("0 "), done.stdout + done.stderr
    assert "contractwatch.cli.commands" in code_and_modules
    assert "contractwatch.cli.watch" not in code_and_modules


def test_no_help_text_loses_a_bracketed_word() -> None:
    """The help is rendered with Rich markup, which swallows `[word]` (an extra's name, a
    default): every bracket in a help text must be escaped or not be there."""
    import re

    import typer

    def walk(command, path):
        yield path, command.help or ""
        for param in command.params:
            yield f"{path} {param.name}", getattr(param, "help", None) or ""
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    swallowed = [(where, text) for where, text in walk(typer.main.get_command(app), "contractwatch")
                 if re.search(r"(?<!\\)\[[a-z][a-z,_-]*\]", text)]
    assert swallowed == []
