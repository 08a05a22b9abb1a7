"""Ingest: files, folders and ZIP archives → validated canonical rows → one atomic commit.

Everything named in one call is committed together or not at all: a bad row in the fifth file
leaves the store exactly as it was before the call. Memory stays bounded: files are streamed
in batches through the embedded engine into Parquet.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from contractwatch.known_keys import KnownKeys, read_key_hashes
from contractwatch.sources import detect_layout
from contractwatch.sources.archive import extract_members, is_zip
from contractwatch.sources.base import MONEY_MACROS, Context, Layout, SourceError, sniff_date_order
from contractwatch.sources.csvfile import (
    FileFacts,
    NotUtf8,
    file_sha256,
    inspect_file,
    read_batches,
    record_line,
)
from contractwatch.store import Block, LoadRecord, Store, StoreError, Writer
from contractwatch.streams import RunBehind, SafeInterrupt, run_ahead

_NAME_DATE = re.compile(r"(20\d{2})-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])")
SNIFF_ROWS = 5000
# Raw text per engine query. Larger chunks mean fewer queries (each is planned anew) but
# more memory in flight: about 3 chunks wait between the reader, the engine and the writer.
CHUNK_BYTES = 24 << 20
# Parquet settings measured on 2M rows (bench/bench_ingest.py): a dictionary attempt on a
# column of nearly unique values and min/max statistics on long text are wasted work. The
# compression is a setting (snappy by default, see settings.py).
UNIQUE_COLUMNS = {"txn_key", "row_hash", "contract_transaction_unique_key",
                  "contract_award_unique_key", "usaspending_permalink", "award_id_piid",
                  "transaction_description", "source_row"}
# The row hash is the decimal text of a 64-bit number: snappy shrinks it by a quarter for
# twice the CPU of writing it plain (2M rows: 44 → 32 MB, 0.09 → 0.19 CPU-s), so under
# snappy, the fast default, it is written plain; zstd, chosen for a small store, halves it
# again (18 MB) and applies.
PLAIN_UNDER_SNAPPY = {"row_hash"}
# How long the load's allocator keeps freed pages for reuse (see _page_reusing_allocator).
FREED_PAGES_KEPT_MS = 2500
# Per load, beside transactions.parquet: the source columns no canonical column holds (as
# the source gave them), and the keys of transactions a delta file deletes.
SOURCE_COLUMNS_FILE = "source_columns.parquet"
DELETES_FILE = "deletes.parquet"
STATISTICS_COLUMNS = ["action_date", "fiscal_year", "awarding_sub_agency_code",
                      "awarding_agency_code", "federal_action_obligation", "source_row",
                      "load_id"]


class IngestError(Exception):
    """Bad input or an ambiguous load; the store is unchanged."""


@dataclass
class FileResult:
    source_file: str
    status: str  # loaded | already-loaded | vintage-updated | skipped | rejected
    load: LoadRecord | None = None
    message: str = ""


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)

    @property
    def loads(self) -> list[LoadRecord]:
        return [r.load for r in self.results if r.load is not None and r.status == "loaded"]

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for r in self.results:
            load = r.load
            out.append({
                "source_file": r.source_file,
                "status": r.status,
                "load_id": load.load_id if load else None,
                "source_format": load.source_format if load else None,
                "vintage": load.vintage if load else None,
                "vintage_source": load.vintage_source if load else None,
                "rows_read": load.rows_read if load else 0,
                "rows_kept": load.rows_kept if load else 0,
                "rows_rejected": load.rows_rejected if load else 0,
                "duplicate_copies": load.duplicate_copies if load else 0,
                # what this call added: nothing for a file already loaded
                "new": load.new if load and r.status == "loaded" else 0,
                "changed": load.changed if load and r.status == "loaded" else 0,
                "unchanged": load.unchanged if load and r.status == "loaded" else 0,
                "message": r.message,
            })
        return out


def vintage_from_name(name: str) -> str | None:
    """A fetch date written in the file name (…_2026-08-20.csv, …_20261108.zip); not one in
    the future, which no fetch can have."""
    m = _NAME_DATE.search(Path(name).name)
    if not m:
        return None
    try:
        day = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        if "-" not in m[0]:  # eight digits in an identifier, not a date
            return None
        # …_2026-02-30: a date was meant, and it is wrong
        raise IngestError(f"{name}: invalid date in the file name ({m[0].strip('_-')}: {exc}); "
                          "rename the file or give the fetch date with --as-of") from None
    return day.isoformat() if day <= date.today() + timedelta(days=1) else None


def normalise_as_of(text: str | None) -> str | None:
    if not text:
        return None
    try:
        if "T" in text or " " in text.strip():
            when = datetime.fromisoformat(text.strip())
            value, day = when.isoformat(timespec="seconds"), when.date()
        else:
            day = date.fromisoformat(text.strip())
            value = day.isoformat()
    except ValueError as exc:
        raise IngestError(f"--as-of {text!r} is not a date (use YYYY-MM-DD)") from exc
    # a fetch date cannot be in the future; one would outrank every real later fetch
    if day > date.today() + timedelta(days=1):  # a day's grace for time zones
        raise IngestError(f"--as-of {text}: the fetch date is in the future (today is "
                          f"{date.today().isoformat()})")
    return value


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files as given; folders walked for .csv and .zip files, in name order."""
    out: list[Path] = []
    for p in paths:
        path = Path(p).expanduser()
        if path.is_symlink() and not path.exists():
            raise IngestError(f"{path}: broken symbolic link")
        if path.is_dir():
            found = sorted(
                x for x in path.rglob("*")
                if x.suffix.lower() in (".csv", ".zip") and (x.is_file() or x.is_symlink())
            )
            for x in found:
                _check_link_in_folder(x, path)
            if not found:
                raise IngestError(f"{path}: folder holds no .csv or .zip file")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise IngestError(f"{path}: no such file or folder")
    return out


