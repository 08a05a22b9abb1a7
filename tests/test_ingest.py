"""Ingest of the real files: totals, duplicates, vintages, the 2018 layout, ZIPs."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch.analyze import Filters, top
from contractwatch.ingest import IngestError, ingest
from contractwatch.store import Store
from tests.conftest import FPDS, SNAPSHOTS, TRANSACTIONS
from tests.plain import api_export_totals, fiscal_year, read_rows

AGENCY_CODES = {"ICE": "7012", "CBP": "7014"}


def store_totals(store: Store, policy: str = "keep") -> dict[tuple[str, int], Decimal]:
    catalog = store.connect()
    t = catalog.transactions(policy)
    expr = t.group_by(["awarding_sub_agency_code", "fiscal_year"]).aggregate(
        total=t.federal_action_obligation.sum())
    return {(r["awarding_sub_agency_code"], r["fiscal_year"]): r["total"]
            for r in catalog.con.to_pyarrow(expr).to_pylist()}


def plain_by_code(paths: list[Path]) -> dict[tuple[str, int], Decimal]:
    return {(AGENCY_CODES[a], fy): v for (a, fy), v in api_export_totals(paths).items()}


def test_totals_equal_plain_sums_per_agency_and_year(transactions_store: Store) -> None:
    files = sorted(TRANSACTIONS.glob("*.csv"))
    assert store_totals(transactions_store) == plain_by_code(files)


def test_collapse_policy_drops_exactly_the_extra_copies(transactions_store: Store) -> None:
    files = sorted(TRANSACTIONS.glob("*.csv"))
    expected: dict[tuple[str, int], Decimal] = {}
    for path in files:
        seen: set[tuple[str, ...]] = set()
        for row in read_rows(path):
            key = tuple(row.values())
            if key in seen:
                continue
            seen.add(key)
            k = (AGENCY_CODES[row["Agency"]], fiscal_year(row["Action Date"]))
            expected[k] = expected.get(k, Decimal(0)) + Decimal(row["Federal Action Obligation"])
    assert store_totals(transactions_store, "collapse") == expected
    # the one non-zero duplicate the README documents: CBP FY2025 loses 2,972,195.00
    keep = store_totals(transactions_store, "keep")
    collapse = store_totals(transactions_store, "collapse")
    assert keep[("7014", 2025)] - collapse[("7014", 2025)] == Decimal("2972195.00")


def test_manifest_records_each_load(transactions_store: Store) -> None:
    loads = transactions_store.loads()
    assert len(loads) == 6
    for load in loads:
        path = Path(load.source_file)
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))[1:]
        distinct = len({tuple(r) for r in rows})
        assert load.rows_read == len(rows) == load.rows_kept
        assert load.duplicate_copies == len(rows) - distinct
        assert load.source_format == "usaspending-api-export"
        assert len(load.sha256) == 64
    warnings = " ".join(w for ld in loads for w in ld.warnings)
    # the three blocks the data README calls truncated are flagged, and only those
    assert warnings.count("page boundary") == 3


def test_block_figures_equal_plain_counts_and_sums(transactions_store: Store) -> None:
    """Each load's blocks (rows, obligations, negative and zero rows per agency and fiscal
    year), taken chunk by chunk while writing, equal a csv-module count over the file."""
    for load in transactions_store.loads():
        expected: dict[tuple[str, int], list] = {}
        for row in read_rows(Path(load.source_file)):
            key = (AGENCY_CODES[row["Agency"]], fiscal_year(row["Action Date"]))
            amount = Decimal(row["Federal Action Obligation"])
            figures = expected.setdefault(key, [0, Decimal("0"), 0, 0])
            figures[0] += 1
            figures[1] += amount
            figures[2] += amount < 0
            figures[3] += amount == 0
        got = {(b.agency, b.fiscal_year): [b.rows, Decimal(b.obligations), b.negative_rows,
                                           b.zero_rows] for b in load.blocks}
        assert got == expected, load.source_file


def test_loading_the_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    path = TRANSACTIONS / "CBP_ICE_FY2024_Contract_Obligations.csv"
    ingest(store, [path], progress=False)
    before = (tmp_path / "s" / "manifest.json").read_text()
    report = ingest(store, [path], progress=False)
    assert report.results[0].status == "already-loaded"
    assert (tmp_path / "s" / "manifest.json").read_text() == before
    # a copy under another name has the same bytes: still nothing new
    copy = tmp_path / "copy.csv"
    shutil.copy(path, copy)
    assert ingest(store, [copy], progress=False).results[0].status == "already-loaded"
    assert store_totals(store) == plain_by_code([path])


def test_all_fy2026_snapshots_plus_the_file_do_not_inflate(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    snapshots = sorted(SNAPSHOTS.glob("FY2026_*.csv"))
    assert len(snapshots) == 7
    ingest(store, snapshots, progress=False)
    fy2026 = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"
    ingest(store, [fy2026], as_of="2026-08-22", progress=False)
    assert store_totals(store) == plain_by_code([fy2026])
    # loaded in reverse order, the newest vintage still wins
    store2 = Store(tmp_path / "s2")
    for snap in reversed(snapshots):
        ingest(store2, [snap], progress=False)
    assert store_totals(store2) == plain_by_code([fy2026])


def test_snapshot_load_counts_match_an_independent_diff(tmp_path: Path) -> None:
    """new = keys only in the later file (the data README's 'added' column).

    Each snapshot is complete for FY2026, so after loading it the current state holds exactly
    its keys: rows missing from it count as withdrawn, and come back as new if they reappear.
    """
    store = Store(tmp_path / "s")
    snapshots = sorted(SNAPSHOTS.glob("FY2026_*.csv"))
    previous: set[tuple[str, str, str]] = set()
    for snap in snapshots:
        report = ingest(store, [snap], progress=False)
        keys = {(r["Agency"], r["Award ID"], r["Modification"]) for r in read_rows(snap)}
        assert report.results[0].load.new == len(keys - previous), snap.name
        previous = keys


def test_fy2025_date_corrections_are_not_double_counted(tmp_path: Path) -> None:
    """FY2025 fetched 02-17 + FY2026 of 07-06: moved actions count once, in FY2026."""
    store = Store(tmp_path / "s")
    old25 = SNAPSHOTS / "FY2025_fetched_2026-02-17.csv"
    new26 = SNAPSHOTS / "FY2026_through_2026-07-06.csv"
    ingest(store, [old25, new26], progress=False)
    totals = store_totals(store)
    plain25 = plain_by_code([old25])
    plain26 = plain_by_code([new26])
    assert totals[("7014", 2026)] == plain26[("7014", 2026)]
    # three CBP actions (11,854,872.00 + 953,589.36 + 50,000.00) and one ICE action (99,000.00)
    # moved to FY2026 with corrected dates; the newer vintage places them there
    assert plain25[("7014", 2025)] - totals[("7014", 2025)] == Decimal("12858461.36")
    assert plain25[("7012", 2025)] - totals[("7012", 2025)] == Decimal("99000.00")


def test_undated_overlapping_load_is_refused_and_store_unchanged(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    ingest(store, [SNAPSHOTS / "FY2026_through_2026-08-19.csv"], progress=False)
    before = (tmp_path / "s" / "manifest.json").read_bytes()
    undated = tmp_path / "fy26.csv"
    shutil.copy(SNAPSHOTS / "FY2026_through_2026-07-06.csv", undated)
    with pytest.raises(IngestError, match="--as-of"):
        ingest(store, [undated], progress=False)
    assert (tmp_path / "s" / "manifest.json").read_bytes() == before
    ingest(store, [undated], as_of="2026-07-06", progress=False)
    assert store_totals(store) == plain_by_code([SNAPSHOTS / "FY2026_through_2026-08-19.csv"])


def test_2018_layout_dates_duns_and_sums(fpds_store: Store) -> None:
    catalog = fpds_store.connect()
    t = catalog.transactions()
    rows = catalog.con.to_pyarrow(t.select(
        "award_id_piid", "modification_number", "action_date", "recipient_duns",
        "federal_action_obligation", "fiscal_year", "source_file", "source_row",
        "contract_award_unique_key", "parent_award_agency_id")).to_pylist()
    assert len(rows) == 5672
    by_line = {(Path(r["source_file"]).name, r["source_row"]): r for r in rows}
    checked = 0
    for path in sorted(FPDS.glob("*.csv")):
        for n, raw in enumerate(read_rows(path), start=1):
            got = by_line[(path.name, n)]
            d, m, y = raw["action_date"].split("/")
            assert got["action_date"] == date(int(y), int(m), int(d))
            assert got["recipient_duns"] == raw["recipient_duns"].zfill(9)
            assert len(got["recipient_duns"]) == 9
            assert got["federal_action_obligation"] == Decimal(raw["federal_action_obligation"])
            assert got["fiscal_year"] == int(raw["fiscal_year"])
            checked += 1
    assert checked == 5672
    example = [r for r in rows if r["action_date"] == date(2017, 5, 31)]
    assert example, "31/05/2017 is read as 2017-05-31"
    # agency codes that lost a zero are padded: 559 -> 0559 (GAO)
    assert {"0559", "0300"} <= {r["parent_award_agency_id"] for r in rows}
    totals = store_totals(fpds_store)
    assert totals[("7012", 2017)] == Decimal("324744093.47")
    assert sum(totals.values()) == Decimal("832205941.18")


def _modern_layout(tmp_path: Path) -> Path:
    """Today's column names over real 2018-layout rows, with ISO dates and key columns."""
    src = FPDS / "ice_fy2016.csv"
    out = tmp_path / "Contracts_PrimeTransactions_2026-11-08_H10M00S00_1.csv"
    rename = {"parent_award_id": "parent_award_id_piid",
              "award_description": "transaction_description"}
    with open(src, newline="") as fh, open(out, "w", newline="") as dst:
        reader = csv.DictReader(fh)
        fields = ["contract_transaction_unique_key", "contract_award_unique_key"] + [
            rename.get(f, f) for f in reader.fieldnames or []]
        writer = csv.DictWriter(dst, fields)
        writer.writeheader()
        for row in reader:
            new = {rename.get(k, k): v for k, v in row.items()}
            for col in ("action_date",):
                d, m, y = new[col].split("/")
                new[col] = f"{y}-{m}-{d}"
            for col in ("period_of_performance_start_date",
                        "period_of_performance_current_end_date",
                        "period_of_performance_potential_end_date", "last_modified_date",
                        "ordering_period_end_date"):
                new[col] = ""
            new["recipient_duns"] = new["recipient_duns"].zfill(9)
            parent = new["parent_award_id_piid"] or "-NONE-"
            pagency = new["parent_award_agency_id"].zfill(4) if new["parent_award_agency_id"] \
                else "-NONE-"
            new["contract_award_unique_key"] = (
                f"CONT_AWD_{new['award_id_piid']}_7012_{parent}_{pagency}")
            new["contract_transaction_unique_key"] = (
                f"7012_{pagency}_{new['award_id_piid']}_{new['modification_number']}_{parent}_"
                f"{new['transaction_number'] or '-NONE-'}")
            writer.writerow(new)
    return out


def test_current_layout_and_zip_as_usaspending_serves_it(tmp_path: Path) -> None:
    modern = _modern_layout(tmp_path)
    archive = tmp_path / "FY2016_7012_Contracts_Full_20261108.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(modern, modern.name)
    store = Store(tmp_path / "s")
    report = ingest(store, [archive], progress=False)
    load = report.results[0].load
    assert load.source_format == "usaspending-prime-transactions"
    assert load.vintage == "2026-11-08"
    assert load.source_file.endswith(".zip!" + modern.name)
    rows = read_rows(FPDS / "ice_fy2016.csv")
    assert load.rows_kept == len(rows) == 936
    plain = sum(Decimal(r["federal_action_obligation"]) for r in rows)
    assert store_totals(store) == {("7012", 2016): plain}
    catalog = store.connect()
    keys = catalog.con.to_pyarrow(catalog.transactions().select(
        "contract_award_unique_key", "usaspending_permalink")).to_pylist()
    assert all(k["usaspending_permalink"] ==
               f"https://www.usaspending.gov/award/{k['contract_award_unique_key']}/" for k in keys)
    # the same rows in the 2018 layout are the same transactions: nothing new
    report2 = ingest(store, [FPDS / "ice_fy2016.csv"], as_of="2018-08-09", progress=False)
    assert report2.results[0].load.new == 0
    assert store_totals(store) == {("7012", 2016): plain}


def test_top_recipients_match_plain_sums(transactions_store: Store) -> None:
    path = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"
    plain: dict[str, Decimal] = {}
    for row in read_rows(path):
        if row["Agency"] == "ICE":
            name = row["Recipient Name"]
            plain[name] = plain.get(name, Decimal(0)) + Decimal(row["Federal Action Obligation"])
    expected = sorted(plain.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    result = top(transactions_store.connect(), "recipient", Filters(agency="ICE", fy=2026), 10)
    got = [(r["recipient_name"], r["federal_action_obligation"]) for r in result.rows]
    assert got == expected
    assert result.meta["total_obligations"] == sum(plain.values())
    json.dumps(result.caveats)  # plain strings


def _fpds_keys(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """(PIID, modification) → row of a 2018-layout file (ICE rows, PIIDs of 13+ characters,
    whose key leaves the parent out)."""
    return {(r["award_id_piid"], r["modification_number"]): r for r in read_rows(path)
            if len(r["award_id_piid"]) >= 13 and r["transaction_number"] in ("", "0")}


@pytest.mark.parametrize("order", ["2018 first", "2023 first"])
def test_transaction_in_two_undated_loads_is_refused_then_newest_vintage_wins(
        tmp_path: Path, order: str) -> None:
    """A transaction dated 2018 in the 2018 download is dated FY2023 in today's export:
    different blocks, so only the shared key shows it. Undated, the current value would
    come from load order: refused. Dated, the newer vintage wins in either order."""
    old, new = FPDS / "ice_fy2018.csv", TRANSACTIONS / "CBP_ICE_FY2023_Contract_Obligations.csv"
    api = {(r["Award ID"], r["Modification"]): r for r in read_rows(new) if r["Agency"] == "ICE"}
    shared = sorted(set(_fpds_keys(old)) & set(api))
    assert shared, "the two files share transactions"
    first, second = (old, new) if order == "2018 first" else (new, old)
    store = Store(tmp_path / "s")
    ingest(store, [first], progress=False)
    before = (tmp_path / "s" / "manifest.json").read_bytes()
    with pytest.raises(IngestError, match=r"also in .*no vintage.*--as-of") as refused:
        ingest(store, [second], progress=False)
    assert shared[0][0] in str(refused.value)
    assert (tmp_path / "s" / "manifest.json").read_bytes() == before
    # dates from the data's READMEs: the 2018 files were published 2018-08-09, the export
    # was fetched 2026-08-22
    vintage = {old: "2018-08-09", new: "2026-08-22"}
    ingest(store, [first], as_of=vintage[first], progress=False)  # sets the vintage
    ingest(store, [second], as_of=vintage[second], progress=False)
    totals = store_totals(store)
    moved = sum(Decimal(_fpds_keys(old)[k]["federal_action_obligation"]) for k in shared)
    plain2018 = sum(Decimal(r["federal_action_obligation"]) for r in read_rows(old))
    assert totals[("7012", 2018)] == plain2018 - moved
    assert totals[("7012", 2023)] == plain_by_code([new])[("7012", 2023)]
    catalog = store.connect()
    t = catalog.transactions()
    n2018 = catalog.con.execute(t.filter(t.fiscal_year == 2018).count())
    assert n2018 == len(read_rows(old)) - len(shared)


def test_download_split_into_parts_adds_up(tmp_path: Path) -> None:
    """USAspending splits a large download into …_1.csv, …_2.csv in one ZIP: parts of one
    vintage cover the same blocks and must add up, not withdraw each other's rows."""
    src = FPDS / "ice_fy2017.csv"
    header, *rows = src.read_bytes().split(b"\n")
    rows = [r for r in rows if r]
    archive = tmp_path / "ICE_Contracts_PrimeTransactions_2018-07-01.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("part_1.csv", b"\n".join([header, *rows[:869]]) + b"\n")
        z.writestr("part_2.csv", b"\n".join([header, *rows[869:]]) + b"\n")
    store = Store(tmp_path / "s")
    report = ingest(store, [archive], progress=False)
    assert [r.status for r in report.results] == ["loaded", "loaded"]
    plain = read_rows(src)
    assert store_totals(store) == {
        ("7012", 2017): sum(Decimal(r["federal_action_obligation"]) for r in plain)}
    catalog = store.connect()
    assert catalog.con.execute(catalog.transactions().count()) == len(plain)
    # a newer fetch of the same year still withdraws what it no longer lists
    newer = tmp_path / "ice_fy2017_2018-09-01.csv"
    newer.write_bytes(b"\n".join([header, *rows[:100]]) + b"\n")
    ingest(store, [newer], progress=False)
    assert store_totals(store) == {
        ("7012", 2017): sum(Decimal(r["federal_action_obligation"]) for r in plain[:100])}


def test_same_vintage_cannot_order_a_transaction_with_two_values(tmp_path: Path) -> None:
    """One --as-of for both files: the shared transaction's value would come from load
    order, so it is refused too; parts of one fetch never share a transaction."""
    old, new = FPDS / "ice_fy2018.csv", TRANSACTIONS / "CBP_ICE_FY2023_Contract_Obligations.csv"
    store = Store(tmp_path / "s")
    with pytest.raises(IngestError, match="both have the vintage 2026-08-22"):
        ingest(store, [old, new], as_of="2026-08-22", progress=False)
    assert store.loads() == []


def test_same_bytes_fetched_later_are_current_then(tmp_path: Path) -> None:
    """A later fetch that returns the bytes of an earlier one: those rows are the current
    state as of the later date, whatever was fetched in between (whatever the load order)."""
    early = SNAPSHOTS / "FY2026_through_2026-02-13.csv"
    late = SNAPSHOTS / "FY2026_through_2026-08-20.csv"
    again = tmp_path / "FY2026_through_2026-09-01.csv"
    shutil.copy(early, again)
    for order in ([early, late, again], [again, late, early]):
        store = Store(tmp_path / f"s{len(list(tmp_path.iterdir()))}")
        for path in order:
            ingest(store, [path], progress=False)
        assert store_totals(store) == plain_by_code([early])


def test_re_dating_onto_another_loads_vintage_is_checked(tmp_path: Path) -> None:
    older = SNAPSHOTS / "FY2026_through_2026-05-05.csv"
    newer = SNAPSHOTS / "FY2026_through_2026-08-20.csv"
    store = Store(tmp_path / "s")
    ingest(store, [older], progress=False)
    ingest(store, [newer], progress=False)
    before = (tmp_path / "s" / "manifest.json").read_bytes()
    with pytest.raises(IngestError, match="both have the vintage 2026-08-20"):
        ingest(store, [older], as_of="2026-08-20", progress=False)
    assert (tmp_path / "s" / "manifest.json").read_bytes() == before
    report = ingest(store, [older], as_of="2026-05-06", progress=False)
    assert report.results[0].status == "vintage-updated"
    assert (report.rows()[0]["new"], report.rows()[0]["changed"]) == (0, 0)  # nothing added
    assert store_totals(store) == plain_by_code([newer])
