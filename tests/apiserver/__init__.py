"""A local USAspending API for tests and benchmarks: a real HTTP server over the real rows.

It serves the shared CSV files (../shared/data/usaspending) through the documented v2
endpoints (usaspending_api/api_contracts/contracts/v2/ in fedspendingtransparency/
usaspending-api): search/spending_by_transaction (+ _count), search/spending_by_award,
awards/<id>, transactions, awards/idvs/awards, awards/last_updated, download/count,
download/transactions and download/status, with the documented filters, page_metadata,
limit ≤ 100 and the 50,000-row search window.

Like the live API it orders ties in the sort key differently on every request, which is what
makes naive paging by "Transaction Amount" repeat some rows and skip others. Faults can be
switched on: 429 bursts with Retry-After, 500s, HTML error pages, slow replies, empty replies
and truncated JSON.

What the shared rows lack is derived, and only here: the award type comes from the PIID's
instrument letter; award-level ceilings served by awards/<id> are a fixed function of the
award's obligations (so tests can check enrich stores exactly what was served); each
row's last_modified_date is the `as_of` date of the snapshot in which it appeared or last
changed (for the first snapshot loaded: two days after its action date).

Run standalone: python -m tests.apiserver FILE... [--port 8765]
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import socket
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

AGENCIES = {  # abbreviation in the files -> (sub-tier code, sub-tier name)
    "ICE": ("7012", "U.S. Immigration and Customs Enforcement"),
    "CBP": ("7014", "U.S. Customs and Border Protection"),
}
TOPTIER = ("070", "Department of Homeland Security")
TYPE_NAMES = {"A": "BPA CALL", "B": "PURCHASE ORDER", "C": "DELIVERY ORDER",
              "D": "DEFINITIVE CONTRACT"}
PAGE_LIMIT = 100
SEARCH_WINDOW = 50_000


@dataclass
class Record:
    tid: int
    agency: str  # CBP / ICE
    award_id: str
    mod: str
    recipient: str
    amount: Decimal
    action_date: str
    psc: str
    naics: str
    description: str
    generated_id: str
    last_modified: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.agency, self.award_id, self.mod)

    def content(self) -> tuple[Any, ...]:
        return (self.recipient, self.amount, self.action_date, self.psc, self.naics,
                self.description, self.generated_id)

    @property
    def parent_piid(self) -> str | None:
        parts = self.generated_id.split("_")
        return None if len(parts) < 6 or parts[4] == "-NONE-" else parts[4]

    @property
    def parent_agency(self) -> str | None:
        parts = self.generated_id.split("_")
        return None if len(parts) < 6 or parts[5] == "-NONE-" else parts[5]

    @property
    def award_type(self) -> str:
        """A: BPA call, B: purchase order, C: delivery order, D: definitive contract."""
        letter = self.award_id[8:9] if len(self.award_id) >= 13 else ""
        if letter == "P":
            return "B"
        if letter == "C":
            return "D"
        parent = self.parent_piid or ""
        if len(parent) >= 13 and parent[8] == "A":
            return "A"
        return "C"


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


class Dataset:
    """The rows the server holds, with a last-modified date per row."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.by_key: dict[tuple[str, str, str], Record] = {}
        self.as_of = "2026-01-01"
        self._next_tid = 1000

    def load(self, paths: list[Path], as_of: str) -> dict[str, int]:
        """Replace the rows with the distinct rows of `paths`; return what changed.

        Rows new or changed since the previous load get last_modified = as_of; unchanged rows
        keep theirs; rows absent from `paths` are gone (withdrawn upstream).
        """
        fresh: dict[tuple[str, str, str], Record] = {}
        for path in paths:
            for row in read_rows(path):
                piid = row["Award ID"]
                code = AGENCIES[row["Agency"]][0]
                gen = row.get("Generated Award ID") or f"CONT_AWD_{piid}_{code}_-NONE-_-NONE-"
                rec = Record(0, row["Agency"], piid, row["Modification"], row["Recipient Name"],
                             Decimal(row["Federal Action Obligation"]), row["Action Date"],
                             row["Product/Service Description"], row["NAICS Description"],
                             row["Transaction Description"], gen)
                fresh.setdefault(rec.key, rec)  # exact duplicate rows are paging artefacts
        stats = {"added": 0, "changed": 0, "unchanged": 0, "removed": 0}
        first = not self.by_key
        for key, rec in fresh.items():
            old = self.by_key.get(key)
            if old is None and first:
                # History before the first snapshot: a record is last modified soon after
                # its action (two days here), never after the snapshot.
                lag = (date.fromisoformat(rec.action_date) + timedelta(days=2)).isoformat()
                rec.tid, rec.last_modified = self._tid(), min(lag, as_of)
                stats["added"] += 1
            elif old is None:
                rec.tid, rec.last_modified = self._tid(), as_of
                stats["added"] += 1
            elif old.content() != rec.content():
                rec.tid, rec.last_modified = old.tid, as_of
                stats["changed"] += 1
            else:
                rec.tid, rec.last_modified = old.tid, old.last_modified
                stats["unchanged"] += 1
        stats["removed"] = len(set(self.by_key) - set(fresh))
        self.records = list(fresh.values())
        self.by_key = fresh
        self.as_of = as_of
        return stats

    def add(self, paths: list[Path], as_of: str) -> dict[str, int]:
        """Keep every held row and add or revise the rows of `paths` (nothing withdrawn)."""
        keep = {k: r for k, r in self.by_key.items()}
        stats = {"added": 0, "changed": 0}
        for path in paths:
            for row in read_rows(path):
                piid = row["Award ID"]
                code = AGENCIES[row["Agency"]][0]
                gen = row.get("Generated Award ID") or f"CONT_AWD_{piid}_{code}_-NONE-_-NONE-"
                rec = Record(0, row["Agency"], piid, row["Modification"], row["Recipient Name"],
                             Decimal(row["Federal Action Obligation"]), row["Action Date"],
                             row["Product/Service Description"], row["NAICS Description"],
                             row["Transaction Description"], gen)
                old = keep.get(rec.key)
                if old is None:
                    rec.tid, rec.last_modified = self._tid(), as_of
                    keep[rec.key] = rec
                    stats["added"] += 1
                elif old.content() != rec.content() and old.last_modified != as_of:
                    rec.tid, rec.last_modified = old.tid, as_of
                    keep[rec.key] = rec
                    stats["changed"] += 1
        self.by_key = keep
        self.records = list(keep.values())
        self.as_of = as_of
        return stats

    def _tid(self) -> int:
        self._next_tid += 1
        return self._next_tid


