"""A client for the USAspending.gov API v2: polite, retrying, and strict about shapes.

Request and response shapes follow the official contracts in fedspendingtransparency/
usaspending-api, folder usaspending_api/api_contracts/contracts/v2/ (each method names its
file). The client never guesses: a reply that is not the documented shape (an HTML error page,
truncated JSON, a missing field) raises ApiError naming the endpoint and the problem, so a
sync can never mistake a broken page for "no more rows".

Transient failures (timeouts, dropped connections, empty replies, 429, 5xx, and bodies that
are cut off) are retried with exponential backoff and full jitter; a 429's Retry-After is
honoured; each wait can be shown as a countdown (`on_wait`). Failures that waiting does not
cure fail fast: a host name that does not resolve stops at once, a refused connection after
`connect_retries` short tries. Requests are spaced to a polite rate (CONTRACTWATCH_API_RATE,
default 4 per second): the real API's limit is undocumented and users report empty replies
after ~1,000 fast calls.

Where the server code behaves in ways the contracts leave open, the client follows the code:
spending_by_award pages past its first page with the `last_record_*` cursor (the server
ignores `page` then), transactions of one award can tie on every sort key, `last_updated` can
be "", `file_url` can be a path on the API host, and an error can arrive as HTTP 200 whose JSON
is a bare string.
"""

from __future__ import annotations

import json
import math
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

DEFAULT_URL = "https://api.usaspending.gov"
CONTRACT_TYPES = ["A", "B", "C", "D"]  # BPA call, purchase order, delivery order, definitive
PAGE_LIMIT = 100  # search endpoints reject limit > 100
SEARCH_WINDOW = 50_000  # rows before the page; at or past this a page is refused (422)
DOWNLOAD_LIMIT = 500_000  # download/transactions row cap (download/count)
EARLIEST_SEARCH_DATE = "2007-10-01"  # searchable from FY2008 only (search_filters.md)

# Fields requested from search/spending_by_transaction (FieldNameObject in the contract).
TRANSACTION_FIELDS = [
    "Award ID", "Mod", "Recipient Name", "Recipient UEI", "Action Date", "Transaction Amount",
    "Transaction Description", "Awarding Agency", "Awarding Sub Agency", "Funding Sub Agency",
    "Award Type", "PSC", "NAICS", "internal_id", "generated_internal_id",
]


# Fields requested from search/spending_by_award with `subawards: true` (the "Contract
# Subawards" list of SpendingByAwardFields). The rows carry no report id, report month or
# report date, no subawardee parent and no DUNS: those columns stay empty when stored.
SUBAWARD_FIELDS = [
    "Sub-Award ID", "Sub-Awardee Name", "Sub-Recipient UEI", "Sub-Award Date",
    "Sub-Award Amount", "Sub-Award Description", "Prime Award ID", "Prime Recipient Name",
    "Awarding Agency", "Awarding Sub Agency",
]
IDV_LISTINGS = ("child_awards", "child_idvs", "grandchild_awards")  # idvs/awards `type`


class ApiError(Exception):
    """The API failed or answered outside its documented shape; names endpoint and problem."""

    def __init__(self, endpoint: str, problem: str, status: int | None = None):
        self.endpoint = endpoint
        self.problem = problem
        self.status = status
        where = f"{endpoint} (HTTP {status})" if status else endpoint
        super().__init__(f"USAspending API {where}: {problem}")


class _Transient(Exception):
    """A failure worth retrying; carries the wait the server asked for, if any."""

    def __init__(self, problem: str, status: int | None = None,
                 retry_after: float | None = None, connect: bool = False):
        super().__init__(problem)
        self.problem = problem
        self.status = status
        self.retry_after = retry_after
        self.connect = connect  # no connection was made (refused, unreachable)


@dataclass
class ClientStats:
    requests: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    waited_seconds: float = 0.0  # time spent in backoff (not in rate spacing)
    by_endpoint: dict[str, int] = field(default_factory=dict)


