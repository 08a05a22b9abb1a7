"""The streamed ingest: files in many chunks, a bad row in a late chunk, a file that stops
being UTF-8 after its first mebibyte, the checksum taken beside the load, the Parquet
compression setting.

The shared files are smaller than one chunk, so the chunk sizes are shrunk here to make
every file cross many chunk (and batch) boundaries.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import contractwatch.ingest as ingest_module
import contractwatch.sources.csvfile as csvfile
from contractwatch.ingest import ingest
from contractwatch.sources.base import SourceError
from contractwatch.store import Store
from tests.conftest import FPDS, TRANSACTIONS
from tests.plain import api_export_totals, fiscal_year

FY2024 = TRANSACTIONS / "CBP_ICE_FY2024_Contract_Obligations.csv"
CODES = {"ICE": "7012", "CBP": "7014"}


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvfile, "BATCH_BYTES", 64 << 10)
    monkeypatch.setattr(ingest_module, "CHUNK_BYTES", 256 << 10)


def stored_rows(store: Store) -> list[dict]:
    """Every stored transaction, without the per-load columns, in source order."""
    rows = []
    for load in store.loads():
        table = pq.read_table(store.root / load.data_dir / "transactions.parquet")
        rows.extend(table.drop_columns(["load_id", "source_file"]).to_pylist())
    return sorted(rows, key=lambda r: r["source_row"])


def totals_by_code(store: Store) -> dict[tuple[str, int], Decimal]:
    catalog = store.connect()
    t = catalog.transactions("keep")
    expr = t.group_by(["awarding_sub_agency_code", "fiscal_year"]).aggregate(
        total=t.federal_action_obligation.sum())
    return {(r["awarding_sub_agency_code"], r["fiscal_year"]): r["total"]
            for r in catalog.con.to_pyarrow(expr).to_pylist()}


def test_many_chunks_store_exactly_what_one_chunk_stores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = Store(tmp_path / "one")
    ingest(one, [FY2024], progress=False)
    monkeypatch.setattr(csvfile, "BATCH_BYTES", 64 << 10)
    monkeypatch.setattr(ingest_module, "CHUNK_BYTES", 256 << 10)
    assert FY2024.stat().st_size > 8 * ingest_module.CHUNK_BYTES
    many = Store(tmp_path / "many")
    ingest(many, [FY2024], progress=False)

    assert stored_rows(many) == stored_rows(one)
    rows = stored_rows(many)
    assert [r["source_row"] for r in rows] == list(range(1, len(rows) + 1))
    expected = {(CODES[a], fy): v for (a, fy), v in api_export_totals([FY2024]).items()}
    assert totals_by_code(many) == expected
    a, b = one.loads()[0], many.loads()[0]
    assert (a.rows_kept, a.duplicate_copies, a.blocks) == (b.rows_kept, b.duplicate_copies,
                                                           b.blocks)


def test_2018_layout_in_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(FPDS.glob("*.csv"))
    one = Store(tmp_path / "one")
    ingest(one, files, progress=False)
    # batches large enough for the day-first dates to be recognised in the first one
    monkeypatch.setattr(csvfile, "BATCH_BYTES", 1 << 20)
    monkeypatch.setattr(ingest_module, "CHUNK_BYTES", 1 << 20)
    many = Store(tmp_path / "many")
    ingest(many, files, progress=False)
    assert stored_rows(many) == stored_rows(one)


def test_bad_amount_in_a_late_chunk_names_its_line(tmp_path: Path, small_chunks: None) -> None:
    text = FY2024.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    # spoil the amount on the last line: the line number an editor shows is len(lines)
    last = next(csv.reader([lines[-1]]))
    header = next(csv.reader([lines[0]]))
    last[header.index("Federal Action Obligation")] = "12,34.5x"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(last)
    bad = tmp_path / "late_bad_row.csv"
    bad.write_text("".join(lines[:-1]) + out.getvalue(), encoding="utf-8")
    store = Store(tmp_path / "s")
    with pytest.raises(SourceError) as info:
        ingest(store, [bad], progress=False)
    assert info.value.line == len(lines)
    assert "Federal Action Obligation: not an amount: 12,34.5x" in str(info.value)
    assert store.loads() == []
    assert list(store.root.glob("loads/*")) == []  # nothing staged is left behind


def test_file_that_stops_being_utf8_is_read_as_cp1252(tmp_path: Path, small_chunks: None) -> None:
    raw = FY2024.read_bytes()
    assert len(raw) > 2 * csvfile.CHUNK and raw.isascii()
    header, *lines = raw.decode("ascii").splitlines(keepends=True)
    fields = next(csv.reader([lines[-1]]))
    names = next(csv.reader([header]))
    fields[names.index("Recipient Name")] = "CAFÉ MÜLLER SERVICES LLC"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(fields)
    path = tmp_path / "late_cp1252.csv"
    path.write_bytes(raw + out.getvalue().encode("cp1252"))  # é, Ü as single cp1252 bytes

    store = Store(tmp_path / "s")
    report = ingest(store, [path], progress=False)
    load = report.loads[0]
    assert load.encoding == "cp1252"
    assert any("Windows-1252" in w for w in load.warnings)
    assert load.rows_kept == len(lines) + 1
    names_stored = {r["recipient_name"] for r in stored_rows(store)}
    assert "CAFÉ MÜLLER SERVICES LLC" in names_stored
    expected = {(CODES[a], fy): v for (a, fy), v in api_export_totals([FY2024]).items()}
    key = (CODES[fields[names.index("Agency")]], fiscal_year(fields[names.index("Action Date")]))
    expected[key] += Decimal(fields[names.index("Federal Action Obligation")])
    assert totals_by_code(store) == expected


def test_checksum_taken_beside_the_load_is_the_files(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    load = ingest(store, [FY2024], progress=False).loads[0]
    assert load.sha256 == hashlib.sha256(FY2024.read_bytes()).hexdigest()
    assert load.size_bytes == FY2024.stat().st_size
    # the same bytes under another name: same size, so checked first, and nothing is added
    copy = tmp_path / "renamed.csv"
    shutil.copy(FY2024, copy)
    again = ingest(store, [copy], progress=False)
    assert again.results[0].status == "already-loaded"
    assert len(store.loads()) == 1


@pytest.mark.parametrize("setting, codec", [(None, "SNAPPY"), ("zstd", "ZSTD")])
def test_parquet_compression_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     setting: str | None, codec: str) -> None:
    if setting:
        monkeypatch.setenv("CONTRACTWATCH_PARQUET_COMPRESSION", setting)
    store = Store(tmp_path / "s")
    load = ingest(store, [FY2024], progress=False).loads[0]
    meta = pq.ParquetFile(store.root / load.data_dir / "transactions.parquet").metadata
    codecs = {meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i).compression
              for i in range(meta.num_columns)}
    # under snappy the row hash (decimal text of a 64-bit number) is written plain: snappy
    # barely shrinks it; zstd, chosen for a small store, compresses it too
    assert codecs.pop("row_hash") == ("UNCOMPRESSED" if codec == "SNAPPY" else codec)
    assert set(codecs.values()) == {codec}
    expected = {(CODES[a], fy): v for (a, fy), v in api_export_totals([FY2024]).items()}
    assert totals_by_code(store) == expected


def test_unknown_parquet_compression_is_refused(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACTWATCH_PARQUET_COMPRESSION", "gzip9")
    store = Store(tmp_path / "s")
    with pytest.raises(ValueError, match="Parquet compression must be one of"):
        ingest(store, [FY2024], progress=False)
    assert store.loads() == []


def test_rows_keep_their_own_texts_when_batches_end_in_a_small_tail(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text columns pass straight from the raw chunk beside the engine's typed columns, so the
    engine must give the rows back in the chunk's order. DuckDB holds back a record batch's
    small tail (a few rows past its 2,048-row vectors) and returns it after later rows; a
    10M-row file hits that in its first chunk. Here every line of real rows is padded to one
    length, so each batch holds 2,058 rows: 2,048 and a tail of 10."""
    with open(FY2024, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [r for _, r in zip(range(9000), reader, strict=False)]
    text = header.index("Transaction Description")

    def line(row: list[str]) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(row)
        return out.getvalue()

    width = max(len(line(r).encode()) for r in rows) + 8
    padded = []
    for r in rows:
        r = [*r[:text], r[text] + " ~" + "x" * (width - len(line(r).encode()) - 2),
             *r[text + 1:]]
        assert len(line(r).encode()) == width
        padded.append(r)
    path = tmp_path / "padded.csv"
    path.write_text(line(header) + "".join(line(r) for r in padded), encoding="utf-8")
    monkeypatch.setattr(csvfile, "BATCH_BYTES", width * 2058 + width // 2)
    store = Store(tmp_path / "store")
    ingest(store, [path], progress=False)

    stored = stored_rows(store)
    assert len(stored) == len(padded)
    for got, row in zip(stored, padded, strict=True):
        assert (got["award_id_piid"], got["recipient_name"], got["transaction_description"]) \
            == (row[header.index("Award ID")], row[header.index("Recipient Name")] or None,
                row[text] or None), got["source_row"]
