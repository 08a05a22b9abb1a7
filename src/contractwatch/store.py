"""The store: Parquet files per load, a JSON manifest that commits them, and an Ibis catalog.

Layout of a store directory::

    manifest.json              the committed loads (replaced atomically: the commit point)
    loads/<load_id>/           one folder per load: transactions.parquet, copies.parquet,
                               rejects.csv, source_columns.parquet (the source's other
                               columns as given), deletes.parquet (a delta's deletions);
                               written under a temporary name, renamed when done
    details/<id>.parquet       award-level facts: detail fetched from the API, award summary
                               files (ceilings, parents, vehicles, solicitations)
    catalog.duckdb             views over the committed files, for users of the DuckDB CLI
    .lock                      held by the one process allowed to write

Readers read the manifest once and see exactly the files it lists, which are never modified,
so a query running while an ingest commits sees the old state or the new one, never a mix.
A writer that dies leaves only unreferenced folders, removed by the next writer.

This is the only module that talks to a database engine; analyses get Ibis tables, or (on
DuckDB) run their precompiled SQL through `Catalog.fetch` without importing Ibis.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contractwatch.record_columns import (
    DETAIL_COLUMNS,
    SUBAWARD_COLUMNS,
    VEHICLE_SOURCE_COLUMNS,
)
from contractwatch.values.ids import PERMALINK

MANIFEST = "manifest.json"
CATALOG = "catalog.duckdb"
FORMAT_VERSION = 1


class StoreError(Exception):
    """A problem with the store itself (busy, corrupt, ambiguous order of loads)."""


class StoreBusy(StoreError):
    pass


@dataclass
class Block:
    """The rows of one agency and fiscal year inside one load."""

    agency: str
    fiscal_year: int
    rows: int
    obligations: str  # exact decimal as text
    negative_rows: int
    zero_rows: int
    duplicate_copies: int

    @property
    def looks_truncated(self) -> bool:
        """An API export block cut at a page boundary: rows a multiple of 100, no negatives."""
        return self.rows > 0 and self.rows % 100 == 0 and self.negative_rows == 0


@dataclass
class LoadRecord:
    """One committed load, as written in the manifest."""

    load_id: str
    seq: int
    source_file: str
    sha256: str
    source_format: str
    vintage: str | None
    vintage_source: str  # as-of | file-name | content | none
    complete: bool  # a full snapshot of its agency × fiscal-year blocks
    rows_read: int
    rows_kept: int
    rows_rejected: int
    duplicate_copies: int
    key_conflicts: int
    new: int
    changed: int
    unchanged: int
    loaded_at: str
    blocks: list[Block] = field(default_factory=list)
    encoding: str = "utf-8"
    warnings: list[str] = field(default_factory=list)
    origin: str = "file"  # file | sync:<query name>
    size_bytes: int | None = None  # the file's size: a new size means new bytes
    deletes: int = 0  # transactions a delta file deletes (loads/<id>/deletes.parquet)
    # source columns kept as the source gave them (loads/<id>/source_columns.parquet)
    source_columns: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> str:
        return f"loads/{self.load_id}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadRecord:
        data = dict(data)
        data["blocks"] = [Block(**b) for b in data.get("blocks", [])]
        return cls(**data)


def vintage_order(loads: list[LoadRecord]) -> dict[str, int]:
    """Rank loads by vintage (when the source was fetched), never by load order.

    Undated loads rank below dated ones; ingest refuses an undated load that overlaps another,
    so that case never decides a value. Equal vintages fall back to the load sequence.
    """
    ordered = sorted(loads, key=lambda r: (r.vintage is not None, r.vintage or "", r.seq))
    return {r.load_id: i + 1 for i, r in enumerate(ordered)}


def duckdb_config(memory_limit: str | None = None) -> dict[str, Any]:
    """Bounded memory, spilling to the system's temp folder (never the caller's cwd)."""
    import tempfile

    from contractwatch import settings

    threads, limit = settings.engine_resources()
    spill = Path(tempfile.gettempdir()) / f"contractwatch-spill-{os.getuid()}"
    spill.mkdir(exist_ok=True)
    # a folder per connection: DuckDB names its temporary files alike in every process, so
    # two connections spilling into one folder overwrite each other's blocks ("Corrupt
    # temporary file"); DuckDB makes the folder when it spills and removes it on closing
    own = spill / f"{os.getpid()}-{next(_SPILL_FOLDERS)}"
    return {"threads": threads, "memory_limit": memory_limit or limit,
            "temp_directory": str(own)}


_SPILL_FOLDERS = itertools.count()


def loads_are_disjoint(loads: list[LoadRecord]) -> bool:
    """True when every stored row is current: no agency × fiscal-year block is in two loads
    (so no complete snapshot withdraws another load's rows) and ingest found no load's keys
    already in the store (so no row supersedes another). A whole history loaded once, one
    file per year, is the common case; snapshots of the same year take the general path."""
    blocks: set[tuple[str, int]] = set()
    for load in loads:
        if load.deletes:
            return False  # a delta deletes stored rows
        if load.changed or load.unchanged or (load.rows_kept and not load.new):
            return False  # keys seen before (or no comparison recorded)
        for b in load.blocks:
            if (b.agency, b.fiscal_year) in blocks:
                return False
            blocks.add((b.agency, b.fiscal_year))
    return True


def committed_files(root: Path, loads: list[LoadRecord], name: str) -> list[str]:
    """Each load's file `name` (e.g. transactions.parquet), where the load has one; a load
    staged by a running ingest is still in its `.tmp` folder."""
    out = []
    for load in loads:
        folder = root / "loads" / load.load_id
        if not folder.exists():
            folder = root / "loads" / f"{load.load_id}.tmp"
        path = folder / name
        if path.exists():
            out.append(str(path))
    return out


def source_column_names(loads: list[LoadRecord]) -> list[str]:
    """Every source column the loads kept beside the canonical ones, in first-seen order."""
    return list(dict.fromkeys(n for load in loads for n in load.source_columns))


def wide_sql(table: str, names: list[str], kept: str = "source_columns") -> str:
    """The rows of `table` with every source column kept beside them; a source column named
    like a canonical one (the 2018 download's own `fiscal_year`) is suffixed `_source`."""
    from contractwatch.schema import COLUMN_NAMES

    taken = set(COLUMN_NAMES) | {"vintage_rank", "vintage"}
    columns = "".join(
        f", s.{_quote(n)} AS {_quote(n + '_source' if n in taken else n)}" for n in names)
    return (f"SELECT t.*{columns} FROM {table} AS t LEFT JOIN {kept} AS s "
            "ON t.load_id = s.load_id AND t.source_row = s.source_row")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


LOADS_COLUMNS = [
    ("load_id", "VARCHAR"), ("seq", "BIGINT"), ("vintage_rank", "BIGINT"),
    ("vintage", "VARCHAR"), ("source_file", "VARCHAR"), ("source_format", "VARCHAR"),
    ("complete", "BOOLEAN"), ("rows_kept", "BIGINT"), ("loaded_at", "VARCHAR"),
]
COVERAGE_COLUMNS = [("cov_agency", "VARCHAR"), ("cov_fiscal_year", "BIGINT"),
                    ("cov_rank", "BIGINT")]


def loads_rows(loads: list[LoadRecord]) -> list[tuple[Any, ...]]:
    """The loads as rows of LOADS_COLUMNS, with each load's rank by vintage (newest wins)."""
    ranks = vintage_order(loads)
    return [(r.load_id, r.seq, ranks[r.load_id], r.vintage, r.source_file, r.source_format,
             r.complete, r.rows_kept, r.loaded_at) for r in loads]


def coverage_rows(loads: list[LoadRecord]) -> list[tuple[Any, ...]]:
    """Agency × fiscal-year blocks of complete snapshots, ranked by their load's vintage.

    A row is withdrawn when a complete snapshot of its block ranks above its own load. The
    rank here is the lowest of the loads sharing the snapshot's vintage, so only a newer
    vintage withdraws rows: loads of one vintage are parts of one fetch (USAspending splits a
    large download into several files) and add up, never cancel each other.
    """
    ranks = vintage_order(loads)
    first_of_vintage: dict[str | None, int] = {}
    for r in loads:
        rank = ranks[r.load_id]
        first_of_vintage[r.vintage] = min(rank, first_of_vintage.get(r.vintage, rank))
    return [(b.agency, b.fiscal_year, first_of_vintage[r.vintage])
            for r in loads if r.complete for b in r.blocks]


def _sql_value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def create_values_table(con: Any, name: str, columns: list[tuple[str, str]],
                        rows: list[tuple[Any, ...]]) -> None:
    """A small table from Python rows, as SQL text (registering Arrow or binding parameters
    would import pandas and NumPy: a quarter of a second)."""
    con.execute(f"CREATE OR REPLACE TABLE {name} ("
                + ", ".join(f"{c} {kind}" for c, kind in columns) + ")")
    if rows:
        con.execute(f"INSERT INTO {name} VALUES " + ", ".join(
            "(" + ", ".join(_sql_value(v) for v in row) + ")" for row in rows))


def _arrow(columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> Any:
    import pyarrow as pa

    kinds = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "BOOLEAN": pa.bool_()}
    schema = pa.schema([(name, kinds[kind]) for name, kind in columns])
    return pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows],
                                schema=schema)


