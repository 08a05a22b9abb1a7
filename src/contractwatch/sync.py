"""Keep a store current from the live API: saved queries, exact windows, checkpoints, resume.

Why windows: search/spending_by_transaction sorts by a non-unique key (many actions share
$0.00), and the API breaks ties differently on every request, so paging through a result
repeats some rows and skips others (../shared/data/usaspending/README.md). A sync therefore
never pages. It cuts the query into windows (action-date ranges, then award types) small
enough to be served whole on one page of 100; the windows partition the query, so every row
arrives exactly once. A window that cannot be cut below 100 rows (one day, one award type)
is fetched through download/transactions, which has no paging at all. `--via download`
fetches whole fiscal years that way.

Checkpoints: each finished window is written atomically under <store>/sync/<name>/run/; a
killed run resumes from them. A window fetched through download/transactions keeps its ZIP
there as its checkpoint. Only when every window is done are the search rows written to one
CSV (Contracts_PrimeTransactions column names) and handed, with every downloaded ZIP, to
`ingest` — one call, committed all together or not at all, with the run's start time as its
vintage. A ZIP goes through ingest as `contractwatch ingest ZIP` takes it: every column of
its Contracts_PrimeTransactions member kept, its Contracts_Subawards member loaded as
subawards. Re-ingesting the same bytes after a crash between ingest and the state update is
a no-op (same checksum), so there are no duplicates.

Incremental: after a successful run the query remembers the API's `awards/last_updated`
date. A rerun first asks for it (one request): unchanged means nothing to fetch. Otherwise it
fetches only transactions whose last_modified_date is within `overlap_days` before that
date, in windows on the modified-date axis, as a partial load (adds and revises by
transaction key). Rows withdrawn upstream are only removed by a full refetch (`full=True`),
which is a complete load when it covers whole fiscal years without keyword or recipient
filters, and then supersedes older rows of those agency-years; an incremental run detects
them by comparing each fiscal year's count at the API with the store's, and warns.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import math
import os
import re
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from contractwatch.sources.usaspending_api import (
    CONTRACT_TYPES,
    EARLIEST_SEARCH_DATE,
    PAGE_LIMIT,
    ApiError,
    UsaspendingClient,
    agency_filter,
)
from contractwatch.store import Store, atomic_write_text
from contractwatch.values.ids import PERMALINK

SYNC_DIR = "sync"
FILL = 0.6  # target rows per window as a share of the page, so a split usually fits at once

# The CSV a sync writes: Contracts_PrimeTransactions column names, read by the
# usaspending-prime-transactions layout. Search rows fill some, download rows more.
SYNC_COLUMNS = [
    "contract_transaction_unique_key", "contract_award_unique_key", "award_id_piid",
    "modification_number", "transaction_number", "parent_award_agency_id",
    "parent_award_id_piid", "action_date", "federal_action_obligation",
    "base_and_exercised_options_value", "base_and_all_options_value",
    "current_total_value_of_award", "potential_total_value_of_award", "awarding_agency_code",
    "awarding_agency_name", "awarding_sub_agency_code", "awarding_sub_agency_name",
    "awarding_office_code", "awarding_office_name", "funding_sub_agency_code",
    "funding_sub_agency_name", "recipient_uei", "recipient_duns", "recipient_name",
    "recipient_parent_uei", "recipient_parent_name", "product_or_service_code",
    "product_or_service_code_description", "naics_code", "naics_description",
    "type_of_contract_pricing", "award_type", "transaction_description", "extent_competed",
    "number_of_offers_received", "primary_place_of_performance_state_code",
    "period_of_performance_start_date", "period_of_performance_current_end_date",
    "period_of_performance_potential_end_date", "last_modified_date", "usaspending_permalink",
]


class SyncError(ValueError):
    """A sync that cannot run as asked (bad range, conflicting saved query, busy)."""


# ---- saved queries ------------------------------------------------------------------------

@dataclass
class Query:
    name: str
    agency_code: str
    agency_name: str
    toptier_code: str
    since: str
    until: str | None = None
    keyword: str | None = None
    recipient: str | None = None
    via: str = "search"  # search | download

    def base_filters(self) -> dict[str, Any]:
        f: dict[str, Any] = {"agencies": agency_filter(self.agency_name)}
        if self.keyword:
            f["keywords"] = [self.keyword]
        if self.recipient:
            f["recipient_search_text"] = [self.recipient]
        return f

    def same_as(self, other: Query) -> bool:
        a, b = asdict(self), asdict(other)
        return all(a[k] == b[k] for k in a if k != "name")

    def covers_whole_years(self, end: date) -> bool:
        """True when the action-date range starts and ends on fiscal-year bounds, unfiltered."""
        if self.keyword or self.recipient:
            return False
        start = date.fromisoformat(self.since)
        if (start.month, start.day) != (10, 1):
            return False
        return self.until is None or (end.month, end.day) == (9, 30)


def default_name(agency_abbr: str, since: str, until: str | None, keyword: str | None,
                 recipient: str | None) -> str:
    parts = [agency_abbr or "agency", since] + [p for p in (until, keyword, recipient) if p]
    return re.sub(r"[^a-z0-9.-]+", "-", "-".join(parts).lower()).strip("-")[:80]


def make_query(agency: str, since: str | None = None, until: str | None = None,
               keyword: str | None = None, recipient: str | None = None,
               name: str | None = None, via: str = "search") -> Query:
    """Validate the user's options into a Query (dates ISO, agency resolved)."""
    from contractwatch.agencies import resolve_agency

    a = resolve_agency(agency)
    since_d = _parse_date("--since", since) if since else date.fromisoformat(EARLIEST_SEARCH_DATE)
    until_d = _parse_date("--until", until) if until else None
    if since_d < date.fromisoformat(EARLIEST_SEARCH_DATE):
        raise SyncError(f"--since {since_d}: the search API starts at {EARLIEST_SEARCH_DATE} "
                        "(FY2008); for older years download the bulk files and use "
                        "`contractwatch ingest`")
    if until_d and until_d < since_d:
        raise SyncError(f"--until {until_d} is before --since {since_d}")
    if via not in ("search", "download"):
        raise SyncError(f"--via must be search or download, not {via!r}")
    since_s, until_s = since_d.isoformat(), until_d.isoformat() if until_d else None
    return Query(name or default_name(a.abbreviation, since_s, until_s, keyword, recipient),
                 a.code, a.name, a.toptier_code, since_s, until_s, keyword or None,
                 recipient or None, via)


