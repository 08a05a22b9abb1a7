"""Fetch award detail (ceiling, parent vehicle, parent company, UEI, pricing) for stored awards.

Search exports lack these, so "obligated vs ceiling" cannot be answered from them alone.
Enrich asks awards/<generated id> for each award that lacks them and has no stored detail,
and commits the answers in batches (one Parquet file per batch, listed in the manifest): an
interrupted run keeps the batches it finished, and the next run skips those awards.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contractwatch.sources.usaspending_api import ApiError, UsaspendingClient
from contractwatch.store import Store

BATCH = 100


@dataclass
class EnrichReport:
    candidates: int = 0
    fetched: int = 0
    not_found: int = 0
    batches: int = 0
    requests: int = 0
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("files", "warnings")}


def awards_lacking_detail(store: Store, agency: str | None = None, fy: int | None = None,
                          refresh: bool = False) -> list[str]:
    """Award keys whose stored rows lack a ceiling, parent company, UEI or pricing type
    (and, unless `refresh`, that have no detail stored yet). Vehicles (IDVs) included."""
    catalog = store.connect()
    if not catalog.loads:
        return []
    t = catalog.transactions("collapse")
    if agency:
        from contractwatch.agencies import resolve_agency

        t = t.filter(t.awarding_sub_agency_code == resolve_agency(agency).code)
    if fy:
        t = t.filter(t.fiscal_year == fy)
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
    import pyarrow as pa
    import pyarrow.parquet as pq

    from contractwatch.sources.award_detail import DETAIL_SCHEMA, DetailShapeError, detail_row

    t0 = time.monotonic()
    requests0 = client.stats.requests
    report = EnrichReport()
    keys = awards_lacking_detail(store, agency, fy, refresh)
    if limit:
        keys = keys[:limit]
    report.candidates = len(keys)
    bar = _bar(len(keys)) if progress and keys else None
    pending: list[dict[str, Any]] = []

    def flush() -> None:
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
                "file": f"details/{name}", "rows": len(pending), "source": "api:awards",
                "api_url": client.base_url, "fetched_at": pending[-1]["fetched_at"]}])
        report.batches += 1
        report.files.append(f"details/{name}")
        pending.clear()

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
                pending.append(detail_row(data, fetched_at))
            except (DetailShapeError, KeyError) as exc:
                raise ApiError(f"/api/v2/awards/{key}/", f"unexpected award shape: {exc}") \
                    from None
            report.fetched += 1
            if bar is not None:
                bar[0].advance(bar[1])
            if len(pending) >= BATCH:
                flush()
        flush()
    finally:
        if bar is not None:
            bar[0].stop()
    report.requests = client.stats.requests - requests0
    report.seconds = round(time.monotonic() - t0, 3)
    return report


def _bar(total: int) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.progress import TimeRemainingColumn as Eta

    p = Progress(TextColumn("[bold]enrich"), BarColumn(), MofNCompleteColumn(), Eta(),
                 console=Console(stderr=True))
    p.start()
    return p, p.add_task("awards", total=total)


__all__ = ["EnrichReport", "awards_lacking_detail", "enrich"]
