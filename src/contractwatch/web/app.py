"""`contractwatch serve`: a read-only web app over the store, for people who would rather click.

Every page is built by one function of contractwatch.web.views and served three ways: HTML,
a JSON twin at the same path + ``.json``, and each of its tables as CSV at ``.csv?table=…``.
Security defaults: GET only, no text from users reaches SQL except as bound parameters,
every value from the data is escaped (Jinja for HTML, `charts.xml_text` for SVG), and the
Content-Security-Policy forbids scripts, inline styles and requests to other origins.

Load: cached pages are answered on the event loop without a thread; uncached pages are built
by a bounded pool of workers (see `Limiter`), so a flood of requests gets 503s with
Retry-After instead of an ever longer queue, and work whose client left is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from contractwatch.columns import label
from contractwatch.store import MANIFEST, Store
from contractwatch.web import views
from contractwatch.web.queries import CURRENT_WORK, Cancelled, NotReady, Snapshot, Work

HERE = Path(__file__).parent
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
CACHE_SIZE = 2048  # built pages and rendered responses, per manifest version
WORKERS = 4  # uncached pages built at once (DuckDB runs each query on the cores too)
MAX_WAITING = 256  # requests queued for a worker; more are refused at once (503)
QUEUE_TIMEOUT = 10.0  # seconds a request waits for a worker before a 503
WORK_TIMEOUT = 60.0  # seconds a page may take before it is stopped (503)
BUILD_WAIT = 30.0  # seconds to wait for the same page being built by another request
RETRY_AFTER = 5  # seconds, in the 503's Retry-After
WARM_DELAY = 0.3  # seconds after the server starts listening before pages are built ahead
ALL_YEARS = 9999  # sorts an agency's all-years overview before its years
YIELD_WAIT = 5.0  # seconds a page built ahead waits for visitors' pages to be built first
log = logging.getLogger("contractwatch.web")


class Source:
    """The store as the app sees it: one snapshot of the current state per manifest version.

    Built pages are cached per manifest version (the store only changes by a new manifest)
    and generation: each time a derived result (families, brands, purpose tags) becomes
    ready, the cache is dropped, since pages built before said it was missing. A page asked
    for again while it is being built waits for that build instead of repeating it.
    """

    def __init__(self, store: Store, engine: str = "duckdb", policy: str = "keep"):
        self.store = store
        self.engine = engine
        self.policy = policy
        self.build_lock = threading.Lock()  # one snapshot built at a time
        self.cache_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._stamp: tuple[int, int] | None = None
        self._generation = 0  # derived results that became ready for this snapshot
        self.cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.building: dict[tuple[Any, ...], threading.Event] = {}

    def _manifest_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.store.root / MANIFEST).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def snapshot(self) -> tuple[Snapshot, Any]:
        """The snapshot of the current manifest (built on first use after a change), and
        the version a page built on it now is cached under."""
        stamp = self._manifest_stamp()
        snap = self._snapshot
        if snap is not None and stamp == self._stamp:
            return snap, (stamp, self._generation)
        with self.build_lock:
            stamp = self._manifest_stamp()
            if self._snapshot is None or stamp != self._stamp:
                snap = Snapshot(self.store, self.policy, on_ready=self._derived_ready)
                with self.cache_lock:
                    self.cache.clear()
                    self._snapshot, self._stamp = snap, stamp
            return self._snapshot, (self._stamp, self._generation)

    def _derived_ready(self) -> None:
        """A derived result became ready: pages built without it are dropped."""
        with self.cache_lock:
            self._generation += 1
            self.cache.clear()

    def get(self, key: tuple[Any, ...]) -> Any:
        """A cached value if the manifest has not changed since it was built (no waiting
        behind a page being computed)."""
        stamp = self._manifest_stamp()
        with self.cache_lock:
            if stamp == self._stamp and key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        return None

    def put(self, key: tuple[Any, ...], value: Any, version: Any) -> None:
        """Cache a value built for `version` (as `snapshot` gave it; dropped if outdated)."""
        with self.cache_lock:
            if version != (self._stamp, self._generation):
                return
            self.cache[key] = value
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)

    def load_pages(self, snap: Snapshot) -> bool:
        """Put the pages an earlier server built ahead over the same data, derived results
        and code into the cache (as `save_pages` stored them); False if there are none."""
        import json

        from contractwatch.web.queries import WEB_PAGES_FILE, WEB_PAGES_FOLDER

        pages_version = snap.pages_version()
        path = self.store.root / WEB_PAGES_FOLDER / str(pages_version) / WEB_PAGES_FILE
        if pages_version is None or not path.is_file():
            return False
        version = self.snapshot()[1]
        for page in json.loads(path.read_text(encoding="utf-8")):
            self.put(("response", "html", page["path"], page["query"]),
                     (page["body"].encode(), page["media_type"], {}), version)
        return True

    def save_pages(self, snap: Snapshot, urls: list[tuple[str, str]]) -> None:
        """Store the HTML of pages built ahead with the data (<store>/web/pages/<version>/),
        so that the next server over the same data reads them instead of building them.
        Skipped if any is missing from the cache or the store cannot be written."""
        import json

        from contractwatch.store import stored_folder
        from contractwatch.web.queries import WEB_PAGES_FILE, WEB_PAGES_FOLDER

        pages_version = snap.pages_version()
        if pages_version is None or not os.access(self.store.root, os.W_OK):
            return
        pages = []
        for path, query in urls:
            hit = self.get(("response", "html", path, query))
            if hit is None:
                return
            pages.append({"path": path, "query": query, "body": hit[0].decode(),
                          "media_type": hit[1]})

        def write(folder: Path) -> None:
            (folder / WEB_PAGES_FILE).write_text(json.dumps(pages), encoding="utf-8")

        stored_folder(self.store.root / WEB_PAGES_FOLDER, pages_version, write)

    def run(self, key: tuple[Any, ...] | None, build: Callable[[Snapshot], Any]) -> Any:
        """A page from the cache, or built once on the current snapshot and cached."""
        if key is None:
            return build(self.snapshot()[0])
        while (hit := self.get(key)) is None:
            with self.cache_lock:
                other = self.building.get(key)
                if other is None:
                    mine = self.building[key] = threading.Event()
            if other is not None:  # someone is building it: wait, then look again
                other.wait(timeout=BUILD_WAIT)
                if other.is_set():
                    continue
            try:
                snap, stamp = self.snapshot()
                value = build(snap)
                self.put(key, value, stamp)
                return value
            finally:
                with self.cache_lock:
                    if other is None:
                        self.building.pop(key, None)
                        mine.set()
        return hit


class Busy(Exception):
    """More uncached work than the server takes on: answered 503 with Retry-After."""


class Limiter:
    """Bounds the work of uncached pages: `workers` at a time, at most `max_waiting` queued,
    each waiting at most `queue_timeout` seconds and running at most `work_timeout`. Work
    whose client has gone is interrupted (its DuckDB queries stop at once)."""

    def __init__(self, workers: int = WORKERS, max_waiting: int = MAX_WAITING,
                 queue_timeout: float = QUEUE_TIMEOUT, work_timeout: float = WORK_TIMEOUT):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="page")
        self.slots: asyncio.Semaphore | None = None
        self.workers = workers
        self.max_waiting = max_waiting
        self.queue_timeout = queue_timeout
        self.work_timeout = work_timeout
        self.waiting = 0
        self.running = 0  # pages being built for visitors (read by the warming thread)

    async def run(self, receive: Callable[[], Awaitable[Any]], fn: Callable[[], Any]) -> Any:
        if self.slots is None:  # created inside the server's event loop
            self.slots = asyncio.Semaphore(self.workers)
        slots = self.slots
        if self.waiting >= self.max_waiting:
            raise Busy(f"{self.waiting} requests are already waiting")
        self.waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), self.queue_timeout)
        except TimeoutError:
            raise Busy(f"no worker free within {self.queue_timeout:g} s") from None
        finally:
            self.waiting -= 1
        work = Work()
        context = contextvars.copy_context()
        context.run(CURRENT_WORK.set, work)
        self.running += 1
        future = asyncio.get_running_loop().run_in_executor(self.pool, context.run, fn)

        def done(_: Any) -> None:  # the slot is free only when the thread has really stopped
            self.running -= 1
            slots.release()

        future.add_done_callback(done)
        left = asyncio.ensure_future(_client_gone(receive))
        try:
            done, _ = await asyncio.wait({future, left}, timeout=self.work_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            left.cancel()
        if future in done:
            return future.result()
        work.cancel()
        future.add_done_callback(_ignore_result)
        if left in done:
            raise Cancelled("the client left")
        raise Busy(f"the page took longer than {self.work_timeout:g} s")


async def _client_gone(receive: Callable[[], Awaitable[Any]]) -> None:
    """Returns when the client disconnects (a GET has no body to read first)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _ignore_result(future: Any) -> None:
    """Collect the outcome of abandoned work (its client left or it timed out)."""
    if not future.cancelled():
        future.exception()