def saved_queries(store: Store) -> list[dict[str, Any]]:
    """Every saved query with its state (for `sync --list`)."""
    out = []
    root = store.root / SYNC_DIR
    for path in sorted(root.glob("*/query.json")) if root.exists() else []:
        data = json.loads(path.read_text(encoding="utf-8"))
        state = data.get("state", {})
        out.append({**data["query"], "last_run": state.get("last_run"),
                    "data_last_updated": state.get("last_updated"),
                    "loads": len(state.get("load_ids", [])),
                    "run_pending": (path.parent / "run" / "run.json").exists()})
    return out


# ---- windows ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """A slice of the query: a date range on one axis and a set of award types."""

    start: date
    end: date
    types: tuple[str, ...]
    axis: str = "action_date"  # action_date | last_modified_date

    @property
    def id(self) -> str:
        return (f"{self.axis[0]}{self.start:%Y%m%d}-{self.end:%Y%m%d}-"
                f"{''.join(self.types)}")

    def filters(self, base: dict[str, Any]) -> dict[str, Any]:
        period = {"start_date": self.start.isoformat(), "end_date": self.end.isoformat()}
        if self.axis != "action_date":
            period["date_type"] = self.axis
        return {**base, "time_period": [period], "award_type_codes": list(self.types)}

    def split(self, pieces: int) -> list[Window]:
        """Cut the date range into about `pieces` equal parts; one day splits by type."""
        days = (self.end - self.start).days + 1
        if days > 1:
            n = max(2, min(pieces, days))
            bounds = [self.start + timedelta(days=round(i * days / n)) for i in range(n + 1)]
            return [Window(a, b - timedelta(days=1), self.types, self.axis)
                    for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
        if len(self.types) > 1:
            return [Window(self.start, self.end, (t,), self.axis) for t in self.types]
        return []


def fiscal_year_windows(start: date, end: date, axis: str = "action_date") -> list[Window]:
    out = []
    cur = start
    while cur <= end:
        fy_end = date(cur.year + 1 if cur.month >= 10 else cur.year, 9, 30)
        out.append(Window(cur, min(fy_end, end), tuple(CONTRACT_TYPES), axis))
        cur = fy_end + timedelta(days=1)
    return out


# ---- the run ------------------------------------------------------------------------------

@dataclass
class SyncReport:
    name: str
    mode: str  # full | incremental | up-to-date
    as_of: str
    complete: bool = False
    windows: int = 0
    windows_resumed: int = 0
    downloads: int = 0
    rows_fetched: int = 0
    rows_outside_range: int = 0
    expected_rows: int | None = None
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    load_id: str | None = None  # the first of the run's loads
    load_ids: list[str] = field(default_factory=list)  # every load the run made
    ingest_status: str | None = None
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    # fiscal years whose current row count in the store differs from the API's count
    years_differing: list[int] = field(default_factory=list)
    subaward_rows: int = 0  # rows of Contracts_Subawards members of downloads (loaded)
    warnings: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "warnings"}


