"""Known failures become one line on stderr and exit code 2; the store is left as it was."""

from __future__ import annotations

import sys
from typing import Any


def run_safely(app: Any) -> int:
    from rich.console import Console
    from rich.markup import escape

    interrupted = "interrupted; the store is unchanged by the interrupted step"
    try:
        # Typer turns Ctrl+C inside a command into the return value 130
        code = app(standalone_mode=False)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        Console(stderr=True).print(interrupted)
        return 130
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:  # usage errors (Typer carries its own copy of click)
        if isinstance(exc, _known_errors()):
            # the message quotes file names and values: brackets in them are text, not markup
            # one line however long (paths, values): a log or a terminal wraps it, not us
            Console(stderr=True).print(f"[bold red]error:[/bold red] {escape(str(exc))}",
                                       highlight=False, soft_wrap=True)
            return 2
        if _is_engine_interrupt(exc):  # Ctrl+C while the engine ran a query
            Console(stderr=True).print(interrupted)
            return 130
        exceptions = _click_exceptions()
        if isinstance(exc, exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if type(exc).__name__ == "Abort":  # Typer and click keep it in different modules
            return 1
        raise
    if code == 130:
        Console(stderr=True).print(interrupted)
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


def _is_engine_interrupt(exc: BaseException) -> bool:
    """Ctrl+C while the engine ran: DuckDB raises its own InterruptException, or (when the
    signal lands while it hands over a result) a RuntimeError caused by KeyboardInterrupt."""
    try:
        import duckdb
    except ImportError:  # pragma: no cover - the engine is a dependency
        duckdb = None
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return any(isinstance(e, KeyboardInterrupt) or (
        duckdb is not None and isinstance(e, duckdb.InterruptException)) for e in chain)


def _click_exceptions() -> Any:
    try:
        from typer._click import exceptions  # Typer >= 0.29 vendors click
    except ImportError:  # pragma: no cover - older Typer uses click itself
        from click import exceptions
    return exceptions
