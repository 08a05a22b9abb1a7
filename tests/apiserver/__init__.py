"""A local USAspending API for tests and benchmarks: a real HTTP server over the real rows.

It is derived from the official contracts copied in tests/apiserver/contracts/ (see
SOURCE.md there; parsed by tests/apiserver/blueprint.py): it serves only routes they define,
refuses request fields they do not define or of the wrong type (400) and missing required ones
(422), and checks every response against them before sending it. It serves the shared CSV
files (../shared/data/usaspending) through search/spending_by_transaction (+ _count),
search/spending_by_award, awards/<id>, awards/last_updated, transactions, idvs/awards,
idvs/amounts/<id>, download/count, download/transactions and download/status.

What the contracts leave open follows the server code of fedspendingtransparency/
usaspending-api (each point cites its file): the 50,000-record search window, the
spending_by_award cursor (`last_record_unique_id` + `last_record_sort_value`; `page` is then
ignored), transactions sorted on one non-unique field, MM/DD/YYYY dates, a relative
`file_url`, a download ZIP holding Contracts_PrimeTransactions_*.csv and
Contracts_Subawards_*.csv (header only when empty), each with the official column list
(tests/data/official). With `download_files` set (real downloads, tests/data/real), the ZIP
holds those files' rows that the filters select, every column as the files have it, and
spending_by_transaction_count counts them.

Like the live API it orders ties in the sort key differently on every request, which is what
makes naive paging by "Transaction Amount" repeat some rows and skip others. Faults can be
switched on: 429 bursts with Retry-After, 500s, HTML error pages, slow replies, empty replies,
truncated JSON, and an error as HTTP 200 with a bare JSON string.

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
    tnum: str = "0"  # transaction_number: one modification can have 0 and 1

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.agency, self.award_id, self.mod, self.tnum)

    @property
    def transaction_key(self) -> str:
        """contract_transaction_unique_key: agency, parent agency, piid, mod, parent piid,
        transaction number."""
        return (f"{AGENCIES[self.agency][0]}_{self.parent_agency or '-NONE-'}_{self.award_id}_"
                f"{self.mod}_{self.parent_piid or '-NONE-'}_{self.tnum}")

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
        self.by_key: dict[tuple[str, str, str, str], Record] = {}
        self.as_of = "2026-01-01"
        self._next_tid = 1000

    def load(self, paths: list[Path], as_of: str) -> dict[str, int]:
        """Replace the rows with the distinct rows of `paths`; return what changed.

        Rows new or changed since the previous load get last_modified = as_of; unchanged rows
        keep theirs; rows absent from `paths` are gone (withdrawn upstream).
        """
        fresh: dict[tuple[str, str, str, str], Record] = {}
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

    def add_record(self, rec: Record) -> Record:
        """Hold one more transaction (e.g. a second transaction number of a modification)."""
        rec.tid, rec.last_modified = self._tid(), rec.last_modified or self.as_of
        self.by_key[rec.key] = rec
        self.records.append(rec)
        return rec

    def _tid(self) -> int:
        self._next_tid += 1
        return self._next_tid


@dataclass
class Faults:
    """Switchable misbehaviour. `plan` is consumed first, one fault per request."""

    plan: list[str] = field(default_factory=list)
    rate: float = 0.0  # probability of a random fault per request
    # also planned only: "bare_string" (HTTP 200 whose JSON is an error message string)
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
    # spending_by_transaction.py: the row's internal_id is the award's integer id
    out["internal_id"] = _award_number(rec.generated_id)
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

# Where the USAspending server code behind each contract lives (cited for the behaviour the
# contract documents do not pin down).
VIEWS = {
    "/api/v2/search/spending_by_transaction/":
        "usaspending_api/search/v2/views/spending_by_transaction.py",
    "/api/v2/search/spending_by_award/": "usaspending_api/search/v2/views/spending_by_award.py",
    "/api/v2/transactions/": "usaspending_api/awards/v2/views/transactions.py",
    "/api/v2/download/transactions/": "usaspending_api/download/v2/base_download_viewset.py",
}
FILE_PREFIX = "/csv_downloads/"  # the contract's relative file_url (download/transactions.md)


class ApiServer:
    """Start with `ApiServer(dataset).start()`; `url` is http://127.0.0.1:<port>.

    Every request is matched against the contracts (tests/apiserver/contracts/): a route they
    do not define is 404, a request field they do not define or of the wrong type is 400, a
    missing required one 422. Every response is checked against the contract before it is
    sent; a response that departs is recorded in `violations` and sent as a 500 instead.
    `requests` records (method, contract path, body, query) of every request served.
    """

    def __init__(self, dataset: Dataset | None = None, faults: Faults | None = None,
                 download_polls: int = 2, port: int = 0, search_window: int = SEARCH_WINDOW):
        from tests.apiserver.blueprint import contracts

        self.port = port
        self.dataset = dataset or Dataset()
        self.faults = faults or Faults()
        self.download_polls = download_polls
        self.search_window = search_window
        self.contracts = contracts()
        self.hits: dict[str, int] = {}
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        self.violations: list[str] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        # rows for the Contracts_Subawards member of downloads (SUBAWARD_COLUMNS keys)
        self.subaward_rows: list[dict[str, str]] = []
        # vehicles and orders (awards.awards_from_rows) and subaward search documents
        # (awards.subaward_hit) served by awards/<id>, idvs/* and spending_by_award
        self.awards_served: dict[str, Any] = {}
        self.subaward_hits: list[dict[str, Any]] = []
        # real download files (tests/data/real): when set, download/transactions serves
        # their rows and search/spending_by_transaction_count counts them
        self.download_files: list[Path] = []
        self.lock = threading.Lock()
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.handlers = {
            ("POST", "/api/v2/search/spending_by_transaction/"): self._spending_by_transaction,
            ("POST", "/api/v2/search/spending_by_transaction_count/"): self._transaction_count,
            ("POST", "/api/v2/search/spending_by_award/"): self._spending_by_award,
            ("GET", "/api/v2/awards/last_updated/"): self._last_updated,
            ("GET", "/api/v2/awards/{award_id}/"): self._award,
            ("POST", "/api/v2/transactions/"): self._transactions,
            ("POST", "/api/v2/idvs/awards/"): self._idv_awards,
            ("GET", "/api/v2/idvs/amounts/{award_id}/"): self._idv_amounts,
            ("POST", "/api/v2/download/count/"): self._download_count,
            ("POST", "/api/v2/download/transactions/"): self._download_start,
            ("GET", "/api/v2/download/status"): self._download_status,
        }
        documented = {(ep.method, ep.path) for ep in self.contracts.endpoints}
        undocumented = set(self.handlers) - documented
        if undocumented:
            raise RuntimeError(f"test server handlers outside the contracts: {undocumented}")

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

        async def run(request: Request) -> Response:
            path = request.url.path
            with server.lock:
                server.hits[path] = server.hits.get(path, 0) + 1
            if path.startswith(FILE_PREFIX):
                name = path[len(FILE_PREFIX):]
                if request.method != "GET" or name not in server.files:
                    return JSONResponse({"detail": "Not found."}, status_code=404)
                return Response(server.files[name], media_type="application/zip")
            found = server.contracts.endpoint(request.method, path)
            if found is None or (found[0].method, found[0].path) not in server.handlers:
                return JSONResponse({"detail": "Not found."}, status_code=404)
            ep, path_params = found
            with server.lock:
                fault = server.faults.next()
            early = await _fault_reply(fault, server.faults)
            if early is not None:
                return early
            body: Any = None
            if request.method == "POST":
                try:
                    body = json.loads(await request.body() or b"{}")
                except ValueError:
                    return JSONResponse({"detail": "JSON parse error"}, status_code=400)
            query = dict(request.query_params)
            with server.lock:
                server.requests.append((request.method, ep.path, body, query))
            refused = server._refuse(ep, body, query)
            if refused is not None:
                return JSONResponse({"detail": refused[1]}, status_code=refused[0])
            try:
                with server.lock:
                    data = server.handlers[(ep.method, ep.path)](
                        {**path_params, **query, "base": str(request.base_url).rstrip("/")},
                        body or {})
            except ApiError422 as exc:
                return JSONResponse({"detail": exc.detail}, status_code=exc.status)
            problems = server.contracts.check_response(
                ep, data, rows_subset="/search/" in ep.path)
            if problems:
                with server.lock:
                    server.violations.extend(problems)
                return JSONResponse({"detail": "response departs from the contract: "
                                     + "; ".join(problems[:3])}, status_code=500)
            if fault == "bare_string":
                # The live API has answered errors as HTTP 200 with a bare JSON string.
                return Response(json.dumps("Request could not be processed"),
                                media_type="application/json")
            payload = json.dumps(data).encode()
            if fault == "truncate":
                payload = payload[: max(1, len(payload) // 2)]
            return Response(payload, media_type="application/json")

        return Starlette(routes=[Route("/{path:path}", run, methods=["GET", "POST"])])

    def _refuse(self, ep: Any, body: Any, query: dict[str, str]) -> tuple[int, str] | None:
        """(status, detail) when the request departs from the contract, like the real
        server's TinyShield (usaspending_api/common/validator/tinyshield.py: a missing
        required field is 422; helpers.py: a wrong type is 400). The real server ignores
        fields it does not know; this one refuses them (400), so a client that sends a field
        the contract lacks is caught here rather than silently ignored there."""
        unknown = [k for k in query if k not in ep.params]
        missing = [k for k, a in ep.params.items() if a.required and k not in query
                   and "{" + k + "}" not in ep.path]
        if unknown:
            return 400, f"Unexpected query parameter(s): {', '.join(unknown)}"
        if missing:
            return 422, f"Missing value: '{missing[0]}' is a required field"
        if ep.method != "POST":
            return None
        problems = self.contracts.check_request(ep, body)
        if not problems:
            return None
        first = problems[0].split(":", 1)[1].lstrip(".")
        status = 422 if "required by the contract" in first else 400
        return status, f"Invalid request: {first}"

    # handlers (run under self.lock)
    def _spending_by_transaction(self, args: dict[str, str], body: dict[str, Any]) -> Any:
        filters = body["filters"]
        _check_dates(filters)
        fields = body["fields"]
        limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
        _check_page(limit, page)
        # spending_by_transaction.py: record_num >= ES_TRANSACTIONS_MAX_RESULT_WINDOW is 422
        if (page - 1) * limit >= self.search_window:
            raise ApiError422(f"Page #{page} of size {limit} is over the maximum result limit "
                              f"({self.search_window}). Consider using custom data downloads "
                              "to obtain large data sets.")
        sort = body.get("sort", "Transaction Amount")
        if sort not in fields:
            raise ApiError422(f"Sort value not found in fields: {sort}", 400)
        rows = [r for r in self.dataset.records if _matches(r, filters)]
        rows = _sorted(rows, sort, body.get("order", "desc"), self.faults)
        chunk = rows[(page - 1) * limit: page * limit + 1]
        return {"limit": limit, "results": [_result_row(r, fields) for r in chunk[:limit]],
                "page_metadata": _page_metadata(len(chunk), limit, page)}

    def _transaction_count(self, args: dict[str, str], body: dict[str, Any]) -> Any:
        filters = body["filters"]
        _check_dates(filters)
        if self.download_files:
            n = len(real_rows(self.download_files, filters)[1])
        else:
            n = sum(1 for r in self.dataset.records if _matches(r, filters))
        return {"results": {"contracts": n, "idvs": 0, "loans": 0, "direct_payments": 0,
                            "grants": 0, "other": 0}}

    def _awards(self) -> dict[str, list[Record]]:
        out: dict[str, list[Record]] = {}
        for r in self.dataset.records:
            out.setdefault(r.generated_id, []).append(r)
        return out

    def _spending_by_award(self, args: dict[str, str], body: dict[str, Any]) -> Any:
        """Paging as in spending_by_award.py: sorted by the sort field, then the internal
        award id; within the window by page; past it only with last_record_sort_value and
        last_record_unique_id (Elasticsearch search_after), and then `page` is ignored.
        With `subawards: true` the rows are subawards (tests/apiserver/awards.py)."""
        filters = body["filters"]
        _check_dates(filters)
        fields = body["fields"]
        limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
        _check_page(limit, page)
        sort = body.get("sort") or fields[0]
        if body.get("subawards"):
            from tests.apiserver.awards import subaward_page

            if sort != "Sub-Award Amount":
                raise ApiError422(f"sort {sort!r} is not served here" if sort in fields
                                  else f"Sort value '{sort}' not found in requested fields: "
                                  f"{fields}", 400)
            try:
                return subaward_page(self.subaward_hits, body, self.search_window)
            except ValueError as exc:
                raise ApiError422(str(exc)) from None
        if sort != "Award Amount":  # the only sort this server implements
            raise ApiError422(f"Sort value '{sort}' not found in requested fields: {fields}"
                              if sort not in fields else f"sort {sort!r} is not served here",
                              400)  # api_helper.py raise_if_sort_key_not_valid
        desc = body.get("order", "desc") == "desc"
        cursor_id, cursor_value = body.get("last_record_unique_id"), \
            body.get("last_record_sort_value")
        if (cursor_id is None) != (cursor_value is None):
            raise ApiError422("Using search_after functionality in Elasticsearch requires both "
                              "last_record_sort_value and last_record_unique_id.", 500)
        if (page - 1) * limit >= self.search_window and cursor_id is None:
            raise ApiError422(
                f"Page #{page} with limit {limit} is over the maximum result limit "
                f"{self.search_window}. Please provide the 'last_record_sort_value' and "
                "'last_record_unique_id' to paginate sequentially.")
        groups: dict[str, list[Record]] = {}
        for r in self.dataset.records:
            if _matches(r, filters):
                groups.setdefault(r.generated_id, []).append(r)
        awards = sorted(((sum((x.amount for x in rs), Decimal(0)), _award_number(gid), gid, rs)
                         for gid, rs in groups.items()),
                        key=lambda a: (a[0], a[1]), reverse=desc)
        if cursor_id is not None:
            last = (Decimal(str(cursor_value)), int(cursor_id))
            awards = [a for a in awards if ((a[0], a[1]) < last if desc else (a[0], a[1]) > last)]
            chunk = awards[: limit + 1]
            has_next = len(chunk) > limit
        else:
            chunk = awards[(page - 1) * limit: page * limit]
            has_next = len(awards) - (page - 1) * limit > limit
        results = []
        for amount, number, gid, rs in chunk[:limit]:
            values = {"Award ID": rs[0].award_id, "Recipient Name": rs[0].recipient,
                      "Award Amount": float(amount), "Awarding Agency": TOPTIER[1],
                      "Awarding Sub Agency": AGENCIES[rs[0].agency][1],
                      "Contract Award Type": TYPE_NAMES[rs[0].award_type],
                      "Start Date": min(x.action_date for x in rs),
                      "Description": rs[0].description}
            row = {f: values.get(f) for f in fields}
            row.update({"internal_id": number, "generated_internal_id": gid})
            results.append(row)
        last_id, last_value = None, None
        if chunk and has_next:  # construct_es_response: the last row served
            last_value, last_id = chunk[: limit][-1][0], chunk[: limit][-1][1]
        return {"spending_level": "awards", "limit": limit, "results": results,
                "page_metadata": {"page": page, "hasNext": has_next,
                                  "last_record_unique_id": last_id,
                                  # str(None) is "None" there too
                                  "last_record_sort_value": str(last_value)},
                "messages": []}

    def _last_updated(self, args: dict[str, str], body: Any) -> Any:
        """awards.py formats the date as MM/DD/YYYY; the contract allows "" when there is no
        award data to check against."""
        if not self.dataset.records or not self.dataset.as_of:
            return {"last_updated": ""}
        y, m, d = self.dataset.as_of[:10].split("-")
        return {"last_updated": f"{m}/{d}/{y}"}

    def _award(self, args: dict[str, str], body: Any) -> Any:
        gid = args["award_id"]
        served = self.awards_served.get(gid)
        if served is not None and served.is_idv:
            from tests.apiserver.awards import idv_json

            return idv_json(self.contracts, self.awards_served, served)
        rows = [r for r in self.dataset.records if r.generated_id == gid]
        if not rows:
            raise ApiError422("No award found with the provided id", 404)
        return award_json(self.contracts, gid, rows)

    def _transactions(self, args: dict[str, str], body: dict[str, Any]) -> Any:
        """transactions.py orders by the sort field alone (order_by(F(sort))): rows that tie
        (one modification with transaction numbers 0 and 1) come in no fixed order, so here
        they are shuffled on every request."""
        gid = body["award_id"]
        limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
        if limit > 5000:
            raise ApiError422(f"Field 'limit' value '{limit}' is above max '5000'")
        _check_page(limit, page, 5000)
        sort = body.get("sort", "action_date")
        keys = {"modification_number": lambda r: r.mod, "action_date": lambda r: r.action_date,
                "federal_action_obligation": lambda r: r.amount,
                "description": lambda r: r.description}
        rows = [r for r in self.dataset.records if r.generated_id == gid]
        random.Random(time.perf_counter_ns()).shuffle(rows)
        rows.sort(key=keys.get(sort, lambda r: r.action_date),
                  reverse=body.get("order", "desc") == "desc")
        chunk = rows[(page - 1) * limit: page * limit + 1]
        return {"results": [{
            "id": f"CONT_TX_{r.transaction_key}", "type": r.award_type,
            "type_description": TYPE_NAMES[r.award_type], "action_date": r.action_date,
            "action_type": None, "action_type_description": None, "modification_number": r.mod,
            "description": r.description, "federal_action_obligation": float(r.amount),
            "face_value_loan_guarantee": None, "original_loan_subsidy_cost": None,
        } for r in chunk[:limit]], "page_metadata": _page_metadata(len(chunk), limit, page)}

    def _children(self, idv: str) -> list[tuple[str, Record]]:
        parts = str(idv).split("_")
        piid = parts[2] if len(parts) >= 4 else ""
        return sorted({r.generated_id: r for r in self.dataset.records
                       if r.parent_piid == piid}.items())

    def _idv_awards(self, args: dict[str, str], body: dict[str, Any]) -> Any:
        limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
        _check_page(limit, page)
        kinds = ("child_idvs", "child_awards", "grandchild_awards")  # TYPE_TO_SQL_MAPPING
        if body.get("type", "child_idvs") not in kinds:
            raise ApiError422(f"Field 'type' is outside valid values {list(kinds)}", 400)
        if body["award_id"] in self.awards_served:
            from tests.apiserver.awards import idv_listing

            rows = idv_listing(self.awards_served, body["award_id"],
                               body.get("type", "child_idvs"),
                               body.get("sort", "period_of_performance_start_date"),
                               body.get("order", "desc"))
            chunk = rows[(page - 1) * limit: page * limit + 1]
            return {"results": chunk[:limit],
                    "page_metadata": _page_metadata(len(chunk), limit, page)}
        children = self._children(body["award_id"])
        chunk = children[(page - 1) * limit: page * limit + 1]
        awards = self._awards()
        return {"results": [{
            "award_id": _award_number(gid), "award_type": TYPE_NAMES[r.award_type],
            "description": r.description, "funding_agency": None,
            "awarding_agency": TOPTIER[1].upper(), "funding_agency_id": None,
            "awarding_agency_id": 1, "funding_agency_slug": None,
            "awarding_agency_slug": "department-of-homeland-security",
            "generated_unique_award_id": gid, "last_date_to_order": None,
            "obligated_amount": float(sum((x.amount for x in awards[gid]), Decimal(0))),
            "period_of_performance_current_end_date": None,
            "period_of_performance_start_date": min(x.action_date for x in awards[gid]),
            "piid": r.award_id,
        } for gid, r in chunk[:limit]], "page_metadata": _page_metadata(len(chunk), limit, page)}

    def _idv_amounts(self, args: dict[str, str], body: Any) -> Any:
        idv = args["award_id"]
        if idv in self.awards_served:
            from tests.apiserver.awards import idv_amounts

            return idv_amounts(self.contracts, self.awards_served, idv)
        children = self._children(idv)
        if not idv.startswith("CONT_IDV_") or not children:
            raise ApiError422("No IDV award found with this id", 404)
        awards = self._awards()
        total = sum((x.amount for gid, _ in children for x in awards[gid]), Decimal(0))
        data = self.contracts.skeleton("v2/idvs/amounts/award_id.md", "object")
        ep = self.contracts.endpoint("GET", f"/api/v2/idvs/amounts/{idv}/")
        for k, a in (ep[0].responses[0].children if ep else {}).items():
            data[k] = None if a.nullable else ([] if a.type.startswith("array") else 0)
        data.update({"award_id": _award_number(idv), "generated_unique_award_id": idv,
                     "child_award_count": len(children),
                     "child_award_total_obligation": float(total)})
        return data

    def _download_count(self, args: dict[str, str], body: dict[str, Any]) -> Any:
        filters = body["filters"]
        n = sum(1 for r in self.dataset.records if _matches(r, filters))
        return {"calculated_transaction_count": n, "maximum_transaction_limit": 500000,
                "transaction_rows_gt_limit": n > 500000, "calculated_count": n,
                "spending_level": body.get("spending_level", "transactions"),
                "maximum_limit": 500000, "rows_gt_limit": n > 500000, "messages": []}

    def _download_start(self, args: dict[str, str], body: dict[str, Any]) -> Any:
        """As base_download_viewset.py: file_url is what get_file_path gives (relative here,
        as in the contract's example), and status_url names the host the server was
        configured with (_get_status_url: http://localhost:8000 on a local deployment), not
        necessarily the one asked."""
        filters = body["filters"]
        _check_dates(filters)
        rows = [r for r in self.dataset.records if _matches(r, filters)]
        stamp = time.strftime("%Y-%m-%d_H%HM%MS%S")
        name = f"PrimeTransactionsAndSubawards_{stamp}{len(self.jobs) + 1:06d}.zip"
        self.jobs[name] = {"polls": 0, "rows": rows, "stamp": stamp, "filters": filters}
        return {"status_url": f"http://localhost:8000/api/v2/download/status?file_name={name}",
                "file_name": name, "file_url": f"{FILE_PREFIX}{name}",
                "download_request": {"filters": filters, "limit": 500000,
                                     "download_types": ["elasticsearch_transactions",
                                                        "elasticsearch_sub_awards"],
                                     "request_type": "award"}}

    def _download_status(self, args: dict[str, str], body: Any) -> Any:
        name = args.get("file_name", "")
        job = self.jobs.get(name)
        if job is None:
            raise ApiError422(f"Download job with filename {name} does not exist.", 404)
        job["polls"] += 1
        done = job["polls"] > self.download_polls
        if done and name not in self.files:
            self.files[name] = real_download_zip(
                self.download_files, job["filters"], job["stamp"], self.subaward_rows) \
                if self.download_files else \
                download_zip(job["rows"], job["stamp"], self.subaward_rows)
        return {"status": "finished" if done else "running", "message": None,
                "file_name": name, "file_url": f"{FILE_PREFIX}{name}",
                "total_size": len(self.files.get(name, b"")) / 1000 if done else None,
                "total_columns": len(DOWNLOAD_COLUMNS) if done else None,
                "total_rows": (len(real_rows(self.download_files, job["filters"])[1])
                               if self.download_files else len(job["rows"])) if done else None,
                "seconds_elapsed": "0.1"}


async def _fault_reply(fault: str | None, faults: Faults) -> Any:
    from starlette.responses import JSONResponse, Response

    if fault == "slow":
        await asyncio.sleep(faults.slow_seconds)
    elif fault == "429":
        return JSONResponse({"detail": "Request was throttled."}, status_code=429,
                            headers={"Retry-After": faults.retry_after})
    elif fault == "500":
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500)
    elif fault == "html":
        return Response("<html><body><h1>502 Bad Gateway</h1></body></html>",
                        status_code=200, media_type="text/html")
    elif fault == "empty":
        return Response(b"", status_code=200, media_type="application/json")
    return None


def _page_metadata(results_plus_one: int, limit: int, page: int) -> dict[str, Any]:
    """get_simple_pagination_metadata (usaspending_api/common/helpers/generic_helper.py)."""
    has_next = results_plus_one > limit
    return {"page": page, "next": page + 1 if has_next else None,
            "previous": page - 1 if page > 1 else None, "hasNext": has_next,
            "hasPrevious": page > 1}


def _check_page(limit: int, page: int, max_limit: int = PAGE_LIMIT) -> None:
    """PAGINATION (usaspending_api/common/validator/pagination.py): limit 1..100, page ≥ 1."""
    if limit > max_limit:
        raise ApiError422(f"Field 'limit' value '{limit}' is above max '{max_limit}'")
    if limit < 1:
        raise ApiError422(f"Field 'limit' value '{limit}' is below min '1'")
    if page < 1:
        raise ApiError422(f"Field 'page' value '{page}' is below min '1'")


def _check_dates(filters: dict[str, Any]) -> None:
    """award_filter.py: time_period dates are 'date' values at or after API_SEARCH_MIN_DATE,
    whatever the date_type."""
    for p in filters.get("time_period") or []:
        for key in ("start_date", "end_date"):
            value = p.get(key, "")
            try:
                date.fromisoformat(value)
            except (TypeError, ValueError):
                raise ApiError422(f"Invalid value in 'filters|time_period|{key}'. '{value}' "
                                  "is not a valid type (date)", 400) from None
            if value < "2007-10-01":
                raise ApiError422(f"Field 'filters|time_period|{key}' value '{value}' is below "
                                  "min '2007-10-01'")


def _award_number(gid: str) -> int:
    """The internal (surrogate) award id: stable per generated id."""
    import zlib

    return zlib.crc32(gid.encode()) % 10**8


# The members' headers: the official column lists (tests/data/official, from
# download_column_historical_lookups.py): query_paths["transaction_search"]["d1"] (297) and
# query_paths["subaward_search"]["d1"] (118). The shared rows fill the columns they know.
OFFICIAL = Path(__file__).resolve().parents[1] / "data" / "official"
DOWNLOAD_COLUMNS = (OFFICIAL / "transaction_contracts.txt").read_text(encoding="utf-8").split()


SUBAWARD_COLUMNS = (OFFICIAL / "subaward_contracts.txt").read_text(encoding="utf-8").split()


def download_zip(rows: list[Record], stamp: str = "2026-01-01_H00M00S00",
                 subaward_rows: list[dict[str, str]] | None = None) -> bytes:
    """The ZIP download/transactions serves. Its download_types are
    elasticsearch_transactions and elasticsearch_sub_awards
    (usaspending_api/download/v2/views.py, RowLimitedTransactionDownloadViewSet), so it holds a
    Contracts_PrimeTransactions file and a Contracts_Subawards file (download_name in
    usaspending_api/download/lookups.py), the latter header only when there are none."""
    text = io.StringIO()
    w = csv.DictWriter(text, DOWNLOAD_COLUMNS, restval="", lineterminator="\n")
    w.writeheader()
    for r in sorted(rows, key=lambda r: r.tid):
        code = AGENCIES[r.agency][0]
        w.writerow(dict(zip([
            "contract_transaction_unique_key", "contract_award_unique_key", "award_id_piid",
            "modification_number", "transaction_number", "parent_award_agency_id",
            "parent_award_id_piid", "action_date", "federal_action_obligation",
            "awarding_agency_code", "awarding_agency_name", "awarding_sub_agency_code",
            "awarding_sub_agency_name", "recipient_name", "product_or_service_code_description",
            "naics_description", "award_type_code", "award_type", "transaction_description",
            "last_modified_date", "usaspending_permalink"], [
            r.transaction_key, r.generated_id, r.award_id, r.mod, r.tnum,
            r.parent_agency or "", r.parent_piid or "", r.action_date, str(r.amount),
            TOPTIER[0], TOPTIER[1], code, AGENCIES[r.agency][1], r.recipient, r.psc, r.naics,
            r.award_type, TYPE_NAMES[r.award_type], r.description, r.last_modified,
            f"https://www.usaspending.gov/award/{r.generated_id}/"], strict=True)))
    return zip_members(text.getvalue(), stamp, subaward_rows)


def real_download_zip(files: list[Path], filters: dict[str, Any],
                      stamp: str = "2026-01-01_H00M00S00",
                      subaward_rows: list[dict[str, str]] | None = None) -> bytes:
    """The ZIP for real download files (tests/data/real): their rows that the filters select,
    every column as the files have it."""
    header, rows = real_rows(files, filters)
    text = io.StringIO()
    w = csv.DictWriter(text, header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return zip_members(text.getvalue(), stamp, subaward_rows)


def real_rows(files: list[Path], filters: dict[str, Any]) -> tuple[list[str], list[dict]]:
    """Rows of real Contracts_PrimeTransactions files that the filters select (agency by
    name, award type, action or last-modified date, keyword), and the files' one header."""
    header: list[str] = []
    out = []
    for path in files:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if header and reader.fieldnames != header:
                raise ValueError(f"{path}: another header than {files[0]}")
            header = list(reader.fieldnames or [])
            out.extend(r for r in reader if _real_matches(r, filters))
    return header, out


def _real_matches(row: dict[str, str], filters: dict[str, Any]) -> bool:
    codes = filters.get("award_type_codes")
    if codes is not None and row["award_type_code"] not in codes:
        return False  # an IDV's rows carry no contract award type
    agencies = [a for a in filters.get("agencies") or [] if a.get("type") == "awarding"]
    if agencies and not any(
            (a.get("tier") == "subtier" and a.get("name") == row["awarding_sub_agency_name"])
            or (a.get("tier") == "toptier" and a.get("name") == row["awarding_agency_name"])
            for a in agencies):
        return False
    periods = filters.get("time_period")
    if periods and not any(
            p["start_date"] <= row[p.get("date_type", "action_date")][:10] <= p["end_date"]
            for p in periods):
        return False
    keywords = filters.get("keywords")
    text = " ".join(row[c] for c in ("transaction_description", "recipient_name",
                                     "product_or_service_code_description",
                                     "naics_description", "award_id_piid")).upper()
    return not keywords or any(k.upper() in text for k in keywords)


def zip_members(primes: str, stamp: str,
                subaward_rows: list[dict[str, str]] | None = None) -> bytes:
    """A Contracts_PrimeTransactions member and a Contracts_Subawards one (header only when
    there are none), zipped as download/transactions serves them."""
    subawards = io.StringIO()
    sub = csv.DictWriter(subawards, SUBAWARD_COLUMNS, lineterminator="\n")
    sub.writeheader()
    sub.writerows(subaward_rows or [])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"Contracts_PrimeTransactions_{stamp}_1.csv", primes)
        z.writestr(f"Contracts_Subawards_{stamp}_1.csv", subawards.getvalue())
    return buf.getvalue()


def award_json(contracts: Any, gid: str, rows: list[Record]) -> dict[str, Any]:
    """awards/<id> as the contract's ContractResponse: every required field (null where the
    contract allows, else empty), then what the rows tell. The shared rows hold no ceiling,
    so base_and_all_options is 1.5 × obligations here (a test value, not data)."""
    from tests.apiserver.awards import profile_parts

    file = "v2/awards/award_id.md"
    total = sum((r.amount for r in rows), Decimal(0))
    first = min(rows, key=lambda r: r.action_date)
    latest = max(rows, key=lambda r: (r.action_date, r.mod))
    code, name = AGENCIES[first.agency]
    data = contracts.skeleton(file, "ContractResponse")
    parent = None
    if first.parent_piid:
        parent = {**contracts.skeleton(file, "ParentDetails"),
                  "agency_id": 1, "agency_name": TOPTIER[1],
                  "sub_agency_id": first.parent_agency, "sub_agency_name": name,
                  "award_id": _award_number(f"CONT_IDV_{first.parent_piid}"),
                  "generated_unique_award_id": f"CONT_IDV_{first.parent_piid}_"
                                               f"{first.parent_agency}",
                  "idv_type_description": "IDC", "multiple_or_single_aw_desc": "SINGLE AWARD",
                  "piid": first.parent_piid}
    contract_data = {**contracts.skeleton(file, "ContractDetails"),
                     "type_of_contract_pricing": "J",
                     "type_of_contract_pricing_description": "FIRM FIXED PRICE",
                     "extent_competed": "A",
                     "extent_competed_description": "FULL AND OPEN COMPETITION",
                     "number_of_offers_received": "3",
                     "product_or_service_description": latest.psc,
                     "naics_description": latest.naics}
    agency = {**contracts.skeleton(file, "Agency"), "id": 1, "has_agency_page": True,
              "toptier_agency": {**contracts.skeleton(file, "TopTierAgency"),
                                 "name": TOPTIER[1], "code": TOPTIER[0],
                                 "abbreviation": "DHS"},
              "subtier_agency": {"name": name, "code": code, "abbreviation": first.agency}}
    data.update({
        "id": _award_number(gid), "generated_unique_award_id": gid, "piid": first.award_id,
        "category": "contract", "type": first.award_type,
        "type_description": TYPE_NAMES[first.award_type], "description": first.description,
        "total_obligation": float(total), "subaward_count": 0,
        "date_signed": first.action_date, "base_exercised_options": float(total),
        "base_and_all_options": float((total * Decimal("1.5")).quantize(Decimal("0.01"))),
        "parent_award": parent, "latest_transaction_contract_data": contract_data,
        "awarding_agency": agency,
        **profile_parts(contracts, latest.recipient, {
            "start_date": first.action_date, "end_date": latest.action_date,
            "last_modified_date": f"{latest.last_modified} 00:00:00",
            "potential_end_date": f"{latest.action_date} 00:00:00"}),
    })
    return data