def _check_link_in_folder(file: Path, folder: Path) -> None:
    """Inside a folder, follow a symbolic link only if it stays inside that folder.

    A link named on the command line is the user's choice and is followed; one met while
    walking a folder could pull in files from anywhere, so it must be named explicitly.
    """
    if not file.is_symlink():
        return
    if not file.exists():
        raise IngestError(f"{file}: broken symbolic link")
    target = file.resolve()
    if not target.is_relative_to(folder.resolve()):
        raise IngestError(f"{file}: symbolic link to {target}, outside the folder {folder}; "
                          "name the file itself to load it")
    if not target.is_file():
        raise IngestError(f"{file}: symbolic link to {target}, which is not a file")


def ingest(store: Store, paths: list[str | Path], *, as_of: str | None = None,
           partial: bool = False, date_order: str | None = None, skip_bad_rows: bool = False,
           progress: bool = True, wait: bool = False, origin: str = "file") -> IngestReport:
    """Load files into the store, all or nothing. See the module docstring."""
    as_of = normalise_as_of(as_of)
    if date_order not in (None, "dmy", "mdy"):
        raise IngestError(f"--date-order must be dmy or mdy, not {date_order!r}")
    files = expand_paths(paths)
    report = IngestReport()
    # Ctrl+C from here on stops the load between steps (see SafeInterrupt), never inside one
    with SafeInterrupt() as interrupt:
        importer = threading.Thread(target=_import_ahead,
                                    args=(bool(store.manifest()["loads"]),),
                                    name="import-ahead", daemon=True)
        importer.start()
        try:
            with _page_reusing_allocator(), store.writer(wait=wait) as writer:
                job = _Job(store, writer, as_of, partial, date_order, skip_bad_rows, progress,
                           origin, interrupt)
                try:
                    for path in files:
                        interrupt.check()
                        if is_zip(path):
                            scratch = writer.staging_dir("unzip-" + writer.new_load_id())
                            try:
                                for label, member in extract_members(path, scratch):
                                    interrupt.check()
                                    report.results.append(
                                        job.load_file(member, label, path.name))
                            finally:
                                shutil.rmtree(scratch, ignore_errors=True)
                        else:
                            report.results.append(job.load_file(path, str(path), path.name))
                    interrupt.check()
                    new = [r.load for r in report.results if r.status == "loaded" and r.load]
                    writer.commit(new, new_details=job.records["details"],
                                  new_subawards=job.records["subawards"],
                                  replace_loads=list(job.vintage_updates.values()))
                except BaseException:
                    job.discard()
                    raise
                finally:
                    job.close()
        except BaseException:
            # an interpreter ending under a thread still importing native modules can abort
            importer.join(timeout=30)
            raise
    return report


