"""The `contractwatch` command: a thin Typer layer over the library.

Each command parses options, calls one library function and renders its result. Command
groups live in their own modules and register themselves on `app`.
"""

from __future__ import annotations

import sys

from contractwatch.cli import (
    commands,  # noqa: F401  (registers the commands)
    purpose,  # noqa: F401  (purpose tags)
    resolve,  # noqa: F401
    serve,  # noqa: F401  (the web app)
    sync,  # noqa: F401  (sync, enrich)
    watch,  # noqa: F401  (watch, report, export)
)
from contractwatch.cli.app import app, state


def main() -> None:
    """Entry point: run the app, turning known errors into one clear line and exit code 2
    (the same start as `python -m contractwatch`)."""
    from contractwatch.__main__ import main as start

    start()


def quiet_anywhere() -> None:
    """`--quiet` is a global option, but people add it at the end of a command: take it
    from anywhere before a `--`."""
    args = sys.argv[1:]
    end = args.index("--") if "--" in args else len(args)
    if "--quiet" in args[1:end]:
        from contractwatch.output import set_quiet

        set_quiet(True)
        sys.argv = [sys.argv[0], *[a for i, a in enumerate(args) if i >= end or a != "--quiet"]]


__all__ = ["app", "main", "state"]