class Sync:
    """One run of one saved query against one store."""

    def __init__(self, store: Store, query: Query, client: UsaspendingClient, *,
                 full: bool = False, overlap_days: int = 14, progress: bool = False,
                 wait: bool = False, page_limit: int = PAGE_LIMIT):
        self.store = store
        self.page_limit = page_limit
        self.query = query
        self.client = client
        self.full = full
        self.overlap_days = overlap_days
        self.progress = progress
        self.wait = wait
        self.dir = store.root / SYNC_DIR / query.name
        self.run_dir = self.dir / "run"
        self._bar: Any = None
        self._task: Any = None
        self._store_keys: set[tuple[str, str]] | None = None

    # saved state
    def _saved(self) -> dict[str, Any] | None:
        path = self.dir / "query.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def _save(self, state: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        _atomic_json(self.dir / "query.json", {"query": asdict(self.query), "state": state})

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "a+") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise SyncError(f"saved query {self.query.name!r} is being synced by another "
                                "process") from None
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def run(self) -> SyncReport:
        """Run under the query's lock. A run that fails before it has fetched anything
        leaves nothing behind: not the query's folder, nor a store folder it created."""
        created = [p for p in (self.store.root, self.store.root / SYNC_DIR, self.dir)
                   if not p.exists()]
        try:
            with self._locked():
                return self._run()
        except BaseException:
            self._discard_if_empty(created)
            raise

    def _discard_if_empty(self, created: list[Path]) -> None:
        """Remove the folders this run created when they hold no saved query and no
        finished window (nothing a rerun could resume from)."""
        if (self.dir / "query.json").exists() or any((self.run_dir / "w").glob("*.json")):
            return
        if self.dir in created:
            shutil.rmtree(self.dir, ignore_errors=True)
        for folder in reversed(created[:-1]):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty

    def _run(self) -> SyncReport:
        t0 = time.monotonic()
        requests0, retries0 = self.client.stats.requests, self.client.stats.retries
        saved = self._saved()
        if saved:
            prior = Query(**saved["query"])
            if not prior.same_as(self.query):
                raise SyncError(
                    f"saved query {self.query.name!r} was made with other options "
                    f"({_describe(prior)}); pass another --name, or the same options")
        state = (saved or {}).get("state", {})
        run = self._load_run()
        if run is None:
            run = self._plan(state)
            if run["mode"] == "up-to-date":
                report = SyncReport(self.query.name, "up-to-date", run["as_of"])
                report.requests = self.client.stats.requests - requests0
                report.seconds = round(time.monotonic() - t0, 3)
                state["last_run"] = run["as_of"]
                self._save(state)
                return report
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "w").mkdir(exist_ok=True)
            _atomic_json(self.run_dir / "run.json", run)
        report = SyncReport(self.query.name, run["mode"], run["as_of"])
        report.expected_rows = run.get("expected_rows")
        rows, zips = self._fetch_all(run, report)
        if run["mode"] == "incremental":
            rows = self._within_range(rows, report)
            zips = [self._zip_within_range(z, report) for z in zips]
        end = date.fromisoformat(run["end"])
        report.complete = run["mode"] == "full" and self.query.covers_whole_years(end)
        report.rows_fetched = len(rows) + sum(n for _, n in zips)
        files = [z for z, n in zips]
        if rows:
            path = self.run_dir / f"{self.query.name}_{run['as_of'].replace(':', '')}.csv"
            _write_csv(path, rows)
            files.insert(0, path)
        if files:
            self._ingest(files, run, report)
        if run["mode"] == "incremental" and not (self.query.keyword or self.query.recipient):
            self._compare_year_counts(run, report)
        state.update({"last_updated": run["last_updated"], "last_run": run["as_of"]})
        state.setdefault("load_ids", []).extend(report.load_ids)
        self._save(state)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        report.requests = self.client.stats.requests - requests0
        report.retries = self.client.stats.retries - retries0
        report.seconds = round(time.monotonic() - t0, 3)
        return report

    def _load_run(self) -> dict[str, Any] | None:
        path = self.run_dir / "run.json"
        if not path.exists():
            return None
        run = json.loads(path.read_text(encoding="utf-8"))
        if self.full and run["mode"] != "full":
            shutil.rmtree(self.run_dir)  # the user asked for a full refetch instead
            return None
        return run

    def _plan(self, state: dict[str, Any]) -> dict[str, Any]:
        """Decide full or incremental, and the windows' outer bounds."""
        as_of = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        # "" at the API (no date to give): take today's, so a rerun never skips anything
        last_updated = self.client.last_updated() or as_of[:10]
        data_day = max(date.fromisoformat(last_updated), datetime.now(UTC).date())
        previous = state.get("last_updated")
        if previous and not self.full:
            if previous >= last_updated:
                return {"mode": "up-to-date", "as_of": as_of}
            start = date.fromisoformat(previous) - timedelta(days=self.overlap_days)
            return {"mode": "incremental", "as_of": as_of, "last_updated": last_updated,
                    "start": start.isoformat(), "end": (data_day + timedelta(days=1)).isoformat(),
                    "axis": "last_modified_date"}
        return {"mode": "full", "as_of": as_of, "last_updated": last_updated,
                "start": self.query.since, "end": self._action_end(data_day).isoformat(),
                "axis": "action_date"}

    def _action_end(self, data_day: date) -> date:
        """The query's last action date: --until, else the end of the fiscal year holding
        the data's newest day."""
        if self.query.until:
            return date.fromisoformat(self.query.until)
        return date(data_day.year + 1 if data_day.month >= 10 else data_day.year, 9, 30)

    # fetching
    def _fetch_all(self, run: dict[str, Any], report: SyncReport
                   ) -> tuple[list[dict[str, str]], list[tuple[Path, int]]]:
        """Search rows, and downloaded ZIPs with their transaction row counts."""
        start, end = date.fromisoformat(run["start"]), date.fromisoformat(run["end"])
        roots = fiscal_year_windows(start, end, run["axis"])
        base = self.query.base_filters()
        if "expected_rows" not in run:
            whole = Window(start, end, tuple(CONTRACT_TYPES), run["axis"])
            run["expected_rows"] = self.client.spending_by_transaction_count(whole.filters(base))
            report.expected_rows = run["expected_rows"]
            _atomic_json(self.run_dir / "run.json", run)
        rows: list[dict[str, str]] = []
        zips: list[tuple[Path, int]] = []
        with self._progress_bar(run["expected_rows"]):
            for w in roots:
                for leaf in self._window(w, base, report,
                                         force_download=self.query.via == "download"):
                    if isinstance(leaf, tuple):
                        zips.append(leaf)
                    else:
                        rows.extend(leaf)
        fetched = len(rows) + sum(n for _, n in zips)
        if fetched != run["expected_rows"]:
            report.warnings.append(
                f"the API counted {run['expected_rows']:,} rows when the run began and served "
                f"{fetched:,}: rows were added or withdrawn upstream while it ran; the next "
                "sync picks them up")
        return rows, zips

    def _window(self, w: Window, base: dict[str, Any], report: SyncReport,
                force_download: bool = False
                ) -> Iterator[list[dict[str, str]] | tuple[Path, int]]:
        """Rows of a window, each window served whole (depth-first, checkpointed); a window
        fetched by download gives its ZIP and the ZIP's transaction row count."""
        cp = self.run_dir / "w" / f"{w.id}.json"
        if cp.exists():
            saved = json.loads(cp.read_text(encoding="utf-8"))
            if saved["kind"] in ("leaf", "download"):
                report.windows += 1
                report.windows_resumed += 1
            if saved["kind"] == "download":
                report.subaward_rows += saved["subaward_rows"]
                self._advance(saved["rows"])
                yield self.run_dir / "z" / saved["zip"], saved["rows"]
                return
            if saved["kind"] == "leaf":
                self._advance(len(saved["rows"]))
                yield saved["rows"]
                return
            for child in saved["children"]:
                yield from self._window(_window_from(child), base, report)
            return
        filters = w.filters(base)
        if force_download:
            yield self._download(filters, report, w, cp)
            return
        page = self.client.spending_by_transaction(filters, page=1, limit=self.page_limit)
        if page["page_metadata"]["hasNext"]:
            count = self.client.spending_by_transaction_count(filters)
            children = w.split(math.ceil(count / (self.page_limit * FILL)))
            if children:
                _atomic_json(cp, {"kind": "split", "children": [_window_json(c)
                                                                 for c in children]})
                for child in children:
                    yield from self._window(child, base, report)
                return
            yield self._download(filters, report, w, cp)  # one day, one type, > 100 rows
            return
        rows = [self._search_row(r) for r in page["results"]]
        _atomic_json(cp, {"kind": "leaf", "rows": rows})
        report.windows += 1
        self._advance(len(rows))
        yield rows

    def _download(self, filters: dict[str, Any], report: SyncReport, w: Window,
                  cp: Path) -> tuple[Path, int]:
        """A window fetched through download/transactions: its ZIP, checked and kept as the
        window's checkpoint (ingest reads every member), and its transaction rows."""
        report.downloads += 1
        folder = self.run_dir / "z"
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{w.id}.zip"
        self.client.download_transactions(filters, dest)
        counts = _zip_counts(dest)
        subawards = sum(n for m, n in counts.items() if _member_kind(m) == "Contracts_Subawards")
        primes = sum(n for m, n in counts.items()
                     if _member_kind(m) == "Contracts_PrimeTransactions")
        _atomic_json(cp, {"kind": "download", "zip": dest.name, "rows": primes,
                          "subaward_rows": subawards})
        report.windows += 1
        report.subaward_rows += subawards
        self._advance(primes)
        return dest, primes

    def _zip_within_range(self, zipped: tuple[Path, int],
                          report: SyncReport) -> tuple[Path, int]:
        """An incremental download with its transaction rows outside the saved date range
        left out, as `_within_range` leaves out search rows (every column and the other
        members kept as they came)."""
        path, _ = zipped
        out = path.with_name(path.stem + ".in-range.zip")
        kept = 0
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(
                out.with_name(out.name + ".part"), "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info)
                if _member_kind(info.filename) == "Contracts_PrimeTransactions":
                    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
                    text = io.StringIO()
                    writer = csv.DictWriter(text, reader.fieldnames or [], lineterminator="\n")
                    writer.writeheader()
                    rows = self._within_range(list(reader), report)
                    writer.writerows(rows)
                    kept += len(rows)
                    data = text.getvalue().encode("utf-8")
                dst.writestr(info, data)  # the member's own name and time: same bytes again
        os.replace(out.with_name(out.name + ".part"), out)
        return out, kept

    def _search_row(self, r: dict[str, Any]) -> dict[str, str]:
        """One spending_by_transaction result in Contracts_PrimeTransactions column names."""
        amount = r.get("Transaction Amount")
        if amount is None or r.get("Action Date") in (None, "") or not r.get("Award ID"):
            raise ApiError("/api/v2/search/spending_by_transaction/",
                           f"a result lacks its amount, date or award ID: {_brief(r)}")
        gid = r.get("generated_internal_id") or ""
        parts = gid.split("_") if gid.startswith("CONT_AWD_") else []
        parent_piid = parts[4] if len(parts) >= 6 and parts[4] != "-NONE-" else ""
        parent_agency = parts[5] if len(parts) >= 6 and parts[5] != "-NONE-" else ""
        psc, naics = _code_desc(r.get("PSC")), _code_desc(r.get("NAICS"))
        return {
            "contract_award_unique_key": gid,
            "award_id_piid": r["Award ID"],
            "modification_number": _text(r.get("Mod")),
            "parent_award_agency_id": parent_agency,
            "parent_award_id_piid": parent_piid,
            "action_date": _text(r["Action Date"])[:10],
            "federal_action_obligation": str(Decimal(str(amount))),
            "awarding_agency_code": self.query.toptier_code,
            "awarding_agency_name": _text(r.get("Awarding Agency")),
            # The search filtered on this awarding sub-tier agency (as the API-export layout).
            "awarding_sub_agency_code": self.query.agency_code,
            "awarding_sub_agency_name": _text(r.get("Awarding Sub Agency")),
            "funding_sub_agency_name": _text(r.get("Funding Sub Agency")),
            "recipient_uei": _text(r.get("Recipient UEI")),
            "recipient_name": _text(r.get("Recipient Name")),
            "product_or_service_code": psc[0],
            "product_or_service_code_description": psc[1],
            "naics_code": naics[0],
            "naics_description": naics[1],
            "award_type": _text(r.get("Award Type")),
            "transaction_description": _text(r.get("Transaction Description")),
            "usaspending_permalink": PERMALINK.format(key=gid) if gid else "",
        }

    def _compare_year_counts(self, run: dict[str, Any], report: SyncReport) -> None:
        """Count each fiscal year of the query at the API (one request per year) and in the
        store's current state: an incremental run fetches what was added or revised, but a
        transaction withdrawn upstream simply stops appearing, so only a count shows it."""
        data_day = max(date.fromisoformat(run["last_updated"]), datetime.now(UTC).date())
        end = self._action_end(data_day)
        years = fiscal_year_windows(date.fromisoformat(self.query.since), end)
        held = self._store_year_counts(years[0].start, end)
        base = self.query.base_filters()
        for w in years:
            fy = w.end.year
            try:
                api = self.client.spending_by_transaction_count(w.filters(base))
            except ApiError as exc:  # the load is in; only the check is lost
                report.warnings.append(f"could not compare the per-year counts: {exc}")
                return
            mine = held.get(fy, 0)
            if api == mine:
                continue
            report.years_differing.append(fy)
            agency = self.query.agency_name
            if mine > api:
                report.warnings.append(
                    f"FY{fy}: the store holds {mine:,} current contract transactions of "
                    f"{agency}, the API now counts {api:,}: {mine - api:,} were withdrawn "
                    "upstream (or are held twice under different keys); rerun this sync with "
                    "--full to refetch whole years, which drops them")
            else:
                report.warnings.append(
                    f"FY{fy}: the API counts {api:,} contract transactions of {agency}, the "
                    f"store holds {mine:,}: {api - mine:,} are missing (modified before the "
                    "sync's overlap window?); rerun this sync with --full to refetch whole "
                    "years")

    def _store_year_counts(self, start: date, end: date) -> dict[int, int]:
        """Current contract transactions (not IDVs) of the agency per fiscal year."""
        catalog = self.store.connect()
        t = catalog.transactions("collapse")
        t = t.filter((t.awarding_sub_agency_code == self.query.agency_code)
                     & (t.action_date >= start) & (t.action_date <= end)
                     & (t.award_or_idv_flag.isnull() | (t.award_or_idv_flag != "IDV")))
        rows = catalog.con.to_pyarrow(t.group_by("fiscal_year").aggregate(n=t.count()))
        return dict(zip(rows.column("fiscal_year").to_pylist(), rows.column("n").to_pylist(),
                        strict=True))

    def _within_range(self, rows: list[dict[str, str]],
                      report: SyncReport) -> list[dict[str, str]]:
        """Incremental rows outside the saved date range are kept only if they revise a row
        the store holds (an action whose date was corrected out of the range)."""
        lo, hi = self.query.since, self.query.until or "9999-12-31"
        out = []
        for row in rows:
            if lo <= row["action_date"] <= hi:
                out.append(row)
            elif (row["award_id_piid"], row["modification_number"]) in self._keys_in_store():
                out.append(row)
            else:
                report.rows_outside_range += 1
        return out

    def _keys_in_store(self) -> set[tuple[str, str]]:
        if self._store_keys is None:
            self._store_keys = set()
            if self.store.exists() and self.store.loads():
                catalog = self.store.connect()
                t = catalog.transactions("collapse")
                t = t.filter(t.awarding_sub_agency_code == self.query.agency_code)
                table = catalog.con.to_pyarrow(
                    t.select("award_id_piid", "modification_number").distinct())
                self._store_keys = set(zip(table.column(0).to_pylist(),
                                           table.column(1).to_pylist(), strict=True))
        return self._store_keys

    def _ingest(self, paths: list[Path], run: dict[str, Any], report: SyncReport) -> None:
        """One ingest call for the run's CSV and ZIPs: all committed, or none."""
        from contractwatch.ingest import ingest

        result = ingest(self.store, paths, as_of=run["as_of"], partial=not report.complete,
                        progress=False, wait=self.wait, origin=f"sync:{self.query.name}")
        loads = [r for r in result.results if r.load is not None]
        statuses = list(dict.fromkeys(r.status for r in result.results))
        report.ingest_status = statuses[0] if len(statuses) == 1 else ", ".join(statuses)
        if loads:
            report.load_id = loads[0].load.load_id  # type: ignore[union-attr]
            report.load_ids = [r.load.load_id for r in loads]  # type: ignore[union-attr]
        for r in loads:
            if r.status == "loaded" and r.load is not None:
                report.new += r.load.new
                report.changed += r.load.changed
                report.unchanged += r.load.unchanged
                report.warnings.extend(r.load.warnings)
        # a header-only member (download/transactions always sends the subaward one, "0
        # subaward reports"): nothing to say
        report.warnings.extend(f"{r.source_file}: {r.message}" for r in result.results
                               if r.message and not r.message.startswith("0 "))

    # progress
    @contextlib.contextmanager
    def _progress_bar(self, total: int) -> Iterator[None]:
        if not self.progress:
            yield
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("rows · {task.fields[windows]} windows · {task.fields[requests]} "
                       "requests"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
        with self._bar:
            self._task = self._bar.add_task(f"sync {self.query.name}", total=total or None,
                                            windows=0, requests=0)
            yield
        self._bar = None

    def _advance(self, rows: int) -> None:
        if self._bar is not None:
            task = self._bar.tasks[0]
            self._bar.update(self._task, advance=rows, windows=task.fields["windows"] + 1,
                             requests=self.client.stats.requests)


def sync(store: Store, query: Query, *, api_url: str, rate: float = 4.0,
         timeout: float = 60.0, full: bool = False, overlap_days: int = 14,
         progress: bool = False, wait: bool = False, page_limit: int = PAGE_LIMIT,
         client: UsaspendingClient | None = None,
         on_wait: Callable[[str], None] | None = None) -> SyncReport:
    """Run one saved query (fetch what is new, ingest it). See the module docstring.
    `on_wait` hears each retry's countdown."""
    own = client is None
    client = client or UsaspendingClient(api_url, rate_per_second=rate, timeout=timeout,
                                         on_wait=on_wait)
    try:
        return Sync(store, query, client, full=full, overlap_days=overlap_days,
                    progress=progress, wait=wait, page_limit=page_limit).run()
    finally:
        if own:
            client.close()


# ---- helpers ------------------------------------------------------------------------------

def _window_json(w: Window) -> dict[str, Any]:
    return {"start": w.start.isoformat(), "end": w.end.isoformat(), "types": list(w.types),
            "axis": w.axis}


def _window_from(d: dict[str, Any]) -> Window:
    return Window(date.fromisoformat(d["start"]), date.fromisoformat(d["end"]),
                  tuple(d["types"]), d["axis"])


def _atomic_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, separators=(",", ":"), default=str))


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """Rows in a fixed order, so a rerun of the same windows writes the same bytes."""
    ordered = sorted(rows, key=lambda r: (r.get("action_date", ""), r.get("award_id_piid", ""),
                                          r.get("modification_number", ""),
                                          r.get("transaction_number", ""),
                                          json.dumps(r, sort_keys=True)))
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, SYNC_COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for row in ordered:
            w.writerow(row)
    os.replace(tmp, path)


