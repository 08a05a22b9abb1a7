"""Property-based tests (Hypothesis) of the parsers and the money roll-ups.

For any generated set of transactions in the 10-column API-export layout, written as CSV with
any delimiter and encoding, ingest keeps every value; the sums by award, recipient, family,
fiscal year and agency agree with each other and with a plain Decimal recomputation; and
re-ingesting any subset (the same bytes, an older complete snapshot, or a newer partial
selection of whole transactions) changes no figure. Amount text in any accepted US form parses
to the same exact value in the engine and in Python.

Recipient names are drawn from the real shared files, so names with commas, quotes and
ampersands are the ones the data really has.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import TRANSACTIONS
from tests.plain import fiscal_year

CODES = {"CBP": "7014", "ICE": "7012"}
HEADER = ["Agency", "Award ID", "Recipient Name", "Federal Action Obligation", "Action Date",
          "Modification", "Product/Service Description", "NAICS Description",
          "Transaction Description", "Generated Award ID"]
CENT = Decimal("0.01")
# no shrinking: each example ingests four files (~3 s); a failure prints its data unshrunk
SLOW = settings(max_examples=20, deadline=None, derandomize=True,
                phases=(Phase.explicit, Phase.reuse, Phase.generate),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])


@cache
def real_names() -> list[str]:
    """Recipient names from a real file, including the awkward ones."""
    with open(TRANSACTIONS / "CBP_ICE_FY2024_Contract_Obligations.csv", newline="") as fh:
        names = sorted({r["Recipient Name"] for r in csv.DictReader(fh)})
    awkward = [n for n in names if any(c in n for c in ',"&\'')][:20]
    return awkward + names[:: max(1, len(names) // 20)][:20]


@cache
def real_psc() -> list[str]:
    with open(TRANSACTIONS / "CBP_ICE_FY2024_Contract_Obligations.csv", newline="") as fh:
        return sorted({r["Product/Service Description"] for r in csv.DictReader(fh)})[:30]


amounts = st.one_of(
    st.just(Decimal("0.00")),
    st.sampled_from([Decimal("2972195.00"), Decimal("-440440440.00"), Decimal("0.01")]),
    st.decimals(min_value=Decimal("-5000000000"), max_value=Decimal("50000000000"),
                places=2, allow_nan=False, allow_infinity=False),
)
text = st.text(
    alphabet=st.sampled_from(list("ABCXYZ abc019,;|\t\"'&-/.()$%") + ["\n", "\r", "é", "’",
                                                                         "—", "Ü"]),
    max_size=40,
)
piids = st.sampled_from([f"70{p}{n:09d}" for p in ("B01C24F", "CDCR25C", "CMSD23F")
                         for n in range(6)])
rows = st.lists(st.fixed_dictionaries({
    "Agency": st.sampled_from(["CBP", "ICE"]),
    "Award ID": piids,
    "Recipient Name": st.sampled_from(real_names()),
    "Federal Action Obligation": amounts,
    "Action Date": st.dates(min_value=date(2020, 10, 1), max_value=date(2026, 9, 30)),
    "Modification": st.sampled_from(["0", "P00001", "P00002", "P00003", "A00001"]),
    "Product/Service Description": st.sampled_from(real_psc()),
    "NAICS Description": st.sampled_from(["", "SECURITY GUARDS AND PATROL SERVICES"]),
    "Transaction Description": text,
    "parent": st.sampled_from(["-NONE-_-NONE-", "70B01C24D000000012_7014", "47QRAA24D002B_4732"]),
}), min_size=1, max_size=60)


def amount_text(d: Decimal) -> str:
    """The way the real exports print an amount: Python's float repr, as in 46785.5."""
    return repr(float(d)) if abs(d) < Decimal("1e15") else str(d)


def to_csv_rows(data: list[dict]) -> list[list[str]]:
    out = []
    for r in data:
        gen = f"CONT_AWD_{r['Award ID']}_{CODES[r['Agency']]}_{r['parent']}"
        out.append([r["Agency"], r["Award ID"], r["Recipient Name"],
                    amount_text(r["Federal Action Obligation"]), r["Action Date"].isoformat(),
                    r["Modification"], r["Product/Service Description"], r["NAICS Description"],
                    r["Transaction Description"], gen])
    return out


