"""Fuzzing the two parsers every dollar passes through, against Python's own.

Amounts: arbitrary text near the amount grammar goes through the ingest engine's money macro
and through `values.money.parse_money`; both must accept the same texts, and an accepted
text must equal `Decimal` of that text with the dollar sign and thousands separators taken
out (accounting parentheses: its negative), exactly, with parentheses that pair.

CSV: arbitrary rows (quotes, delimiters, line breaks, any Unicode) written by Python's csv
module, some rows in Windows-1252 among UTF-8 ones, must come back from `read_batches`
exactly as written, numbered in order.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AMOUNT_CHARS = "0123456789,.$()-+eE x"


@pytest.fixture(scope="module")
def engine():
    import duckdb

    from contractwatch.sources.base import MONEY_MACROS

    con = duckdb.connect()
    con.execute(MONEY_MACROS)
    yield con
    con.close()


def python_amount(text: str) -> Decimal | None:
    from contractwatch.values.money import parse_money

    try:
        return parse_money(text)
    except ValueError:
        return None


def decimal_reading(text: str) -> Decimal | None:
    """What the text means to Decimal once '$' and ',' are gone; '(x)' is the negative."""
    s = text.strip()
    negative = s.startswith("(") and s.endswith(")")
    s = s[1:-1] if negative else s
    try:
        value = Decimal(s.replace("$", "").replace(",", ""))
    except InvalidOperation:
        return None
    return -abs(value) if negative else value


amounts = st.one_of(
    st.text(alphabet=AMOUNT_CHARS, max_size=16),
    st.builds(lambda v, parens, dollar, commas: _written(v, parens, dollar, commas),
              st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False),
              st.booleans(), st.booleans(), st.booleans()),
    st.builds(lambda v, cut: _written(v, True, False, True)[cut:] if cut else
              _written(v, True, False, True)[:-1],
              st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False),
              st.integers(0, 1)),
)


def _written(value: Decimal, parens: bool, dollar: bool, commas: bool) -> str:
    body = f"{abs(value):,.2f}" if commas else f"{abs(value):.2f}"
    body = ("$" if dollar else "") + body
    if value < 0:
        return f"({body})" if parens else "-" + body
    return body


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=amounts)
def test_amounts_engine_python_and_decimal_agree(engine, text: str) -> None:
    from_engine = engine.execute("SELECT cw_money(NULLIF(trim(?), ''))", [text]).fetchone()[0]
    from_python = python_amount(text) if text.strip() else None
    assert from_engine == from_python, text
    if from_python is None:
        return
    s = text.strip()
    # accepted: parentheses pair around the whole amount, or there are none
    assert s.count("(") == s.count(")") <= 1, text
    assert "(" not in s or (s.startswith("(") and s.endswith(")")), text
    digits = s.strip("()").replace("$", "").lstrip("-")
    whole = digits.split(".")[0]
    if "," in whole:  # thousands separators in groups of three
        head, *groups = whole.split(",")
        assert 1 <= len(head) <= 3 and all(len(g) == 3 for g in groups), text
    assert from_python == decimal_reading(text), text  # exactly, nothing rounded


# ---- CSV ---------------------------------------------------------------------------------------

# Windows-1252 text: punctuation whose bytes (0x80-0xBF) are UTF-8 continuation bytes, and
# letters whose bytes are UTF-8 lead bytes, so that runs such as "Ü’" (DC 92) are valid UTF-8
# for a Syriac letter. Left out: "Ã" before 0xA0-0xBF, which is exactly UTF-8 mojibake of a
# Latin letter and cannot be told from it.
CP1252_TEXT = "’“”–—€™©®°éÜ"
any_text = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
# beside Windows-1252 rows, UTF-8 rows hold what such files hold: Latin text and punctuation
latin_text = st.characters(max_codepoint=0x24F, blacklist_categories=("Cs",),
                           blacklist_characters="\x00") | st.sampled_from("’“”–—…€™")
cp1252_cells = st.text(alphabet=st.sampled_from(list("abc XYZ,;\"'\n\r|\t") + list(CP1252_TEXT)),
                       max_size=30)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), delimiter=st.sampled_from([",", ";", "\t", "|"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_csv_reader_returns_what_python_wrote(data, delimiter, quoting,
                                              tmp_path: Path) -> None:
    from contractwatch.sources.csvfile import inspect_file, read_batches

    width = data.draw(st.integers(2, 5))
    header = [f"col{i}" for i in range(width)]
    n = data.draw(st.integers(1, 25))
    rows, encodings = [], []
    mixed = data.draw(st.booleans())
    cells = st.text(alphabet=latin_text if mixed else any_text, max_size=30)
    for _ in range(n):
        cp1252 = mixed and data.draw(st.booleans())
        strategy = cp1252_cells if cp1252 else cells
        rows.append([data.draw(strategy) for _ in range(width)])
        encodings.append("cp1252" if cp1252 else "utf-8")
    out = io.BytesIO()
    out.write((delimiter.join(header) + "\r\n").encode())
    for row, encoding in zip(rows, encodings, strict=True):
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator="\r\n").writerow(
            row)
        out.write(buf.getvalue().encode(encoding))
    path = tmp_path / "fuzz.csv"
    path.write_bytes(out.getvalue())
    # what Python's csv module reads back from the same text
    text = "".join(
        (buf := io.StringIO(), csv.writer(buf, delimiter=delimiter, quoting=quoting,
                                          lineterminator="\r\n").writerow(r), buf.getvalue())[2]
        for r in rows)
    expected = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    expected = [r for r in expected if r != [] and r != [""]]  # blank lines carry no record

    facts = inspect_file(path, path.name)
    assert facts.header == header
    got: list[list[str]] = []
    numbers: list[int] = []
    for batch in read_batches(path, facts, path.name):
        columns = [batch.column(i).to_pylist() for i in range(width)]
        got.extend([list(r) for r in zip(*columns, strict=True)])
        numbers.extend(batch.column(batch.num_columns - 1).to_pylist())
    assert got == expected
    assert numbers == list(range(1, len(expected) + 1))
