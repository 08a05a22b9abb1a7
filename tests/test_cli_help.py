"""Every command explains itself: help text with an example (a habit worth keeping)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from contractwatch.cli import app

COMMANDS = ["ingest", "status", "top", "trend", "award", "search", "company", "serve", "sync",
            "enrich", "report", "export", "resolve explain", "resolve review", "resolve update",
            "watch add", "watch list", "watch remove", "watch check", "purpose list",
            "purpose explain", "purpose judge", "purpose review", "purpose update"]


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