def write_csv(path: Path, body: list[list[str]], delimiter: str = ",",
              encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows([HEADER, *body])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def plain_rollups(body: list[list[str]]) -> dict[str, dict]:
    """Sums by award, recipient, fiscal year and agency, with the csv module and Decimal."""
    out: dict[str, dict] = {k: defaultdict(Decimal) for k in ("award", "recipient", "fy",
                                                                "agency")}
    for r in body:
        amount = Decimal(r[3]).quantize(CENT)
        out["award"][r[9]] += amount
        out["recipient"][r[2]] += amount
        out["fy"][fiscal_year(r[4])] += amount
        out["agency"][CODES[r[0]]] += amount
    return {k: dict(v) for k, v in out.items()}


def store_rollups(store) -> dict[str, dict]:
    from contractwatch.analyze import Filters, awards, recipients, top

    catalog = store.connect()
    con = catalog.con
    out: dict[str, dict] = {}
    out["award"] = {r["award_key"]: r["federal_action_obligation"]
                    for r in con.to_pyarrow(awards(catalog, "keep")).to_pylist()}
    out["recipient"] = {r["recipient_name"]: r["federal_action_obligation"]
                        for r in con.to_pyarrow(recipients(catalog, "keep")).to_pylist()}
    out["fy"] = {r["fiscal_year"]: r["federal_action_obligation"]
                 for r in top(catalog, "fy", Filters(), 0, "keep").rows}
    out["agency"] = {r["awarding_sub_agency_code"]: r["federal_action_obligation"]
                     for r in top(catalog, "agency", Filters(), 0, "keep").rows}
    out["family"] = {r["family_id"]: r["federal_action_obligation"]
                     for r in top(catalog, "family", Filters(), 0, "keep").rows}
    return out


def nonzero(d: dict) -> dict:
    return {k: v for k, v in d.items() if v != 0}


def check_rollups(store, body: list[list[str]]) -> None:
    want = plain_rollups(body)
    got = store_rollups(store)
    total = sum((Decimal(r[3]).quantize(CENT) for r in body), Decimal(0))
    for view in ("award", "recipient", "fy", "agency"):
        # a group can be $0.00 overall; the views agree on which groups exist with money
        assert nonzero(got[view]) == nonzero(want[view]), view
        assert sum(got[view].values(), Decimal(0)) == total, view
    assert sum(got["family"].values(), Decimal(0)) == total


@SLOW
@given(data=rows, delimiter=st.sampled_from([",", ";", "\t", "|"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
       subset_seed=st.randoms(use_true_random=False))
def test_rollups_agree_and_reingesting_subsets_changes_nothing(
        data, delimiter, encoding, subset_seed, tmp_path_factory) -> None:
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    body = to_csv_rows(data)
    if encoding == "cp1252":
        try:
            "".join(c for r in body for c in r).encode("cp1252")
        except UnicodeEncodeError:
            assume(False)
    d = tmp_path_factory.mktemp("prop")
    store = Store(d / "store")
    first = write_csv(d / "export.csv", body, delimiter, encoding)
    ingest(store, [first], as_of="2026-06-01", progress=False)

    # every text value survives the round trip (trimmed of white space; empty is null)
    catalog = store.connect()
    stored = sorted(catalog.con.to_pyarrow(catalog.transactions_all()).to_pylist(),
                    key=lambda r: r["source_row"])
    assert len(stored) == len(body)
    for got, r in zip(stored, body, strict=True):
        assert got["transaction_description"] == (r[8].strip() or None)
        assert got["recipient_name"] == r[2]
        assert got["federal_action_obligation"] == Decimal(r[3]).quantize(CENT)
        assert got["action_date"].isoformat() == r[4]
    check_rollups(store, body)

    # 1. the same bytes again
    report = ingest(store, [first], progress=False)
    assert [x.status for x in report.results] == ["already-loaded"]
    # 2. any subset of rows as an older complete snapshot: the newer one stays current
    older = [r for r in body if subset_seed.random() < 0.5] or body[:1]
    ingest(store, [write_csv(d / "older.csv", older)], as_of="2026-05-01", progress=False)
    check_rollups(store, body)
    # 3. a newer partial selection of whole transactions (every row of each chosen key)
    keys = sorted({(r[0], r[1], r[5]) for r in body})
    chosen = {k for k in keys if subset_seed.random() < 0.5}
    newer = [r for r in body if (r[0], r[1], r[5]) in chosen]
    if newer:
        ingest(store, [write_csv(d / "newer.csv", newer)], as_of="2026-07-01", partial=True,
               progress=False)
    check_rollups(store, body)
    # 4. and the whole file again as a newer complete snapshot, in another layout and order
    again = list(reversed(body))
    ingest(store, [write_csv(d / "again.csv", again, ";")], as_of="2026-08-01",
           progress=False)
    check_rollups(store, body)


# ---- money text -------------------------------------------------------------------------

def us_forms(d: Decimal) -> list[str]:
    """Ways people and programs write the same amount."""
    sign = "-" if d < 0 else ""
    a = abs(d)
    forms = [str(d), f"{d:.2f}", f"{sign}${a:,.2f}", f"{sign}{a:,.2f}", f"{sign}${a:.2f}",
             f" {d:.2f} "]
    if d < 0:
        forms += [f"(${a:,.2f})", f"({a:.2f})"]
    if abs(d) < Decimal("1e15"):
        forms.append(repr(float(d)))  # the API exports: 46785.5, 0.0
    return forms


@pytest.fixture(scope="module")
def engine():
    import duckdb

    from contractwatch.sources.base import MONEY_MACROS

    con = duckdb.connect()
    con.execute(MONEY_MACROS)
    yield con
    con.close()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.decimals(min_value=Decimal("-9999999999999.99"), max_value=Decimal("9999999999999.99"),
                   places=2, allow_nan=False, allow_infinity=False))
def test_money_text_round_trips(engine, value: Decimal) -> None:
    from contractwatch.values.money import parse_money

    for form in us_forms(value):
        assert parse_money(form) == value, form
        got = engine.execute("SELECT cw_money(trim(?)), cw_money_ok(trim(?))",
                             [form, form]).fetchall()[0]
        assert got == (value, True), form


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.one_of(
    st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,2})?[eE][+-]?[0-9]{1,2}", fullmatch=True),
    st.from_regex(r"-?[0-9]{1,6}\.[0-9]{3,5}", fullmatch=True).filter(
        lambda s: not s.rstrip("0").endswith(".") and len(s.rstrip("0").split(".")[1]) > 2),
    st.sampled_from(["nan", "inf", "-Infinity", "N/A", "$", "1,23.00", "12-", "--1",
                     "1.2.3", "$$1", "1 000.00", "+-1"]),
))
def test_money_text_refused_not_guessed(engine, text: str) -> None:
    """Scientific notation, fractions of a cent and junk are refused, never rounded."""
    from contractwatch.values.money import parse_money

    ok = engine.execute("SELECT cw_money_ok(?)", [text]).fetchall()[0][0]
    assert ok is False, text
    if "e" not in text.lower() or text.lower() in ("nan", "inf", "-infinity"):
        with pytest.raises(ValueError):
            parse_money(text)