class RateLimiter:
    """Space requests at least 1/rate seconds apart (thread-safe)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


class UsaspendingClient:
    """One method per documented endpoint; see the module docstring for the failure rules."""

    def __init__(self, base_url: str = DEFAULT_URL, *, rate_per_second: float = 4.0,
                 timeout: float = 60.0, max_retries: int = 6, backoff_base: float = 1.0,
                 backoff_cap: float = 60.0, max_retry_after: float = 300.0,
                 poll_interval: float = 5.0, user_agent: str | None = None,
                 connect_timeout: float = 10.0, connect_retries: int = 2,
                 on_wait: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.connect_retries = connect_retries
        self.on_wait = on_wait
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.poll_interval = poll_interval
        self.limiter = RateLimiter(rate_per_second)
        self.stats = ClientStats()
        self._sleep = sleep
        from contractwatch import __version__

        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, connect_timeout)),
            headers={"User-Agent": user_agent or f"contractwatch/{__version__}",
                     "Accept": "application/json"},
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> UsaspendingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transport -----------------------------------------------------------------------
    def request_json(self, method: str, path: str, body: dict[str, Any] | None = None,
                     params: dict[str, Any] | None = None) -> Any:
        """Send with retries; return parsed JSON or raise ApiError."""
        endpoint = path
        attempt = 0
        while True:
            self.limiter.wait()
            self.stats.requests += 1
            self.stats.by_endpoint[endpoint] = self.stats.by_endpoint.get(endpoint, 0) + 1
            try:
                return self._once(method, path, body, params)
            except _Transient as exc:
                attempt += 1
                self._retry_or_raise(endpoint, exc, attempt)

    def _retry_or_raise(self, endpoint: str, exc: _Transient, attempt: int) -> None:
        """Wait before try `attempt + 1`, or raise when the failure has had its tries."""
        limit = self.connect_retries if exc.connect else self.max_retries
        if attempt > limit:
            if exc.connect:
                raise ApiError(endpoint, f"cannot connect to {self.base_url}: {exc.problem} "
                               f"(tried {attempt} times; is the network up and --api-url "
                               "right?)") from None
            raise ApiError(endpoint, f"{exc.problem} (gave up after {attempt} tries)",
                           exc.status) from None
        delay = self._backoff(attempt, exc.retry_after)
        if exc.connect:  # a refused connection is not cured by a long wait
            delay = min(delay, float(attempt))
        self.stats.retries += 1
        self.stats.waited_seconds += delay
        self._countdown(delay, f"{endpoint}: {exc.problem}; retrying in {{}} s "
                               f"(try {attempt + 1} of {limit + 1})")

    def _countdown(self, delay: float, what: str) -> None:
        """Sleep `delay` seconds, telling `on_wait` once a second how long is left (`what`
        has a {} for the seconds)."""
        if self.on_wait is None:
            self._sleep(delay)
            return
        left = delay
        while left > 0:
            self.on_wait(what.format(math.ceil(left)))
            step = min(1.0, left)
            self._sleep(step)
            left -= step

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        # Full jitter: uniform in [0, min(cap, base * 2^attempt)].
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))

    def _once(self, method: str, path: str, body: dict[str, Any] | None,
              params: dict[str, Any] | None) -> Any:
        try:
            resp = self._http.request(method, path, json=body, params=params)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise self._network_failure(path, exc) from None
        status = resp.status_code
        if status == 429:
            raise _Transient("rate limited (429)", status, _retry_after(resp))
        if status >= 500:
            raise _Transient(f"server error: {_snippet(resp.text)}", status,
                             _retry_after(resp) if status == 503 else None)
        if status >= 400:
            raise ApiError(path, _error_detail(resp), status)
        text = resp.text
        if not text.strip():
            raise _Transient("empty reply", status)
        ctype = resp.headers.get("content-type", "")
        if "json" not in ctype:
            # An HTML error page from a proxy is transient; anything else is a wrong shape.
            if "html" in ctype or text.lstrip().startswith("<"):
                raise _Transient(f"HTML page instead of JSON: {_snippet(text)}", status)
            raise ApiError(path, f"not JSON (content-type {ctype or 'missing'}): "
                           f"{_snippet(text)}", status)
        try:
            # Exact money: amounts become Decimals, never binary floats.
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise _Transient(f"truncated or invalid JSON ({exc.msg} at byte {exc.pos} of "
                             f"{len(text)})", status) from None
        if isinstance(data, str):
            # The API can answer an error as HTTP 200 whose body is a bare JSON string.
            raise ApiError(path, f"the API answered with an error message: {_snippet(data)}",
                           status)
        return data

    def _network_failure(self, path: str, exc: Exception) -> Exception:
        """An ApiError now when the host name does not resolve (retrying will not help);
        otherwise a transient failure, marked `connect` when no connection was made."""
        from urllib.parse import urlsplit

        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if _caused_by(exc, socket.gaierror):
            host = urlsplit(self.base_url).hostname or self.base_url
            return ApiError(path, f"cannot resolve the host name {host!r} (no network, or a "
                            "wrong --api-url / CONTRACTWATCH_API_URL)")
        return _Transient(text, connect=isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout))

    # ---- endpoints -----------------------------------------------------------------------
    def spending_by_transaction(self, filters: dict[str, Any], *, page: int = 1,
                                limit: int = PAGE_LIMIT, sort: str = "Transaction Amount",
                                order: str = "desc",
                                fields: list[str] | None = None) -> dict[str, Any]:
        """One page of transactions (contracts/v2/search/spending_by_transaction.md).

        Sorted by a non-unique key, pages over ties repeat and skip rows; use
        `contractwatch.sync` windows (each served whole on one page) for complete pulls.
        """
        path = "/api/v2/search/spending_by_transaction/"
        if limit > PAGE_LIMIT:
            raise ValueError(f"limit {limit} is above the API's maximum of {PAGE_LIMIT}")
        if (page - 1) * limit >= SEARCH_WINDOW:
            raise ValueError(f"page {page} × limit {limit} passes the {SEARCH_WINDOW:,}-row "
                             "search window; split the query into smaller date windows")
        body = {"filters": filters, "fields": fields or TRANSACTION_FIELDS, "page": page,
                "limit": limit, "sort": sort, "order": order}
        data = self.request_json("POST", path, body)
        _require(path, data, {"results": list, "page_metadata": dict})
        _require(path + " page_metadata", data["page_metadata"], {"page": int, "hasNext": bool})
        for i, row in enumerate(data["results"]):
            if not isinstance(row, dict):
                raise ApiError(path, f"result {i} is not an object")
            missing = [f for f in ("Award ID", "Mod", "Action Date", "Transaction Amount")
                       if f not in row]
            if missing:
                raise ApiError(path, f"result {i} lacks {', '.join(missing)}")
        if len(data["results"]) > limit:
            raise ApiError(path, f"{len(data['results'])} results on a page of {limit}")
        return data

    def spending_by_transaction_count(self, filters: dict[str, Any]) -> int:
        """Contract transactions matching filters
        (contracts/v2/search/spending_by_transaction_count.md: results.contracts)."""
        path = "/api/v2/search/spending_by_transaction_count/"
        data = self.request_json("POST", path, {"filters": filters})
        _require(path, data, {"results": dict})
        _require(path + " results", data["results"], {"contracts": int})
        return int(data["results"]["contracts"])

    def spending_by_award(self, filters: dict[str, Any], fields: list[str], *,
                          sort: str = "Award Amount", order: str = "desc",
                          limit: int = PAGE_LIMIT) -> Iterator[dict[str, Any]]:
        """Every award matching filters (contracts/v2/search/spending_by_award.md).

        After the first page it follows the cursor in page_metadata (`last_record_unique_id`,
        `last_record_sort_value`): the server sorts by the sort field and then the award's
        internal id, so the cursor never repeats or skips an award, works past the
        50,000-record window where `page` is refused, and makes the server ignore `page`
        (search/v2/views/spending_by_award.py).
        """
        seen: set[Any] = set()
        for page in self.spending_by_award_pages(filters, fields, sort=sort, order=order,
                                                 limit=limit):
            for row in page:
                key = row.get("internal_id")
                if key is not None and key in seen:
                    raise ApiError("/api/v2/search/spending_by_award/",
                                   f"award {row.get('generated_internal_id')} served twice "
                                   "while paging")
                seen.add(key)
                yield row

    def spending_by_award_pages(self, filters: dict[str, Any], fields: list[str], *,
                                sort: str, order: str = "desc", limit: int = PAGE_LIMIT,
                                subawards: bool = False) -> Iterator[list[dict[str, Any]]]:
        """The pages of spending_by_award: the first by `page`, the rest by the cursor.

        With `subawards` the rows are subawards (SUBAWARD_FIELDS), `internal_id` is the
        subaward number (not unique: re-filed reports repeat it) and the server breaks ties
        in the sort field by the prime award's id only, so the cursor can pass over
        subawards of one prime that tie on the sort value at a page boundary
        (get_elastic_sort_by_fields, construct_es_response); `contractwatch.sync` re-asks
        such primes.
        """
        path = "/api/v2/search/spending_by_award/"
        if limit > PAGE_LIMIT:
            raise ValueError(f"limit {limit} is above the API's maximum of {PAGE_LIMIT}")
        if sort not in fields:  # the server refuses it (raise_if_sort_key_not_valid)
            raise ValueError(f"sort {sort!r} must be one of the requested fields {fields}")
        cursor: dict[str, Any] = {}
        while True:
            body: dict[str, Any] = {"filters": filters, "fields": fields, "limit": limit,
                                    "sort": sort, "order": order, "page": 1,
                                    "subawards": subawards, **cursor}
            data = self.request_json("POST", path, body)
            _require(path, data, {"results": list, "page_metadata": dict})
            _require(path + " page_metadata", data["page_metadata"], {"hasNext": bool})
            for i, row in enumerate(data["results"]):
                if not isinstance(row, dict):
                    raise ApiError(path, f"result {i} is not an object")
                if subawards and not row.get("prime_award_generated_internal_id"):
                    raise ApiError(path, f"subaward result {i} names no prime award "
                                   "(prime_award_generated_internal_id)")
            if len(data["results"]) > limit:
                raise ApiError(path, f"{len(data['results'])} results on a page of {limit}")
            yield data["results"]
            meta = data["page_metadata"]
            if not meta["hasNext"]:
                return
            last_id, last_value = meta.get("last_record_unique_id"), \
                meta.get("last_record_sort_value")
            if not isinstance(last_id, int) or last_value in (None, "None"):
                raise ApiError(path, "page_metadata has more pages but no usable "
                               "last_record_unique_id / last_record_sort_value")
            cursor = {"last_record_unique_id": last_id,
                      "last_record_sort_value": str(last_value)}

    def award(self, generated_award_id: str) -> dict[str, Any]:
        """An award's profile: ceiling, parent, recipient parent, pricing
        (contracts/v2/awards/award_id.md)."""
        from urllib.parse import quote

        path = f"/api/v2/awards/{quote(generated_award_id, safe='')}/"
        data = self.request_json("GET", path)
        _require(path, data, {"generated_unique_award_id": str})
        return data

    def transactions(self, generated_award_id: str, *, limit: int = 5000,
                     max_rounds: int = 30) -> list[dict[str, Any]]:
        """An award's transaction history, each transaction once (contracts/v2/transactions.md).

        No sort key the contract offers is unique within an award: one modification can have
        transaction numbers 0 and 1, and the server orders ties arbitrarily on each request
        (awards/v2/views/transactions.py sorts by the one field). One page of 5,000 holds
        almost every award whole. When there are more pages, rows are told apart by their
        `id`, the number of rows is known from the pages' lengths, and the pages either side
        of a boundary inside a run of ties are asked again until every row has been seen.
        """
        path = "/api/v2/transactions/"
        pages: dict[int, list[dict[str, Any]]] = {}
        page = 1
        while True:
            pages[page], has_next = self._transactions_page(path, generated_award_id, page,
                                                            limit)
            if not has_next:
                break
            page += 1
        total = sum(len(rows) for rows in pages.values())
        seen: dict[str, dict[str, Any]] = {}
        for rows in pages.values():
            for row in rows:
                seen.setdefault(str(row.get("id")), row)
        rounds = 0
        while len(seen) < total:
            rounds += 1
            if rounds > max_rounds:
                raise ApiError(path, f"{generated_award_id}: the pages served {len(seen)} of "
                               f"{total} transactions; ties in the sort kept hiding the rest")
            for p in _pages_at_tied_boundaries(pages):
                rows, _ = self._transactions_page(path, generated_award_id, p, limit)
                for row in rows:
                    seen.setdefault(str(row.get("id")), row)
        return sorted(seen.values(), key=lambda r: (str(r.get("modification_number") or ""),
                                                    str(r.get("action_date") or ""),
                                                    str(r.get("id"))))

    def _transactions_page(self, path: str, award_id: str, page: int,
                           limit: int) -> tuple[list[dict[str, Any]], bool]:
        data = self.request_json("POST", path, {
            "award_id": award_id, "page": page, "limit": limit,
            "sort": "modification_number", "order": "asc"})
        _require(path, data, {"results": list, "page_metadata": dict})
        for i, row in enumerate(data["results"]):
            if not isinstance(row, dict) or not row.get("id"):
                raise ApiError(path, f"result {i} has no transaction id")
        return data["results"], bool(data["page_metadata"].get("hasNext"))

    def idv_awards(self, idv_id: str, *, kind: str = "child_awards",
                   limit: int = PAGE_LIMIT) -> list[dict[str, Any]]:
        """A vehicle's child awards, child IDVs or grandchild awards (orders under its child
        IDVs), all pages (contracts/v2/idvs/awards.md).

        The server orders by the sort column and then the award's id
        (idvs/v2/views/awards.py), so paging by `page` neither repeats nor skips; each award
        is still checked to arrive once. `limit` is at most 100 (pagination.py).
        """
        path = "/api/v2/idvs/awards/"
        if kind not in IDV_LISTINGS:
            raise ValueError(f"type {kind!r} is not one of {IDV_LISTINGS}")
        if limit > PAGE_LIMIT:
            raise ValueError(f"limit {limit} is above the API's maximum of {PAGE_LIMIT}")
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        page = 1
        while True:
            data = self.request_json("POST", path, {
                "award_id": idv_id, "type": kind, "page": page, "limit": limit,
                "sort": "piid", "order": "asc"})
            _require(path, data, {"results": list, "page_metadata": dict})
            _require(path + " page_metadata", data["page_metadata"], {"hasNext": bool})
            for i, row in enumerate(data["results"]):
                if not isinstance(row, dict) or not isinstance(
                        row.get("generated_unique_award_id"), str):
                    raise ApiError(path, f"result {i} has no generated_unique_award_id")
                gid = row["generated_unique_award_id"]
                if gid in seen:
                    raise ApiError(path, f"{gid} served twice while paging {kind} of {idv_id}")
                seen.add(gid)
                out.append(row)
            if not data["page_metadata"]["hasNext"]:
                return out
            page += 1

    def idv_amounts(self, idv_id: str) -> dict[str, Any]:
        """Counts and totals of a vehicle's orders (contracts/v2/idvs/amounts/award_id.md)."""
        from urllib.parse import quote

        path = f"/api/v2/idvs/amounts/{quote(idv_id, safe='')}/"
        data = self.request_json("GET", path)
        _require(path, data, {"generated_unique_award_id": str, "child_award_count": int})
        return data

    def last_updated(self) -> str | None:
        """When award data was last loaded, as YYYY-MM-DD, or None when the API has no date
        (contracts/v2/awards/last_updated.md: "" when there is no award data; the server
        answers MM/DD/YYYY)."""
        path = "/api/v2/awards/last_updated/"
        data = self.request_json("GET", path)
        _require(path, data, {"last_updated": str})
        if not data["last_updated"].strip():
            return None
        return _iso_date(path, data["last_updated"])

    def download_count(self, filters: dict[str, Any]) -> int:
        """Rows a transaction download would hold (contracts/v2/download/count.md)."""
        path = "/api/v2/download/count/"
        data = self.request_json("POST", path, {"filters": filters,
                                                "spending_level": "transactions"})
        _require(path, data, {"calculated_transaction_count": int})
        return int(data["calculated_transaction_count"])

    def download_transactions(self, filters: dict[str, Any], dest: Any, *,
                              timeout: float = 3600.0) -> dict[str, Any]:
        """Start a transaction download, poll it, save the ZIP to `dest`; return the status.

        Contracts: v2/download/transactions.md (start: file_name, status_url, file_url),
        v2/download/status.md (poll until status is finished or failed).
        """
        path = "/api/v2/download/transactions/"
        start = self.request_json("POST", path, {"filters": filters, "file_format": "csv"})
        _require(path, start, {"file_name": str, "file_url": str})
        status_path = "/api/v2/download/status"  # the contract's path, no trailing slash
        deadline = time.monotonic() + timeout
        while True:
            status = self.request_json("GET", status_path,
                                       params={"file_name": start["file_name"]})
            _require(status_path, status, {"status": str})
            state = status["status"]
            if state == "finished":
                break
            if state == "failed":
                raise ApiError(status_path, f"download {start['file_name']} failed: "
                               f"{status.get('message') or 'no message'}")
            if state not in ("ready", "running"):
                raise ApiError(status_path, f"unknown download status {state!r}")
            if time.monotonic() > deadline:
                raise ApiError(status_path, f"download {start['file_name']} not finished "
                               f"after {timeout:.0f} s")
            self._sleep(self.poll_interval)
        # file_url may be a path on the API host (the contract's example is one)
        url = _absolute(self.base_url, status.get("file_url") or start["file_url"])
        self._fetch_file(url, dest)
        return status

    def _fetch_file(self, url: str, dest: Any) -> None:
        """Stream a file to `dest` (retrying), refusing anything that is not a ZIP."""
        from pathlib import Path

        dest = Path(dest)
        tmp = dest.with_name(dest.name + ".part")
        attempt = 0
        while True:
            self.limiter.wait()
            self.stats.requests += 1
            try:
                with self._http.stream("GET", url) as resp:
                    if resp.status_code == 429 or resp.status_code >= 500:
                        raise _Transient(f"HTTP {resp.status_code}", resp.status_code,
                                         _retry_after(resp))
                    if resp.status_code >= 400:
                        raise ApiError(url, f"file download refused (HTTP {resp.status_code})")
                    expected = resp.headers.get("content-length")
                    with open(tmp, "wb") as fh:
                        for chunk in resp.iter_bytes(1 << 20):
                            fh.write(chunk)
                size = tmp.stat().st_size
                if expected is not None and size != int(expected):
                    raise _Transient(f"file cut short ({size} of {expected} bytes)")
                with open(tmp, "rb") as fh:
                    if fh.read(4) != b"PK\x03\x04":  # an error page or an empty reply
                        raise _Transient("downloaded file is not a ZIP archive")
                tmp.replace(dest)
                return
            except (httpx.TimeoutException, httpx.NetworkError,
                    httpx.RemoteProtocolError) as exc:
                failure = self._network_failure(url, exc)
                if isinstance(failure, ApiError):
                    raise failure from None
            except _Transient as exc:
                failure = exc
            attempt += 1
            self._retry_or_raise(url, failure, attempt)