@dataclass
class Faults:
    """Switchable misbehaviour. `plan` is consumed first, one fault per request."""

    plan: list[str] = field(default_factory=list)
    rate: float = 0.0  # probability of a random fault per request
    kinds: tuple[str, ...] = ("429", "500", "html", "truncate", "empty", "slow")
    retry_after: str = "0"
    slow_seconds: float = 2.0
    seed: int = 7
    unstable_ties: bool = True
    _rng: random.Random = field(default_factory=lambda: random.Random(7))

    def next(self) -> str | None:
        if self.plan:
            return self.plan.pop(0)
        if self.rate and self._rng.random() < self.rate:
            return self._rng.choice(self.kinds)
        return None


class ApiError422(Exception):
    def __init__(self, detail: str, status: int = 422):
        self.detail = detail
        self.status = status


# ---- filters -------------------------------------------------------------------------------

def _matches(rec: Record, filters: dict[str, Any]) -> bool:
    codes = filters.get("award_type_codes")
    if codes is not None and rec.award_type not in codes:
        return False
    agencies = filters.get("agencies")
    if agencies:
        ok = False
        for a in agencies:
            if a.get("type") != "awarding":
                continue
            if a.get("tier") == "subtier" and a.get("name") == AGENCIES[rec.agency][1]:
                ok = True
            if a.get("tier") == "toptier" and a.get("name") == TOPTIER[1]:
                ok = True
        if not ok:
            return False
    periods = filters.get("time_period")
    if periods:
        ok = False
        for p in periods:
            kind = p.get("date_type", "action_date")
            value = rec.last_modified if kind == "last_modified_date" else rec.action_date
            if p["start_date"] <= value[:10] <= p["end_date"]:
                ok = True
        if not ok:
            return False
    keywords = filters.get("keywords")
    if keywords:
        text = " ".join([rec.description, rec.recipient, rec.psc, rec.naics,
                         rec.award_id]).upper()
        if not any(k.upper() in text for k in keywords):
            return False
    if filters.get("description") and filters["description"].upper() not in \
            rec.description.upper():
        return False
    names = filters.get("recipient_search_text")
    if names and not any(n.upper() in rec.recipient.upper() for n in names):
        return False
    ids = filters.get("award_ids")
    if ids and rec.award_id not in [i.strip('"') for i in ids]:
        return False
    return True