class _Job:
    def __init__(self, store: Store, writer: Writer, as_of: str | None, partial: bool,
                 date_order: str | None, skip_bad_rows: bool, progress: bool, origin: str,
                 interrupt: SafeInterrupt):
        self.store = store
        self.interrupt = interrupt
        self.writer = writer
        self.as_of = as_of
        self.partial = partial
        self.date_order = date_order
        self.skip_bad_rows = skip_bad_rows
        self.origin = origin
        self.pending: list[LoadRecord] = []
        self.staged: list[Path] = []
        self.vintage_updates: dict[str, LoadRecord] = {}
        # award-fact and subaward files staged by this call, by manifest section
        self.records: dict[str, list[dict[str, Any]]] = {"details": [], "subawards": []}
        self.staged_records: list[Path] = []
        self.existing = store.loads()
        self.known_keys = KnownKeys(store.root, self.existing)
        self.seq = writer.next_seq()
        self.con = _connect()
        self.progress = _make_progress() if progress else None
        self._progress_cm = self.progress or nullcontext()
        self._progress_cm.__enter__()
        # the checksum, and the early flush of each written file, run here beside the load
        self.background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="background")

    def close(self) -> None:
        self._progress_cm.__exit__(None, None, None)
        self.background.shutdown(wait=True, cancel_futures=True)
        self.con.close()

    def discard(self) -> None:
        for path in self.staged:
            shutil.rmtree(path, ignore_errors=True)
        for file in self.staged_records:
            file.unlink(missing_ok=True)

    # ---------------------------------------------------------------------------------
    def load_file(self, path: Path, label: str, name_for_vintage: str) -> FileResult:
        facts = inspect_file(path, label)
        checksum = None
        earlier = self.existing + self.pending
        if any(r.size_bytes in (None, facts.size) for r in earlier):
            # same size as a load: maybe the same bytes, so check before any work
            facts.sha256 = file_sha256(path)
            same = [r for r in earlier if r.sha256 == facts.sha256]
            if same:
                return self._already_loaded(same[0], label, name_for_vintage)
        else:  # no load has this size, so it is new: the checksum runs beside the load
            checksum = self.background.submit(file_sha256, path)
        layout = detect_layout(facts.header, label)
        vintage, vintage_source = self.as_of, "as-of"
        if vintage is None:
            vintage = vintage_from_name(name_for_vintage) or vintage_from_name(label)
            vintage_source = "file-name" if vintage else "none"
        if layout.kind in ("award-facts", "subawards"):
            return self._load_records(path, facts, layout, label, vintage, checksum)
        load_id = self.writer.new_load_id()
        folder = self.writer.staging_dir(load_id)
        self.staged.append(folder)
        try:
            written = self._write_rows(path, facts, layout, label, folder, load_id)
        except NotUtf8:
            facts.encoding = "cp1252"
            written = self._write_rows(path, facts, layout, label, folder, load_id)
        if checksum is not None:
            facts.sha256 = checksum.result()
        record = LoadRecord(
            load_id=load_id, seq=self.seq, source_file=label, sha256=facts.sha256,
            source_format=layout.name, vintage=vintage, vintage_source=vintage_source,
            # a delta names what changed: it never withdraws what it does not name
            complete=not self.partial and not layout.is_delta,
            rows_read=written.read, rows_kept=written.kept,
            rows_rejected=len(written.rejects), duplicate_copies=0, key_conflicts=0,
            new=0, changed=0, unchanged=0,
            loaded_at=time.strftime("%Y-%m-%dT%H:%M:%S"), encoding=facts.encoding,
            origin=self.origin, size_bytes=facts.size,
            deletes=written.deletes, source_columns=written.source_columns,
        )
        self.seq += 1
        self.interrupt.check()
        distinct = self._summarise(record, folder, written)
        self._check_overlap(record)
        if not record.deletes and self.known_keys.all_new(written.key_hashes, self.con):
            # no key in any earlier load: every row is new, none shared (no catalog needed)
            record.new, record.changed, record.unchanged = distinct, 0, 0
        else:
            self._check_shared_keys(record, folder)
            self._compare_with_store(record, folder, distinct)
        record.warnings.extend(layout.ambiguities(facts.header))
        if record.deletes:
            self._count_deleted(record, folder)
        if record.rows_read == 0:
            record.warnings.append("no data rows (header only)")
        elif record.rows_kept == 0 and not record.deletes:
            record.warnings.append("every row was set aside as bad: nothing was added")
        if record.rows_rejected:
            record.warnings.append(
                f"{record.rows_rejected} bad rows set aside (--skip-bad-rows), each with its "
                f"line and problem in {self.store.root / record.data_dir / 'rejects.csv'}")
        if facts.encoding == "cp1252":
            record.warnings.append("not UTF-8 throughout: the bytes that are not UTF-8 "
                                   "read as Windows-1252 (cp1252)")
        if record.vintage is None:
            record.warnings.append("no vintage (no --as-of, no date in the file name)")
        self.pending.append(record)
        self.known_keys.add(written.key_hashes)
        return FileResult(label, "loaded", record)

    def _already_loaded(self, earlier: LoadRecord, label: str,
                        name_for_vintage: str) -> FileResult:
        """Same bytes as a load: nothing to add, but the date may move. `--as-of` sets it
        (a correction); a later date in the name advances it (the same bytes fetched again
        later are still current then, whatever was fetched in between)."""
        named = None if self.as_of else (
            vintage_from_name(name_for_vintage) or vintage_from_name(label))
        vintage, source = (self.as_of, "as-of") if self.as_of else (named, "file-name")
        current = self.vintage_updates.get(earlier.load_id, earlier)  # re-dated in this call
        later = vintage is not None and (current.vintage is None or vintage > current.vintage)
        if vintage and current.vintage != vintage and earlier in self.existing and (
                self.as_of or later):
            updated = LoadRecord.from_json({**current.__dict__, "blocks": [
                b.__dict__ for b in current.blocks]})
            updated.vintage, updated.vintage_source = vintage, source
            updated.warnings = [w for w in updated.warnings if not w.startswith("no vintage")]
            # the new date may tie with a load holding other values for its transactions
            self._check_shared_keys(updated, self.store.root / updated.data_dir)
            self.vintage_updates[earlier.load_id] = updated
            return FileResult(label, "vintage-updated", updated,
                              f"same bytes as load {earlier.load_id}; vintage set to {vintage}")
        return FileResult(label, "already-loaded", earlier,
                          f"same bytes as load {earlier.load_id} ({earlier.source_file}); "
                          "nothing to add")

    def _chunks(self, path: Path, facts: FileFacts, label: str, layout: Layout,
                ctx: Context, keep: list[str], as_source: list[str]
                ) -> Iterator[tuple[Any, Any, int]]:
        """Trimmed raw rows in tables of about CHUNK_BYTES, the source columns kept as they
        are (with their record numbers), and the text bytes they hold.

        Runs in the read-ahead thread. The date order is sniffed from the first batch, before
        the first chunk is handed over, so the engine's SQL sees it from the start.
        """
        import pyarrow as pa

        pending: list[Any] = []
        sources: list[Any] = []
        size = 0
        sniffed = ctx.date_order is not None
        for batch in read_batches(path, facts, label, list(dict.fromkeys(keep + as_source))):
            if not sniffed:
                sniffed = True
                samples: list[str] = []
                for column in layout.date_columns(facts.header):
                    if column in batch.schema.names:
                        values = batch.column(batch.schema.get_field_index(column))
                        samples.extend(v for v in values.slice(0, SNIFF_ROWS).to_pylist() if v)
                try:
                    ctx.date_order = sniff_date_order(samples)
                except ValueError as exc:
                    raise SourceError(label, None, str(exc)) from None
            pending.append(_trimmed(batch, keep))
            if as_source:
                sources.append(_as_given(batch, as_source))
            size += batch.nbytes
            if size >= CHUNK_BYTES:
                yield (pa.Table.from_batches(pending),
                       pa.Table.from_batches(sources) if sources else None, size)
                pending, sources, size = [], [], 0
        if pending:
            yield (pa.Table.from_batches(pending),
                   pa.Table.from_batches(sources) if sources else None, size)

    def _write_rows(self, path: Path, facts: FileFacts, layout: Layout, label: str,
                    folder: Path, load_id: str) -> _Written:
        """Read, normalise and write one file; reading and writing overlap the engine."""
        import pyarrow as pa

        from contractwatch.schema import arrow_schema

        schema = arrow_schema()
        ctx = Context(file=label, date_order=self.date_order)
        keep = layout.source_columns(facts.header, ctx)
        as_source = layout.kept_as_source(facts.header, ctx)
        task = self.progress.add_task(_task_name(label), total=facts.size) \
            if self.progress else None
        written = _Written(source_columns=as_source)
        constants = {"source_format": layout.name, "source_file": label, "load_id": load_id,
                     **layout.constants(facts.header, ctx)}
        sink = _ParquetSink(folder / "transactions.parquet", schema, constants)
        source_sink = _SourceColumnsSink(folder / SOURCE_COLUMNS_FILE, as_source, load_id) \
            if as_source else None
        deleted: list[Any] = []
        # One engine thread per chunk: the reader and the writer threads use the other core,
        # and rows come back in their order, which `_with_passthrough` checks (and restores).
        # (Two chunks at once in two engine threads was tried: no faster, 150 MB more.)
        self.con.execute("SET threads = 1")
        self.con.execute("SET preserve_insertion_order = true")

        def write(result: Any) -> None:
            rows, as_given = result
            sink.write(rows)
            written.note_chunk(rows)
            if source_sink is not None and as_given is not None:
                source_sink.write(as_given)

        try:
            with RunBehind(write, name="parquet-writer") as behind:
                for chunk, as_given, nbytes in run_ahead(
                        self._chunks(path, facts, label, layout, ctx, keep, as_source),
                        name="csv-reader"):
                    self.interrupt.check()
                    written.read += chunk.num_rows
                    chunk, removed = layout.split_deletes(chunk)
                    if removed is not None:
                        deleted.append(self._deleted_keys(layout, removed))
                    try:
                        layout.prepare(chunk, ctx)
                    except SourceError as exc:  # its line is record + 1; say the real line
                        line = record_line(path, facts, exc.line - 1) if exc.line else None
                        raise SourceError(label, line, exc.problem) from None
                    self.con.register("batch", chunk)
                    result = self.con.sql(
                        f"SELECT *, hash(txn_key) AS _key_hash FROM "
                        f"({layout.select_sql(facts.header, ctx)})").to_arrow_table()
                    self.con.unregister("batch")
                    result = _with_passthrough(result, chunk, layout.passthrough(facts.header,
                                                                                 ctx))
                    result = self._drop_bad_rows(result, written, path, facts, label)
                    written.kept += result.num_rows
                    behind.put((result, as_given))
                    if self.progress is not None and task is not None:
                        self.progress.advance(task, nbytes)
        finally:
            sink.finish()
            if source_sink is not None:
                source_sink.finish()
        if deleted:
            import pyarrow.parquet as pq

            table = pa.concat_tables(deleted)
            table = table.append_column("load_id", pa.array([load_id] * table.num_rows,
                                                            pa.string()))
            pq.write_table(table, folder / DELETES_FILE)
            written.deletes = table.num_rows
        # Start putting the data on disk while the duplicate check runs: the commit's fsync
        # then finds the file clean instead of waiting for it (10M rows: ~0.3 s).
        self.background.submit(_flush_to_disk, sink.path)
        if self.progress is not None and task is not None:
            self.progress.update(task, completed=facts.size)
        self._release_memory(facts.size)
        # Rows whose key hash repeats: the only rows that can be copies. Usually few, so the
        # exact check on the keys' text (in `_summarise`) reads those rows only. The hashes
        # went to a side file, not memory: an aggregate over it spills when large.
        # (A window count: at 50M rows 3.9 s and 700 MB, where grouping and joining back
        # took 5.7 s and 780 MB.)
        written.maybe_repeated = self.con.execute(
            "SELECT source_row FROM (SELECT source_row, count(*) OVER (PARTITION BY key_hash) "
            "  AS n FROM read_parquet(?)) WHERE n > 1",
            [str(sink.keys_path)]).to_arrow_table()
        written.key_hashes = read_key_hashes(sink.keys_path, written.kept)
        sink.keys_path.unlink()
        self._release_memory(facts.size)
        if written.rejects:
            import pyarrow.csv as pacsv

            rejects = sorted(written.rejects)
            pacsv.write_csv(
                pa.table({"line": [r + 1 for r, _ in rejects], "problem": [p for _, p in rejects]}),
                folder / "rejects.csv",
            )
        return written

    def _deleted_keys(self, layout: Layout, rows: Any) -> Any:
        """The transaction keys of a delta's `D` rows (see DeltaTransactionsLayout)."""
        self.con.register("cw_deleted", rows)
        try:
            return self.con.sql(layout.deletes_sql("cw_deleted")).to_arrow_table()  # type: ignore[attr-defined]
        finally:
            self.con.unregister("cw_deleted")

    def _count_deleted(self, record: LoadRecord, folder: Path) -> None:
        """Say how many of a delta's deletions name a transaction the store holds."""
        from contractwatch.store import committed_files

        others = [o for o in self.existing + self.pending if o.load_id != record.load_id]
        files = committed_files(self.store.root, others, "transactions.parquet")
        found = 0
        if files:
            found = self.con.execute(
                "SELECT count(DISTINCT d.txn_key) FROM read_parquet(?) AS d "
                "SEMI JOIN read_parquet(?) AS t ON d.txn_key = t.txn_key",
                [str(folder / DELETES_FILE), files]).fetchall()[0][0]
        missing = record.deletes - int(found)
        record.warnings.append(
            f"{record.deletes:,} transaction{'s' if record.deletes != 1 else ''} deleted by "
            f"this delta file" + (f"; {missing:,} of them not in the store" if missing else ""))

    def _load_records(self, path: Path, facts: FileFacts, layout: Layout, label: str,
                      vintage: str | None, checksum: Any) -> FileResult:
        """A file of award facts (award summaries: to `details/`, beside the API's award
        detail) or of subaward reports (to `subawards/`): one record per row, never summed
        with transactions, every source column kept under its own name."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        award_facts = layout.kind == "award-facts"
        section = "details" if award_facts else "subawards"
        if checksum is not None:
            facts.sha256 = checksum.result()
        elif not facts.sha256:
            facts.sha256 = file_sha256(path)
        manifest = self.store.manifest()
        for earlier in manifest.get(section, []) + self.records[section]:
            if earlier.get("sha256") == facts.sha256:
                return FileResult(label, "already-loaded", None,
                                  f"same bytes as {earlier.get('source_file')}; nothing to add")
        dated = vintage or time.strftime("%Y-%m-%dT%H:%M:%S")
        ctx = Context(file=label, date_order=self.date_order)
        if award_facts:
            sql = layout.facts_sql(facts.header, ctx, dated, layout.name)  # type: ignore[attr-defined]
        else:
            sql = layout.reports_sql(facts.header, ctx, dated, label)  # type: ignore[attr-defined]
        name = f"{self.writer.new_load_id()}.parquet"
        folder = self.store.root / section
        folder.mkdir(exist_ok=True)
        tmp = folder / f"{name}.tmp"
        written = _Written()
        writer = None
        try:
            for chunk, _, _ in self._chunks(path, facts, label, layout, ctx, list(facts.header),
                                            []):
                self.con.register("batch", chunk)
                result = self.con.sql(sql).to_arrow_table()
                self.con.unregister("batch")
                written.read += chunk.num_rows
                result = self._drop_bad_rows(result, written, path, facts, label)
                written.kept += result.num_rows
                if writer is None:
                    writer = pq.ParquetWriter(tmp, result.schema, compression="zstd")
                writer.write_table(result.cast(writer.schema))
            if writer is None:  # header only: the schema alone
                from contractwatch.sources.award_detail import DETAIL_SCHEMA
                from contractwatch.sources.subawards import SUBAWARD_SCHEMA

                pq.write_table(pa.Table.from_pylist(
                    [], schema=DETAIL_SCHEMA if award_facts else SUBAWARD_SCHEMA), tmp)
            else:
                writer.close()
        except BaseException:
            if writer is not None:
                writer.close()
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, folder / name)
        self.staged_records.append(folder / name)
        self.records[section].append({
            "file": f"{section}/{name}", "rows": written.kept, "source": layout.name,
            "source_file": label, "sha256": facts.sha256, "vintage": vintage,
            "fetched_at": dated, "rows_rejected": len(written.rejects)})
        what = "award facts (ceilings, vehicles)" if award_facts else "subaward reports"
        message = f"{written.kept:,} {what}; not added to obligations"
        if vintage is None:
            message += ("; no vintage (no --as-of, no date in the file name): dated "
                        f"{dated}, the time of loading")
        return FileResult(label, "loaded", None, message)

    def _drop_bad_rows(self, result: Any, written: _Written, path: Path, facts: FileFacts,
                       label: str) -> Any:
        """Raise on the chunk's first bad row, or (with --skip-bad-rows) set it aside."""
        import pyarrow.compute as pc

        errors = result.column("_error")
        if errors.null_count == len(errors):
            return result.drop_columns(["_error"])
        bad = result.filter(errors.is_valid()).sort_by("source_row")
        if not self.skip_bad_rows:
            first_row = bad.column("source_row")[0].as_py()
            raise SourceError(label, record_line(path, facts, first_row),
                              bad.column("_error")[0].as_py())
        written.rejects.extend(zip(bad.column("source_row").to_pylist(),
                                   bad.column("_error").to_pylist(), strict=True))
        return result.filter(pc.is_null(errors)).drop_columns(["_error"])

    def _release_memory(self, file_bytes: int | None = None) -> None:
        """Hand freed memory back to the system between phases, so peaks do not stack.

        Not after a file smaller than a chunk: there is little to hand back, and a new
        engine costs ~50 ms, most of the time of a small ZIP member.
        """
        import pyarrow as pa

        if file_bytes is not None and file_bytes < CHUNK_BYTES:
            return
        self.con.close()
        pa.default_memory_pool().release_unused()
        self.con = _connect()

    def _summarise(self, record: LoadRecord, folder: Path, written: _Written) -> int:
        """Blocks (agency × fiscal year), extra copies and key conflicts inside the load.

        Block sums were taken chunk by chunk while writing, and so were the keys' hashes;
        only rows whose key hash repeats are read back, and their keys compared as text
        (a hash collision is never taken for a copy). Returns the number of distinct
        (key, content) pairs.
        """
        data = str(folder / "transactions.parquet")
        copies_by_block: Counter[tuple[str | None, int | None]] = Counter()
        copies = conflicts = 0
        distinct = record.rows_kept
        candidates = written.maybe_repeated
        if candidates is not None and candidates.num_rows:
            import pyarrow.parquet as pq

            self.con.register("cw_candidates", candidates)
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE cw_repeats AS "
                "SELECT txn_key, row_hash, load_id, source_row, awarding_sub_agency_code, "
                "  fiscal_year, row_number() OVER (PARTITION BY txn_key ORDER BY source_row) "
                "  AS copy_number "
                "FROM read_parquet(?) SEMI JOIN cw_candidates USING (source_row)", [data])
            self.con.unregister("cw_candidates")
            found = self.con.execute(
                "SELECT load_id, source_row, copy_number, awarding_sub_agency_code, fiscal_year "
                "FROM cw_repeats WHERE copy_number > 1 ORDER BY source_row"
            ).to_arrow_table()
            if found.num_rows:
                pq.write_table(found.select(["load_id", "source_row", "copy_number"]),
                               folder / "copies.parquet")
            copies = found.num_rows
            copies_by_block = Counter(zip(found.column("awarding_sub_agency_code").to_pylist(),
                                          found.column("fiscal_year").to_pylist(), strict=True))
            rows, pairs, conflicts = self.con.execute(
                "SELECT sum(n), sum(hashes), count(*) FILTER (WHERE hashes > 1) FROM ("
                "  SELECT count(*) AS n, count(DISTINCT row_hash) AS hashes "
                "  FROM cw_repeats GROUP BY txn_key HAVING count(*) > 1)"
            ).fetchall()[0]
            self.con.execute("DROP TABLE cw_repeats")
            distinct = record.rows_kept - int(rows or 0) + int(pairs or 0)
            conflicts = int(conflicts or 0)
        record.blocks = [
            Block(agency, int(fy), rows, str(total), neg, zero,
                  copies_by_block.get((agency, fy), 0))
            for (agency, fy), (rows, total, neg, zero) in sorted(
                written.blocks.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or "",
                                                        kv[0][1] or 0))
        ]
        record.duplicate_copies = copies
        record.key_conflicts = int(conflicts)
        if conflicts:
            record.warnings.append(
                f"{conflicts} transaction keys appear with different values inside this file"
            )
        for b in record.blocks:
            if record.source_format == "usaspending-api-export" and b.looks_truncated:
                record.warnings.append(
                    f"agency {b.agency} FY{b.fiscal_year}: {b.rows} rows (a multiple of the "
                    "100-row page) and no negative row: the export may have stopped at a page "
                    "boundary; its sum is an upper bound"
                )
        return distinct

    def _check_overlap(self, record: LoadRecord) -> None:
        """Refuse to guess the order of two overlapping loads when one has no vintage."""
        mine = {(b.agency, b.fiscal_year) for b in record.blocks}
        for other in self.existing + self.pending:
            if other.load_id in self.vintage_updates:
                other = self.vintage_updates[other.load_id]
            theirs = {(b.agency, b.fiscal_year) for b in other.blocks}
            shared = mine & theirs
            if shared and (record.vintage is None or other.vintage is None):
                agency, fy = sorted(shared)[0]
                raise IngestError(
                    f"{record.source_file}: overlaps {other.source_file} (load "
                    f"{other.load_id}, agency {agency} FY{fy}) and "
                    f"{'this file' if record.vintage is None else 'that load'} has no vintage, "
                    "so which is newer cannot be told. Give the fetch date with --as-of "
                    "YYYY-MM-DD (re-ingesting an already loaded file with --as-of sets its "
                    "vintage)."
                )

    def _check_shared_keys(self, record: LoadRecord, folder: Path) -> None:
        """Refuse to guess when a transaction is in two loads with different values and
        their vintages cannot order them (one has none, or both have the same): which value
        is current would come from load order.

        `_check_overlap` catches undated loads covering the same agency and fiscal year; this
        catches a transaction whose date moved it to another year between two downloads (19
        ICE actions dated 2018 in the 2018 download are dated 2021–2024 in today's export).
        Runs only where such a pair of loads exists.
        """
        from contractwatch.store import committed_files

        others = [self.vintage_updates.get(o.load_id, o) for o in self.existing + self.pending
                  if o.load_id != record.load_id]
        others = [o for o in others if record.vintage is None or o.vintage is None
                  or o.vintage == record.vintage]
        files = committed_files(self.store.root, others, "transactions.parquet")
        if not files:
            return
        found = self.con.execute(
            "SELECT o.load_id, count(*) AS n, min(n.txn_key), arg_min(o.fiscal_year, n.txn_key),"
            "  arg_min(n.fiscal_year, n.txn_key) "
            "FROM read_parquet(?) AS n JOIN read_parquet(?) AS o ON n.txn_key = o.txn_key "
            "WHERE n.row_hash <> o.row_hash GROUP BY o.load_id ORDER BY n DESC, o.load_id "
            "LIMIT 1", [str(folder / "transactions.parquet"), files]).fetchone()
        self._release_memory()
        if found is None:
            return
        load_id, n, key, their_fy, my_fy = found
        other = next(o for o in others if o.load_id == load_id)
        if record.vintage is not None and other.vintage is not None:
            why = (f"both have the vintage {record.vintage}, so which is newer cannot be told. "
                   "Give each its own fetch date with --as-of (one call per date).")
        else:
            why = (f"{'this file' if record.vintage is None else 'that load'} has no vintage, "
                   "so which is newer cannot be told. Give the fetch date with --as-of "
                   "YYYY-MM-DD (re-ingesting an already loaded file with --as-of sets its "
                   "vintage).")
        raise IngestError(
            f"{record.source_file}: {n} transaction{'s' if n != 1 else ''} also in "
            f"{other.source_file} (load {other.load_id}) with other values, e.g. {key} "
            f"(FY{their_fy} there, FY{my_fy} here), and {why}")

    def _compare_with_store(self, record: LoadRecord, folder: Path, distinct: int) -> None:
        """Count rows new to the store, revised, or repeated unchanged (in the engine)."""
        if not self.existing and not self.pending:  # a first load: every row is new
            record.new, record.changed, record.unchanged = distinct, 0, 0
            return
        catalog = self.store.connect(pending=self.pending, memory_limit="512MB")
        cur = catalog.transactions("collapse").select(
            cur_key="txn_key", cur_hash="row_hash").distinct()
        new = catalog.con.read_parquet(str(folder / "transactions.parquet"))
        new = new.select("txn_key", "row_hash").distinct()
        j = new.left_join(cur, new.txn_key == cur.cur_key)
        counts = j.aggregate(
            new=j.cur_key.isnull().sum(),
            changed=(j.cur_key.notnull() & (j.cur_hash != j.row_hash)).sum(),
            unchanged=(j.cur_hash == j.row_hash).sum(),
        )
        row = catalog.con.to_pyarrow(counts).to_pylist()[0]
        record.new = int(row["new"] or 0)
        record.changed = int(row["changed"] or 0)
        record.unchanged = int(row["unchanged"] or 0)


