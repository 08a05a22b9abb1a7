"""Pull contract subawards from the API into the subaward store (`sync --subawards`).

Source: search/spending_by_award with `subawards: true` (contracts/v2/search/
spending_by_award.md). Of the subaward endpoints it is the one whose rows name the prime
award's key (`prime_award_generated_internal_id`), the subaward number, the subawardee
(name and UEI), the amount and the action date; `subawards/` (one prime at a time, no
subawardee UEI, no prime key) and `spending_by_subaward_grouped` (totals per prime) do not.
None of them carries the report id, report month or report's last-modified date, the
subawardee's DUNS or parent: those columns stay empty, never made up.

Paging as the transaction sync: subaward action-date windows cut small enough to be served
whole on the first page, so no row can repeat or vanish between pages. A window that cannot
be cut further (one day) follows the server's cursor (`last_record_unique_id`,
`last_record_sort_value`), which also works past the 50,000-row window. The server breaks
ties in the sort value by the prime award's id only, so a cursor can pass over a prime's
subawards that tie at a page boundary; each prime at a boundary is asked again on its own
(`award_unique_id`), and a prime that still overflows is said aloud.

Storage: one file in `subawards/` per pull and one manifest record (like a loaded
Contracts_Subawards file), every report as served; `Catalog.subawards()` counts each
subaward once. Rows identical to ones an earlier pull stored are not stored again, so a
rerun adds no false re-filings. Subaward money is never added to prime obligations.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from contractwatch.sources.usaspending_api import (
    PAGE_LIMIT,
    SUBAWARD_FIELDS,
    ApiError,
    UsaspendingClient,
    agency_filter,
)
from contractwatch.store import Store
from contractwatch.sync import SyncError, Window, fiscal_year_windows

SOURCE = "api:spending_by_award(subawards)"
SORT = "Sub-Award Amount"
SPLIT = 4  # pieces a window too large for one page is cut into (no subaward count to aim by)
# columns an API row cannot fill (the files have them)
NOT_IN_API = ("subaward_report_id", "subaward_report_year", "subaward_report_month",
              "subaward_report_last_modified_date", "subawardee_duns",
              "subawardee_parent_uei", "subawardee_parent_name")
_IDENTITY = ("prime_award_unique_key", "subaward_number", "subawardee_uei", "subawardee_name",
             "subaward_amount", "subaward_action_date", "subaward_description")


@dataclass
class SubawardSyncReport:
    agency: str | None
    since: str
    until: str
    as_of: str
    windows: int = 0
    cursor_pages: int = 0  # pages fetched by the cursor (windows that could not be cut)
    primes_asked_again: int = 0
    rows_fetched: int = 0
    rows_stored: int = 0
    rows_already_stored: int = 0
    requests: int = 0
    seconds: float = 0.0
    file: str | None = None
    columns_not_in_api: list[str] = field(default_factory=lambda: list(NOT_IN_API))
    warnings: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items()
                if k not in ("warnings", "columns_not_in_api")}


def sync_subawards(store: Store, client: UsaspendingClient, *, agency: str | None,
                   since: str, until: str | None = None, page_limit: int = PAGE_LIMIT,
                   wait: bool = False) -> SubawardSyncReport:
    """Fetch the contract subawards of `agency`'s primes with action dates in
    [since, until] and store them; see the module docstring."""
    t0 = time.monotonic()
    requests0 = client.stats.requests
    as_of = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    end = until or date.today().isoformat()
    if since > end:
        raise SyncError(f"--since {since} is after --until {end}")
    report = SubawardSyncReport(agency, since, end, as_of)
    base: dict[str, Any] = {}
    if agency:
        from contractwatch.agencies import resolve_agency

        base["agencies"] = agency_filter(resolve_agency(agency).name)
    served: list[dict[str, Any]] = []
    for root in fiscal_year_windows(date.fromisoformat(since), date.fromisoformat(end)):
        served.extend(_window(client, root, base, page_limit, report))
    report.rows_fetched = len(served)
    rows = [_subaward_row(r, as_of, client.base_url) for r in served]
    fresh = _not_stored_yet(store, rows)
    report.rows_already_stored = len(rows) - len(fresh)
    if fresh:
        report.file = _commit(store, fresh, report, client.base_url, wait)
        report.rows_stored = len(fresh)
    report.requests = client.stats.requests - requests0
    report.seconds = round(time.monotonic() - t0, 3)
    return report


def _window(client: UsaspendingClient, w: Window, base: dict[str, Any], limit: int,
            report: SubawardSyncReport) -> list[dict[str, Any]]:
    """The subawards of a window, served whole: on one page, or cut, or by the cursor."""
    filters = w.filters(base)
    pages = client.spending_by_award_pages(filters, SUBAWARD_FIELDS, sort=SORT, limit=limit,
                                           subawards=True)
    first = next(pages)
    report.windows += 1
    second = next(pages, None) if len(first) >= limit else None
    if second is None:  # served whole on one page
        pages.close()
        return first
    # cut by date only: for subawards the award types filter the prime, not the subaward
    children = w.split(SPLIT) if w.start < w.end else []
    if children:
        pages.close()
        out: list[dict[str, Any]] = []
        for child in children:
            out.extend(_window(client, child, base, limit, report))
        return out
    rest = [second, *pages]  # one day: the cursor
    report.cursor_pages += len(rest)
    return _mend_boundaries([first, *rest], client, filters, limit, report)


def _mend_boundaries(pages: list[list[dict[str, Any]]], client: UsaspendingClient,
                     filters: dict[str, Any], limit: int,
                     report: SubawardSyncReport) -> list[dict[str, Any]]:
    """Ask again, prime by prime, for the primes whose subawards end a page: the server's
    cursor is (sort value, prime award id), so other subawards of that prime tying on the
    amount were passed over. A prime's answer replaces its rows from the pages."""
    boundary = {p[-1]["prime_award_generated_internal_id"] for p in pages[:-1] if p}
    rows = [r for p in pages for r in p
            if r["prime_award_generated_internal_id"] not in boundary]
    for prime in sorted(boundary):
        report.primes_asked_again += 1
        again = list(client.spending_by_award_pages({**filters, "award_unique_id": prime},
                                                    SUBAWARD_FIELDS, sort=SORT, limit=limit,
                                                    subawards=True))
        if len(again) > 1:
            report.warnings.append(
                f"prime award {prime} has more than {limit} subawards on "
                f"{filters['time_period'][0]['start_date']}: paged by the cursor, subawards "
                "of equal amount at a page boundary may be missing")
        rows.extend(r for page in again for r in page)
    return rows


