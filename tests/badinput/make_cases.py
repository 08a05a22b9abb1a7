"""The bad-input corpus: real USAspending rows, mangled the ways real files arrive.

Every case starts from real lines of ../shared/data/usaspending (FY2023 file) and changes
them the way a spreadsheet, a proxy, a flaky API or a careless archive does. A case either
*loads* (and says which canonical values must come out) or *fails* (and says which words and
which line the error must name). Expected values are computed here with plain Python from the
real rows, never by the code under test.

Run as a script to write the corpus into a folder for inspection:

    .venv/bin/python -m tests.badinput.make_cases /tmp/badinput
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import stat
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from tests.conftest import TRANSACTIONS

SOURCE = TRANSACTIONS / "CBP_ICE_FY2023_Contract_Obligations.csv"
# canonical values checked for a loaded case, in this order
Expected = tuple[str, str, Decimal, str, str | None, str | None]


@dataclass
class Built:
    paths: list[Path]  # what goes on the command line
    rows: list[Expected] | None = None  # loads: exactly these canonical rows are added
    words: list[str] = field(default_factory=list)  # fails: the message contains these
    line: int | None = None  # fails: the message names this line
    label: str | None = None  # fails: the message names this (default: the case's file name)
    args: list[str] = field(default_factory=list)  # extra ingest options


@dataclass
class Case:
    name: str
    build: Callable[[Path], Built]


@cache
def real() -> tuple[list[str], list[list[str]]]:
    """The header and 24 real rows: large awards, de-obligations and ICE rows."""
    with open(SOURCE, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    picked = body[:10]
    picked += [r for r in body if r[3].startswith("-")][:6]  # de-obligations
    picked += [r for r in body if r[0] == "ICE"][:8]
    return header, [list(r) for r in picked]


def col(name: str) -> int:
    return real()[0].index(name)


def expected(rows: list[list[str]]) -> list[Expected]:
    """What ingest must produce from these (already de-mangled) rows, by plain Python."""
    out = []
    for r in rows:
        def s(name: str, r: list[str] = r) -> str | None:
            v = r[col(name)].strip()
            return v or None
        out.append((r[col("Award ID")], r[col("Modification")],
                    Decimal(r[col("Federal Action Obligation")]).quantize(Decimal("0.01")),
                    r[col("Action Date")], s("Recipient Name"), s("Transaction Description")))
    return out


def write(path: Path, header: list[str], rows: list[list[str]], *, delimiter: str = ",",
          encoding: str = "utf-8", newline: str = "\r\n", bom: bool = False) -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=newline).writerows([header, *rows])
    data = buf.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def rows_copy() -> tuple[list[str], list[list[str]]]:
    header, rows = real()
    return list(header), [list(r) for r in rows]


def with_value(rows: list[list[str]], index: int, column: str, value: str) -> list[list[str]]:
    rows[index][col(column)] = value
    return rows


# ---- cases that load ----------------------------------------------------------------------

def c_clean(d: Path) -> Built:
    header, rows = rows_copy()
    return Built([write(d / "clean.csv", header, rows)], expected(rows))


def c_cp1252(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 2, "Recipient Name", "SOCIÉTÉ GÉNÉRALE DE SÉCURITÉ")
    with_value(rows, 3, "Transaction Description", "VENDOR’S “TASK” ORDER – PHASE II")
    return Built([write(d / "cp1252.csv", header, rows, encoding="cp1252")], expected(rows))


def c_latin1(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 1, "Recipient Name", "NUÑEZ & MÜLLER SERVIÇOS")
    return Built([write(d / "latin1.csv", header, rows, encoding="latin-1")], expected(rows))


def c_bom(d: Path) -> Built:
    header, rows = rows_copy()
    return Built([write(d / "bom.csv", header, rows, bom=True)], expected(rows))


def c_bom_cp1252_mix(d: Path) -> Built:
    """A UTF-8 BOM with real UTF-8 text (accents) after it: the BOM goes, the text stays."""
    header, rows = rows_copy()
    with_value(rows, 0, "Recipient Name", "CAFÉ NOÜVEAU, INC.")
    return Built([write(d / "bom-utf8.csv", header, rows, bom=True)], expected(rows))


def c_semicolon(d: Path) -> Built:
    header, rows = rows_copy()
    return Built([write(d / "semicolon.csv", header, rows, delimiter=";")], expected(rows))


def c_tab(d: Path) -> Built:
    header, rows = rows_copy()
    return Built([write(d / "tab.csv", header, rows, delimiter="\t")], expected(rows))


def c_pipe(d: Path) -> Built:
    header, rows = rows_copy()
    return Built([write(d / "pipe.csv", header, rows, delimiter="|")], expected(rows))


def c_lf(d: Path) -> Built:
    header, rows = rows_copy()
    return Built([write(d / "lf.csv", header, rows, newline="\n")], expected(rows))


def c_no_final_newline(d: Path) -> Built:
    header, rows = rows_copy()
    p = write(d / "nofinal.csv", header, rows)
    p.write_bytes(p.read_bytes().rstrip(b"\r\n"))
    return Built([p], expected(rows))


def c_quoted_newline(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 4, "Transaction Description", "LINE ONE\r\nLINE TWO, \"QUOTED\"")
    return Built([write(d / "quoted-newline.csv", header, rows)], expected(rows))


def c_quotes_everywhere(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 5, "Recipient Name", 'ACME "BEST" SERVICES, LLC')
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows([header, *rows])
    p = d / "quote-all.csv"
    p.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return Built([p], expected(rows))


def c_huge_field(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 6, "Transaction Description", ("REPEATED TEXT " * 20000).strip())
    return Built([write(d / "huge-field.csv", header, rows)], expected(rows))


def c_dollar_commas(d: Path) -> Built:
    header, rows = rows_copy()
    amounts = [r[col("Federal Action Obligation")] for r in rows]
    for r in rows:
        v = Decimal(r[col("Federal Action Obligation")]).quantize(Decimal("0.01"))
        r[col("Federal Action Obligation")] = ("-" if v < 0 else "") + f"${abs(v):,.2f}"
    p = write(d / "dollars.csv", header, rows)
    for r, a in zip(rows, amounts, strict=True):
        r[col("Federal Action Obligation")] = a
    return Built([p], expected(rows))


def c_accounting_negative(d: Path) -> Built:
    header, rows = rows_copy()
    neg = rows[10]
    amount = Decimal(neg[col("Federal Action Obligation")])
    assert amount < 0
    neg[col("Federal Action Obligation")] = f"(${abs(amount):,.2f})"
    p = write(d / "accounting.csv", header, rows)
    neg[col("Federal Action Obligation")] = str(amount)
    return Built([p], expected(rows))


def c_padded_values(d: Path) -> Built:
    header, rows = rows_copy()
    raw = [list(r) for r in rows]
    for r in raw:
        r[col("Federal Action Obligation")] = "  " + r[col("Federal Action Obligation")] + " "
        r[col("Recipient Name")] = " " + r[col("Recipient Name")] + "  "
    return Built([write(d / "padded.csv", [f" {h} " for h in header], raw)], expected(rows))


def c_us_dates(d: Path) -> Built:
    header, rows = rows_copy()
    raw = [list(r) for r in rows]
    for r in raw:
        y, m, dd = r[col("Action Date")].split("-")
        r[col("Action Date")] = f"{m}/{dd}/{y}"
    return Built([write(d / "us-dates.csv", header, raw)], expected(rows))


def c_day_first_dates(d: Path) -> Built:
    header, rows = rows_copy()
    raw = [list(r) for r in rows]
    for r in raw:
        y, m, dd = r[col("Action Date")].split("-")
        r[col("Action Date")] = f"{dd}/{m}/{y}"
    return Built([write(d / "dmy-dates.csv", header, raw)], expected(rows))


def c_ambiguous_dates_with_option(d: Path) -> Built:
    header, rows = rows_copy()
    rows = [r for r in rows if int(r[col("Action Date")][8:]) <= 12]
    raw = [list(r) for r in rows]
    for r in raw:
        y, m, dd = r[col("Action Date")].split("-")
        r[col("Action Date")] = f"{dd}/{m}/{y}"
    return Built([write(d / "ambiguous-dmy.csv", header, raw)], expected(rows),
                 args=["--date-order", "dmy"])


def c_datetime(d: Path) -> Built:
    header, rows = rows_copy()
    raw = [list(r) for r in rows]
    for r in raw:
        r[col("Action Date")] += " 00:00:00"
    return Built([write(d / "datetimes.csv", header, raw)], expected(rows))


def c_nine_columns(d: Path) -> Built:
    """The oldest layout, without Generated Award ID."""
    header, rows = rows_copy()
    return Built([write(d / "nine.csv", header[:9], [r[:9] for r in rows])], expected(rows))


def c_header_only(d: Path) -> Built:
    header, _ = rows_copy()
    return Built([write(d / "header-only.csv", header, [])], [])


def c_blank_lines(d: Path) -> Built:
    header, rows = rows_copy()
    p = write(d / "blank-lines.csv", header, rows)
    lines = p.read_bytes().split(b"\r\n")
    lines.insert(5, b"")
    lines.insert(9, b"")
    p.write_bytes(b"\r\n".join(lines))
    return Built([p], expected(rows))


def c_zip_ok(d: Path) -> Built:
    header, rows = rows_copy()
    member = write(d / "member.csv", header, rows)
    p = d / "download.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(member, "Contracts_PrimeTransactions_1.csv")
    member.unlink()
    return Built([p], expected(rows))


def c_zip_named_csv(d: Path) -> Built:
    """A ZIP archive saved under a .csv name is still read as the archive it is."""
    header, rows = rows_copy()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    p = d / "really-a-zip.csv"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.csv", buf.getvalue())
    return Built([p], expected(rows))


def c_symlink_argument(d: Path) -> Built:
    """A symbolic link named on the command line is followed (the user chose it)."""
    header, rows = rows_copy()
    target = write(d / "target.csv", header, rows)
    link = d / "link.csv"
    link.symlink_to(target)
    return Built([link], expected(rows))


# ---- cases that fail ----------------------------------------------------------------------

def c_utf16(d: Path) -> Built:
    header, rows = rows_copy()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    p = d / "utf16.csv"
    p.write_bytes(buf.getvalue().encode("utf-16"))
    return Built([p], words=["UTF-16"], line=1)


def c_ragged_short(d: Path) -> Built:
    header, rows = rows_copy()
    rows[7] = rows[7][:8]
    return Built([write(d / "ragged-short.csv", header, rows)],
                 words=["expected 10 fields, found 8"], line=9)


def c_ragged_long(d: Path) -> Built:
    header, rows = rows_copy()
    rows[11] = [*rows[11], "EXTRA", "MORE"]
    return Built([write(d / "ragged-long.csv", header, rows)],
                 words=["expected 10 fields, found 12"], line=13)


def c_cut_short(d: Path) -> Built:
    header, rows = rows_copy()
    p = write(d / "cut.csv", header, rows)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 120])
    return Built([p], words=["expected 10 fields"], line=len(rows) + 1)


def c_unclosed_quote(d: Path) -> Built:
    header, rows = rows_copy()
    p = write(d / "unclosed-quote.csv", header, rows)
    lines = p.read_bytes().split(b"\r\n")
    lines[15] = lines[15].replace(b",CBP", b',"CBP', 1) if b",CBP" in lines[15] else \
        b'"' + lines[15]
    p.write_bytes(b"\r\n".join(lines))
    return Built([p], words=["quote"], line=16)


def c_scientific(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 0, "Federal Action Obligation", "3E+08")
    return Built([write(d / "scientific.csv", header, rows)],
                 words=["Federal Action Obligation", "not an amount", "3E+08"], line=2)


def c_fraction_of_cent(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 4, "Federal Action Obligation", "1234.567")
    return Built([write(d / "fraction-cent.csv", header, rows)],
                 words=["not an amount", "1234.567"], line=6)


def c_words_amount(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 8, "Federal Action Obligation", "N/A")
    return Built([write(d / "na-amount.csv", header, rows)],
                 words=["not an amount", "N/A"], line=10)


def c_nan_amount(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 9, "Federal Action Obligation", "nan")
    return Built([write(d / "nan-amount.csv", header, rows)],
                 words=["not an amount", "nan"], line=11)


def c_overflow_amount(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 3, "Federal Action Obligation", "123456789012345678901.00")
    return Built([write(d / "overflow.csv", header, rows)],
                 words=["not an amount", "123456789012345678901.00"], line=5)


def c_empty_amount(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 12, "Federal Action Obligation", "")
    return Built([write(d / "empty-amount.csv", header, rows)],
                 words=["Federal Action Obligation", "required value is empty"], line=14)


def c_bad_date(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 2, "Action Date", "2023-02-30")
    return Built([write(d / "feb30.csv", header, rows)],
                 words=["not a valid date", "2023-02-30"], line=4)


def c_text_date(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 5, "Action Date", "Sep 28, 2023")
    return Built([write(d / "text-date.csv", header, rows)],
                 words=["not a valid date", "Sep 28, 2023"], line=7)


def c_ambiguous_dates(d: Path) -> Built:
    header, rows = rows_copy()
    rows = [r for r in rows if int(r[col("Action Date")][8:]) <= 12]
    for r in rows:
        y, m, dd = r[col("Action Date")].split("-")
        r[col("Action Date")] = f"{dd}/{m}/{y}"
    return Built([write(d / "ambiguous.csv", header, rows)], words=["--date-order"])


def c_mixed_date_orders(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 0, "Action Date", "28/09/2023")
    with_value(rows, 1, "Action Date", "09/28/2023")
    return Built([write(d / "mixed-orders.csv", header, rows)],
                 words=["mix day-first and month-first"])


def c_bad_amount_after_quoted_newline(d: Path) -> Built:
    """Line numbers count lines as an editor shows them, not records."""
    header, rows = rows_copy()
    with_value(rows, 1, "Transaction Description", "FIRST LINE\r\nSECOND LINE\r\nTHIRD")
    with_value(rows, 6, "Federal Action Obligation", "1.2.3")
    return Built([write(d / "newline-then-bad.csv", header, rows)],
                 words=["not an amount", "1.2.3"], line=10)


def c_unknown_agency_after_blank_lines(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 14, "Agency", "XYZZY")
    p = write(d / "blank-then-agency.csv", header, rows)
    lines = p.read_bytes().split(b"\r\n")
    lines.insert(3, b"")
    p.write_bytes(b"\r\n".join(lines))
    return Built([p], words=["Agency", "XYZZY"], line=17)


def c_ragged_after_quoted_newline(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 0, "Transaction Description", "A\nB")
    rows[4] = rows[4][:9]
    return Built([write(d / "newline-then-ragged.csv", header, rows)],
                 words=["expected 10 fields, found 9"], line=7)


def c_unknown_agency(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 14, "Agency", "XYZZY")
    return Built([write(d / "agency.csv", header, rows)], words=["Agency", "XYZZY"], line=16)


def c_empty_award_id(d: Path) -> Built:
    header, rows = rows_copy()
    with_value(rows, 13, "Award ID", "")
    return Built([write(d / "no-piid.csv", header, rows)],
                 words=["Award ID", "required value is empty"], line=15)


def c_missing_column(d: Path) -> Built:
    header, rows = rows_copy()
    i = col("Federal Action Obligation")
    return Built([write(d / "missing-col.csv", header[:i] + header[i + 1:],
                        [r[:i] + r[i + 1:] for r in rows])],
                 words=["unknown header", "missing Federal Action Obligation"], line=1)


def c_duplicate_header(d: Path) -> Built:
    header, rows = rows_copy()
    header[col("NAICS Description")] = "Product/Service Description"
    return Built([write(d / "dup-header.csv", header, rows)],
                 words=["repeats the column", "Product/Service Description"], line=1)


def c_empty_header_name(d: Path) -> Built:
    header, rows = rows_copy()
    return Built([write(d / "empty-header.csv", [*header, ""], [[*r, ""] for r in rows])],
                 words=["empty column name"], line=1)


def c_html(d: Path) -> Built:
    p = d / "gateway.csv"
    p.write_text("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
                 "<body><h1>502 Bad Gateway</h1></body></html>\n")
    return Built([p], words=["HTML page"], line=1)


def c_json(d: Path) -> Built:
    p = d / "throttled.csv"
    p.write_text(json.dumps({"detail": "Request was throttled. Expected available in 60 "
                                       "seconds."}) + "\n")
    return Built([p], words=["JSON"], line=1)


def c_empty(d: Path) -> Built:
    p = d / "empty.csv"
    p.write_bytes(b"")
    return Built([p], words=["empty file"])


def c_whitespace(d: Path) -> Built:
    p = d / "blank.csv"
    p.write_bytes(b"\r\n  \r\n\r\n")
    return Built([p], words=["blank space"], line=1)


def c_gzip(d: Path) -> Built:
    header, rows = rows_copy()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    p = d / "compressed.csv"
    p.write_bytes(gzip.compress(buf.getvalue().encode()))
    return Built([p], words=["gzip-compressed"], line=1)


def c_xls(d: Path) -> Built:
    """An old binary Excel workbook saved with a .csv name (OLE2 header, NUL bytes)."""
    p = d / "workbook.csv"
    p.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 24 + b"Agency,Award ID")
    return Built([p], words=["binary data"], line=1)


def c_xlsx(d: Path) -> Built:
    """An .xlsx workbook is a ZIP archive without a CSV member."""
    p = d / "workbook.xlsx.csv"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return Built([p], words=["no .csv member"])


def c_zip_slip(d: Path) -> Built:
    header, rows = rows_copy()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    p = d / "slip.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("../../escape.csv", buf.getvalue())
    return Built([p], words=["unsafe member path", "'..'"])


def c_zip_absolute(d: Path) -> Built:
    header, rows = rows_copy()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    p = d / "absolute.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr(zipfile.ZipInfo("/tmp/owned.csv"), buf.getvalue())
    return Built([p], words=["unsafe member path", "absolute"])


def c_zip_symlink(d: Path) -> Built:
    p = d / "link.zip"
    info = zipfile.ZipInfo("data.csv")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    return Built([p], words=["symbolic link"])


def c_zip_bomb(d: Path) -> Built:
    header, _ = rows_copy()
    p = d / "bomb.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("Contracts_PrimeTransactions_1.csv", "w") as out:
            out.write((",".join(header) + "\r\n").encode())
            block = b"0" * (1 << 20)
            for _ in range(64):
                out.write(block)
    return Built([p], words=["decompression bomb"])


def c_zip_damaged(d: Path) -> Built:
    built = c_zip_ok(d)
    p = built.paths[0]
    data = p.read_bytes()
    bad = d / "damaged.zip"
    bad.write_bytes(data[: len(data) // 2])
    p.unlink()
    return Built([bad], words=["not a readable ZIP archive"])


def c_zip_no_csv(d: Path) -> Built:
    p = d / "report.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("readme.pdf", b"%PDF-1.4 not a table")
    return Built([p], words=["no .csv member"])


def c_broken_symlink(d: Path) -> Built:
    link = d / "gone.csv"
    link.symlink_to(d / "does-not-exist.csv")
    return Built([link], words=["broken symbolic link"])


def c_symlink_out_of_folder(d: Path) -> Built:
    """Inside a folder, a link that leads out of the folder is refused, not followed."""
    header, rows = rows_copy()
    outside = d / "elsewhere"
    outside.mkdir()
    target = write(outside / "other.csv", header, rows)
    folder = d / "folder"
    folder.mkdir()
    (folder / "escape.csv").symlink_to(target)
    return Built([folder], words=["symbolic link", "outside"], label="escape.csv")


def c_symlink_inside_folder(d: Path) -> Built:
    """A link that stays inside the folder being walked is followed."""
    header, rows = rows_copy()
    folder = d / "folder"
    (folder / "raw").mkdir(parents=True)
    target = write(folder / "raw" / "export.txt", header, rows)
    (folder / "current.csv").symlink_to(target)
    return Built([folder], expected(rows))


def c_broken_symlink_in_folder(d: Path) -> Built:
    header, rows = rows_copy()
    folder = d / "folder"
    folder.mkdir()
    write(folder / "a.csv", header, rows)
    (folder / "b.csv").symlink_to(d / "moved-away.csv")
    return Built([folder], words=["broken symbolic link"], label="b.csv")


CASES: list[Case] = [Case(fn.__name__[2:].replace("_", "-"), fn) for fn in [
    c_clean, c_cp1252, c_latin1, c_bom, c_bom_cp1252_mix, c_semicolon, c_tab, c_pipe, c_lf,
    c_no_final_newline, c_quoted_newline, c_quotes_everywhere, c_huge_field, c_dollar_commas,
    c_accounting_negative, c_padded_values, c_us_dates, c_day_first_dates,
    c_ambiguous_dates_with_option, c_datetime, c_nine_columns, c_header_only, c_blank_lines,
    c_zip_ok, c_zip_named_csv, c_symlink_argument, c_symlink_inside_folder,
    c_utf16, c_ragged_short, c_ragged_long, c_cut_short, c_unclosed_quote, c_scientific,
    c_fraction_of_cent, c_words_amount, c_nan_amount, c_overflow_amount, c_empty_amount,
    c_bad_amount_after_quoted_newline, c_unknown_agency_after_blank_lines,
    c_ragged_after_quoted_newline, c_bad_date, c_text_date, c_ambiguous_dates,
    c_mixed_date_orders, c_unknown_agency,
    c_empty_award_id, c_missing_column, c_duplicate_header, c_empty_header_name, c_html,
    c_json, c_empty, c_whitespace, c_gzip, c_xls, c_xlsx, c_zip_slip, c_zip_absolute, c_zip_symlink,
    c_zip_bomb, c_zip_damaged, c_zip_no_csv, c_broken_symlink, c_symlink_out_of_folder,
    c_broken_symlink_in_folder,
]]


def main(target: str) -> None:
    root = Path(target)
    for case in CASES:
        d = root / case.name
        d.mkdir(parents=True, exist_ok=True)
        built = case.build(d)
        outcome = "loads" if built.rows is not None else "fails: " + "; ".join(built.words)
        print(f"{case.name:32} {outcome}  {' '.join(os.fspath(p) for p in built.paths)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "badinput-cases")
