"""catalog.duckdb, the file users open with the DuckDB CLI, answers as the library does.

Its views' SQL ships precompiled (data/catalog_views.json); recompiling it from the
library's expressions over a real store must give the same text.
"""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest

from contractwatch import catalog_file
from contractwatch import store as store_module
from contractwatch.store import Store
from tests.conftest import SNAPSHOTS, TRANSACTIONS
from tests.plain import api_export_totals


def test_shipped_view_sql_is_what_the_library_compiles(transactions_store: Store) -> None:
    shipped = json.loads(catalog_file.VIEWS_JSON.read_text(encoding="utf-8"))
    assert catalog_file.compile_views(transactions_store) == shipped, (
        "the library's expressions changed: run `python -m contractwatch.catalog_file`")


def _file_rows(store: Store, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store.root / "catalog.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_views_give_the_plain_totals(transactions_store: Store) -> None:
    rows = _file_rows(transactions_store,
                      "SELECT l.source_file, sum(federal_action_obligation) FROM transactions t "
                      "JOIN loads l USING (load_id) GROUP BY ALL")
    expected = {str(p): sum(api_export_totals([p]).values())
                for p in sorted(TRANSACTIONS.glob("*.csv"))}
    assert {f: Decimal(v) for f, v in rows} == expected
    catalog = transactions_store.connect()
    n_awards = catalog.con.execute(catalog.transactions().contract_award_unique_key
                                   .fill_null(catalog.transactions().award_id_piid).nunique())
    assert _file_rows(transactions_store, "SELECT count(*) FROM awards") == [(n_awards,)]
    links = _file_rows(transactions_store,
                       "SELECT count(*) FROM awards WHERE usaspending_permalink = "
                       "'https://www.usaspending.gov/award/' || award_key || '/'")
    assert 0 < links[0][0] <= n_awards


@pytest.mark.parametrize("general", [False, True])
def test_overlapping_snapshots_use_the_general_views(tmp_path, general: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Two snapshots of FY2026: the newer one's rows are the current state in the file too."""
    from contractwatch.ingest import ingest

    store = Store(tmp_path / "s")
    older, newer = (SNAPSHOTS / "FY2026_through_2026-08-19.csv",
                    SNAPSHOTS / "FY2026_through_2026-08-20.csv")
    ingest(store, [older], progress=False)
    if general:  # the first load alone is disjoint; force the other variant for the file
        monkeypatch.setattr(store_module, "loads_are_disjoint", lambda loads: False)
        monkeypatch.setattr(catalog_file, "loads_are_disjoint", lambda loads: False)
        ingest(store, [SNAPSHOTS / "FY2026_through_2026-05-05.csv"], progress=False)
    ingest(store, [newer], progress=False)
    catalog = store.connect()
    t = catalog.transactions()
    library = (int(catalog.con.execute(t.count())),
               Decimal(catalog.con.execute(t.federal_action_obligation.sum())))
    count, total = _file_rows(store, "SELECT count(*), sum(federal_action_obligation) "
                                     "FROM transactions")[0]
    assert (count, Decimal(total)) == library
    assert sum(api_export_totals([newer]).values()) == library[1]