def loads_arrow(loads: list[LoadRecord]) -> Any:
    return _arrow(LOADS_COLUMNS, loads_rows(loads))


def coverage_arrow(loads: list[LoadRecord]) -> Any:
    return _arrow(COVERAGE_COLUMNS, coverage_rows(loads))


def copies_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("load_id", pa.string()), ("source_row", pa.int64()),
                      ("copy_number", pa.int64())])


def _empty(schema: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_pylist([], schema=schema)


class Store:
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()

    # ---- reading -------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.root / MANIFEST).exists()

    def manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.exists():
            return {"version": FORMAT_VERSION, "loads": [], "details": [], "subawards": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise StoreError(f"{path}: manifest is not valid JSON ({exc})") from exc
        if data.get("version") != FORMAT_VERSION:
            raise StoreError(f"{path}: unknown store format version {data.get('version')!r}")
        data.setdefault("details", [])
        data.setdefault("subawards", [])
        return data

    def loads(self) -> list[LoadRecord]:
        return [LoadRecord.from_json(x) for x in self.manifest()["loads"]]

    def path(self, relative: str) -> Path:
        return self.root / relative

    def connect(self, engine: str = "duckdb", pending: list[LoadRecord] | None = None,
                spark_session: Any = None, memory_limit: str | None = None) -> Catalog:
        """An Ibis catalog over the committed loads (plus `pending` ones during an ingest)."""
        manifest = self.manifest()
        loads = [LoadRecord.from_json(x) for x in manifest["loads"]] + list(pending or [])
        return Catalog(self, loads, list(manifest["details"]), engine, spark_session,
                       memory_limit, subawards=list(manifest["subawards"]))

    def catalog_is_stale(self) -> bool:
        """catalog.duckdb is missing or older than the manifest (its write failed)."""
        catalog, manifest = self.root / CATALOG, self.root / MANIFEST
        return manifest.exists() and (
            not catalog.exists() or catalog.stat().st_mtime_ns < manifest.stat().st_mtime_ns)

    def repair_catalog(self) -> bool:
        """Write a missing or stale catalog.duckdb again (True if it did); skipped while
        another process writes, which refreshes it itself."""
        if not self.catalog_is_stale():
            return False
        try:
            with self.writer() as writer:  # its start may already repair it
                writer.repair_catalog()  # raises if it still cannot
        except (StoreBusy, PermissionError):  # being written, or a read-only store
            return False
        return True

    # ---- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self, wait: bool = False) -> Iterator[Writer]:
        """Hold the store's write lock; refuse clearly if another writer holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "loads").mkdir(exist_ok=True)
        lock_path = self.root / ".lock"
        fh = open(lock_path, "a+")  # noqa: SIM115 - closed in finally
        try:
            flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(fh.fileno(), flags)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise StoreBusy(
                    f"{self.root} is being written by {holder}; wait for it to finish "
                    "(or pass --wait)"
                ) from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}")
            fh.flush()
            writer = Writer(self)
            writer.collect_garbage()
            yield writer
        finally:
            with contextlib.suppress(OSError):
                fh.seek(0)
                fh.truncate()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()


class Writer:
    """Stages new files and commits them with one atomic manifest replacement."""

    def __init__(self, store: Store):
        self.store = store

    def new_load_id(self) -> str:
        import uuid  # here, not at the top: query commands never write

        return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]

    def staging_dir(self, name: str) -> Path:
        path = self.store.root / "loads" / f"{name}.tmp"
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def collect_garbage(self) -> None:
        """Remove folders no committed manifest references (left by a killed writer)."""
        manifest = self.store.manifest()
        keep = {x["load_id"] for x in manifest["loads"]}
        for child in (self.store.root / "loads").iterdir():
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
        for section in ("details", "subawards"):
            folder = self.store.root / section
            if folder.exists():
                keep_files = {d["file"] for d in manifest[section]}
                for child in folder.iterdir():
                    if f"{section}/{child.name}" not in keep_files:
                        child.unlink(missing_ok=True)
        for pattern in ("*.tmp", "*.tmp.wal"):
            for tmp in self.store.root.glob(pattern):
                tmp.unlink(missing_ok=True)
        with contextlib.suppress(StoreError):  # tried again, and reported, at the commit
            self.repair_catalog()

    def commit(self, new_loads: list[LoadRecord], new_details: list[dict[str, Any]] | None = None,
               replace_loads: list[LoadRecord] | None = None,
               new_subawards: list[dict[str, Any]] | None = None,
               extra: dict[str, Any] | None = None) -> None:
        """Make staged loads visible: rename their folders, then replace the manifest.

        The manifest replacement is the single commit point; until it happens readers and a
        restarted process see the previous state, and the renamed folders are garbage.
        """
        root = self.store.root
        for load in new_loads:
            staged = root / "loads" / f"{load.load_id}.tmp"
            if staged.exists():
                _fsync_tree(staged)
                os.replace(staged, root / "loads" / load.load_id)
        manifest = self.store.manifest()
        replaced = {r.load_id: r for r in (replace_loads or [])}
        loads = [
            _to_json(replaced[x["load_id"]]) if x["load_id"] in replaced else x
            for x in manifest["loads"]
        ]
        loads.extend(_to_json(r) for r in new_loads)
        manifest["loads"] = loads
        manifest["details"] = manifest["details"] + list(new_details or [])
        manifest["subawards"] = manifest["subawards"] + list(new_subawards or [])
        for key, value in (extra or {}).items():
            manifest[key] = value
        # Ctrl+C waits until the manifest and the catalog are both written: the store is
        # then whole, and the interruption is reported as coming after the commit
        with _sigint_deferred():
            atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
            _COMMITS.append(root)
            self._write_catalog()

    def next_seq(self) -> int:
        loads = self.store.manifest()["loads"]
        return max((x["seq"] for x in loads), default=0) + 1

    def _write_catalog(self) -> None:
        """Refresh catalog.duckdb: views users can open with the DuckDB CLI.

        Written to a temporary file and renamed over the old one. If that fails (a full
        disk), the old catalog, which no longer matches the manifest, is removed, and the
        caller learns it: the data is committed, but the command must not report success.
        The next writer, or `contractwatch status`, writes it again (`repair_catalog`).
        """
        root = self.store.root
        tmp = root / f"{CATALOG}.tmp"
        wal = root / f"{CATALOG}.tmp.wal"
        tmp.unlink(missing_ok=True)
        wal.unlink(missing_ok=True)
        try:
            from contractwatch import catalog_file

            catalog_file.write(root, self.store.loads(), tmp)
            os.replace(tmp, root / CATALOG)
        except Exception as exc:
            for path in (tmp, wal, root / CATALOG):
                path.unlink(missing_ok=True)
            raise StoreError(
                f"{root / CATALOG}: could not be written ({_first_line(exc)}); the data is "
                "committed, only the DuckDB views are missing: free some space and run "
                "`contractwatch status` to write them") from None

    def repair_catalog(self) -> bool:
        """Write catalog.duckdb again if it is missing or older than the manifest."""
        if not self.store.catalog_is_stale():
            return False
        self._write_catalog()
        return True


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


_COMMITS: list[Path] = []  # stores this process committed to


def committed_in_this_process() -> bool:
    """Whether this process has replaced a store's manifest (an interruption after that
    leaves the new state, not the old)."""
    return bool(_COMMITS)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl+C back until the block ends (main thread only: Python runs signal handlers
    there); a Ctrl+C received meanwhile is raised then."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def _to_json(record: LoadRecord) -> dict[str, Any]:
    return asdict(record)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace a small file all at once: readers see the old bytes or the new, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        if child.is_file():
            with open(child, "rb") as fh:
                os.fsync(fh.fileno())


# ---- the catalog ------------------------------------------------------------------------

# ---- results stored with the data -----------------------------------------------------------
# Stages that cost seconds (recipient resolution, purpose tags, the index for search by meaning)
# run once per state of the data and keep their result in a folder named by a version: a hash
# of the loads (with their vintages, which decide which rows are current) and of the stage's
# own inputs. A new load or an edited input makes the next question compute a new version.

STORED_FORMAT = "2"  # raise when what is stored, or how it is computed, changes everywhere
KEEP_VERSIONS = 3  # older versions stay a while for processes still reading them


def resolve_dir(catalog: Catalog) -> Path:
    """Where results derived from the data are kept (resolution, purpose tags)."""
    return catalog.store.root / "resolve"


def stored_version(catalog: Catalog, *parts: Any, files: list[Path] | tuple[Path, ...] = ()
                   ) -> str:
    """The version of a stored result: the loads with their vintages, the stage's own
    `parts` (JSON values) and the bytes of the `files` that steer it (a missing file counts
    as missing)."""
    import hashlib  # here, not at the top: most commands never call it

    loads = sorted([ld.load_id, ld.vintage, ld.complete] for ld in catalog.loads)
    h = hashlib.sha256(json.dumps([STORED_FORMAT, loads, *parts]).encode())
    for path in files:
        h.update(path.read_bytes() if path.is_file() else b"-")
        h.update(b"\0")
    return h.hexdigest()[:20]


def stored_folder(base: Path, version: str, write: Callable[[Path], None],
                  keep: int = KEEP_VERSIONS) -> Path:
    """`base/version`, written first by `write(folder)` when missing (atomically: under a
    temporary name, then renamed), keeping the `keep` newest versions. A store that cannot
    be written gets it in a temporary folder, so the answer is the same, only not kept."""
    final = base / version
    if final.is_dir():
        return final
    import uuid

    try:
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / f".{version}.{uuid.uuid4().hex}"
        tmp.mkdir()
    except OSError:
        base = Path(tempfile.mkdtemp(prefix=f"contractwatch-{base.name}-"))
        final = tmp = base / version
        tmp.mkdir()
    try:
        write(tmp)
        if tmp != final:
            os.rename(tmp, final)
    except OSError:
        if not final.is_dir():  # not another process that finished first
            raise
    finally:
        if tmp != final:
            shutil.rmtree(tmp, ignore_errors=True)
    versions = sorted((d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")),
                      key=lambda d: d.stat().st_mtime, reverse=True)
    for old in versions[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return final


class Catalog:
    """Ibis tables over one consistent set of loads.

    `transactions()` is the current state: for each transaction key the row of the newest
    vintage, minus rows that a newer complete snapshot of their agency and fiscal year no
    longer contains (withdrawn upstream or moved to another year by a date correction).
    """

    def __init__(self, store: Store, loads: list[LoadRecord], details: list[dict[str, Any]],
                 engine: str = "duckdb", spark_session: Any = None,
                 memory_limit: str | None = None,
                 subawards: list[dict[str, Any]] | None = None):
        self.store = store
        self.loads = loads
        self.details = details
        self.subaward_files = subawards or []
        self.engine = engine
        self.memory_limit = memory_limit
        if engine == "spark":
            from contractwatch.engines import spark_backend

            self.con = spark_backend(spark_session)
        elif engine != "duckdb":
            raise StoreError(f"unknown engine {engine!r}")
        self.ranks = vintage_order(loads)
        self._cache: dict[str, Any] = {}
        self._sql: dict[Any, str] = {}

    @functools.cached_property
    def duck(self) -> Any:
        """The plain DuckDB connection (DuckDB engine only), with the store's raw tables:
        what the precompiled queries run on, with no Ibis, pandas or Arrow to import."""
        import duckdb

        con = duckdb.connect(config=duckdb_config(self.memory_limit))
        # the engine's own progress bar would write into our output; ours is Rich's.
        # Time zone and replacement scans as Ibis sets them, so both see the same engine.
        try:
            con.execute("SET enable_progress_bar = false")
        except Exception as exc:  # in Jupyter without ipywidgets the bar is off already
            if "ipywidgets" not in str(exc):
                raise
        con.execute("SET TimeZone = 'UTC'; SET python_enable_replacements = false")
        return con

    @functools.cached_property
    def con(self) -> Any:
        """The Ibis backend (DuckDB: over the same connection as `duck`)."""
        import ibis

        return ibis.duckdb.from_connection(self.duck)

    def fetch(self, sql: str) -> list[dict[str, Any]]:
        """Rows of a SQL text run on DuckDB, as dicts (Decimal, date, int as Arrow gives)."""
        cur = self.duck.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def raw_tables(self) -> None:
        """Create cw_rows, cw_loads, cw_coverage, cw_copies and (empty unless attached)
        cw_purpose_tags on `duck` (once), under the names the precompiled SQL uses."""
        if "raw" in self._cache:
            return
        files = self._checked_files()
        if files:
            self.duck.execute(f"CREATE OR REPLACE VIEW cw_rows AS SELECT * FROM "
                              f"read_parquet({files!r})")
        else:  # an empty store: the typed empty table comes through Arrow
            from contractwatch.schema import arrow_schema

            self.duck.register("cw_rows", _empty(arrow_schema()))
        copies = self._files("copies.parquet")
        self.duck.execute("CREATE OR REPLACE VIEW cw_copies AS " + (
            f"SELECT * FROM read_parquet({copies!r})" if copies else
            "SELECT NULL::VARCHAR AS load_id, NULL::BIGINT AS source_row, "
            "NULL::BIGINT AS copy_number WHERE false"))
        if not self._cache.get("attached:cw_purpose_tags"):
            # no purpose asked for: the purpose filter of every query joins an empty table
            self.duck.execute("CREATE OR REPLACE VIEW cw_purpose_tags AS SELECT "
                              "NULL::VARCHAR AS award_key, NULL::VARCHAR AS purpose WHERE false")
        self._values_table("cw_loads", LOADS_COLUMNS, loads_rows(self.loads))
        self._values_table("cw_coverage", COVERAGE_COLUMNS, coverage_rows(self.loads))
        self._records_view("cw_subaward_reports", [str(self.store.root / d["file"])
                                                   for d in self.subaward_files],
                           SUBAWARD_COLUMNS)
        self._records_view("cw_details", [str(self.store.root / d["file"])
                                          for d in self.details], DETAIL_COLUMNS)
        self._cache["raw"] = True

    def _records_view(self, name: str, files: list[str],
                      columns: tuple[tuple[str, str], ...]) -> None:
        """Record files (subaward reports) as a view on `duck` that has every one of
        `columns` (null where no file has it: files written before a column was added), plus
        the source columns the files keep. Plain SQL: no Arrow to import."""
        missing = list(columns)
        if files:
            read = f"read_parquet({files!r}, union_by_name = true)"
            have = {row[0] for row in self.duck.execute(f"DESCRIBE SELECT * FROM {read}")
                    .fetchall()}
            missing = [(n, kind) for n, kind in columns if n not in have]
            body = "SELECT *" + "".join(f", CAST(NULL AS {kind}) AS {_quote(n)}"
                                        for n, kind in missing) + f" FROM {read}"
        else:
            body = "SELECT " + ", ".join(f"CAST(NULL AS {kind}) AS {_quote(n)}"
                                         for n, kind in columns) + " WHERE false"
        self.duck.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")

    def _values_table(self, name: str, columns: list[tuple[str, str]],
                      rows: list[tuple[Any, ...]]) -> None:
        create_values_table(self.duck, name, columns, rows)

    # raw tables -------------------------------------------------------------------------
    def _files(self, name: str) -> list[str]:
        return committed_files(self.store.root, self.loads, name)

    def _read(self, name: str, files: list[str], empty_schema: Any,
              union_by_name: bool = False) -> Any:
        """Parquet files as one table; `union_by_name` for files whose columns differ (those
        that keep each source's own columns), missing columns then read as nulls."""
        import pyarrow as pa

        if name in self._cache:
            return self._cache[name]
        if files and self.engine == "spark":
            from contractwatch.engines import read_parquet_spark

            table = read_parquet_spark(self.con, files, name, merge_schema=union_by_name)
        elif files and union_by_name:
            table = self.con.read_parquet(files, table_name=name, union_by_name=True)
        elif files:
            table = self.con.read_parquet(files, table_name=name)
        else:
            table = self._register_arrow(name, pa.Table.from_pylist([], schema=empty_schema))
        self._cache[name] = table
        return table

    def _checked_files(self) -> list[str]:
        """The committed data files, refusing a store that lost one."""
        files = self._files("transactions.parquet")
        if len(files) != len(self.loads):  # every load has one, empty or not
            found = {Path(f).parent.name.removesuffix(".tmp") for f in files}
            lost = next(ld for ld in self.loads if ld.load_id not in found)
            raise StoreError(
                f"{self.store.root}: the data file of load {lost.load_id} ({lost.source_file}) "
                "is missing, so figures would silently leave it out. The store is damaged: "
                "restore it from a copy, or load the files again into a new store.")
        return files

    def _table(self, name: str) -> Any:
        """One raw table as an Ibis table (Spark: read or registered on first use)."""
        if name in self._cache:
            return self._cache[name]
        if self.engine == "duckdb":
            self.raw_tables()
            table = self.con.table(name)
        else:
            table = self._spark_table(name)
        self._cache[name] = table
        return table

    def _spark_table(self, name: str) -> Any:
        from contractwatch.engines import read_parquet_spark

        if name == "cw_loads":
            data = loads_arrow(self.loads)
        elif name == "cw_coverage":
            data = coverage_arrow(self.loads)
        else:
            files = self._checked_files() if name == "cw_rows" else \
                self._files("copies.parquet")
            if files:
                return read_parquet_spark(self.con, files, name)
            if name == "cw_rows":
                from contractwatch.schema import arrow_schema

                data = _empty(arrow_schema())
            else:
                data = _empty(copies_schema())
        return self._register_arrow(name, data)

    def _register_arrow(self, name: str, data: Any) -> Any:
        """A small in-memory table under a fixed name (so compiled SQL can name it)."""
        if self.engine == "duckdb":
            self.duck.register(name, data)
        else:
            from contractwatch.engines import register_arrow_spark

            register_arrow_spark(self.con, name, data)
        return self.con.table(name)

    def attach_parquet(self, name: str, files: list[str]) -> None:
        """Name Parquet files as a table (derived data stored beside the loads), for the
        precompiled SQL on DuckDB and for `table(name)`."""
        if self._cache.get(f"attached:{name}") == files:
            return
        if self.engine == "duckdb":
            self.duck.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                              f"read_parquet({files!r})")
            self._cache.pop(name, None)
        else:
            from contractwatch.engines import read_parquet_spark

            self._cache[name] = read_parquet_spark(self.con, files, name)
        self._cache[f"attached:{name}"] = files

    def table(self, name: str) -> Any:
        """An attached table as an Ibis table."""
        if name not in self._cache:
            self._cache[name] = self.con.table(name)
        return self._cache[name]

    def transactions_all(self) -> Any:
        """Every stored row of every committed load, with its load's vintage rank."""
        if "all" in self._cache:
            return self._cache["all"]
        rows = self._table("cw_rows")
        # ingest does not write links it can derive (values.ids.PERMALINK)
        before, after = PERMALINK.split("{key}")
        rows = rows.mutate(usaspending_permalink=rows.usaspending_permalink.fill_null(
            before + rows.contract_award_unique_key + after))
        ranked = rows.join(self.loads_table().select("load_id", "vintage_rank", "vintage"),
                           "load_id")
        self._cache["all"] = ranked
        return ranked

    def source_columns(self) -> Any:
        """The source columns kept beside the canonical ones, keyed by (load_id, source_row);
        loads differ in which they carry (a column a load lacks reads as null)."""
        import pyarrow as pa

        schema = pa.schema([("load_id", pa.string()), ("source_row", pa.int64())])
        return self._read("cw_source_columns", self._files("source_columns.parquet"), schema,
                          union_by_name=True)

    def vehicle_source_facts(self) -> Any:
        """(load_id, source_row) with the vehicle facts full downloads keep as source columns
        (VEHICLE_SOURCE_COLUMNS), null where a load lacks one; on DuckDB the view
        `cw_vehicle_facts`, which precompiled SQL names."""
        if "cw_vehicle_facts" in self._cache:
            return self._cache["cw_vehicle_facts"]
        if self.engine == "duckdb":
            self.vehicle_facts_view()
            table = self.con.table("cw_vehicle_facts")
        else:
            import ibis

            src = self.source_columns()
            table = src.select(*[src[n] if n in src.columns else ibis.null(
                "int64" if kind == "BIGINT" else "string").name(n)
                for n, kind in VEHICLE_SOURCE_COLUMNS])
        self._cache["cw_vehicle_facts"] = table
        return table

    def vehicle_facts_view(self) -> None:
        """Create `cw_vehicle_facts` on `duck` (once): plain SQL, for precompiled queries."""
        if "vehicle_facts_view" not in self._cache:
            self.raw_tables()
            self._records_view("cw_vehicle_facts", self._files("source_columns.parquet"),
                               VEHICLE_SOURCE_COLUMNS)
            self._cache["vehicle_facts_view"] = True

    def with_source_columns(self, t: Any, names: list[str] | None = None) -> Any:
        """`t` (rows with load_id and source_row) with the named source columns kept beside
        the canonical ones (all of them by default); a source column named like one of
        `t`'s comes suffixed `_source`. Unknown names are an error naming those known."""
        known = source_column_names(self.loads)
        wanted = known if names is None else names
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise LookupError(f"no source column {unknown[0]!r} in the store's loads "
                              f"({len(known)} kept, e.g. {', '.join(known[:5]) or 'none'})")
        if not wanted:
            return t
        src = self.source_columns()
        taken = set(t.columns)
        src = src.select("load_id", "source_row", **{
            (f"{n}_source" if n in taken else n): src[n] for n in wanted})
        joined = t.left_join(src, [t.load_id == src.load_id, t.source_row == src.source_row])
        return joined.select(*t.columns, *[c for c in src.columns
                                           if c not in ("load_id", "source_row")])

    def has_deletions(self) -> bool:
        """Whether a delta file deleted transactions (catalog_file compiles both shapes)."""
        return any(ld.deletes for ld in self.loads)

    def deletions(self) -> Any:
        """Transactions deleted by delta files, with the deleting load's vintage rank."""
        import pyarrow as pa

        schema = pa.schema([("txn_key", pa.string()),
                            ("contract_transaction_unique_key", pa.string()),
                            ("source_row", pa.int64()), ("load_id", pa.string())])
        files = committed_files(self.store.root, [ld for ld in self.loads if ld.deletes],
                                "deletes.parquet")
        d = self._read("cw_deletes", files, schema)
        return d.join(self.loads_table().select("load_id", "vintage_rank"), "load_id")

    def loads_table(self) -> Any:
        return self._table("cw_loads")

    def coverage_table(self) -> Any:
        return self._table("cw_coverage")

    def copies_table(self) -> Any:
        return self._table("cw_copies")

    # current state ----------------------------------------------------------------------
    def all_rows_current(self) -> bool:
        """No stored row is superseded or withdrawn (see `loads_are_disjoint`)."""
        return loads_are_disjoint(self.loads)

    def transactions(self, duplicate_policy: str = "keep") -> Any:
        """Current transactions under a duplicate policy (keep every copy, or collapse)."""
        key = f"current:{duplicate_policy}"
        if key in self._cache:
            return self._cache[key]
        t = self.transactions_all()
        if self.all_rows_current():
            cur = t  # nothing superseded, nothing withdrawn: skip two joins over every row
        else:
            # a delta's deletion counts as a version of its transaction: when it is the
            # newest, no row of that key is current
            versions = t.select("txn_key", "vintage_rank")
            if self.has_deletions():
                versions = versions.union(self.deletions().select("txn_key", "vintage_rank"))
            newest_key = versions.group_by("txn_key").aggregate(
                key_rank=versions.vintage_rank.max())
            cov = self.coverage_table()
            newest_cov = cov.group_by(["cov_agency", "cov_fiscal_year"]).aggregate(
                cov_rank=cov.cov_rank.max()
            )
            cur = t.join(newest_key, "txn_key")
            cur = cur.filter(cur.vintage_rank == cur.key_rank).drop("key_rank")
            cur = cur.left_join(
                newest_cov,
                [cur.awarding_sub_agency_code == newest_cov.cov_agency,
                 cur.fiscal_year == newest_cov.cov_fiscal_year],
            )
            cur = cur.filter(cur.cov_rank.isnull() | (cur.cov_rank <= cur.vintage_rank))
            cur = cur.select(*t.columns)  # not drop(): its column order varies per process
        if duplicate_policy == "collapse":
            copies = self.copies_table()
            cur = cur.anti_join(copies, ["load_id", "source_row"])
        elif duplicate_policy != "keep":
            raise StoreError(f"unknown duplicate policy {duplicate_policy!r}")
        self._cache[key] = cur
        return cur

    def duplicate_rows(self) -> Any:
        """Current rows that are extra copies inside their load (policy 'keep' counts them)."""
        cur = self.transactions("keep")
        return cur.semi_join(self.copies_table(), ["load_id", "source_row"])

    def subaward_reports(self) -> Any:
        """Every subaward report loaded, re-filings included (see sources/subawards.py),
        with every column of SUBAWARD_SCHEMA (null where older files lack one)."""
        from contractwatch.sources.subawards import SUBAWARD_SCHEMA

        if self.engine == "duckdb":
            return self._table("cw_subaward_reports")
        files = [str(self.store.root / d["file"]) for d in self.subaward_files]
        t = self._read("cw_subaward_reports", files, SUBAWARD_SCHEMA, union_by_name=True)
        absent = {f.name: f.type for f in SUBAWARD_SCHEMA if f.name not in t.columns}
        if absent:
            import ibis

            t = t.mutate(**{n: ibis.null().cast(ibis.dtype(kind)) for n, kind in absent.items()})
        return t

    def ranked_subaward_reports(self) -> Any:
        """Every report with `prime_key`, `subawardee_key` and `report_rank`: 0 for the report
        that counts (the latest of prime award × subaward number × subawardee, by the report's
        last-modified time, then its month and fetch), 1, 2… for re-filings set aside."""
        if "ranked_subawards" in self._cache:
            return self._cache["ranked_subawards"]
        import ibis

        r = self.subaward_reports()
        who = r.subawardee_uei.fill_null(r.subawardee_name.upper())
        # the 2018 layout names the prime by PIID only
        r = r.mutate(subawardee_key=who.fill_null(""),
                     prime_key=r.prime_award_unique_key.fill_null(r.prime_award_piid))
        order = [ibis.desc(r.subaward_report_last_modified_date),
                 ibis.desc(r.subaward_report_year), ibis.desc(r.subaward_report_month),
                 ibis.desc(r.vintage), ibis.desc(r.subaward_report_id),
                 # API rows carry no report date or id: the latest action, then the amount
                 ibis.desc(r.subaward_action_date), ibis.desc(r.subaward_amount)]
        w = ibis.window(group_by=[r.prime_key, r.subaward_number,
                                  r.subawardee_key], order_by=order)
        ranked = r.mutate(report_rank=ibis.row_number().over(w))
        self._cache["ranked_subawards"] = ranked
        return ranked

    def subawards(self) -> Any:
        """Each subaward once: the latest report of prime award × subaward number ×
        subawardee, since primes re-file the same subaward month after month with its
        running total (see `ranked_subaward_reports`)."""
        ranked = self.ranked_subaward_reports()
        return ranked.filter(ranked.report_rank == 0).drop("report_rank")

    def award_facts_all(self) -> Any:
        """Every stored award-fact row (API detail, award summaries, idvs/awards listings),
        with the columns of DETAIL_SCHEMA that older files lack read as nulls."""
        import ibis

        from contractwatch.sources.award_detail import DETAIL_SCHEMA

        if "award_facts_all" in self._cache:
            return self._cache["award_facts_all"]
        if self.engine == "duckdb":  # a view with every DETAIL_COLUMNS column (record_columns)
            t = self._table("cw_details")
        else:
            files = [str(self.store.root / d["file"]) for d in self.details]
            t = self._read("cw_details", files, DETAIL_SCHEMA, union_by_name=True)
        missing = {f.name: ibis.null().cast(ibis.dtype(f.type)) for f in DETAIL_SCHEMA
                   if f.name not in t.columns}
        if missing:
            t = t.mutate(**missing)
        self._cache["award_facts_all"] = t
        return t

    def idv_listings(self) -> Any:
        """Awards the API's idvs/awards listings name under a vehicle (not award profiles:
        kept apart from award_details), newest per vehicle × listing × award."""
        from contractwatch.sources.award_detail import LISTING_SOURCE

        t = self.award_facts_all()
        t = t.filter(t.source == LISTING_SOURCE)
        keys = ["listed_under_key", "listing", "contract_award_unique_key"]
        newest = t.group_by(keys).aggregate(_latest=t.fetched_at.max())
        t = t.join(newest, keys)
        return t.filter(t.fetched_at == t._latest).drop("_latest").distinct(on=keys,
                                                                             keep="first")

    def award_details(self) -> Any:
        """Award-level facts fetched from the API (ceiling, parent, UEI), newest per award."""
        from contractwatch.sources.award_detail import LISTING_SOURCE

        t = self.award_facts_all()
        t = t.filter(t.source.isnull() | (t.source != LISTING_SOURCE))
        newest = t.group_by("contract_award_unique_key").aggregate(_latest=t.fetched_at.max())
        t = t.join(newest, "contract_award_unique_key")
        return t.filter(t.fetched_at == t._latest).drop("_latest").distinct(
            on="contract_award_unique_key", keep="first"
        )

    # conveniences ------------------------------------------------------------------------
    def to_sql(self, expr: Any) -> str:
        """The SQL of an expression, compiled once: the text shown is the text that runs."""
        import ibis

        key = expr.op()
        sql = self._sql.get(key)
        if sql is None:
            dialect = "duckdb" if self.engine == "duckdb" else "pyspark"
            sql = str(ibis.to_sql(expr, dialect=dialect))
            if len(self._sql) >= 256:  # a long-running server builds many expressions
                self._sql.clear()
            self._sql[key] = sql
        return sql

    def execute_arrow(self, expr: Any) -> Any:
        """An expression's rows as an Arrow table (DuckDB runs the cached SQL text)."""
        if self.engine == "duckdb":
            return self.duck.sql(self.to_sql(expr)).to_arrow_table()
        return self.con.to_pyarrow(expr)
