"""Bad input: a clear error naming file, line and problem; non-zero exit; store unchanged."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from contractwatch.ingest import ingest
from contractwatch.store import Store
from tests.conftest import TRANSACTIONS

REAL = TRANSACTIONS / "CBP_ICE_FY2023_Contract_Obligations.csv"


def snapshot(root: Path) -> dict[str, str]:
    """Every file of the store and its checksum (the lock file's note aside)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store")
    ingest(s, [TRANSACTIONS / "CBP_ICE_FY2021_Contract_Obligations.csv"], progress=False)
    return s


def real_lines(n: int = 50) -> list[str]:
    with open(REAL, newline="") as fh:
        return [next(fh) for _ in range(n)]


def case_html(tmp: Path) -> Path:
    p = tmp / "page.csv"
    p.write_text("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
                 "<body>Bad gateway</body></html>\n")
    return p


def case_truncated(tmp: Path) -> Path:
    p = tmp / "cut.csv"
    lines = real_lines()
    text = "".join(lines)
    p.write_text(text[: len(text) - len(lines[-1]) // 2], newline="")
    return p


def case_unknown_header(tmp: Path) -> Path:
    p = tmp / "other.csv"
    p.write_text("name,amount,when\nACME,12.00,2024-01-01\n")
    return p


def _with_field(tmp: Path, name: str, index: int, column: str, value: str) -> Path:
    """Real rows with one field of one row replaced (index 0 = the header line)."""
    with open(REAL, newline="") as fh:
        rows = [r for _, r in zip(range(10), csv.reader(fh), strict=False)]
    rows[index][rows[0].index(column)] = value
    p = tmp / name
    with open(p, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return p


def case_bad_amount(tmp: Path) -> Path:
    return _with_field(tmp, "amount.csv", 5, "Federal Action Obligation", "twelve")


def case_bad_date(tmp: Path) -> Path:
    return _with_field(tmp, "date.csv", 7, "Action Date", "2023-02-30")


def case_zip_slip(tmp: Path) -> Path:
    p = tmp / "evil.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("../../escape.csv", "".join(real_lines(5)))
    return p


def case_empty(tmp: Path) -> Path:
    p = tmp / "empty.csv"
    p.write_bytes(b"")
    return p


def case_extra_column(tmp: Path) -> Path:
    with open(REAL, newline="") as fh:
        rows = [r for _, r in zip(range(10), csv.reader(fh), strict=False)]
    p = tmp / "extra.csv"
    with open(p, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(
            [[*rows[0], "Notes"]] + [[*r, "x"] for r in rows[1:]])
    return p


def case_empty_zip(tmp: Path) -> Path:
    p = tmp / "nothing.zip"
    zipfile.ZipFile(p, "w").close()
    return p


def case_nul_byte(tmp: Path) -> Path:
    p = tmp / "nul.csv"
    lines = real_lines(20)
    lines[10] = lines[10].replace(",", ",\x00", 1)
    p.write_text("".join(lines), newline="")
    return p


CASES = {
    # name: (builder, expected words in the message, expected line or None)
    "extra column": (case_extra_column, "no column Notes", 1),
    "empty zip": (case_empty_zip, "holds no .csv member", None),
    "NUL byte": (case_nul_byte, "NUL bytes", 11),
    "html page": (case_html, "HTML page", 1),
    "truncated": (case_truncated, "expected 10 fields", 50),
    "unknown header": (case_unknown_header, "unknown header", 1),
    "non-numeric amount": (case_bad_amount, "not an amount: twelve", 6),
    "invalid date": (case_bad_date, "not a valid date: 2023-02-30", 8),
    "zip ../ member": (case_zip_slip, "unsafe member path", None),
    "empty file": (case_empty, "empty file", None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_clearly(name: str, store: Store, tmp_path: Path) -> None:
    builder, words, line = CASES[name]
    bad = builder(tmp_path)
    before = snapshot(store.root)
    good = TRANSACTIONS / "CBP_ICE_FY2022_Contract_Obligations.csv"
    # the good file first: all or nothing means it must not land either
    proc = subprocess.run(
        [sys.executable, "-m", "contractwatch", "--store", str(store.root), "ingest",
         str(good), str(bad)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = " ".join(proc.stderr.split())
    assert str(bad) in message or bad.name in message
    assert words in message
    if line is not None:
        assert f"line {line}" in message
    assert "Traceback" not in proc.stderr
    assert snapshot(store.root) == before
    assert not list((store.root / "loads").glob("*.tmp"))


def test_fetch_date_in_the_future_is_refused(store: Store, tmp_path: Path) -> None:
    from contractwatch.ingest import IngestError

    before = snapshot(store.root)
    good = TRANSACTIONS / "CBP_ICE_FY2022_Contract_Obligations.csv"
    with pytest.raises(IngestError, match="in the future"):
        ingest(store, [good], as_of="2062-02-17", progress=False)
    assert snapshot(store.root) == before
    # a future date in a file name is not taken as its fetch date either
    named = tmp_path / "FY2022_fetched_2062-02-17.csv"
    named.write_bytes(good.read_bytes())
    load = ingest(store, [named], progress=False).loads[0]
    assert load.vintage is None and "no vintage" in " ".join(load.warnings)


def test_missing_data_file_is_an_error_not_an_empty_store(store: Store) -> None:
    (data,) = (store.root / "loads").glob("*/transactions.parquet")
    data.unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "contractwatch", "--store", str(store.root), "top", "-f", "json"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "is missing" in proc.stderr and "Traceback" not in proc.stderr


def test_skip_bad_rows_sets_them_aside_and_says_where(tmp_path: Path) -> None:
    from decimal import Decimal

    with open(REAL, newline="") as fh:
        rows = [r for _, r in zip(range(40), csv.reader(fh), strict=False)]
    header = rows[0]
    amount, when = header.index("Federal Action Obligation"), header.index("Action Date")
    rows[5][amount] = "twelve"
    rows[9][when] = "2023-02-30"
    src = tmp_path / "mixed.csv"
    with open(src, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    store = Store(tmp_path / "s")
    load = ingest(store, [src], skip_bad_rows=True, progress=False).loads[0]
    good = [r for i, r in enumerate(rows[1:], start=1) if i not in (5, 9)]
    assert (load.rows_read, load.rows_kept, load.rows_rejected) == (39, 37, 2)
    assert sum(Decimal(b.obligations) for b in load.blocks) == sum(
        Decimal(r[amount]) for r in good)
    rejects = store.root / load.data_dir / "rejects.csv"
    assert str(rejects) in " ".join(load.warnings)
    with open(rejects, newline="") as fh:
        listed = list(csv.DictReader(fh))
    assert [int(r["line"]) for r in listed] == [6, 10]
    assert "not an amount: twelve" in listed[0]["problem"]
    assert "not a valid date: 2023-02-30" in listed[1]["problem"]



def test_markup_in_a_cell_is_not_taken_for_an_html_page(tmp_path: Path) -> None:
    """Only a file that starts with markup is a saved error page; a cell near the top that
    mentions "<HTML" is data (the CSV fuzz test found such a file refused)."""
    from contractwatch.sources.csvfile import inspect_file, read_batches

    rows = [["piid", "note"], ["1", "<HTML> FORMS CONVERSION"], ["2", "<html> page hosting"]]
    src = tmp_path / "markup.csv"
    with open(src, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    facts = inspect_file(src, src.name)
    got = [r for b in read_batches(src, facts, src.name)
           for r in zip(b.column(0).to_pylist(), b.column(1).to_pylist(), strict=True)]
    assert facts.header == rows[0] and got == [tuple(r) for r in rows[1:]]