def _check_filters(filters: Any, need_types: bool) -> None:
    if not isinstance(filters, dict):
        raise ApiError422("Missing value: 'filters' is a required field")
    if need_types and not filters.get("award_type_codes"):
        raise ApiError422("Missing value: 'filters|award_type_codes' is a required field")
    for p in filters.get("time_period") or []:
        if p.get("start_date", "") < "2007-10-01" and p.get("date_type") != "last_modified_date":
            raise ApiError422("Field 'filters|time_period|start_date' value "
                              f"'{p.get('start_date')}' is below min '2007-10-01'")


def _result_row(rec: Record, fields: list[str]) -> dict[str, Any]:
    code, name = AGENCIES[rec.agency]
    values: dict[str, Any] = {
        "Award ID": rec.award_id, "Mod": rec.mod, "Recipient Name": rec.recipient,
        "Recipient UEI": None, "Action Date": rec.action_date,
        "Transaction Amount": float(rec.amount), "Transaction Description": rec.description,
        "Awarding Agency": TOPTIER[1], "Awarding Sub Agency": name,
        "Funding Agency": None, "Funding Sub Agency": None,
        "Award Type": TYPE_NAMES[rec.award_type],
        "PSC": {"code": None, "description": rec.psc or None},
        "NAICS": {"code": None, "description": rec.naics or None},
        "awarding_agency_id": None,
    }
    out = {f: values.get(f) for f in fields}
    out["internal_id"] = str(abs(hash(rec.generated_id)) % 10**8)
    out["generated_internal_id"] = rec.generated_id
    return out


_SORT_KEYS = {
    "Transaction Amount": lambda r: r.amount, "Action Date": lambda r: r.action_date,
    "Award ID": lambda r: r.award_id, "Recipient Name": lambda r: r.recipient,
    "Mod": lambda r: r.mod,
}


def _sorted(records: list[Record], sort: str, order: str, faults: Faults) -> list[Record]:
    rows = list(records)
    if faults.unstable_ties:
        # The live API breaks ties differently on each request (index shards answer in
        # varying order): shuffle, then sort stably on the requested key only.
        random.Random(time.perf_counter_ns()).shuffle(rows)
    else:
        rows.sort(key=lambda r: r.tid)
    key = _SORT_KEYS.get(sort, lambda r: r.amount)
    rows.sort(key=key, reverse=(order == "desc"))
    return rows


# ---- the application ----------------------------------------------------------------------

