"""Known failures become one line on stderr and exit code 2; the store is left as it was."""

from __future__ import annotations

from typing import Any


def run_safely(app: Any) -> int:
    from rich.console import Console

    from contractwatch.agencies import UnknownAgency
    from contractwatch.ingest import IngestError
    from contractwatch.sources.base import SourceError
    from contractwatch.store import StoreError

    known: tuple[type[BaseException], ...] = (
        SourceError, IngestError, StoreError, UnknownAgency, LookupError, ValueError,
    )
    try:
        from contractwatch.sources.usaspending_api import ApiError

        known = (*known, ApiError)
    except ImportError:
        pass
    try:
        app(standalone_mode=False)
    except known as exc:
        Console(stderr=True).print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted; the store is unchanged by the interrupted step")
        return 130
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:  # usage errors (Typer carries its own copy of click)
        exceptions = _click_exceptions()
        if isinstance(exc, exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, exceptions.Abort):
            return 1
        raise
    return 0


def _click_exceptions() -> Any:
    try:
        from typer._click import exceptions  # Typer >= 0.29 vendors click
    except ImportError:  # pragma: no cover - older Typer uses click itself
        from click import exceptions
    return exceptions