def _subaward_row(r: dict[str, Any], as_of: str, api_url: str) -> dict[str, Any]:
    """One SUBAWARD_SCHEMA row from an API subaward row; what the API lacks stays empty."""
    from contractwatch.values.ids import parse_award_key

    where = "/api/v2/search/spending_by_award/"
    key = r["prime_award_generated_internal_id"]
    parsed = parse_award_key(key)
    amount = r.get("Sub-Award Amount")
    try:
        money = Decimal(str(amount)).quantize(Decimal("0.01")) if amount is not None else None
    except InvalidOperation:
        raise ApiError(where, f"subaward {r.get('Sub-Award ID')}: not an amount: "
                       f"{amount!r}") from None
    if money is None or not r.get("Sub-Award ID"):
        raise ApiError(where, f"subaward row of {key} lacks its number or amount")
    day = _day(where, r.get("Sub-Award Date"))
    sub_agency, department = _agency_codes(r.get("Awarding Sub Agency"))
    return {
        "prime_award_unique_key": key,
        "prime_award_piid": r.get("Prime Award ID") or (parsed.piid if parsed else None),
        "prime_award_parent_piid": parsed.parent_piid if parsed else None,  # from the key
        "prime_award_awarding_agency_code": department,
        "prime_award_awarding_sub_agency_code": sub_agency,
        "prime_award_awarding_sub_agency_name": r.get("Awarding Sub Agency"),
        "prime_awardee_name": r.get("Prime Recipient Name"),
        **dict.fromkeys(NOT_IN_API),
        "subaward_number": str(r["Sub-Award ID"]),
        "subaward_amount": money,
        "subaward_action_date": day,
        "subaward_fiscal_year": (day.year + (1 if day.month >= 10 else 0)) if day else None,
        "subawardee_uei": r.get("Sub-Recipient UEI") or None,
        "subawardee_name": r.get("Sub-Awardee Name"),
        "subaward_description": r.get("Sub-Award Description"),
        "vintage": as_of,
        "source_file": f"{SOURCE} {api_url}",
    }


def _day(where: str, value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ApiError(where, f"not a date: {value!r}") from None


def _agency_codes(name: str | None) -> tuple[str | None, str | None]:
    """(sub-tier code, department code) of an awarding sub-agency name; None when the
    agency table does not know the name (never guessed)."""
    if not name:
        return None, None
    from contractwatch.agencies import UnknownAgency, resolve_agency

    try:
        a = resolve_agency(name)
    except UnknownAgency:
        return None, None
    return a.code, a.toptier_code


def _identity(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in _IDENTITY)


def _not_stored_yet(store: Store, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows no earlier API pull stored exactly so (a report is stored once per content)."""
    catalog = store.connect()
    have: set[tuple[Any, ...]] = set()
    if catalog.subaward_files:
        r = catalog.subaward_reports()
        r = r.filter(r.source_file.startswith(SOURCE)).select(*_IDENTITY)
        have = {_identity(x) for x in catalog.execute_arrow(r).to_pylist()}
    out, seen = [], set(have)
    for row in rows:
        ident = _identity(row)
        if ident in seen and ident in have:
            continue
        seen.add(ident)
        out.append(row)
    return out


def _commit(store: Store, rows: list[dict[str, Any]], report: SubawardSyncReport,
            api_url: str, wait: bool) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from contractwatch.sources.subawards import SUBAWARD_SCHEMA

    stamp = report.as_of.replace(":", "").replace("-", "")
    name = f"api-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    with store.writer(wait=wait) as writer:
        folder = store.root / "subawards"
        folder.mkdir(exist_ok=True)
        tmp = folder / f"{name}.tmp"
        pq.write_table(pa.Table.from_pylist(rows, schema=SUBAWARD_SCHEMA), tmp,
                       compression="zstd")
        tmp.rename(folder / name)
        writer.commit([], new_subawards=[{
            "file": f"subawards/{name}", "rows": len(rows), "source": SOURCE,
            "source_file": f"{SOURCE} {api_url}", "sha256": None, "vintage": report.as_of,
            "fetched_at": report.as_of, "rows_rejected": 0, "api_url": api_url,
            "query": {"agency": report.agency, "since": report.since, "until": report.until},
            "columns_not_in_source": list(NOT_IN_API)}])
    return f"subawards/{name}"


__all__ = ["NOT_IN_API", "SubawardSyncReport", "sync_subawards"]
