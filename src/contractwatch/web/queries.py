"""The web app's data: one snapshot of the current state per manifest, and plain SQL over it.

Why not the library's Ibis expressions at request time: building and compiling them costs
0.1–1.5 s of Python per page (the DuckDB work under them takes milliseconds), and Python
work holds the GIL, so twenty visitors queue behind each other. Instead, when a manifest is
first seen, the current state *as the library defines it* (`Catalog.transactions`, compiled
once: newest vintage per key, withdrawn rows dropped) is copied into one DuckDB table,
``web_rows``, with the few derived columns every page needs (award key, whether the row is
an exact copy inside an API export, the resolution key). Every page then runs fixed SQL texts
with parameters bound by DuckDB (nothing typed by a visitor becomes SQL text), each on its
own cursor, so queries of different requests run in parallel inside DuckDB.

Families and brands (resolution, brand rules) are computed once per snapshot by the
library (`companies.resolution`, `resolve.detect_brands`) and kept as two small tables.
The SQL shown under each table is the text that ran, its parameters written in as literals
and ``web_rows`` spelled out as the library's own current-state query.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Any

from contractwatch.analyze import Filters
from contractwatch.catalog_file import VIEWS_JSON
from contractwatch.companies import KEY_COLUMNS
from contractwatch.store import (
    COVERAGE_COLUMNS,
    LOADS_COLUMNS,
    Catalog,
    LoadRecord,
    Store,
    committed_files,
    coverage_rows,
    create_values_table,
    duckdb_config,
    loads_are_disjoint,
    loads_rows,
    stored_folder,
    stored_version,
    vintage_order,
)

# columns of the current state that pages read (the rest stay in the Parquet files)
ROW_COLUMNS = [
    "contract_transaction_unique_key", "contract_award_unique_key", "award_id_piid",
    "modification_number", "transaction_number", "parent_award_id_piid",
    "parent_award_agency_id", "action_date", "fiscal_year", "federal_action_obligation",
    "potential_total_value_of_award", "awarding_agency_code", "awarding_sub_agency_code",
    "awarding_sub_agency_name", "recipient_name", "recipient_uei", "recipient_duns",
    "recipient_parent_uei", "recipient_parent_duns", "recipient_parent_name",
    "product_or_service_code", "product_or_service_code_description", "naics_code",
    "naics_description", "transaction_description", "usaspending_permalink", "source_file",
    "source_row", "load_id", "vintage",
]

# the columns of web_rows that an agency overview's year tables and their scopes read
NARROWED_COLUMNS = [
    "is_copy", "awarding_agency_code", "awarding_sub_agency_code", "fiscal_year",
    "federal_action_obligation", "award_key", "recipient_name", "resolution_key",
    "transaction_description", "product_or_service_code", "product_or_service_code_description",
    "naics_code", "naics_description",
]

WEB_ROWS_FOLDER = "web/rows"  # under the store: the snapshot, one folder per version
WEB_ROWS_FILE = "rows.parquet"
WEB_PAGES_FOLDER = "web/pages"  # pages built ahead (HTML), one folder per version
WEB_PAGES_FILE = "pages.json"
# from this many stored rows on, the snapshot is read from its file, not held in memory
ON_DISK_ROWS = 2_000_000
SORTED = "\nORDER BY piid_upper, award_key_upper"
AWARD_KEY = "coalesce(contract_award_unique_key, award_id_piid)"
RESOLUTION_KEY = (" || chr(31) || ".join(f"coalesce(CAST({c} AS VARCHAR), '')"
                                         for c in KEY_COLUMNS))


class Cancelled(Exception):
    """The page's work was stopped (its client left, or it ran out of time)."""


class NotReady(Exception):
    """A result derived from the data (families, brands, purpose tags) that a page needs is
    not stored yet: the web app computes it in the background and never makes a visitor wait
    for it; the page says so instead."""


# derived results, in the order the web app computes those missing, and what a page says
# while one is being computed
DERIVED = ("families", "brands", "purposes")
MISSING = {
    "families": "corporate families are not computed for this data yet (they are being "
                "computed now; `contractwatch resolve update` computes them ahead)",
    "brands": "brands named in descriptions are not computed for this data yet (they are "
              "being computed now; `contractwatch resolve update` computes them ahead)",
    "purposes": "purpose tags are not computed for this data yet (they are being computed "
                "now; `contractwatch purpose update` computes them ahead)",
}


