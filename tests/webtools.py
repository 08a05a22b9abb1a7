"""Helpers for the web app tests: a real uvicorn server on 127.0.0.1 and a store whose
descriptions and names carry markup (built from real rows, edited)."""

from __future__ import annotations

import contextlib
import csv
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import TRANSACTIONS

FY2026 = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"
PAYLOAD = ("<script>alert(1)</script> SKIP TRACING \"quoted\" 'single' & "
           "<img src=x onerror=alert(2)>")
NAME_PAYLOAD = "<B>EVIL</B> \"CORP\" <IMG SRC=X ONERROR=alert(3)>"
AWARD = "70CDCR26FR0000024"  # Capgemini's skip-tracing order (two actions)


def derive(store_dir: str | Path) -> None:
    """Compute and store what `resolve update` and `purpose update` store (families, their
    look-up candidates, brands, purpose tags), as a store is left before it is served."""
    from contractwatch.companies import brands_folder, candidates_folder
    from contractwatch.purposes import purposes_folder
    from contractwatch.store import Store

    catalog = Store(store_dir).connect()
    candidates_folder(catalog)
    brands_folder(catalog)
    purposes_folder(catalog)


@contextlib.contextmanager
def running_server(store_dir: str | Path, derived: bool = True,
                   **kwargs: object) -> Iterator[str]:
    """The app under uvicorn in a thread, on a free port of 127.0.0.1; yields the base URL.
    `derived`: compute the store's derived results first (the server itself never waits
    for them: a page that needs one says it is missing)."""
    import uvicorn

    from contractwatch.web.app import create_app

    if derived:
        derive(store_dir)
    app = create_app(store_dir, **kwargs)  # type: ignore[arg-type]
    running_server.last_app = app  # type: ignore[attr-defined]  # for tests that look inside
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def write_injected_csv(folder: Path) -> Path:
    """A few real FY2026 rows in the API-export layout, descriptions and a recipient name
    replaced by markup, quotes and an <img onerror>."""
    with open(FY2026, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = [r for r in reader if r["Agency"] == "ICE"][:30]
    with open(FY2026, newline="", encoding="utf-8") as fh:
        rows += [r for r in csv.DictReader(fh) if r["Award ID"] == AWARD]
    for i, r in enumerate(rows):
        r["Transaction Description"] = f"{PAYLOAD} #{i}"
        if r["Award ID"] == AWARD:
            r["Recipient Name"] = NAME_PAYLOAD
    path = folder / "CBP_ICE_FY2026_injected.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    return path


def injected_store(folder: Path) -> Path:
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    src = folder / "src"
    src.mkdir()
    store = Store(folder / "store")
    ingest(store, [write_injected_csv(src)], as_of="2026-08-22", partial=True, progress=False)
    return store.root