# ---- helpers ------------------------------------------------------------------------------

def agency_filter(name: str) -> list[dict[str, str]]:
    """The awarding sub-tier agency filter (AgencyObject in the search contracts)."""
    return [{"type": "awarding", "tier": "subtier", "name": name}]


def _require(where: str, data: Any, fields: dict[str, type]) -> None:
    if not isinstance(data, dict):
        raise ApiError(where, f"expected a JSON object, got {type(data).__name__}")
    for name, kind in fields.items():
        if name not in data:
            raise ApiError(where, f"response lacks the documented field {name!r}")
        value = data[name]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            raise ApiError(where, f"field {name!r} is {type(value).__name__}, "
                           f"expected {kind.__name__}")


def _pages_at_tied_boundaries(pages: dict[int, list[dict[str, Any]]]) -> list[int]:
    """Pages on either side of a boundary that falls inside a run of equal sort keys."""
    out: set[int] = set()
    numbers = sorted(pages)
    for a, b in zip(numbers, numbers[1:], strict=False):
        if pages[a] and pages[b] and \
                pages[a][-1].get("modification_number") == pages[b][0].get("modification_number"):
            out.update((a, b))
    return sorted(out) or numbers


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _absolute(base_url: str, url: str) -> str:
    from urllib.parse import urljoin

    return urljoin(base_url + "/", url)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime as dt

    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _error_detail(resp: httpx.Response) -> str:
    """The API's error body is {"detail": "..."}; fall back to a snippet of the text."""
    try:
        data = resp.json()
        if isinstance(data, dict) and data.get("detail"):
            return str(data["detail"])
    except ValueError:
        pass
    return _snippet(resp.text) or "request refused"


def _snippet(text: str, n: int = 120) -> str:
    one_line = " ".join(text.split())
    return one_line[:n] + ("…" if len(one_line) > n else "")


def _iso_date(where: str, value: str) -> str:
    import datetime as dt

    v = value.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(v[:19], fmt).date().isoformat()
        except ValueError:
            continue
    raise ApiError(where, f"unreadable date {value!r}")


__all__ = ["IDV_LISTINGS", "SUBAWARD_FIELDS", "ApiError", "UsaspendingClient", "agency_filter"]