# ---- formatting for templates -----------------------------------------------------------------

MONEY_HINTS = ("obligation", "obligated", "value_of_award", "running_total", "ceiling",
               "amount", "change_from")


def is_money(column: str) -> bool:
    return any(h in column for h in MONEY_HINTS)


def cell(value: Any, column: str = "") -> str:
    """A value as text for a table cell (escaped later by Jinja)."""
    from contractwatch.values.money import format_dollars

    if value is None:
        return "unknown" if column == "potential_total_value_of_award" or "ceiling" in column \
            or column in ("holder", "vehicle_type") else "—"
    if isinstance(value, Decimal) and is_money(column):
        return format_dollars(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and column not in ("fiscal_year", "source_row"):
        return f"{value:,}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def raw(value: Any) -> str:
    """The exact value for a data-value attribute (decimals unrounded)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return "" if value is None else str(value)


def safe_url(url: Any) -> str | None:
    """Links taken from the data are followed only if they are plain https URLs."""
    if isinstance(url, str) and re.match(r"^https://[A-Za-z0-9.-]+(/[^\s\"'<>]*)?$", url):
        return url
    return None


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:80] or "table"


# ---- the app ---------------------------------------------------------------------------------

@dataclass
class Ctx:
    source: Source
    policy: str  # for totals
    award_policy: str  # for per-action views


def _fy(value: str | None) -> int | None:
    from contractwatch.values.fiscal import parse_fiscal_year

    return parse_fiscal_year(value) if value else None


MAX_AMOUNT = Decimal("1000000000000000")  # $1 quadrillion: beyond any award


def _amount(value: str | None, name: str) -> Decimal | None:
    from contractwatch.values.money import format_dollars, parse_money

    if value in (None, ""):
        return None
    # plain dollar amounts only: parse_money raises InvalidOperation on exponents ("1e999")
    if not re.fullmatch(r"-?\$?[0-9][0-9,]{0,30}(\.[0-9]{1,2})?", value):
        raise ValueError(f"{name} is not an amount in dollars: {value!r} "
                         "(e.g. 1000000 or 2,500.50)")
    whole = re.sub(r"[^0-9.]", "", value).split(".")[0].lstrip("0")
    # checked before parsing: past 28 digits Decimal's context cannot even round to cents
    if len(whole) > len(str(int(MAX_AMOUNT))) or abs(amount := parse_money(value)) > MAX_AMOUNT:
        raise ValueError(f"{name} must be between -{format_dollars(MAX_AMOUNT)} and "
                         f"{format_dollars(MAX_AMOUNT)}, not {value}")
    return amount


def _int(value: str | None, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    if not re.fullmatch(r"\d{1,9}", value):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value.strip() if value is not None and value.strip() else None


def check_text(request: Request, path_params: dict[str, str]) -> None:
    """Refuse control characters in any parameter (a NUL from %00 first of all): no name,
    code or search text has them, and they must not reach the engine or the page."""
    for name, value in [*request.query_params.multi_items(), *path_params.items()]:
        bad = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", name + value)
        if bad:
            raise ValueError(f"parameter {name!r} contains the control character "
                             f"{bad.group()!r} (e.g. %00): not allowed in any parameter")


# Each page: (request, ctx, path params, fmt) → (cache key or None, builder(snapshot) → Page)

def _home(request: Request, ctx: Ctx, fmt: str) -> Any:
    return ("home", ctx.policy), lambda s: views.home(s, ctx.policy)


def _agency(request: Request, ctx: Ctx, fmt: str, name: str) -> Any:
    from contractwatch.agencies import resolve_agency

    fy = _fy(_param(request, "fy"))
    purpose = _param(request, "purpose")
    if purpose:
        from contractwatch.purposes import check_purpose

        purpose = check_purpose(purpose)
    code = resolve_agency(name).code  # /agency/ICE and /agency/7012 are one page
    return (("agency", code, fy, ctx.policy, purpose),
            lambda s: views.agency(s, code, fy, ctx.policy, purpose=purpose))


def _company(request: Request, ctx: Ctx, fmt: str) -> Any:
    name = _param(request, "name") or ""
    fy = _fy(_param(request, "fy"))
    return (("company", name.upper(), fy, ctx.policy),
            lambda s: views.company(s, name, fy, ctx.policy))


def _award(request: Request, ctx: Ctx, fmt: str, award_id: str) -> Any:
    return (("award", award_id.upper(), ctx.award_policy),
            lambda s: views.award(s, award_id, ctx.award_policy, ctx.policy))


def search_query(request: Request) -> views.SearchQuery:
    from contractwatch.web.queries import SEARCH_ORDER

    sort = _param(request, "sort") or "obligations"
    if sort not in SEARCH_ORDER:
        raise ValueError(f"sort must be one of {', '.join(SEARCH_ORDER)}")
    agency = _param(request, "agency")
    if agency:
        from contractwatch.agencies import resolve_agency

        resolve_agency(agency)
    low, high = _amount(_param(request, "min"), "min"), _amount(_param(request, "max"), "max")
    if low is not None and high is not None and low > high:
        raise ValueError(f"min ({low}) is more than max ({high})")
    return views.SearchQuery(
        q=_param(request, "q") or "", agency=agency, fy=_fy(_param(request, "fy")),
        recipient=_param(request, "recipient"), psc=_param(request, "psc"),
        naics=_param(request, "naics"), min_amount=low, max_amount=high, sort=sort,
        page=_int(_param(request, "page"), "page", 1),
        meaning=(_param(request, "meaning") or "") not in ("", "0"))


def _search(request: Request, ctx: Ctx, fmt: str) -> Any:
    sq = search_query(request)
    return (("search", tuple(sorted(sq.params().items())), ctx.policy),
            lambda s: views.search(s, sq, ctx.policy))


ROW_PARAMS = ("agency", "fy", "award", "row", "family", *views.EXACT)


def _rows(request: Request, ctx: Ctx, fmt: str) -> Any:
    params = {k: request.query_params[k].strip() for k in ROW_PARAMS
              if k in request.query_params}
    if params.get("fy"):
        params["fy"] = str(_fy(params["fy"]))
    if params.get("row"):
        params["row"] = str(_int(params["row"], "row", 0))
    if params.get("agency"):
        from contractwatch.agencies import resolve_agency

        resolve_agency(params["agency"])
    offset = _int(_param(request, "offset"), "offset", 0)
    limit = 0 if fmt == "csv" else views.ROWS_PAGE  # the CSV holds every row
    key = None if fmt == "csv" else ("rows", tuple(sorted(params.items())), offset, ctx.policy)
    return key, lambda s: views.source_rows(s, params, ctx.policy, offset, limit)


def _watches(request: Request, ctx: Ctx, fmt: str) -> Any:
    return None, lambda s: views.watches(ctx.source.store)


def _watch(request: Request, ctx: Ctx, fmt: str, name: str) -> Any:
    return None, lambda s: views.watch(ctx.source.store, name)


PAGES: list[tuple[str, Callable[..., Any]]] = [
    ("/agency/{name}", _agency),
    ("/company", _company),
    ("/award/{award_id}", _award),
    ("/search", _search),
    ("/rows", _rows),
    ("/watches", _watches),
    ("/watch/{name}", _watch),
]


def warm(ctx: Ctx, busy: Callable[[], bool] = lambda: False,
         ahead: Callable[[str, str, Any, Any], None] | None = None) -> None:
    """Build the snapshot, then the pages most visitors open first (home, each agency's
    overview for all years and each year, as HTML under the agency's code and its
    abbreviation), and families and brands, so that the first visitors find them ready.
    Runs in a background thread; the server answers meanwhile, and pages asked for by
    visitors go first: each overview waits while `busy()` (up to YIELD_WAIT seconds; a
    visitor asking for it meanwhile builds it at once). `ahead(path, query, key, make)`
    builds and renders one page into the cache."""
    from contractwatch.agencies import resolve_agency
    from contractwatch.purposes import load_taxonomy

    built: list[tuple[str, str]] = []

    def build(path: str, query: str, key: Any, make: Any) -> None:
        if ahead is None:
            ctx.source.run(key, make)
        else:
            ahead(path, query, key, make)
            built.append((path, query))

    try:
        snap, _ = ctx.source.snapshot()
        build("/", "", ("home", ctx.policy), lambda s: views.home(s, ctx.policy))
        snap.wait_derived()  # families, brands, purposes: read, or computed when missing
        if ahead is not None and ctx.source.load_pages(snap):
            snap.vehicle_piids()
            return  # built ahead by an earlier server over the same data and code
        build("/", "", ("home", ctx.policy), lambda s: views.home(s, ctx.policy))
        load_taxonomy()
        snap.vehicle_piids()
        agencies: dict[str, set[int]] = {}
        for ld in snap.loads:
            for b in ld.blocks:
                if b.agency:
                    agencies.setdefault(b.agency, set()).add(b.fiscal_year)
        # every agency's all-years overview first, then each one's newest year, and so on
        overviews = sorted(((year or ALL_YEARS, agency) for agency, years in agencies.items()
                        for year in [None, *years]), reverse=True)
        for year_or_all, agency in overviews:
            a = resolve_agency(agency)
            year = None if year_or_all == ALL_YEARS else year_or_all
            for name in dict.fromkeys([a.code, a.abbreviation or a.code]):
                waited = 0.0
                while busy() and waited < YIELD_WAIT:
                    time.sleep(0.01)
                    waited += 0.01
                build(f"/agency/{name}", f"fy={year}" if year else "",
                      ("agency", a.code, year, ctx.policy, None),
                      lambda s, y=year, c=a.code: views.agency(s, c, y, ctx.policy))
        snap.save()  # the next server over these loads reads the snapshot instead
        ctx.source.save_pages(snap, built)  # and these pages
    except Exception:  # warming is an optimisation; a page that fails here fails visibly later
        log.debug("warming stopped", exc_info=True)


class Guard:
    """ASGI middleware: the Host check (DNS rebinding) and the security headers on every
    response. Plain ASGI, so that a request's `receive` still tells when its client left."""

    def __init__(self, app: Any, hosts: set[str]):
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
            await send(message)

        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if "*" not in self.hosts and _host(host) not in self.hosts:
            response = Response("unknown Host header\n", status_code=400,
                                media_type="text/plain")
            await response(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)


def create_app(store_dir: str | Path, *, policy: str | None = None, engine: str = "duckdb",
               allowed_hosts: list[str] | None = None, prewarm: bool = False,
               limiter: Limiter | None = None) -> Any:
    """The web app over one store. The store is only read; a missing store is an error.

    `allowed_hosts`: Host header values accepted (default: the loopback names), which stops
    a web page elsewhere from reaching this server through DNS rebinding; ``["*"]`` for any.
    `limiter`: how much uncached work runs at once and how long requests may wait for it.
    """
    import jinja2

    store = Store(store_dir)
    if not store.root.is_dir():
        raise ValueError(f"no store at {store.root}: run `contractwatch ingest` first")
    ctx = Ctx(Source(store, engine, policy or "keep"), policy or "keep", policy or "collapse")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals.update(cell=cell, raw=raw, safe_url=safe_url, is_money=is_money,
                       rows_url=views.rows_url, label=label)
    env.filters["basename"] = lambda p: str(p).rsplit("/", 1)[-1]
    templates = Jinja2Templates(env=env)
    hosts = set(allowed_hosts or LOOPBACK_NAMES)
    limits = limiter or Limiter()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if prewarm:  # once the server listens: the first answers come before the warming
            asyncio.get_running_loop().call_later(WARM_DELAY, threading.Thread(
                target=warm, args=(ctx, lambda: limits.running > 0, ahead), daemon=True,
                name="prewarm").start)
        yield

    def build(request: Request, fmt: str, key: Any, make: Callable[[Snapshot], Any],
              done: tuple[Any, ...]) -> Response:
        """In a worker thread: the page (cached or built), rendered in its format."""
        try:
            stamp = ctx.source.snapshot()[1]
            page = ctx.source.run(key, make)
            response = _render(request, templates, fmt, page)
        except (LookupError, ValueError) as exc:
            status = 404 if isinstance(exc, LookupError) else 400
            return _error(request, templates, fmt, status, str(exc))
        if key is not None:
            ctx.source.put(done, (response.body, response.media_type,
                                  {k: v for k, v in response.headers.items()
                                   if k == "content-disposition"}), stamp)
        return response

    def ahead(path: str, query: str, key: Any, make: Callable[[Snapshot], Any]) -> None:
        """Build and render a page as a visit of path?query would (HTML), into the cache."""
        from urllib.parse import quote

        host = next(iter(hosts - {"*"}), "127.0.0.1")
        request = Request({"type": "http", "method": "GET", "scheme": "http",
                           "path": path, "raw_path": quote(path).encode(),
                           "query_string": query.encode(), "root_path": "",
                           "headers": [(b"host", host.encode())], "server": (host, 80)})
        build(request, "html", key, make, ("response", "html", path, query))

    async def serve(request: Request, fmt: str, page_fn: Callable[..., Any],
                    path_params: dict[str, str]) -> Response:
        try:
            check_text(request, path_params)
            key, make = page_fn(request, ctx, fmt, **path_params)
            done = ("response", fmt, request.url.path, str(request.url.query))
            if key is not None and (hit := ctx.source.get(done)) is not None:
                body, media_type, headers = hit  # cached: answered without a worker
                return Response(body, media_type=media_type, headers=headers)
            return await limits.run(request.receive,
                                    lambda: build(request, fmt, key, make, done))
        except (LookupError, ValueError) as exc:
            status = 404 if isinstance(exc, LookupError) else 400
            return _error(request, templates, fmt, status, str(exc))
        except Busy as exc:
            response = _error(request, templates, fmt, 503,
                              f"the server is busy ({exc}); try again in a few seconds")
            response.headers["retry-after"] = str(RETRY_AFTER)
            return response
        except NotReady as exc:  # a derived result this page is made of: never waited for
            response = _error(request, templates, fmt, 503, f"{exc}; try again in a moment")
            response.headers["retry-after"] = str(RETRY_AFTER)
            return response
        except Cancelled:
            return Response(status_code=499)  # nobody is listening any more
        except Exception:
            log.exception("error serving %s", request.url.path)
            return _error(request, templates, fmt, 500, "internal error (see the server log)")

    def endpoint_for(fmt: str, page_fn: Callable[..., Any], names: list[str]) -> Any:
        async def endpoint(request: Request) -> Response:
            return await serve(request, fmt, page_fn, {n: request.path_params[n] for n in names})
        return endpoint

    routes: list[Any] = [Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
                         Route("/", endpoint_for("html", _home, []), methods=["GET", "HEAD"])]
    for path, fn in [("/index", _home), *PAGES]:
        names = re.findall(r"{(\w+)}", path)
        for fmt, suffix in (("json", ".json"), ("csv", ".csv"), ("html", "")):
            routes.append(Route(path + suffix, endpoint_for(fmt, fn, names),
                                methods=["GET", "HEAD"]))

    async def not_found(request: Request) -> Response:
        fmt = "json" if request.url.path.endswith(".json") else "html"
        return _error(request, templates, fmt, 404, "no such page")

    routes.append(Route("/{rest:path}", not_found, methods=["GET", "HEAD"]))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.ctx = ctx
    app.state.limiter = limits
    return Guard(app, hosts)


def _host(header: str) -> str:
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _render(request: Request, templates: Jinja2Templates, fmt: str,
            page: views.Page) -> Response:
    if fmt == "json":
        from contractwatch.output import dumps

        return Response(dumps(page.to_json()), media_type="application/json")
    if fmt == "csv":
        return _csv(page, request.query_params.get("table"))
    json_url, csv_urls = _twins(request, page)
    return templates.TemplateResponse(request, page.template, {
        "page": page, "facts": page.facts, "tables": page.tables, "charts": page.charts,
        "path": request.url.path, "json_url": json_url, "csv_urls": csv_urls})


def _twins(request: Request, page: views.Page) -> tuple[str, dict[str, str]]:
    """URLs of the page's JSON twin and of each table's CSV, with the same query."""
    from urllib.parse import quote, urlencode

    base = quote("/index" if request.url.path == "/" else request.url.path)
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "table"]
    json_url = base + ".json" + ("?" + urlencode(query) if query else "")
    csv_urls = {name: base + ".csv?" + urlencode([*query, ("table", name)])
                for name in page.tables}
    return json_url, csv_urls


def _csv(page: views.Page, table: str | None) -> Response:
    import csv
    import io

    from contractwatch.output import csv_cell  # formulas neutralised, numbers kept

    name = table or next(iter(page.tables), None)
    if name is None or name not in page.tables:
        raise LookupError(f"no table {table!r} on this page (tables: "
                          f"{', '.join(page.tables) or 'none'})")
    t = page.tables[name]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(t.columns)
    for row in t.rows:
        w.writerow([csv_cell(row.get(c)) for c in t.columns])
    filename = f"{slug(page.title)}-{slug(name)}.csv"
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


def _error(request: Request, templates: Jinja2Templates, fmt: str, status: int,
           message: str) -> Response:
    if fmt in ("json", "csv"):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    return templates.TemplateResponse(request, "error.html", {
        "message": message, "status": status, "path": request.url.path}, status_code=status)


def is_loopback(host: str) -> bool:
    """Is binding to `host` limited to this machine?"""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
