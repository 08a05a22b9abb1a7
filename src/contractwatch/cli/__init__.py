"""The `contractwatch` command: a thin Typer layer over the library.

Each command parses options, calls one library function and renders its result. Command
groups live in their own modules and register themselves on `app`.

A command line names one command, so the start (`commands_for`) imports only the module
that defines it: Typer builds every registered command's options from its signature on each
run (~40 ms for all of them), and the other modules' imports would be paid for nothing.
`--help`, an unknown name or `contractwatch.cli.app` (tests, the docs) load every module.
A query command written plainly is answered before any of this, without Typer
(`cli/fastpath.py`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from contractwatch.cli.state import state

# the modules that register commands, in the order `--help` lists them
MODULES = ("commands", "purpose", "resolve", "serve", "sync", "watch")
# which module defines each top-level command (a name missing here loads every module)
COMMAND_MODULE = {
    "ingest": "commands", "status": "commands", "top": "commands", "trend": "commands",
    "award": "commands", "search": "commands", "company": "resolve", "resolve": "resolve",
    "serve": "serve", "sync": "sync", "enrich": "sync", "watch": "watch", "report": "watch",
    "export": "watch", "purpose": "purpose", "index": "commands",
}
# global options that take a value (they may come before the command's name)
VALUE_OPTIONS = ("--store", "--duplicates", "--engine")


def load_commands(modules: tuple[str, ...] = MODULES) -> Any:
    """Register the commands of `modules` on the app and return it."""
    for name in modules:
        importlib.import_module(f"contractwatch.cli.{name}")
    from contractwatch.cli.typer_app import app

    return app


def command_module(args: list[str]) -> str | None:
    """The module defining the command `args` name, None when unsure (then load all)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in VALUE_OPTIONS:
            i += 2
        elif arg.startswith("--") and "=" in arg and arg.split("=")[0] in VALUE_OPTIONS:
            i += 1
        elif arg in ("--quiet", "-q"):
            i += 1
        elif arg.startswith("-"):
            return None  # --help, --version, or something to complain about with every name
        else:
            return COMMAND_MODULE.get(arg)
    return None


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole command tree, as the tests and the docs see it
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point: run the app, turning known errors into one clear line and exit code 2
    (the same start as `python -m contractwatch`)."""
    from contractwatch.__main__ import main as start

    start()


def start(args: list[str], fast: bool = True) -> Callable[[], Any]:
    """The call that runs the command line `args` (sys.argv without the program): a query
    answered on the fast path (`cli/fastpath.py`), else the Typer app, which reads sys.argv."""
    if fast:
        from contractwatch.cli.fastpath import parse

        answer = parse(args)
        if answer is not None:
            return answer
    app = commands_for(args)  # only the named command's module (see above)
    return lambda: app(standalone_mode=False)


def commands_for(args: list[str]) -> Any:
    """The app with the commands `args` (a command line without the program) may run."""
    module = command_module(args)
    return load_commands((module,) if module else MODULES)


def quiet_anywhere() -> None:
    """`--quiet` is a global option, but people add it at the end of a command: take it
    from anywhere before a `--`."""
    args = sys.argv[1:]
    end = args.index("--") if "--" in args else len(args)
    if "--quiet" in args[1:end]:
        from contractwatch.output import set_quiet

        set_quiet(True)
        sys.argv = [sys.argv[0], *[a for i, a in enumerate(args) if i >= end or a != "--quiet"]]


__all__ = ["app", "commands_for", "load_commands", "main", "start", "state"]