class ApiServer:
    """Start with `ApiServer(dataset).start()`; `url` is http://127.0.0.1:<port>."""

    def __init__(self, dataset: Dataset | None = None, faults: Faults | None = None,
                 download_polls: int = 2, port: int = 0):
        self.port = port
        self.dataset = dataset or Dataset()
        self.faults = faults or Faults()
        self.download_polls = download_polls
        self.hits: dict[str, int] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> ApiServer:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", access_log=False,
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test API server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def total_hits(self, prefix: str = "/api/") -> int:
        return sum(n for p, n in self.hits.items() if p.startswith(prefix))

    # the app
    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        server = self

        def endpoint(handler: Any, method: str = "POST") -> Any:
            async def run(request: Request) -> Response:
                path = request.url.path
                with server.lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                    fault = server.faults.next()
                if fault == "slow":
                    await asyncio.sleep(server.faults.slow_seconds)
                elif fault == "429":
                    return JSONResponse({"detail": "Request was throttled."}, status_code=429,
                                        headers={"Retry-After": server.faults.retry_after})
                elif fault == "500":
                    return JSONResponse({"detail": "Internal Server Error"}, status_code=500)
                elif fault == "html":
                    return Response("<html><body><h1>502 Bad Gateway</h1></body></html>",
                                    status_code=200, media_type="text/html")
                elif fault == "empty":
                    return Response(b"", status_code=200, media_type="application/json")
                body: Any = None
                if method == "POST":
                    try:
                        body = json.loads(await request.body() or b"{}")
                    except ValueError:
                        return JSONResponse({"detail": "JSON parse error"}, status_code=400)
                try:
                    with server.lock:
                        data = handler(request, body)
                except ApiError422 as exc:
                    return JSONResponse({"detail": exc.detail}, status_code=exc.status)
                if isinstance(data, Response):
                    return data
                payload = json.dumps(data).encode()
                if fault == "truncate":
                    payload = payload[: max(1, len(payload) // 2)]
                return Response(payload, media_type="application/json")
            return run

        routes = [
            Route("/api/v2/search/spending_by_transaction/",
                  endpoint(self._spending_by_transaction), methods=["POST"]),
            Route("/api/v2/search/spending_by_transaction_count/",
                  endpoint(self._transaction_count), methods=["POST"]),
            Route("/api/v2/search/spending_by_award/", endpoint(self._spending_by_award),
                  methods=["POST"]),
            Route("/api/v2/awards/last_updated/", endpoint(self._last_updated, "GET"),
                  methods=["GET"]),
            Route("/api/v2/awards/idvs/awards/", endpoint(self._idv_awards), methods=["POST"]),
            Route("/api/v2/awards/{award_id}/", endpoint(self._award, "GET"), methods=["GET"]),
            Route("/api/v2/transactions/", endpoint(self._transactions), methods=["POST"]),
            Route("/api/v2/download/count/", endpoint(self._download_count), methods=["POST"]),
            Route("/api/v2/download/transactions/", endpoint(self._download_start),
                  methods=["POST"]),
            Route("/api/v2/download/status/", endpoint(self._download_status, "GET"),
                  methods=["GET"]),
            Route("/files/{name}", endpoint(self._file, "GET"), methods=["GET"]),
        ]
        return Starlette(routes=routes)

    # handlers (run under self.lock)
    def _spending_by_transaction(self, request: Any, body: dict[str, Any]) -> dict[str, Any]:
        filters = body.get("filters")
        _check_filters(filters, need_types=True)
        fields = body.get("fields")
        if not fields:
            raise ApiError422("Missing value: 'fields' is a required field")
        limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
        if limit > PAGE_LIMIT:
            raise ApiError422(f"Field 'limit' value '{limit}' is above max '{PAGE_LIMIT}'")
        if page < 1 or limit < 1:
            raise ApiError422("Field 'page' and 'limit' must be at least 1")
        if page * limit > SEARCH_WINDOW:
            raise ApiError422(f"Page #{page} with limit {limit} is over the maximum result "
                              f"limit {SEARCH_WINDOW}. Consider using custom data downloads")
        sort = body.get("sort", "Transaction Amount")
        if sort not in fields:
            raise ApiError422(f"Sort value '{sort}' not found in requested fields: {fields}")
        rows = [r for r in self.dataset.records if _matches(r, filters)]
        rows = _sorted(rows, sort, body.get("order", "desc"), self.faults)
        chunk = rows[(page - 1) * limit: page * limit + 1]
        has_next = len(chunk) > limit
        return {
            "limit": limit,
            "results": [_result_row(r, fields) for r in chunk[:limit]],
            "page_metadata": {"page": page, "hasPrevious": page > 1, "hasNext": has_next,
                              "previous": page - 1 if page > 1 else None,
                              "next": page + 1 if has_next else None},
            "messages": [],
        }

    def _transaction_count(self, request: Any, body: dict[str, Any]) -> dict[str, Any]:
        filters = body.get("filters")
        _check_filters(filters, need_types=False)
        n = sum(1 for r in self.dataset.records if _matches(r, filters))
        return {"results": {"contracts": n, "idvs": 0, "loans": 0, "direct_payments": 0,
                            "grants": 0, "other": 0}, "messages": []}

    def _awards(self) -> dict[str, list[Record]]:
        out: dict[str, list[Record]] = {}
        for r in self.dataset.records:
            out.setdefault(r.generated_id, []).append(r)
        return out

    def _spending_by_award(self, request: Any, body: dict[str, Any]) -> dict[str, Any]:
        filters = body.get("filters")
        _check_filters(filters, need_types=True)
        limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
        if limit > PAGE_LIMIT:
            raise ApiError422(f"Field 'limit' value '{limit}' is above max '{PAGE_LIMIT}'")
        if page * limit > SEARCH_WINDOW:
            raise ApiError422(f"Page #{page} with limit {limit} is over the maximum result "
                              f"limit {SEARCH_WINDOW}.")
        groups: dict[str, list[Record]] = {}
        for r in self.dataset.records:
            if _matches(r, filters):
                groups.setdefault(r.generated_id, []).append(r)
        awards = sorted(((sum((x.amount for x in rs), Decimal(0)), gid, rs)
                         for gid, rs in groups.items()),
                        key=lambda a: (a[0], a[1]), reverse=body.get("order", "desc") == "desc")
        if body.get("last_record_unique_id") is not None:
            last = (Decimal(str(body["last_record_sort_value"])), body["last_record_unique_id"])
            desc = body.get("order", "desc") == "desc"
            awards = [a for a in awards if ((a[0], a[1]) < last if desc else (a[0], a[1]) > last)]
        chunk = awards[(page - 1) * limit: page * limit + 1]
        has_next = len(chunk) > limit
        results = []
        for amount, gid, rs in chunk[:limit]:
            results.append({"internal_id": abs(hash(gid)) % 10**8, "generated_internal_id": gid,
                            "Award ID": rs[0].award_id, "Recipient Name": rs[0].recipient,
                            "Award Amount": float(amount)})
        meta: dict[str, Any] = {"page": page, "hasNext": has_next,
                                "last_record_unique_id": None, "last_record_sort_value": None}
        if results:
            meta["last_record_unique_id"] = results[-1]["generated_internal_id"]
            meta["last_record_sort_value"] = str(chunk[: limit][-1][0])
        return {"limit": limit, "results": results, "page_metadata": meta, "messages": []}

    def _last_updated(self, request: Any, body: Any) -> dict[str, Any]:
        y, m, d = self.dataset.as_of[:10].split("-")
        return {"last_updated": f"{m}/{d}/{y}"}

    def _award(self, request: Any, body: Any) -> dict[str, Any]:
        gid = request.path_params["award_id"]
        rows = [r for r in self.dataset.records if r.generated_id == gid]
        if not rows:
            raise ApiError422("No award found with the provided id", 404)
        return award_json(gid, rows)

    def _transactions(self, request: Any, body: dict[str, Any]) -> dict[str, Any]:
        gid = body.get("award_id")
        rows = sorted((r for r in self.dataset.records if r.generated_id == gid),
                      key=lambda r: r.mod)
        limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
        if limit > 5000:
            raise ApiError422(f"Field 'limit' value '{limit}' is above max '5000'")
        chunk = rows[(page - 1) * limit: page * limit + 1]
        has_next = len(chunk) > limit
        return {"results": [{
            "id": f"CONT_TX_{r.tid}", "type": r.award_type,
            "type_description": TYPE_NAMES[r.award_type], "action_date": r.action_date,
            "action_type": None, "action_type_description": None, "modification_number": r.mod,
            "description": r.description, "federal_action_obligation": float(r.amount),
            "face_value_loan_guarantee": None, "original_loan_subsidy_cost": None,
        } for r in chunk[:limit]], "page_metadata": {
            "page": page, "next": page + 1 if has_next else None,
            "previous": page - 1 if page > 1 else None, "hasNext": has_next,
            "hasPrevious": page > 1}}

    def _idv_awards(self, request: Any, body: dict[str, Any]) -> dict[str, Any]:
        idv = str(body.get("award_id", ""))
        parts = idv.split("_")
        piid = parts[2] if len(parts) >= 4 else ""
        children = sorted({r.generated_id: r for r in self.dataset.records
                           if r.parent_piid == piid}.items())
        limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
        chunk = children[(page - 1) * limit: page * limit + 1]
        has_next = len(chunk) > limit
        awards = self._awards()
        return {"results": [{
            "award_id": abs(hash(gid)) % 10**8, "award_type": TYPE_NAMES[r.award_type],
            "description": r.description, "funding_agency": None,
            "awarding_agency": TOPTIER[1].upper(), "funding_agency_id": None,
            "awarding_agency_id": 1, "generated_unique_award_id": gid,
            "last_date_to_order": None,
            "obligated_amount": float(sum((x.amount for x in awards[gid]), Decimal(0))),
            "period_of_performance_current_end_date": None,
            "period_of_performance_start_date": min(x.action_date for x in awards[gid]),
            "piid": r.award_id,
        } for gid, r in chunk[:limit]], "page_metadata": {
            "page": page, "hasNext": has_next, "hasPrevious": page > 1,
            "next": page + 1 if has_next else None, "previous": page - 1 if page > 1 else None}}

    def _download_count(self, request: Any, body: dict[str, Any]) -> dict[str, Any]:
        filters = body.get("filters") or {}
        n = sum(1 for r in self.dataset.records if _matches(r, filters))
        return {"calculated_transaction_count": n, "maximum_transaction_limit": 500000,
                "transaction_rows_gt_limit": n > 500000, "calculated_count": n,
                "spending_level": "transactions", "maximum_limit": 500000,
                "rows_gt_limit": n > 500000, "messages": []}

    def _download_start(self, request: Any, body: dict[str, Any]) -> dict[str, Any]:
        filters = body.get("filters") or {}
        rows = [r for r in self.dataset.records if _matches(r, filters)]
        name = f"PrimeTransactions_{len(self.jobs) + 1:04d}_{time.strftime('%Y-%m-%d')}.zip"
        self.jobs[name] = {"polls": 0, "rows": rows}
        base = str(request.base_url).rstrip("/")
        return {"status_url": f"{base}/api/v2/download/status?file_name={name}",
                "file_name": name, "file_url": f"{base}/files/{name}",
                "download_request": {"filters": filters, "limit": 500000,
                                     "request_type": "award"}}

    def _download_status(self, request: Any, body: Any) -> dict[str, Any]:
        name = request.query_params.get("file_name", "")
        job = self.jobs.get(name)
        if job is None:
            raise ApiError422(f"Download {name} not found", 404)
        job["polls"] += 1
        base = str(request.base_url).rstrip("/")
        done = job["polls"] > self.download_polls
        if done and name not in self.files:
            self.files[name] = download_zip(job["rows"])
        return {"status": "finished" if done else "running", "message": None,
                "file_name": name, "file_url": f"{base}/files/{name}",
                "total_size": len(self.files.get(name, b"")) / 1000 if done else None,
                "total_columns": len(DOWNLOAD_COLUMNS) if done else None,
                "total_rows": len(job["rows"]) if done else None,
                "seconds_elapsed": "0.1"}

    def _file(self, request: Any, body: Any) -> Any:
        from starlette.responses import Response

        name = request.path_params["name"]
        if name not in self.files:
            raise ApiError422("Not found", 404)
        return Response(self.files[name], media_type="application/zip")


DOWNLOAD_COLUMNS = [
    "contract_transaction_unique_key", "contract_award_unique_key", "award_id_piid",
    "modification_number", "transaction_number", "parent_award_agency_id",
    "parent_award_id_piid", "action_date", "federal_action_obligation",
    "awarding_agency_code", "awarding_agency_name", "awarding_sub_agency_code",
    "awarding_sub_agency_name", "recipient_name", "product_or_service_code_description",
    "naics_description", "award_type_code", "award_type", "transaction_description",
    "last_modified_date", "usaspending_permalink",
]


def download_zip(rows: list[Record]) -> bytes:
    """A Contracts_PrimeTransactions CSV (download layout column names) inside a ZIP."""
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(DOWNLOAD_COLUMNS)
    for r in sorted(rows, key=lambda r: r.tid):
        code = AGENCIES[r.agency][0]
        w.writerow([
            f"{code}_{r.parent_agency or '-NONE-'}_{r.award_id}_{r.mod}_"
            f"{r.parent_piid or '-NONE-'}_0",
            r.generated_id, r.award_id, r.mod, "0", r.parent_agency or "", r.parent_piid or "",
            r.action_date, str(r.amount), TOPTIER[0], TOPTIER[1], code, AGENCIES[r.agency][1],
            r.recipient, r.psc, r.naics, r.award_type, TYPE_NAMES[r.award_type],
            r.description, r.last_modified,
            f"https://www.usaspending.gov/award/{r.generated_id}/",
        ])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Contracts_PrimeTransactions_1.csv", text.getvalue())
    return buf.getvalue()


def award_json(gid: str, rows: list[Record]) -> dict[str, Any]:
    """awards/<id> in the contract's ContractResponse shape. The shared rows hold no ceiling,
    so base_and_all_options is 1.5 × obligations here (a test value, not data)."""
    total = sum((r.amount for r in rows), Decimal(0))
    first = min(rows, key=lambda r: r.action_date)
    latest = max(rows, key=lambda r: (r.action_date, r.mod))
    code, name = AGENCIES[first.agency]
    parent = None
    if first.parent_piid:
        parent = {"agency_id": 1, "agency_name": TOPTIER[1], "sub_agency_id": first.parent_agency,
                  "sub_agency_name": name, "award_id": 1,
                  "generated_unique_award_id": f"CONT_IDV_{first.parent_piid}_"
                                               f"{first.parent_agency}",
                  "idv_type_description": "IDC", "multiple_or_single_aw_desc": "SINGLE AWARD",
                  "piid": first.parent_piid, "type_of_idc_description": None}
    return {
        "id": abs(hash(gid)) % 10**8, "generated_unique_award_id": gid, "piid": first.award_id,
        "category": "contract", "type": first.award_type,
        "type_description": TYPE_NAMES[first.award_type], "description": first.description,
        "total_obligation": float(total), "subaward_count": 0, "total_subaward_amount": None,
        "date_signed": first.action_date, "base_exercised_options": float(total),
        "base_and_all_options": float((total * Decimal("1.5")).quantize(Decimal("0.01"))),
        "parent_award": parent,
        "latest_transaction_contract_data": {
            "type_of_contract_pricing": "J",
            "type_of_contract_pricing_description": "FIRM FIXED PRICE",
            "extent_competed": "A", "extent_competed_description": "FULL AND OPEN COMPETITION",
            "number_of_offers_received": "3", "product_or_service_code": None,
            "product_or_service_description": latest.psc, "naics": None,
            "naics_description": latest.naics,
        },
        "awarding_agency": {"id": 1, "has_agency_page": True,
                            "toptier_agency": {"name": TOPTIER[1], "code": TOPTIER[0],
                                               "abbreviation": "DHS"},
                            "subtier_agency": {"name": name, "code": code,
                                               "abbreviation": first.agency},
                            "office_agency_name": None},
        "funding_agency": None,
        "period_of_performance": {"start_date": first.action_date,
                                  "end_date": latest.action_date,
                                  "last_modified_date": f"{latest.last_modified} 00:00:00",
                                  "potential_end_date": f"{latest.action_date} 00:00:00"},
        "recipient": {"recipient_hash": None, "recipient_name": latest.recipient,
                      "recipient_uei": None, "recipient_unique_id": None,
                      "parent_recipient_hash": None, "parent_recipient_name": None,
                      "parent_recipient_uei": None, "parent_recipient_unique_id": None,
                      "business_categories": [], "location": None},
        "place_of_performance": None,
    }