@dataclass
class _Written:
    """What went into one file's Parquet: counts, set-aside rows, per-block totals."""

    read: int = 0
    kept: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)
    # (agency, fiscal year) -> [rows, sum of obligations, negative rows, zero rows]
    blocks: dict[tuple[Any, Any], list[Any]] = field(default_factory=dict)

    maybe_repeated: Any = None  # source rows whose key hash occurs more than once
    deletes: int = 0  # transactions a delta file deletes
    source_columns: list[str] = field(default_factory=list)  # kept as the source gave them
    key_hashes: Any = None  # every row's key hash while few (known_keys.LIMIT), else None

    def note_chunk(self, result: Any) -> None:
        """Add a chunk's rows to the block totals (in the writer thread, beside the engine)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        amount = result.column("federal_action_obligation")
        zero = pa.scalar(Decimal("0.00"), amount.type)
        groups = pa.table({
            "agency": result.column("awarding_sub_agency_code"),
            "fy": result.column("fiscal_year"),
            "amount": amount,
            "negative": pc.less(amount, zero),
            "zero": pc.equal(amount, zero),
        }).group_by(["agency", "fy"], use_threads=False).aggregate(
            [([], "count_all"), ("amount", "sum"), ("negative", "sum"), ("zero", "sum")])
        for row in groups.to_pylist():
            block = self.blocks.setdefault((row["agency"], row["fy"]),
                                           [0, Decimal("0.00"), 0, 0])
            block[0] += row["count_all"]
            block[1] += row["amount_sum"] or Decimal("0.00")
            block[2] += row["negative_sum"] or 0
            block[3] += row["zero_sum"] or 0


class _ParquetSink:
    """Writes engine results in canonical column order (runs in the writer thread).

    Columns the layout does not fill are written as nulls and the load's constants
    (format, file, load id) are repeated here, not carried through the engine.
    """

    def __init__(self, path: Path, schema: Any, constants: dict[str, str]):
        self.path = path
        self.schema = schema
        self.constants = constants
        self.writer: Any = None
        self.fillers: dict[str, Any] = {}
        # key hash and record number of every row, for the duplicate check after the load
        self.keys_path = path.with_name("key_hashes.parquet")
        self.keys_writer: Any = None

    def _filler(self, f: Any, n: int) -> Any:
        """The load's constant, or nulls, for n rows: slices of one array made once, not a
        fresh array allocated and filled for every chunk."""
        import pyarrow as pa

        made = self.fillers.get(f.name)
        if made is None or len(made) < n:
            size = max(n, 2 * len(made) if made is not None else 0)
            made = pa.repeat(self.constants[f.name], size).cast(f.type) \
                if f.name in self.constants else pa.nulls(size, f.type)
            self.fillers[f.name] = made
        return made.slice(0, n)

    def _open(self) -> Any:
        import pyarrow.parquet as pq

        if self.writer is None:
            from contractwatch import settings

            codec = settings.load().parquet_compression
            self.writer = pq.ParquetWriter(
                self.path, self.schema,
                compression={c: "none" if codec == "snappy" and c in PLAIN_UNDER_SNAPPY
                             else codec for c in self.schema.names},
                use_dictionary=[c for c in self.schema.names if c not in UNIQUE_COLUMNS],
                write_statistics=STATISTICS_COLUMNS)
        return self.writer

    def write(self, table: Any) -> None:
        import pyarrow as pa

        n = table.num_rows
        present = set(table.column_names)
        columns = []
        for f in self.schema:
            if f.name in present:
                column = table.column(f.name)
                columns.append(column if column.type == f.type else column.cast(f.type))
            else:
                columns.append(self._filler(f, n))
        self._open().write_table(pa.Table.from_arrays(columns, schema=self.schema))
        self._open_keys().write_table(pa.Table.from_arrays(
            [table.column("_key_hash"), table.column("source_row")],
            schema=self.keys_schema()))

    @staticmethod
    def keys_schema() -> Any:
        import pyarrow as pa

        return pa.schema([("key_hash", pa.uint64()), ("source_row", pa.int64())])

    def _open_keys(self) -> Any:
        import pyarrow.parquet as pq

        if self.keys_writer is None:
            self.keys_writer = pq.ParquetWriter(self.keys_path, self.keys_schema(),
                                                compression="none", use_dictionary=False)
        return self.keys_writer

    def finish(self) -> None:
        """Close the files (an empty file still gets its schema)."""
        self._open().close()
        self._open_keys().close()


class _SourceColumnsSink:
    """Writes the source columns no canonical column holds, as text, with the load and the
    record number that join them to the canonical rows (runs in the writer thread).

    Compressed with zstd and dictionary-encoded: most of these columns are codes and flags
    repeated row after row, so they cost little room beside the canonical file.
    """

    def __init__(self, path: Path, names: list[str], load_id: str):
        import pyarrow as pa

        self.path = path
        self.load_id = load_id
        self.schema = pa.schema([("load_id", pa.string()), ("source_row", pa.int64())]
                                + [(n, pa.string()) for n in names])
        self.writer: Any = None
        self.filler: Any = None

    def write(self, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd",
                                           write_statistics=["load_id", "source_row"])
        n = table.num_rows
        if self.filler is None or len(self.filler) < n:
            size = max(n, 2 * len(self.filler) if self.filler is not None else 0)
            self.filler = pa.repeat(self.load_id, size).cast(pa.string())
        columns = [pa.chunked_array([self.filler.slice(0, n)]), table.column("source_row")] + [
            _empty_as_null(table.column(name)) for name in self.schema.names[2:]]
        self.writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))

    def finish(self) -> None:
        import pyarrow.parquet as pq

        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.writer.close()


def _connect() -> Any:
    """The load's engine: bounded memory, the money macros, no progress bar of its own."""
    import duckdb

    from contractwatch.store import duckdb_config

    con = duckdb.connect(config={**duckdb_config("512MB"), "preserve_insertion_order": False})
    con.execute("SET enable_progress_bar = false")
    con.execute(MONEY_MACROS)
    return con


