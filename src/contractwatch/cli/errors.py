"""Known failures become one line on stderr and exit code 2; the store is left as it was."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def run_safely(command: Callable[[], Any]) -> int:
    """Run a command (the Typer app, or a fast-path answer) and return its exit code."""
    def interrupted() -> None:
        from rich.console import Console

        store = sys.modules.get("contractwatch.store")
        if store is not None and store.committed_in_this_process():
            text = ("interrupted after the commit: the store holds the new state "
                    "(see `contractwatch status`)")
        else:
            text = "interrupted; the store is unchanged by the interrupted step"
        Console(stderr=True).print(text)

    try:
        # Typer turns Ctrl+C inside a command into the return value 130
        code = command()
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the OS refused: a full disk, a missing folder, no permission
        _error_line(os_error(exc))
        return 2
    except KeyboardInterrupt:
        interrupted()
        return 130
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:  # usage errors (Typer carries its own copy of click)
        if isinstance(exc, _known_errors()):
            _error_line(str(exc))
            return 2
        if _is_engine_interrupt(exc):  # Ctrl+C while the engine ran a query
            interrupted()
            return 130
        if type(exc).__name__ == "IOException" and "duckdb" in type(exc).__module__:
            # the engine's own I/O failures (a full disk while it writes an export)
            _error_line(str(exc).splitlines()[0])
            return 2
        exceptions = _click_exceptions()
        if isinstance(exc, exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if type(exc).__name__ == "Abort":  # Typer and click keep it in different modules
            return 1
        raise
    if code == 130:
        interrupted()
    return code if isinstance(code, int) else 0


def _known_errors() -> tuple[type[BaseException], ...]:
    """The library's error classes that were imported, so could have been raised: importing
    the others (the API client's pulls in httpx and pydantic) would only cost start-up."""
    known: list[type[BaseException]] = [LookupError, ValueError]
    for module, name in (("contractwatch.sources.base", "SourceError"),
                         ("contractwatch.ingest", "IngestError"),
                         ("contractwatch.store", "StoreError"),
                         ("contractwatch.agencies", "UnknownAgency"),
                         ("contractwatch.sources.usaspending_api", "ApiError"),
                         ("contractwatch.extras", "MissingExtra")):
        loaded = sys.modules.get(module)
        if loaded is not None:
            known.append(getattr(loaded, name))
    return tuple(known)


def _error_line(text: str) -> None:
    """The message quotes file names and values: brackets in them are text, not markup, and
    control characters (ESC, OSC) are shown, not obeyed; one line however long (a log or a
    terminal wraps it, not us)."""
    from rich.console import Console
    from rich.markup import escape

    from contractwatch.output import visible

    Console(stderr=True).print(f"[bold red]error:[/bold red] {escape(visible(text))}",
                               highlight=False, soft_wrap=True)


def os_error(exc: OSError) -> str:
    """One line for an error of the operating system, saying what it means for the store."""
    import errno

    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in detail:
        return (f"no space left on device ({detail}); nothing more was committed, the store "
                "keeps its last committed state: free some space and run the command again")
    return detail


def _is_engine_interrupt(exc: BaseException) -> bool:
    """Ctrl+C while the engine ran: DuckDB raises its own InterruptException, or (when the
    signal lands while it hands over a result) a RuntimeError caused by KeyboardInterrupt."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    try:
        import duckdb
    except ImportError:  # pragma: no cover - the engine is a dependency
        duckdb = None
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    # …or, when the signal lands in a Python callback the engine runs (an Arrow scan), the
    # engine's own error carrying the interrupt as text: "KeyboardInterrupt: <EMPTY MESSAGE>"
    return any(isinstance(e, KeyboardInterrupt) or (
        duckdb is not None and isinstance(e, duckdb.InterruptException)) or (
        "duckdb" in type(e).__module__ and str(e).startswith("KeyboardInterrupt"))
        for e in chain)


def _click_exceptions() -> Any:
    try:
        from typer._click import exceptions  # Typer >= 0.29 vendors click
    except ImportError:  # pragma: no cover - older Typer uses click itself
        from click import exceptions
    return exceptions
