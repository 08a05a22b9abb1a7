"""`contractwatch serve`: a read-only web app over the store, for people who would rather click.

Every page is built by one function of contractwatch.web.views and served three ways: HTML,
a JSON twin at the same path + ``.json``, and each of its tables as CSV at ``.csv?table=…``.
Security defaults: GET only, no query text from users reaches SQL except as Ibis literals,
every value from the data is escaped by Jinja, charts are server-rendered SVG, and the
Content-Security-Policy forbids scripts, inline styles and requests to other origins.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from contractwatch.store import MANIFEST, Catalog, Store
from contractwatch.web import views

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
CACHE_SIZE = 256
log = logging.getLogger("contractwatch.web")


class Source:
    """The store as the app sees it: one catalog, reopened when the manifest changes.

    A DuckDB connection must not run two queries at once from different threads, so page
    builders take turns (the machine's cores go to DuckDB's own threads anyway). Built pages
    are cached per manifest version: the store only changes by a new manifest.
    """

    def __init__(self, store: Store, engine: str = "duckdb"):
        self.store = store
        self.engine = engine
        self.lock = threading.Lock()  # one query at a time on the catalog
        self.cache_lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._stamp: tuple[int, int] | None = None
        self.cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def _manifest_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.store.root / MANIFEST).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _fresh(self) -> Catalog:
        """The catalog of the current manifest (called with the build lock held)."""
        stamp = self._manifest_stamp()
        if self._catalog is None or stamp != self._stamp:
            self._catalog = self.store.connect(engine=self.engine)
            with self.cache_lock:
                self.cache.clear()
                self._stamp = stamp
        return self._catalog

    def get(self, key: tuple[Any, ...]) -> Any:
        """A cached value if the manifest has not changed since it was built (no waiting
        behind a page being computed)."""
        stamp = self._manifest_stamp()
        with self.cache_lock:
            if stamp == self._stamp and key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        return None

    def stamp(self) -> tuple[int, int] | None:
        """The manifest version the cache holds (compare before storing into it)."""
        with self.cache_lock:
            return self._stamp

    def put(self, key: tuple[Any, ...], value: Any, stamp: tuple[int, int] | None) -> None:
        """Cache a value built for manifest version `stamp` (dropped if it is outdated)."""
        with self.cache_lock:
            if stamp != self._stamp:
                return
            self.cache[key] = value
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)

    def run(self, key: tuple[Any, ...] | None, build: Callable[[Catalog], Any]) -> Any:
        if key is not None and (hit := self.get(key)) is not None:
            return hit
        with self.lock:
            catalog = self._fresh()
            stamp = self.stamp()
            if key is not None and (hit := self.get(key)) is not None:
                return hit  # built by another request while this one waited
            value = build(catalog)
        if key is not None:
            self.put(key, value, stamp)
        return value


# ---- formatting for templates -----------------------------------------------------------------

MONEY_HINTS = ("obligation", "value_of_award", "running_total", "ceiling", "amount",
               "change_from")


def is_money(column: str) -> bool:
    return any(h in column for h in MONEY_HINTS)


def cell(value: Any, column: str = "") -> str:
    """A value as text for a table cell (escaped later by Jinja)."""
    from contractwatch.values.money import format_dollars

    if value is None:
        return "unknown" if column in ("potential_total_value_of_award", "ceiling") else "—"
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


def _amount(value: str | None) -> Decimal | None:
    from contractwatch.values.money import parse_money

    if value in (None, ""):
        return None
    # plain dollar amounts only: parse_money raises InvalidOperation on exponents ("1e999")
    if not re.fullmatch(r"-?\$?[0-9][0-9,]{0,20}(\.[0-9]{1,2})?", value):
        raise ValueError(f"not an amount in dollars: {value!r} (e.g. 1000000 or 2,500.50)")
    return parse_money(value)


def _int(value: str | None, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    if not re.fullmatch(r"\d{1,9}", value):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value.strip() if value is not None and value.strip() else None


# Each page: (request, ctx, path params, fmt) → (cache key or None, builder(catalog) → Page)

def _home(request: Request, ctx: Ctx, fmt: str) -> Any:
    return ("home", ctx.policy), lambda c: views.home(c, ctx.policy)


def _agency(request: Request, ctx: Ctx, fmt: str, name: str) -> Any:
    fy = _fy(_param(request, "fy"))
    return (("agency", name.upper(), fy, ctx.policy),
            lambda c: views.agency(c, name, fy, ctx.policy))


def _company(request: Request, ctx: Ctx, fmt: str) -> Any:
    name = _param(request, "name") or ""
    fy = _fy(_param(request, "fy"))
    return (("company", name.upper(), fy, ctx.policy),
            lambda c: views.company(c, name, fy, ctx.policy))


def _award(request: Request, ctx: Ctx, fmt: str, award_id: str) -> Any:
    return (("award", award_id.upper(), ctx.award_policy),
            lambda c: views.award(c, award_id, ctx.award_policy, ctx.policy))


def search_query(request: Request) -> views.SearchQuery:
    from contractwatch.analyze import SEARCH_SORTS

    sort = _param(request, "sort") or "obligations"
    if sort not in SEARCH_SORTS:
        raise ValueError(f"sort must be one of {', '.join(SEARCH_SORTS)}")
    agency = _param(request, "agency")
    if agency:
        from contractwatch.agencies import resolve_agency

        resolve_agency(agency)
    return views.SearchQuery(
        q=_param(request, "q") or "", agency=agency, fy=_fy(_param(request, "fy")),
        recipient=_param(request, "recipient"), psc=_param(request, "psc"),
        naics=_param(request, "naics"), min_amount=_amount(_param(request, "min")),
        max_amount=_amount(_param(request, "max")), sort=sort,
        page=_int(_param(request, "page"), "page", 1))


def _search(request: Request, ctx: Ctx, fmt: str) -> Any:
    sq = search_query(request)
    return (("search", tuple(sorted(sq.params().items())), ctx.policy),
            lambda c: views.search(c, sq, ctx.policy))


ROW_PARAMS = ("agency", "fy", "award", "row", "family", *views.EXACT)


def _rows(request: Request, ctx: Ctx, fmt: str) -> Any:
    params = {k: request.query_params[k].strip() for k in ROW_PARAMS
              if k in request.query_params}
    if params.get("fy"):
        params["fy"] = str(_fy(params["fy"]))
    if params.get("row"):
        params["row"] = str(_int(params["row"], "row", 0))
    offset = _int(_param(request, "offset"), "offset", 0)
    limit = 0 if fmt == "csv" else views.ROWS_PAGE  # the CSV holds every row
    key = None if fmt == "csv" else ("rows", tuple(sorted(params.items())), offset, ctx.policy)
    return key, lambda c: views.source_rows(c, params, ctx.policy, offset, limit)


def _watches(request: Request, ctx: Ctx, fmt: str) -> Any:
    return None, lambda c: views.watches(ctx.source.store)


def _watch(request: Request, ctx: Ctx, fmt: str, name: str) -> Any:
    return None, lambda c: views.watch(ctx.source.store, name)


PAGES: list[tuple[str, Callable[..., Any]]] = [
    ("/agency/{name}", _agency),
    ("/company", _company),
    ("/award/{award_id}", _award),
    ("/search", _search),
    ("/rows", _rows),
    ("/watches", _watches),
    ("/watch/{name}", _watch),
]


def warm(ctx: Ctx) -> None:
    """Build the pages most visitors open first (home, each agency's overview for all years
    and its newest year), so the first visitors do not queue behind company resolution."""
    try:
        ctx.source.run(("home", ctx.policy), lambda c: views.home(c, ctx.policy))
        blocks = ctx.source.run(None, lambda c: sorted(
            {(b.agency, b.fiscal_year) for ld in c.loads for b in ld.blocks}))
        newest: dict[str, int] = {}
        for agency, fy in blocks:
            newest[agency] = max(newest.get(agency, fy), fy)
        for agency, fy in sorted(newest.items()):
            for year in (None, fy):
                ctx.source.run(("agency", agency.upper(), year, ctx.policy),
                               lambda c, a=agency, y=year: views.agency(c, a, y, ctx.policy))
    except Exception:  # warming is an optimisation; a page that fails here fails visibly later
        return


def create_app(store_dir: str | Path, *, policy: str | None = None, engine: str = "duckdb",
               allowed_hosts: list[str] | None = None, prewarm: bool = False) -> FastAPI:
    """The web app over one store. The store is only read; a missing store is an error.

    `allowed_hosts`: Host header values accepted (default: the loopback names), which stops
    a web page elsewhere from reaching this server through DNS rebinding; ``["*"]`` for any.
    """
    import jinja2

    store = Store(store_dir)
    if not store.root.is_dir():
        raise ValueError(f"no store at {store.root}: run `contractwatch ingest` first")
    ctx = Ctx(Source(store, engine), policy or "keep", policy or "collapse")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals.update(cell=cell, raw=raw, safe_url=safe_url, is_money=is_money,
                       rows_url=views.rows_url)
    env.filters["basename"] = lambda p: str(p).rsplit("/", 1)[-1]
    templates = Jinja2Templates(env=env)
    hosts = set(allowed_hosts or LOOPBACK_NAMES)

    app = FastAPI(title="contractwatch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    if prewarm:
        threading.Thread(target=warm, args=(ctx,), daemon=True, name="prewarm").start()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[..., Any]) -> Any:
        if "*" not in hosts and _host(request.headers.get("host", "")) not in hosts:
            response: Any = Response("unknown Host header\n", status_code=400,
                                     media_type="text/plain")
        else:
            response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    def serve(request: Request, fmt: str, page_fn: Callable[..., Any],
              path_params: dict[str, str]) -> Response:
        try:
            key, build = page_fn(request, ctx, fmt, **path_params)
            done = ("response", fmt, request.url.path, str(request.url.query))
            if key is not None and (hit := ctx.source.get(done)) is not None:
                body, media_type, headers = hit
                return Response(body, media_type=media_type, headers=headers)
            stamp = ctx.source.stamp()
            page = ctx.source.run(key, build)
            response = _render(request, templates, fmt, page)
            if key is not None:
                ctx.source.put(done, (response.body, response.media_type,
                                      {k: v for k, v in response.headers.items()
                                       if k == "content-disposition"}), stamp)
            return response
        except (LookupError, ValueError) as exc:
            status = 404 if isinstance(exc, LookupError) else 400
            return _error(request, templates, fmt, status, str(exc))
        except Exception:
            log.exception("error serving %s", request.url.path)
            return _error(request, templates, fmt, 500, "internal error (see the server log)")

    def add(path: str, page_fn: Callable[..., Any]) -> None:
        names = re.findall(r"{(\w+)}", path)

        def endpoint_for(fmt: str) -> Callable[..., Response]:
            def endpoint(request: Request) -> Response:
                return serve(request, fmt, page_fn, {n: request.path_params[n] for n in names})
            return endpoint

        for fmt, suffix in (("json", ".json"), ("csv", ".csv"), ("html", "")):
            app.add_api_route(path + suffix, endpoint_for(fmt), methods=["GET", "HEAD"],
                              include_in_schema=False)

    add_home = ("/index", _home)
    for path, fn in [add_home, *PAGES]:
        add(path, fn)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def root(request: Request) -> Response:
        return serve(request, "html", _home, {})

    @app.api_route("/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def not_found(request: Request, rest: str) -> Response:
        fmt = "json" if rest.endswith(".json") else "html"
        return _error(request, templates, fmt, 404, "no such page")

    return app


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

    from contractwatch.output import _csv_value

    name = table or next(iter(page.tables), None)
    if name is None or name not in page.tables:
        raise LookupError(f"no table {table!r} on this page (tables: "
                          f"{', '.join(page.tables) or 'none'})")
    t = page.tables[name]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(t.columns)
    for row in t.rows:
        w.writerow([_csv_value(row.get(c)) for c in t.columns])
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

