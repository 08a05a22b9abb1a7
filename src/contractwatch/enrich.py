"""Fetch award detail (ceiling, parent vehicle, parent company, UEI, pricing) for stored awards.

Search exports lack these, so "obligated vs ceiling" cannot be answered from them alone.
Enrich asks awards/<generated id> for each award that lacks them and has no stored detail,
and commits the answers in batches (one Parquet file per batch, listed in the manifest): an
interrupted run keeps the batches it finished, and the next run skips those awards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contractwatch.sources.usaspending_api import ApiError, UsaspendingClient
from contractwatch.store import Store

BATCH = 100


@dataclass
class FetchReport:
    """What a run asked the API and stored: its counters (in subclasses), requests, time."""

    fetched: int = 0
    not_found: int = 0
    batches: int = 0
    requests: int = 0
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        counters = {k: v for k, v in self.__dict__.items()
                    if k not in ("requests", "seconds", "files", "warnings")}
        return {**counters, "requests": self.requests, "seconds": self.seconds}


@dataclass
class EnrichReport(FetchReport):
    candidates: int = 0


def _scoped_rows(catalog: Any, agency: str | None, fy: int | None) -> Any:
    """The store's current rows (copies collapsed) of an agency and fiscal year."""
    t = catalog.transactions("collapse")
    if agency:
        from contractwatch.agencies import resolve_agency

        t = t.filter(t.awarding_sub_agency_code == resolve_agency(agency).code)
    if fy:
        t = t.filter(t.fiscal_year == fy)
    return t


def awards_lacking_detail(store: Store, agency: str | None = None, fy: int | None = None,
                          refresh: bool = False) -> list[str]:
    """Award keys whose stored rows lack a ceiling, parent company, UEI or pricing type
    (and, unless `refresh`, that have no detail stored yet). Vehicles (IDVs) included."""
    catalog = store.connect()
    if not catalog.loads:
        return []
    t = _scoped_rows(catalog, agency, fy)
    t = t.filter(t.contract_award_unique_key.notnull())
    per_award = t.group_by("contract_award_unique_key").aggregate(
        ceiling=t.potential_total_value_of_award.count(),
        parent=t.recipient_parent_name.count(),
        uei=t.recipient_uei.count(),
        pricing=t.type_of_contract_pricing.count(),
    )
    lacking = per_award.filter((per_award.ceiling == 0) | (per_award.parent == 0)
                               | (per_award.uei == 0) | (per_award.pricing == 0))
    keys = lacking.select("contract_award_unique_key")
    if catalog.details and not refresh:
        have = catalog.award_details().select("contract_award_unique_key")
        keys = keys.anti_join(have, "contract_award_unique_key")
    table = catalog.con.to_pyarrow(keys.order_by("contract_award_unique_key"))
    return [k for k in table.column(0).to_pylist() if k]


def enrich(store: Store, client: UsaspendingClient, *, agency: str | None = None,
           fy: int | None = None, limit: int | None = None, refresh: bool = False,
           progress: bool = False, wait: bool = False) -> EnrichReport:
    """Fetch and store award detail; see the module docstring."""
    from contractwatch.sources.award_detail import detail_row

    report = EnrichReport()
    keys = awards_lacking_detail(store, agency, fy, refresh)
    if limit:
        keys = keys[:limit]
    report.candidates = len(keys)
    _fetch_each(store, client, keys, report, lambda key, data, at: [detail_row(data, at)],
                "api:awards", "awards", progress, wait)
    return report


@dataclass
class VehicleEnrichReport(FetchReport):
    vehicles: int = 0  # candidates asked about
    listed_awards: int = 0  # rows of idvs/awards listings stored


def vehicles_to_enrich(store: Store, agency: str | None = None, fy: int | None = None,
                       refresh: bool = False) -> list[str]:
    """CONT_IDV_ keys of the vehicles the store knows: IDV records it holds and the vehicles
    its orders name (parent PIID and agency), unless (without `refresh`) the API's IDV
    detail is already stored."""
    catalog = store.connect()
    if not catalog.loads:
        return []
    t = _scoped_rows(catalog, agency, fy)
    own = t.filter((t.award_or_idv_flag == "IDV")
                   & t.contract_award_unique_key.startswith("CONT_IDV_"))
    own = own.select(key=own.contract_award_unique_key)
    orders = t.filter(t.parent_award_id_piid.notnull() & t.parent_award_agency_id.notnull())
    parents = orders.select(key=orders.parent_award_id_piid.upper().concat(
        "_", orders.parent_award_agency_id))
    parents = parents.select(key="CONT_IDV_" + parents.key)
    keys = own.union(parents).distinct()
    if catalog.details and not refresh:
        from contractwatch.sources.award_detail import IDV_DETAIL_SOURCE

        d = catalog.award_facts_all()
        have = d.filter(d.source == IDV_DETAIL_SOURCE).select(
            key=d.contract_award_unique_key)
        keys = keys.anti_join(have, "key")
    table = catalog.execute_arrow(keys.order_by("key"))
    return [k for k in table.column(0).to_pylist() if k]


