"""The `contractwatch` command: a thin Typer layer over the library.

Each command parses options, calls one library function and renders its result. Command
groups live in their own modules and register themselves on `app`.
"""

from __future__ import annotations

import sys

from contractwatch.cli import (
    commands,  # noqa: F401  (registers the commands)
    resolve,  # noqa: F401
    serve,  # noqa: F401  (the web app)
    sync,  # noqa: F401  (sync, enrich)
    watch,  # noqa: F401  (watch, report, export)
)
from contractwatch.cli.app import app, state


def main() -> None:
    """Entry point: run the app, turning known errors into one clear line and exit code 2."""
    from contractwatch.cli.errors import run_safely

    sys.exit(run_safely(app))


__all__ = ["app", "main", "state"]