@contextmanager
def _page_reusing_allocator() -> Iterator[None]:
    """Arrow's jemalloc pool during the load, where the default is mimalloc (pip wheels).

    mimalloc hands each chunk's freed pages back to the system and the next chunk faults
    them in again, zeroed by the kernel (2M rows: 9.1 → 8.5 CPU-s with jemalloc). Arrow's
    jemalloc does the same by default (decay 0), so during the load freed pages are kept for
    a few seconds (system time per 2M rows 1.3 → 1.05 s); each phase ends by purging them
    (`_Job._release_memory`), so peaks do not stack. A pool the user chose
    (ARROW_DEFAULT_MEMORY_POOL) is left alone, and Arrow's default decay is put back.
    """
    import os

    import pyarrow as pa

    previous = pa.default_memory_pool()
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or previous.backend_name != "mimalloc":
        yield
        return
    try:
        pa.jemalloc_set_decay_ms(FREED_PAGES_KEPT_MS)  # arenas made from now on
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc
        yield
        return
    try:
        yield
    finally:
        pa.default_memory_pool().release_unused()
        pa.jemalloc_set_decay_ms(0)
        pa.set_memory_pool(previous)


def _flush_to_disk(path: Path) -> None:
    """fsync one file; only a head start, the commit fsyncs again before it counts."""
    import os

    try:
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    except OSError:
        pass