class Work:
    """One page being built: the DuckDB cursors it is running, so that it can be stopped."""

    def __init__(self) -> None:
        self.cancelled = False
        self.cursors: set[Any] = set()
        self.lock = threading.Lock()

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            for cursor in self.cursors:
                cursor.interrupt()

    def attach(self, cursor: Any) -> None:
        with self.lock:
            if self.cancelled:
                raise Cancelled("stopped before its next query")
            self.cursors.add(cursor)

    def detach(self, cursor: Any) -> None:
        with self.lock:
            self.cursors.discard(cursor)


# the work of the request this thread is building a page for (None outside requests)
CURRENT_WORK: ContextVar[Work | None] = ContextVar("CURRENT_WORK", default=None)


def sql_literal(value: Any) -> str:
    """A parameter value written into SQL text for display (quotes doubled)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


class Snapshot:
    """One manifest version's current state in memory, and the queries pages run on it.

    Built without Ibis: the current-state SQL ships precompiled (`catalog_file.VIEWS_JSON`,
    checked against the Ibis expressions by a test). The library's Catalog is opened only
    for what still needs it (the home page's `status`, families, award details).
    """

    def __init__(self, store: Store, policy: str = "keep",
                 on_ready: Callable[[], None] | None = None):
        """`on_ready`: given by the web app, which must never wait for a derived result:
        families, brands and purpose tags are then read (or, when not stored yet, computed)
        by a background thread on a catalog of its own, and a page that needs one before
        it is ready gets NotReady; `on_ready()` is called each time one becomes ready.
        Without it (the library, tests) they are read or computed on first use."""
        import duckdb

        manifest = store.manifest()
        self.store = store
        self.policy = policy
        self.loads = [LoadRecord.from_json(x) for x in manifest["loads"]]
        self.details = list(manifest["details"])
        self.subawards = list(manifest["subawards"])
        self.ranks = vintage_order(self.loads)
        self._lock = threading.Lock()
        self._sections = threading.Lock()  # families, brands and purposes, built once
        # the library's Ibis calls share the catalog's one connection: one at a time
        self.library = threading.Lock()
        self._catalog: Catalog | None = None
        self.memo: dict[Any, Any] = {}  # small per-scope facts, for this snapshot only
        self.looked_up: dict[Any, Any] = {}  # library look-ups (vehicles), once per snapshot
        self._vehicle_piids: frozenset[str] | None = None
        self._vehicles = threading.Lock()
        self.ready: dict[str, bool] = dict.fromkeys(DERIVED, False)
        self.derived_files: dict[str, Path] = {}  # each derived result's stored file
        self.failed: dict[str, Exception] = {}  # derived results that could not be computed
        self.on_ready = on_ready
        self.deriving: threading.Thread | None = None
        # DuckDB's Python client imports pandas (~0.8 s) the first time it binds a parameter:
        # done now, on the side, while DuckDB builds the snapshot in its own threads, instead
        # of inside the first visitor's page
        threading.Thread(target=_bind_once, daemon=True, name="bind-once").start()
        self.con = duckdb.connect(config=duckdb_config())
        self.con.execute("SET enable_progress_bar = false; SET TimeZone = 'UTC'")
        self._raw_tables()
        views = json.loads(VIEWS_JSON.read_text(encoding="utf-8"))
        compiled = views["disjoint" if loads_are_disjoint(self.loads) else "general"]
        current = compiled["transactions"]
        self.stored_rows = compiled["transactions_all"]  # every stored row (all vintages)
        self.definition = (
            f"SELECT cur.{', cur.'.join(ROW_COLUMNS)}, {AWARD_KEY} AS award_key,\n"
            f"  copies.load_id IS NOT NULL AS is_copy,\n  {RESOLUTION_KEY} AS resolution_key,\n"
            "  upper(award_id_piid) AS piid_upper,\n"
            "  hash(transaction_description) AS description_hash,\n"
            "  upper(contract_award_unique_key) AS award_key_upper\n"
            f"FROM ({current}) AS cur\nLEFT JOIN (SELECT DISTINCT load_id, source_row FROM "
            "cw_copies) AS copies\n  ON cur.load_id = copies.load_id AND cur.source_row = "
            "copies.source_row")
        # sorted by award, so that an award's few rows are found by the row groups' min/max
        # without reading the others (agency pages are built ahead, at start); read from the
        # copy stored with the data when an earlier server over the same loads saved one
        self.version = stored_version(self.catalog, "web-rows", duckdb.__version__,
                                      self.definition)
        stored = self.store.root / WEB_ROWS_FOLDER / self.version / WEB_ROWS_FILE
        self.saved = stored.is_file()
        # a large store's snapshot stays on disk (a 10M-row one held in memory took 6.5 GB):
        # written once, sorted, and read through row-group statistics
        self.on_disk = sum(ld.rows_kept for ld in self.loads) >= ON_DISK_ROWS
        if self.on_disk:
            folder = stored_folder(self.store.root / WEB_ROWS_FOLDER, self.version,
                                   self._write_sorted)
            self.saved = True
            self.con.execute("CREATE VIEW web_rows AS SELECT * FROM "
                             f"read_parquet('{_quoted(folder / WEB_ROWS_FILE)}')")
        else:
            self.con.execute("CREATE TABLE web_rows AS " + (
                f"SELECT * FROM read_parquet('{_quoted(stored)}')" if self.saved
                else self.definition + SORTED))
        # search matches text once per distinct description, not once per row
        self.con.execute("CREATE TABLE web_descriptions AS SELECT DISTINCT description_hash, "
                         "upper(transaction_description) AS upper_text "
                         "FROM web_rows WHERE transaction_description IS NOT NULL")
        if on_ready is not None:
            self.deriving = threading.Thread(target=self._derive, daemon=True, name="derive")
            self.deriving.start()

    def _write_sorted(self, folder: Path) -> None:
        self.con.execute(f"COPY ({self.definition}{SORTED}) TO "
                         f"'{_quoted(folder / WEB_ROWS_FILE)}' "
                         "(FORMAT parquet, ROW_GROUP_SIZE 100000)")

    def save(self) -> None:
        """Store web_rows with the data (<store>/web/rows/<version>/rows.parquet, versioned
        by the loads and the snapshot's definition), so that the next server over the same
        loads reads it instead of computing the current state and sorting it again. Skipped
        when the store cannot be written (the app then only reads it)."""
        if self.saved or not os.access(self.store.root, os.W_OK):
            return

        def write(folder: Path) -> None:
            self.con.cursor().execute(f"COPY web_rows TO '{_quoted(folder / WEB_ROWS_FILE)}' "
                                      "(FORMAT parquet, ROW_GROUP_SIZE 100000)")

        stored_folder(self.store.root / WEB_ROWS_FOLDER, self.version, write)
        self.saved = True

    def pages_version(self) -> str | None:
        """The version of pages built on this snapshot: its rows' version, the versions of
        the derived results they show, and the code that renders them (any change to the
        package's files makes a new version). None while a derived result is missing."""
        import hashlib

        if not all(self.ready.values()):
            return None
        parts = [self.version, self.policy, code_version(),
                 *(str(self.derived_files[n].parent.name) for n in DERIVED)]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]

    def _raw_tables(self) -> None:
        """cw_rows, cw_loads, cw_coverage, cw_copies, cw_deletes under the names the
        precompiled SQL uses (as catalog_file writes them for the DuckDB CLI)."""
        from contractwatch.schema import arrow_schema

        root = self.store.root
        files = committed_files(root, self.loads, "transactions.parquet")
        if len(files) != len(self.loads):  # the catalog names the lost file
            self.catalog.transactions_all()
        copies = committed_files(root, self.loads, "copies.parquet")
        create_values_table(self.con, "cw_loads", LOADS_COLUMNS, loads_rows(self.loads))
        create_values_table(self.con, "cw_coverage", COVERAGE_COLUMNS,
                            coverage_rows(self.loads))
        if files:
            self.con.execute(f"CREATE VIEW cw_rows AS SELECT * FROM read_parquet({files!r})")
        else:
            import pyarrow as pa

            self.con.register("cw_rows", pa.Table.from_pylist([], schema=arrow_schema()))
        deletes = committed_files(root, [ld for ld in self.loads if ld.deletes],
                                  "deletes.parquet")
        self.con.execute(  # a delta file's deletions, as catalog_file writes them
            f"CREATE VIEW cw_deletes AS SELECT * FROM read_parquet({deletes!r})" if deletes
            else "CREATE TABLE cw_deletes (txn_key VARCHAR, contract_transaction_unique_key "
            "VARCHAR, source_row BIGINT, load_id VARCHAR)")
        self.con.execute("CREATE VIEW cw_copies AS " + (
            f"SELECT * FROM read_parquet({copies!r})" if copies else
            "SELECT NULL::VARCHAR AS load_id, NULL::BIGINT AS source_row WHERE false"))

    @property
    def catalog(self) -> Catalog:
        """The library's catalog over the same loads (opened on first use: it imports Ibis)."""
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog(self.store, self.loads, self.details,
                                        subawards=self.subawards)
            return self._catalog

    # ---- running SQL -----------------------------------------------------------------------
    def rows(self, sql: str, params: dict[str, Any] | None = None,
             table: str | None = None) -> list[dict[str, Any]]:
        """Rows of a query as dicts, on a cursor of its own (one per call: thread-safe).
        `table`: a table of `narrowed` read in place of web_rows."""
        import duckdb

        if table is not None:
            sql = sql.replace("FROM web_rows", f"FROM {table} AS web_rows")
        work = CURRENT_WORK.get()
        cur = self.con.cursor()
        try:
            if work is not None:
                work.attach(cur)
            cur.execute(sql, {k: v for k, v in (params or {}).items()
                              if re.search(r"\$" + k + r"\b", sql)})
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except duckdb.InterruptException:
            raise Cancelled("interrupted") from None
        finally:
            if work is not None:
                work.detach(cur)
            cur.close()

    @contextlib.contextmanager
    def narrowed(self, where: str, params: dict[str, Any]) -> Iterator[str | None]:
        """A table of the rows of one small scope (an agency's year), for a page that runs
        several queries on it: on a snapshot read from its file each of them would scan
        every row again (an agency's year overview ran seven, 0.1–0.3 s each, at 10M rows).
        Only the columns an overview's year tables and scopes read (NARROWED_COLUMNS; a query
        naming another fails): every column took 4 times as long to read.
        Yields None for a snapshot held in memory (scanning it is cheap)."""
        if not self.on_disk:
            yield None
            return
        import uuid

        name = f"web_scope_{uuid.uuid4().hex}"
        cur = self.con.cursor()
        try:
            cur.execute(f"CREATE TABLE {name} AS SELECT {', '.join(NARROWED_COLUMNS)} "
                        f"FROM web_rows WHERE {where}",
                        {k: v for k, v in params.items() if re.search(r"\$" + k + r"\b", where)})
            yield name
        finally:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.close()

    def rows_once(self, sql: str, params: dict[str, Any] | None = None
                  ) -> list[dict[str, Any]]:
        """`rows`, remembered for this snapshot (copies: callers add to them). For what many
        pages repeat: every year's overview of an agency shows its all-years trend and
        coverage, a scan of every row of the agency (0.2–0.8 s at 10M rows)."""
        key = ("rows", sql, repr(sorted((params or {}).items())))
        if (found := self.memo.get(key)) is None:
            found = self.rows(sql, params)
            if len(self.memo) > 4096:
                self.memo.clear()
            self.memo[key] = found
        return [dict(r) for r in found]

    def every_column(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], dict]:
        """Every stored column of these rows (load id, source row): the canonical ones
        (typed) and each source column its load kept as the file gave it, read from the
        load's own files, so a row shows exactly the columns its file had."""
        by_load: dict[str, list[int]] = {}
        for load_id, row in keys:
            by_load.setdefault(load_id, []).append(int(row))
        found: dict[tuple[str, int], dict] = {}
        for ld in self.loads:
            wanted = by_load.get(ld.load_id)
            if not wanted:
                continue
            listed = ", ".join(str(n) for n in sorted(set(wanted)))
            for name, part in (("transactions.parquet", "canonical"),
                               ("source_columns.parquet", "source")):
                files = committed_files(self.store.root, [ld], name)
                if not files:
                    continue
                for r in self.rows(f"SELECT * FROM read_parquet({files!r}) "
                                   f"WHERE source_row IN ({listed})"):
                    entry = found.setdefault((ld.load_id, r["source_row"]),
                                             {"canonical": {}, "source": {}})
                    entry[part] = {k: v for k, v in r.items() if k not in EVERY_COLUMN_SKIP}
        return found

    def shown(self, sql: str, params: dict[str, Any] | None = None) -> str:
        """The SQL as it ran, parameters written in, with web_rows spelled out."""
        params = params or {}
        text = re.sub(r"\$(\w+)\b", lambda m: sql_literal(params.get(m.group(1))), sql)
        head = f"web_rows AS (\n{self.definition}\n)"
        if text.startswith("WITH "):
            return f"WITH {head},\n{text[5:]}"
        return f"WITH {head}\n{text}"

    # ---- scopes ---------------------------------------------------------------------------
    def scope(self, f: Filters, policy: str, extra: Iterable[str] = ()) -> tuple[str, dict]:
        """WHERE text and parameters for the library's Filters (analyze.apply_filters)."""
        where, params = ["true"], {}
        if policy == "collapse":
            where.append("NOT is_copy")
        department = f.department_code()
        if department:
            where.append("awarding_agency_code = $department")
            params["department"] = department
        elif f.agency:
            where.append("awarding_sub_agency_code = $agency")
            params["agency"] = f.agency_code()
        if f.fy:
            where.append("fiscal_year = $fy")
            params["fy"] = int(f.fy)
        if f.recipient:
            where.append("contains(upper(coalesce(recipient_name, '')), upper($recipient))")
            params["recipient"] = f.recipient
        if f.psc:
            where.append("(product_or_service_code = upper($psc) OR contains(upper(coalesce("
                         "product_or_service_code_description, '')), upper($psc)))")
            params["psc"] = f.psc
        if f.naics:
            where.append("(naics_code = $naics OR contains(upper(coalesce(naics_description, "
                         "'')), upper($naics)))")
            params["naics"] = f.naics
        if f.purpose:  # the library's stored tags, joined by award key
            self.purposes()
            if f.purpose == "untagged":
                where.append("award_key NOT IN (SELECT award_key FROM web_purposes)")
            else:
                where.append("award_key IN (SELECT award_key FROM web_purposes "
                             "WHERE purpose = $purpose)")
                params["purpose"] = f.purpose
        where.extend(extra)
        return " AND ".join(where), params

    # ---- families, brands and purpose tags (read once per snapshot) ------------------------
    def families(self) -> None:
        """web_families: resolution key → organisation and family (the library's stored
        resolution, `companies.families_folder`, and the look-up candidates over it)."""
        self._need("families")

    def brands(self) -> None:
        """web_brands: description → brand named in it (`companies.brands_folder`)."""
        self._need("brands")

    def purposes(self) -> None:
        """web_purposes: award key → purpose tag (`purposes.purposes_folder`)."""
        self._need("purposes")

    def _need(self, name: str) -> None:
        """Make sure a derived result's table is there: in the web app (a background thread
        derives them) raise NotReady or its failure instead of waiting; else load it now."""
        if self.ready[name]:
            return
        if name in self.failed:
            raise self.failed[name]
        if self.on_ready is not None:
            raise NotReady(MISSING[name])
        with self._sections:
            if not self.ready[name]:
                with self.library:
                    path = self._stored(name, self.catalog)
                self._load(name, path)

    def _stored(self, name: str, catalog: Catalog) -> Path:
        """The stored file of a derived result (computed by the library when missing)."""
        if name == "families":
            from contractwatch.companies import candidates_folder, families_folder

            candidates_folder(catalog, self.policy)  # what `find_family` ranks names in
            return families_folder(catalog, self.policy) / "mapping.parquet"
        if name == "brands":
            from contractwatch.companies import brands_folder

            return brands_folder(catalog) / "brands.parquet"
        from contractwatch.purposes import purposes_folder

        return purposes_folder(catalog) / "tags.parquet"

    def _load(self, name: str, path: Path) -> None:
        """Read a derived result's stored file into its small table."""
        select = {
            # _rk is the resolution key (companies._row_key over KEY_COLUMNS), stored with it
            "families": "SELECT DISTINCT ON (_rk) _rk AS resolution_key, organisation_id, "
                        "organisation_name, family_id, family_name, family_source",
            "brands": "SELECT *",
            "purposes": "SELECT award_key, purpose",
        }[name]
        self.con.cursor().execute(f"CREATE OR REPLACE TABLE web_{name} AS {select} "
                                  f"FROM read_parquet('{_quoted(path)}')")
        self.derived_files[name] = path
        self.ready[name] = True

    def _derive(self) -> None:
        """The web app's background thread: each derived result read from the store, or
        computed and stored when missing, on a catalog of its own (a long computation never
        holds the lock that pages' library look-ups share)."""
        import logging

        catalog = Catalog(self.store, self.loads, self.details, subawards=self.subawards)
        for name in DERIVED:
            try:
                self._load(name, self._stored(name, catalog))
            except Exception as exc:  # said on the pages that need it
                logging.getLogger("contractwatch.web").warning("%s: %s", name, exc)
                self.failed[name] = exc
            if self.on_ready is not None:
                self.on_ready()

    def wait_derived(self, timeout: float | None = None) -> None:
        """Wait for the background thread to finish (the warming thread builds its pages
        after it, so pages built ahead are complete)."""
        if self.deriving is not None:
            self.deriving.join(timeout)

    # ---- vehicles (the library's look-ups, once per snapshot) ------------------------------
    def vehicle_piids(self) -> frozenset[str]:
        """Every PIID that designates a vehicle, by `vehicles.designates_vehicle`'s rule (an
        IDV's own PIID, or one that orders name as their vehicle) over every stored row: one
        scan per snapshot instead of one per award page."""
        with self._vehicles:  # not behind families or purposes being computed
            if self._vehicle_piids is None:
                found = self.rows(VEHICLE_PIIDS.format(stored=self.stored_rows))
                self._vehicle_piids = frozenset(r["piid"] for r in found)
            return self._vehicle_piids

    def designates_vehicle(self, key: str) -> bool:
        """`vehicles.designates_vehicle` for this snapshot: a CONT_IDV_ key, or a vehicle's
        PIID."""
        from contractwatch.vehicles import parse_vehicle_id

        key = key.strip().upper()
        return key.startswith("CONT_IDV_") or parse_vehicle_id(key)[0] in self.vehicle_piids()

    def look_up(self, key: tuple[Any, ...], fn: Callable[[Catalog], Any]) -> Any:
        """A library look-up on the catalog (one connection: one at a time), run once per
        snapshot: many orders share one vehicle, whose figures `order_vehicle` recomputes
        from every row. A LookupError is kept and raised again."""
        if key not in self.looked_up:
            with self.library:
                if key not in self.looked_up:
                    try:
                        value: Any = fn(self.catalog)
                    except LookupError as exc:
                        value = exc
                    if len(self.looked_up) > 4096:
                        self.looked_up.clear()
                    self.looked_up[key] = value
        value = self.looked_up[key]
        if isinstance(value, LookupError):
            raise value
        return value

    def family_of(self, name: str) -> dict[str, Any]:
        from contractwatch.companies import find_family

        self.families()  # NotReady in the web app while they are computed
        with self.library:
            return find_family(self.catalog, name, self.policy)

    def award_detail(self, keys: list[str]) -> dict[str, Any] | None:
        """Award-level facts fetched from the API (only stores that ran `enrich` have any)."""
        if not self.catalog.details or not keys:
            return None
        with self.library:
            d = self.catalog.award_details()
            found = self.catalog.execute_arrow(
                d.filter(d.contract_award_unique_key.isin(keys))).to_pylist()
        return found[0] if found else None


_CODE_VERSION: list[str] = []


def code_version() -> str:
    """A digest of every file of the installed contractwatch package (code, templates,
    shipped data), computed once per process."""
    if not _CODE_VERSION:
        import hashlib

        package = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
        _CODE_VERSION.append(h.hexdigest()[:20])
    return _CODE_VERSION[0]


def _quoted(path: Path) -> str:
    """A path inside a SQL string literal."""
    return str(path).replace("'", "''")


def _bind_once() -> None:
    """Bind one parameter on a throwaway connection (see Snapshot.__init__)."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("SELECT $x", {"x": 1}).fetchall()


# ---- SQL texts --------------------------------------------------------------------------------
# {where} is filled from Snapshot.scope (fixed fragments); values are $parameters.

TREND = """SELECT fiscal_year, sum(federal_action_obligation) AS federal_action_obligation,
  count(*) AS transactions, count(DISTINCT award_key) AS awards,
  count(DISTINCT recipient_name) AS recipients
FROM web_rows WHERE {where}
GROUP BY fiscal_year ORDER BY fiscal_year"""

TOP = """SELECT {key}, sum(federal_action_obligation) AS federal_action_obligation,
  count(*) AS transactions, count(DISTINCT award_key) AS awards,
  sum(sum(federal_action_obligation)) OVER () AS scope_total
FROM web_rows WHERE {where}
GROUP BY {key} ORDER BY federal_action_obligation DESC, {key} LIMIT $limit"""

TOP_FAMILY = """SELECT f.family_id, f.family_name,
  sum(federal_action_obligation) AS federal_action_obligation, count(*) AS transactions,
  count(DISTINCT award_key) AS awards, count(DISTINCT recipient_name) AS members,
  any_value(f.family_source) AS family_source
FROM web_rows LEFT JOIN web_families AS f USING (resolution_key) WHERE {where}
GROUP BY f.family_id, f.family_name
ORDER BY federal_action_obligation DESC, f.family_name LIMIT $limit"""

TOP_BRAND = """SELECT b.brand_id, b.brand,
  sum(federal_action_obligation) AS federal_action_obligation, count(*) AS transactions,
  count(DISTINCT award_key) AS awards, count(DISTINCT recipient_name) AS prime_recipients,
  sum(CAST(b.brands_in_description > 1 AS BIGINT)) AS shared_with_other_brands
FROM web_rows JOIN web_brands AS b USING (transaction_description) WHERE {where}
GROUP BY b.brand_id, b.brand ORDER BY federal_action_obligation DESC, b.brand LIMIT $limit"""

# an award counts under each of its purposes; the untagged money is its own row (the scope's
# rows first, then only their awards' tags: a join or NOT IN over every award's tags read
# the whole tag table for each page, 0.7 s at 10M rows)
TOP_PURPOSE = """WITH scoped AS MATERIALIZED (
  SELECT award_key, federal_action_obligation FROM web_rows WHERE {where})
SELECT coalesce(p.purpose, 'untagged') AS purpose,
  sum(federal_action_obligation) AS federal_action_obligation,
  count(*) AS transactions, count(DISTINCT award_key) AS awards
FROM scoped LEFT JOIN (SELECT award_key, purpose FROM web_purposes
                       WHERE award_key IN (SELECT award_key FROM scoped)) AS p USING (award_key)
GROUP BY ALL ORDER BY federal_action_obligation DESC, purpose"""

COVERAGE = """SELECT awarding_sub_agency_code,
  arg_max(awarding_sub_agency_name, action_date) AS awarding_sub_agency_name, fiscal_year,
  count(*) AS transactions, sum(federal_action_obligation) AS federal_action_obligation,
  min(action_date) AS first_action_date, max(action_date) AS last_action_date,
  count(DISTINCT load_id) AS loads, max(vintage) AS newest_vintage
FROM web_rows WHERE {where}
GROUP BY awarding_sub_agency_code, fiscal_year ORDER BY awarding_sub_agency_code, fiscal_year"""

STORED_ROWS = "SELECT count(*) AS n FROM cw_rows"

# vehicles.designates_vehicle for every PIID at once ({stored}: every stored row)
VEHICLE_PIIDS = """SELECT DISTINCT upper(award_id_piid) AS piid FROM ({stored})
WHERE award_or_idv_flag = 'IDV' AND award_id_piid IS NOT NULL
UNION
SELECT DISTINCT upper(parent_award_id_piid) AS piid FROM ({stored})
WHERE parent_award_id_piid IS NOT NULL"""

SCOPE_FACTS = """SELECT list(DISTINCT load_id) AS loads, count(*) AS rows,
  sum(federal_action_obligation) AS federal_action_obligation,
  count(*) FILTER (WHERE is_copy) AS copies
FROM web_rows WHERE {where}"""

# one row per award, as analyze.awards: values of the latest action (by date, modification,
# transaction number), obligations summed, the ceiling never summed
AWARDS = """SELECT award_key, any_value(award_id_piid) AS award_id_piid,
  arg_max(awarding_sub_agency_code, o) AS awarding_sub_agency_code,
  arg_max(awarding_sub_agency_name, o) AS awarding_sub_agency_name,
  arg_max(recipient_name, o) AS recipient_name,
  arg_max(parent_award_id_piid, o) AS parent_award_id_piid,
  min(action_date) AS first_action_date, max(action_date) AS last_action_date,
  count(*) AS actions, sum(federal_action_obligation) AS federal_action_obligation,
  arg_max(potential_total_value_of_award, o) AS potential_total_value_of_award,
  arg_min(transaction_description, o) AS description,
  arg_max(usaspending_permalink, o) AS usaspending_permalink
FROM (SELECT *, CAST(action_date AS VARCHAR) || '|' || coalesce(modification_number, '')
        || '|' || lpad(CAST(coalesce(transaction_number, 0) AS VARCHAR), 6, '0') AS o
      FROM web_rows WHERE {where})
GROUP BY award_key"""

# the awards with an action whose description contains the phrase (each text matched once)
MATCHED = """WITH matched AS (
  SELECT award_key, count(*) AS matching_actions,
    arg_max(transaction_description, action_date) AS matching_description
  FROM web_rows
  WHERE {where} AND description_hash IN (
    SELECT description_hash FROM web_descriptions WHERE contains(upper_text, upper($q)))
    AND contains(upper(transaction_description), upper($q))
  GROUP BY award_key
)"""

SEARCH = MATCHED + """, per_award AS (""" + AWARDS.replace(
    "WHERE {where})", "WHERE {where} AND award_key IN (SELECT award_key FROM matched))") + """
)
SELECT per_award.*, matched.matching_actions, matched.matching_description,
  count(*) OVER () AS total_awards
FROM per_award JOIN matched USING (award_key)
WHERE ($min::DECIMAL(38, 2) IS NULL OR federal_action_obligation >= $min)
  AND ($max::DECIMAL(38, 2) IS NULL OR federal_action_obligation <= $max)
ORDER BY {order} LIMIT $limit OFFSET $offset"""

# the same page for the orders that need only sums, counts and dates (every one but by
# recipient): the matching awards are ranked on those, and the latest action's values
# (AWARDS' arg_max over a built sort key per row) are worked out for the page's awards only,
# not for every matching award (351,000 of them for "services" at ICE in 10M rows)
SEARCH_RANKED = MATCHED + """, ranked AS (
  SELECT award_key, sum(federal_action_obligation) AS federal_action_obligation,
    max(action_date) AS last_action_date, count(*) AS actions
  FROM web_rows WHERE {where} AND award_key IN (SELECT award_key FROM matched)
  GROUP BY award_key
), page AS (
  SELECT award_key, count(*) OVER () AS total_awards FROM ranked
  WHERE ($min::DECIMAL(38, 2) IS NULL OR federal_action_obligation >= $min)
    AND ($max::DECIMAL(38, 2) IS NULL OR federal_action_obligation <= $max)
  ORDER BY {order} LIMIT $limit OFFSET $offset
), per_award AS (""" + AWARDS.replace(
    "WHERE {where})", "WHERE {where} AND award_key IN (SELECT award_key FROM page))") + """
)
SELECT per_award.*, matched.matching_actions, matched.matching_description,
  page.total_awards
FROM per_award JOIN matched USING (award_key) JOIN page USING (award_key)
ORDER BY {order}"""
RANKED_ORDERS = ("obligations", "date", "actions")

SEARCH_ORDER = {
    "obligations": "federal_action_obligation DESC, award_key",
    "date": "last_action_date DESC, award_key",
    "recipient": "recipient_name, award_key",
    "actions": "actions DESC, award_key",
}

AWARD_ACTIONS = """SELECT award_id_piid, action_date, fiscal_year, modification_number,
  federal_action_obligation, potential_total_value_of_award, transaction_description,
  recipient_name, awarding_sub_agency_name, contract_award_unique_key, parent_award_id_piid,
  parent_award_agency_id, usaspending_permalink, source_file, source_row, load_id, vintage,
  is_copy
FROM (SELECT * FROM web_rows WHERE piid_upper = $key
      UNION ALL
      SELECT * FROM web_rows WHERE award_key_upper = $key AND piid_upper IS DISTINCT FROM $key)
ORDER BY action_date, modification_number, transaction_number, source_row"""

SIBLINGS = """SELECT * FROM (""" + AWARDS.replace(
    "WHERE {where})", "WHERE {where} AND award_key IN (SELECT award_key FROM web_rows "
    "WHERE parent_award_id_piid = $parent))") + """)
WHERE parent_award_id_piid = $parent AND NOT list_contains($exclude, award_key)
  AND award_id_piid IS DISTINCT FROM $piid
ORDER BY federal_action_obligation DESC, award_key LIMIT 100"""

# every award under a vehicle, best first: the sibling orders of each of its orders are this
# list without the order itself (run once per vehicle and snapshot; SIBLINGS is the same
# list for one order, as one query)
VEHICLE_ORDERS = """SELECT * FROM (""" + AWARDS.replace(
    "WHERE {where})", "WHERE {where} AND award_key IN (SELECT award_key FROM web_rows "
    "WHERE parent_award_id_piid = $parent))") + """)
WHERE parent_award_id_piid = $parent
ORDER BY federal_action_obligation DESC, award_key LIMIT $limit"""
SIBLINGS_SHOWN = 100  # sibling orders on an award page
VEHICLE_ORDERS_KEPT = 300  # orders of a vehicle remembered per snapshot

SOURCE_ROWS = """SELECT action_date, fiscal_year, awarding_sub_agency_code, award_id_piid,
  modification_number, recipient_name, federal_action_obligation, transaction_description,
  product_or_service_code_description, naics_description, contract_award_unique_key,
  source_file, source_row, load_id, vintage
FROM web_rows {join} WHERE {where}
ORDER BY action_date, award_id_piid, modification_number, load_id, source_row"""

# bookkeeping, not data: left out of a row's every-column view (lineage is in the table)
EVERY_COLUMN_SKIP = ("txn_key", "row_hash", "load_id", "source_row")

FAMILY_JOIN = "LEFT JOIN web_families AS f USING (resolution_key)"

COMPANY_BY_YEAR = """SELECT fiscal_year, awarding_sub_agency_code, awarding_sub_agency_name,
  sum(federal_action_obligation) AS federal_action_obligation, count(*) AS transactions,
  count(DISTINCT award_key) AS awards
FROM web_rows JOIN web_families AS f USING (resolution_key)
WHERE {where} AND f.family_id = $family
GROUP BY fiscal_year, awarding_sub_agency_code, awarding_sub_agency_name
ORDER BY fiscal_year, awarding_sub_agency_code"""

COMPANY_MEMBERS = """SELECT recipient_name, f.organisation_id, f.family_source,
  sum(federal_action_obligation) AS federal_action_obligation, count(*) AS transactions
FROM web_rows JOIN web_families AS f USING (resolution_key)
WHERE {where} AND f.family_id = $family
GROUP BY recipient_name, f.organisation_id, f.family_source
ORDER BY federal_action_obligation DESC"""

COMPANY_BRANDS = """SELECT b.brand_id, b.brand,
  sum(federal_action_obligation) AS federal_action_obligation, count(*) AS transactions
FROM web_rows JOIN web_brands AS b USING (transaction_description)
WHERE {where} AND list_contains($names, recipient_name)
GROUP BY b.brand_id, b.brand ORDER BY federal_action_obligation DESC"""
