"""The current state of a store whose loads do not overlap is every stored row.

`Catalog.transactions()` skips its two joins (newest vintage per key, withdrawals by newer
snapshots) when nothing can be superseded; the answers must not change.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from contractwatch import analyze as A
from contractwatch import store as store_module
from contractwatch.store import Store, loads_are_disjoint
from tests.conftest import SNAPSHOTS, TRANSACTIONS
from tests.plain import api_export_totals


def test_one_file_per_year_is_disjoint(transactions_store: Store) -> None:
    assert loads_are_disjoint(transactions_store.loads())


def test_snapshots_of_one_year_are_not(tmp_path) -> None:
    from contractwatch.ingest import ingest

    store = Store(tmp_path / "s")
    ingest(store, [SNAPSHOTS / "FY2026_through_2026-08-19.csv"], progress=False)
    assert loads_are_disjoint(store.loads())
    ingest(store, [SNAPSHOTS / "FY2026_through_2026-08-20.csv"], progress=False)
    assert not loads_are_disjoint(store.loads())


def test_a_key_seen_again_in_another_year_is_not_disjoint(tmp_path) -> None:
    """An action moved from FY2025 to FY2026 shares no block, only its key."""
    from contractwatch.ingest import ingest

    store = Store(tmp_path / "s")
    ingest(store, [SNAPSHOTS / "FY2025_fetched_2026-02-17.csv"], progress=False)
    ingest(store, [SNAPSHOTS / "FY2026_through_2026-05-05.csv"], progress=False)
    loads = store.loads()
    assert {b.fiscal_year for b in loads[0].blocks} == {2025}
    assert {b.fiscal_year for b in loads[1].blocks} == {2026}
    assert loads[1].changed + loads[1].unchanged > 0
    assert not loads_are_disjoint(loads)


def test_fast_path_gives_the_general_answers(transactions_store: Store,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    queries = [
        lambda c: A.top(c, "recipient", A.Filters(agency="ICE", fy=2026), 25),
        lambda c: A.trend(c, A.Filters(agency="CBP")),
        lambda c: A.search(c, "skip tracing", A.Filters(), 0),
        lambda c: A.status(c),
        lambda c: A.award(c, "70CDCR26FR0000024"),
    ]
    fast = [q(transactions_store.connect()) for q in queries]
    monkeypatch.setattr(store_module, "loads_are_disjoint", lambda loads: False)
    general = [q(transactions_store.connect()) for q in queries]
    for f, g in zip(fast, general, strict=True):
        assert f.rows == g.rows and f.meta == g.meta and f.caveats == g.caveats
    plain = api_export_totals(sorted(TRANSACTIONS.glob("*.csv")))
    cbp = {r["fiscal_year"]: r["federal_action_obligation"] for r in fast[1].rows}
    assert cbp == {fy: v for (a, fy), v in plain.items() if a == "CBP"}
    assert sum(cbp.values()) > Decimal(0)


def _plain_copies(agency: str | None, fy: int | None, word: str | None = None) -> int:
    """Rows that repeat an earlier identical row of the same file, counted with csv."""
    from tests.plain import fiscal_year, read_rows

    n = 0
    for path in sorted(TRANSACTIONS.glob("*.csv")):
        seen: set[tuple[str, ...]] = set()
        for row in read_rows(path):
            line = tuple(row.values())
            if line in seen and (agency is None or row["Agency"] == agency) \
                    and (fy is None or fiscal_year(row["Action Date"]) == fy) \
                    and (word is None or any(word in v.upper() for v in (
                        row["Transaction Description"], row["Recipient Name"],
                        row["Product/Service Description"], row["NAICS Description"]))):
                n += 1
            seen.add(line)
    return n


@pytest.mark.parametrize("policy", ["keep", "collapse"])
def test_copies_caveat_counts_the_scope_on_both_paths(
        transactions_store: Store, monkeypatch: pytest.MonkeyPatch, policy: str) -> None:
    """The count of exact copies in scope comes from the loads' blocks on the fast path and
    from the rows on the general one; both equal a plain count, under either policy (with
    'collapse' it says how many were dropped)."""
    scopes = [(A.Filters(agency="ICE", fy=2026), ("ICE", 2026, None)),
              (A.Filters(agency="CBP"), ("CBP", None, None)),
              (A.Filters(), (None, None, None)),
              (A.Filters(agency="ICE", keyword="software"), ("ICE", None, "SOFTWARE"))]
    expected = [_plain_copies(*args) for _, args in scopes]
    assert expected[0] == 45 and all(n > 0 for n in expected)  # ICE FY2026: the data README
    for general in (False, True):
        if general:
            monkeypatch.setattr(store_module, "loads_are_disjoint", lambda loads: False)
        catalog = transactions_store.connect()
        for (f, _), n in zip(scopes, expected, strict=True):
            assert A.copies_in_scope(catalog, f) == n
            notes = " ".join(A.caveats(catalog, f, policy))
            wording = (f"{n:,} rows are exact copies" if policy == "keep"
                       else f"{n:,} exact copies within API exports are left out")
            assert wording in notes, (general, f, notes)