def _import_ahead(compare: bool) -> None:
    """Import what the load needs later (pandas, which DuckDB's Arrow exchange imports; Ibis
    when rows must be compared with a store that has loads) while the first chunk is read.
    Only a head start: if it fails, the import happens again where it is needed."""
    try:
        import pandas  # noqa: F401

        if compare:
            import ibis  # noqa: F401
    except Exception:  # noqa: BLE001, S110
        pass


def _with_passthrough(result: Any, chunk: Any, columns: dict[str, str]) -> Any:
    """Add the text columns the engine did not return, straight from the raw chunk."""
    import pyarrow.compute as pc

    if not columns:
        return result
    if not _same_rows(result, chunk):
        # DuckDB may hold back a chunk's small tail (a record batch's last few rows, under
        # its vector size) and return it after later rows, even on one thread with insertion
        # order preserved; every row is there, so put them back in the chunk's order
        result = result.take(pc.sort_indices(result.column("source_row")))
        if not _same_rows(result, chunk):
            raise RuntimeError("the engine returned other rows than the chunk's")
    for name, source in columns.items():
        result = result.append_column(name, _empty_as_null(chunk.column(source)))
    return result


def _same_rows(result: Any, chunk: Any) -> bool:
    """True when the engine's rows are the chunk's, in its order (source_row by source_row)."""
    import pyarrow.compute as pc

    return result.num_rows == chunk.num_rows and pc.all(
        pc.equal(result.column("source_row"), chunk.column("source_row"))).as_py() in (True, None)