def enrich_vehicles(store: Store, client: UsaspendingClient, *, agency: str | None = None,
                    fy: int | None = None, limit: int | None = None, refresh: bool = False,
                    progress: bool = False, wait: bool = False) -> VehicleEnrichReport:
    """For each vehicle the store knows: its IDV detail and idvs/amounts (one fact row,
    source api:idv_detail) and the idvs/awards listings of its child awards, child IDVs and
    grandchild awards (source api:idv_awards, one row per award named). Stored as award
    facts in `details/`, committed per batch of vehicles; never summed with transactions."""
    from contractwatch.sources.award_detail import idv_detail_row, listing_row
    from contractwatch.sources.usaspending_api import IDV_LISTINGS

    report = VehicleEnrichReport()
    keys = vehicles_to_enrich(store, agency, fy, refresh)
    if limit:
        keys = keys[:limit]
    report.vehicles = len(keys)

    def rows_for(key: str, data: dict[str, Any], at: str) -> list[dict[str, Any]]:
        rows = [idv_detail_row(data, client.idv_amounts(key), at)]
        for kind in IDV_LISTINGS:
            rows += [listing_row(item, kind, key, at) for item in client.idv_awards(key,
                                                                                 kind=kind)]
        report.listed_awards += len(rows) - 1
        return rows

    _fetch_each(store, client, keys, report, rows_for, IDV_DETAIL_SOURCES, "vehicles",
                progress, wait)
    return report


def _fetch_each(store: Store, client: UsaspendingClient, keys: list[str], report: FetchReport,
                rows_for: Callable[[str, dict[str, Any], str], list[dict[str, Any]]],
                source: str, what: str, progress: bool, wait: bool) -> None:
    """Ask awards/<key> for each key, turn each answer into fact rows (`rows_for` may ask
    more), commit every BATCH keys; a 404 is counted and said, a wrong shape stops."""
    from contractwatch.sources.award_detail import DetailShapeError

    t0 = time.monotonic()
    requests0 = client.stats.requests
    bar = _bar(len(keys), what) if progress and keys else None
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if pending:
            report.batches += 1
        _commit_facts(store, pending, client.base_url, source, report.files, wait)

    try:
        for key in keys:
            fetched_at = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
            try:
                data = client.award(key)
            except ApiError as exc:
                if exc.status == 404:
                    report.not_found += 1
                    report.warnings.append(f"{key}: not found at the API")
                    continue
                raise
            try:
                pending.extend(rows_for(key, data, fetched_at))
            except (DetailShapeError, KeyError) as exc:
                raise ApiError(f"/api/v2/awards/{key}/", f"unexpected award shape: {exc}") \
                    from None
            report.fetched += 1
            if bar is not None:
                bar[0].advance(bar[1])
            if report.fetched % BATCH == 0:
                flush()
        flush()
    finally:
        if bar is not None:
            bar[0].stop()
    report.requests = client.stats.requests - requests0
    report.seconds = round(time.monotonic() - t0, 3)


IDV_DETAIL_SOURCES = "api:idv_detail+idv_amounts+idv_awards"


def _commit_facts(store: Store, pending: list[dict[str, Any]], api_url: str, source: str,
                  files: list[str], wait: bool) -> None:
    """Write the pending fact rows as one Parquet file in `details/` and commit it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from contractwatch.sources.award_detail import DETAIL_SCHEMA

    if not pending:
        return
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
    with store.writer(wait=wait) as writer:
        folder = store.root / "details"
        folder.mkdir(exist_ok=True)
        tmp = folder / f"{name}.tmp"
        pq.write_table(pa.Table.from_pylist(pending, schema=DETAIL_SCHEMA), tmp)
        tmp.rename(folder / name)
        writer.commit([], new_details=[{
            "file": f"details/{name}", "rows": len(pending), "source": source,
            "api_url": api_url, "fetched_at": pending[-1]["fetched_at"]}])
    files.append(f"details/{name}")
    pending.clear()


def _bar(total: int, what: str = "awards") -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.progress import TimeRemainingColumn as Eta

    p = Progress(TextColumn("[bold]enrich"), BarColumn(), MofNCompleteColumn(), Eta(),
                 console=Console(stderr=True))
    p.start()
    return p, p.add_task(what, total=total)


__all__ = ["EnrichReport", "VehicleEnrichReport", "awards_lacking_detail", "enrich",
           "enrich_vehicles", "vehicles_to_enrich"]
