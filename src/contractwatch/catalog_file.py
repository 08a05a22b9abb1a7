"""catalog.duckdb: views over the committed Parquet files, for users of the DuckDB CLI.

The views' SQL is what the library itself runs: it is compiled from the same Ibis
expressions (`Catalog.transactions`, `analyze.awards`, `analyze.recipients`), once per
change of those expressions, into `data/catalog_views.json`. Refreshing the file after
each commit then needs no Ibis: ~0.4 s less per load, most of a small weekly sync.
A test recompiles and compares, so the file cannot drift from the code. After changing
those expressions, run:

    python -m contractwatch.catalog_file
"""

from __future__ import annotations

import errno
import json
import tempfile
from pathlib import Path
from typing import Any

from contractwatch.store import (
    LoadRecord,
    Store,
    committed_files,
    coverage_arrow,
    loads_are_disjoint,
    loads_arrow,
    source_column_names,
    wide_sql,
)

VIEWS_JSON = Path(__file__).with_name("data") / "catalog_views.json"
# the two shapes of the current state (see Catalog.transactions)
VARIANTS = {"disjoint": True, "general": False}


def compile_views(store: Store | None = None) -> dict[str, dict[str, str]]:
    """Each view's SQL, for stores whose rows are all current and for the general case.

    Over an empty store unless one is given: the SQL names tables, never files or data.
    """
    from contractwatch.analyze import awards, recipients

    with tempfile.TemporaryDirectory() as tmp:
        out: dict[str, dict[str, str]] = {}
        for variant, current in VARIANTS.items():
            catalog = (store or Store(tmp)).connect()
            catalog.all_rows_current = lambda current=current: current  # type: ignore[method-assign]
            # the general shape always honours a delta's deletions (an empty table if none)
            catalog.has_deletions = lambda: True  # type: ignore[method-assign]
            views = {
                "transactions": catalog.transactions(),
                "transactions_all": catalog.transactions_all(),
                "awards": awards(catalog),
                "recipients": recipients(catalog),
            }
            out[variant] = {name: catalog.to_sql(expr) for name, expr in views.items()}
            catalog.con.disconnect()
        return out


def write(root: Path, loads: list[LoadRecord], path: Path) -> None:
    """Write the catalog file for these committed loads at `path` (a new file)."""
    import duckdb

    views = json.loads(VIEWS_JSON.read_text(encoding="utf-8"))
    views = views["disjoint" if loads_are_disjoint(loads) else "general"]
    con = duckdb.connect(str(path))
    try:
        _table(con, "cw_loads", loads_arrow(loads))
        con.execute("CREATE VIEW loads AS SELECT * FROM cw_loads")
        _table(con, "cw_coverage", coverage_arrow(loads))
        files = committed_files(root, loads, "transactions.parquet")
        copies = committed_files(root, loads, "copies.parquet")
        if copies:
            con.execute(f"CREATE VIEW cw_copies AS SELECT * FROM read_parquet({copies!r})")
        deletes = committed_files(root, [ld for ld in loads if ld.deletes], "deletes.parquet")
        if deletes:
            con.execute(f"CREATE VIEW cw_deletes AS SELECT * FROM read_parquet({deletes!r})")
        else:
            con.execute("CREATE TABLE cw_deletes (txn_key VARCHAR, "
                        "contract_transaction_unique_key VARCHAR, source_row BIGINT, "
                        "load_id VARCHAR)")
        kept = committed_files(root, loads, "source_columns.parquet")
        if not files:
            con.execute("CREATE VIEW cw_rows AS SELECT * FROM cw_loads WHERE false")
            return
        con.execute(f"CREATE VIEW cw_rows AS SELECT * FROM read_parquet({files!r})")
        for name, sql in views.items():
            con.execute(f"CREATE VIEW {name} AS {sql}")
        if kept:  # every source column, beside the canonical ones (see store.wide_sql)
            con.execute("CREATE VIEW source_columns AS SELECT * FROM "
                        f"read_parquet({kept!r}, union_by_name = true)")
            con.execute(f"CREATE VIEW transactions_wide AS "
                        f"{wide_sql('transactions', source_column_names(loads))}")
    finally:
        finish(con, path)


def finish(con: Any, path: Path) -> None:
    """Move everything from the write-ahead log into the file, or raise.

    A close does this silently: on a full disk it leaves a file without its views and a
    `.wal` beside it, and reports nothing. An explicit CHECKPOINT raises instead.
    """
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        raise OSError(errno.EIO, "the catalog's write-ahead log could not be merged", str(wal))


def _table(con: Any, name: str, data: Any) -> None:
    con.register(f"{name}_arrow", data)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")


def main() -> None:
    VIEWS_JSON.write_text(json.dumps(compile_views(), indent=1, sort_keys=True) + "\n",
                          encoding="utf-8")
    print(f"wrote {VIEWS_JSON}")


if __name__ == "__main__":
    main()