def _zip_counts(path: Path) -> dict[str, int]:
    """Data rows per CSV member of a download ZIP, checked to hold contract transactions.

    download/transactions serves Contracts_PrimeTransactions_*.csv and
    Contracts_Subawards_*.csv (header only when there are none); ingest loads both (and
    recognises any other member by its header, or refuses it with its name).
    """
    endpoint = "/api/v2/download/transactions/"
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ApiError(endpoint, f"broken ZIP: {exc}") from None
    counts: dict[str, int] = {}
    with archive:
        members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
        primes = [m for m in members if _member_kind(m) == "Contracts_PrimeTransactions"]
        if not primes:
            raise ApiError(endpoint, "ZIP holds no Contracts_PrimeTransactions_*.csv "
                           f"({', '.join(archive.namelist()[:3]) or 'it is empty'})")
        for member in members:
            with archive.open(member) as raw:
                reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
                if member in primes:
                    need = {"award_id_piid", "modification_number", "action_date",
                            "federal_action_obligation", "awarding_sub_agency_code"}
                    missing = need - set(reader.fieldnames or [])
                    if missing:
                        raise ApiError(endpoint, f"{member} lacks columns "
                                       f"{', '.join(sorted(missing))}")
                counts[member] = sum(1 for _ in reader)
    return counts


def _member_kind(member: str) -> str:
    """'Contracts_PrimeTransactions', 'Contracts_Subawards', … from a member's file name."""
    name = member.rsplit("/", 1)[-1]
    parts = name.split("_")
    return "_".join(parts[:2]) if len(parts) >= 2 else name


def _code_desc(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        return _text(value.get("code")), _text(value.get("description"))
    return "", _text(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _brief(r: dict[str, Any]) -> str:
    return json.dumps({k: r.get(k) for k in ("Award ID", "Mod", "Action Date",
                                            "Transaction Amount")}, default=str)


def _describe(q: Query) -> str:
    bits = [f"agency {q.agency_code}", f"since {q.since}"]
    bits += [f"{k} {v}" for k, v in (("until", q.until), ("keyword", q.keyword),
                                     ("recipient", q.recipient), ("via", q.via)) if v]
    return ", ".join(bits)


def _parse_date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SyncError(f"{option} {text!r} is not a date (use YYYY-MM-DD)") from None


__all__ = ["Query", "SYNC_COLUMNS", "Sync", "SyncError", "SyncReport", "make_query",
           "saved_queries", "sync"]