def test_python_money_parser_refuses_exponents() -> None:
    from contractwatch.values.money import parse_money

    for text in ("0E0", "1E26", "3E+08"):
        with pytest.raises(ValueError):
            parse_money(text)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
                min_size=1, max_size=20))
def test_slash_dates_read_back_exactly(engine, days: list[date]) -> None:
    """US and day-first slash dates give back the same day, once the order is settled."""
    from contractwatch.sources.base import date_expr, sniff_date_order

    marker = date(2021, 1, 31)  # one unambiguous value settles the order, as in real files
    for order, fmt in (("mdy", "%m/%d/%Y"), ("dmy", "%d/%m/%Y")):
        texts = [d.strftime(fmt) for d in [marker, *days]]
        assert sniff_date_order(texts) == order
        expr = date_expr("v", order)
        got = [r[0] for r in engine.execute(
            f"SELECT {expr} FROM (SELECT unnest(?) AS v, generate_subscripts(?, 1) AS i) "
            "ORDER BY i", [texts, texts]).fetchall()]
        assert got == [marker, *days]


def test_fiscal_year_boundaries() -> None:
    """30 September is the last day of a fiscal year; 1 October the first of the next."""
    from contractwatch.values.fiscal import fiscal_year as fy

    for year in range(2008, 2030):
        assert fy(date(year, 9, 30)) == year
        assert fy(date(year, 10, 1)) == year + 1
        assert fy(date(year, 10, 1) - timedelta(days=1)) == year