def _empty_as_null(column: Any) -> Any:
    """Empty text becomes null, sharing the text buffers (only a validity bitmap is new)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = []
    for array in column.chunks:
        present = pc.not_equal(array, "")
        if array.offset == 0 and array.null_count == 0 and present.offset == 0:
            chunks.append(pa.Array.from_buffers(array.type, len(array),
                                                [present.buffers()[1], *array.buffers()[1:]]))
        else:
            chunks.append(pc.if_else(present, array, pa.scalar(None, array.type)))
    return pa.chunked_array(chunks, type=column.type)


def _trimmed(batch: Any, keep: list[str]) -> Any:
    """Only the columns the layout reads, with surrounding white space removed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = [*keep, "source_row"]
    columns = [batch.column(batch.schema.get_field_index(n)) for n in names]
    columns = [pc.utf8_trim_whitespace(c) if c.type == pa.string() else c for c in columns]
    return pa.RecordBatch.from_arrays(columns, names=names)


def _as_given(batch: Any, names: list[str]) -> Any:
    """The source columns kept as they are (not trimmed), with the record numbers."""
    import pyarrow as pa

    cols = [*names, "source_row"]
    return pa.RecordBatch.from_arrays(
        [batch.column(batch.schema.get_field_index(n)) for n in cols], names=cols)


def _task_name(label: str) -> str:
    """A file name in the progress bar: text, not markup; control characters shown."""
    from rich.markup import escape

    from contractwatch.output import visible

    return escape(visible(Path(label).name[-40:]))


def _make_progress() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=False,
    )


__all__ = ["IngestError", "IngestReport", "SourceError", "StoreError", "ingest"]
