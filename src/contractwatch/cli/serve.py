"""`contractwatch serve`: the web app over the store (read-only, on this machine by default)."""

from __future__ import annotations

from typing import Annotated

import typer

from contractwatch.cli.typer_app import app, state

DEFAULT_HOST = "127.0.0.1"


def bind_warning(host: str) -> str | None:
    """What to tell the user before binding beyond this machine (None for loopback)."""
    from contractwatch.web.app import is_loopback

    if is_loopback(host):
        return None
    return (f"warning: serving on {host}, reachable from other machines on the network. "
            "The app is read-only and has no login: anyone who can reach this address can "
            "read the whole store.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(
        "--host", help="Address to bind (default 127.0.0.1: this machine only). Anything "
        "else exposes the store to the network and must be given explicitly",
        show_default=False)] = None,
    port: Annotated[int, typer.Option("--port", "-p", help="Port")] = 8000,
) -> None:
    """Open a web app over the store: agency overview, companies, awards, search, watches.

    Every page has a JSON twin (add .json to its path) and CSV downloads of its tables.

    Example: contractwatch serve --port 8000   (then open http://127.0.0.1:8000/)
    """
    from contractwatch.extras import require

    require("web", "contractwatch serve", "fastapi", "uvicorn")
    import uvicorn
    from rich.console import Console

    from contractwatch.web.app import create_app

    err = Console(stderr=True)
    bind = host or DEFAULT_HOST
    warning = bind_warning(bind)
    if warning and host is None:  # unreachable today; kept so a future default cannot widen
        raise ValueError(f"refusing to bind to {bind} without an explicit --host")
    from contractwatch.web.app import LOOPBACK_NAMES

    allowed = [*LOOPBACK_NAMES, bind.strip("[]")]
    if warning:
        err.print(f"[bold yellow]{warning}[/bold yellow]", highlight=False)
        allowed = ["*"]
    s = state.settings()
    web = create_app(s.store_dir, policy=state.duplicates, engine="duckdb",
                     allowed_hosts=allowed, prewarm=True)
    shown = f"[{bind}]" if ":" in bind else bind
    err.print(f"serving {s.store_dir} read-only at http://{shown}:{port}/ (Ctrl+C stops)",
              highlight=False)
    uvicorn.run(web, host=bind, port=port, log_level="warning")
