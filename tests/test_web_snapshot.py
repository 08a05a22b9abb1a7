"""The web app's snapshot answers the library's look-ups as the library does (the pages
call the snapshot's versions, computed once per state of the data)."""

from __future__ import annotations

import csv

import pytest

from contractwatch.analyze import order_vehicle
from contractwatch.vehicles import designates_vehicle
from contractwatch.web.queries import Snapshot
from tests.conftest import FPDS


@pytest.fixture(scope="module")
def snap(fpds_store):
    return Snapshot(fpds_store)


def _ids_in_files() -> tuple[set[str], set[str]]:
    """PIIDs, parent PIIDs and award keys as the source files spell them (csv module), and
    the parent PIIDs apart."""
    found: set[str] = set()
    parents: set[str] = set()
    for path in sorted(FPDS.glob("ice_fy*.csv")):
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                for name in ("award_id_piid", "parent_award_id", "contract_award_unique_key"):
                    if row.get(name):
                        found.add(row[name])
                if row.get("parent_award_id"):  # the 2018 layout's name
                    parents.add(row["parent_award_id"])
    return found, parents


def test_designates_vehicle_as_the_library_does(snap, fpds_store):
    ids, parents = (sorted(x) for x in _ids_in_files())
    catalog = fpds_store.connect()
    # every 25th id and 30 parents (the library's look-up scans the files once per id)
    asked = [*ids[::25], *parents[::max(1, len(parents) // 30)], "NO-SUCH-PIID",
             "cont_idv_x_7012", " hscedm15d00015 "]
    answers = {text: designates_vehicle(catalog, text) for text in asked}
    assert 10 < sum(answers.values()) < len(asked) - 10  # both answers occur
    for text, expected in answers.items():
        assert snap.designates_vehicle(text) == expected, text


def test_vehicle_looked_up_once_and_equal(snap, fpds_store):
    vehicle = "HSCEDM15D00015"  # an ICE IDC with orders under it in the files
    first = snap.look_up(("order_vehicle", vehicle), lambda c: order_vehicle(c, vehicle))
    again = snap.look_up(("order_vehicle", vehicle), lambda c: pytest.fail("ran twice"))
    assert first is again
    assert first == order_vehicle(fpds_store.connect(), vehicle)
    with pytest.raises(LookupError):
        snap.look_up(("x",), lambda c: (_ for _ in ()).throw(LookupError("none")))
    with pytest.raises(LookupError):  # kept, raised again without running
        snap.look_up(("x",), lambda c: pytest.fail("ran twice"))


def test_pages_built_ahead_are_the_pages_built_on_demand(transactions_store):
    """The warming thread renders the home page and each agency overview (under the code
    and the abbreviation) as a visit would: the same bytes as a server that built nothing
    ahead, and /agency/ICE is /agency/7012."""
    import time

    import httpx

    from tests.webtools import running_server

    urls = ["/", "/agency/ICE", "/agency/7012?fy=2025", "/agency/CBP?fy=2024"]
    with running_server(transactions_store.root) as cold, httpx.Client(timeout=120) as c:
        on_demand = {u: c.get(cold + u) for u in urls}
        same = c.get(cold + "/agency/7012.json").json()
        assert c.get(cold + "/agency/ICE.json").json() == same
    with running_server(transactions_store.root, prewarm=True) as warm, \
            httpx.Client(timeout=120) as c:
        deadline = time.monotonic() + 120
        source = running_server.last_app.app.state.ctx.source  # type: ignore[attr-defined]
        ahead = []
        while time.monotonic() < deadline and not (len(ahead) == len(urls)
                                                    and source.snapshot()[0].saved):
            time.sleep(0.2)  # the warming thread's responses, as the cache holds them
            cache = dict(source.cache)
            ahead = [u for u in urls if ("response", "html", *u.partition("?")[::2]) in cache]
        assert ahead == urls
        for u in urls:
            built = c.get(warm + u)
            assert built.status_code == on_demand[u].status_code == 200
            assert built.text == on_demand[u].text, u
    # stored with the data: the next server reads them instead of building them
    assert list((transactions_store.root / "web" / "pages").glob("*/pages.json"))
    from contractwatch.web import views

    def no_building(*args, **kwargs):
        raise AssertionError("an overview was built again")

    with pytest.MonkeyPatch.context() as mp, \
            running_server(transactions_store.root, prewarm=True) as again, \
            httpx.Client(timeout=120) as c:
        mp.setattr(views, "agency", no_building)
        source = running_server.last_app.app.state.ctx.source  # type: ignore[attr-defined]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
                ("response", "html", *u.partition("?")[::2]) in source.cache for u in urls):
            time.sleep(0.1)
        for u in urls:
            assert c.get(again + u).text == on_demand[u].text, u


def test_pages_never_wait_for_derived_results(tmp_path, transactions_store, monkeypatch):
    """A store just ingested (no families, brands or purpose tags stored): every page kind
    answers at once while the server computes them in the background, and says plainly
    what is missing; once they are there, the pages show them (the cache is dropped)."""
    import shutil
    import threading
    import time

    import httpx

    from contractwatch.store import Store
    from contractwatch.web.queries import MISSING
    from tests.webtools import AWARD, running_server

    store = Store(tmp_path / "store")
    shutil.copytree(transactions_store.root, store.root,
                    ignore=shutil.ignore_patterns("web", "resolve"))  # as ingest leaves it
    gate = threading.Event()  # the background computation is held until the checks are done
    stored = Snapshot._stored

    def held(self, name, catalog):
        gate.wait(300)
        return stored(self, name, catalog)

    monkeypatch.setattr(Snapshot, "_stored", held)
    expected = {"/": 200, "/agency/ICE": 200, "/agency/CBP?fy=2025": 200,
                f"/award/{AWARD}": 200, "/search?q=skip+tracing": 200,
                "/rows?agency=ICE&fy=2026": 200, "/company?name=GEO+GROUP": 503,
                "/agency/ICE?purpose=detention": 503}
    try:
        with running_server(store.root, derived=False, prewarm=True) as url, \
                httpx.Client(base_url=url, timeout=120) as c:
            for path, status in expected.items():
                t0 = time.monotonic()
                r = c.get(path)
                assert (r.status_code, path) == (status, path)
                assert time.monotonic() - t0 < 15, path  # the gate holds for 300 s
            overview = c.get("/agency/ICE.json").json()["tables"]
            assert overview["family"]["unavailable"] == MISSING["families"]
            assert overview["brand"]["unavailable"] == MISSING["brands"]
            assert overview["purpose"]["unavailable"] == MISSING["purposes"]
            assert overview["recipients"]["rows"]  # the rest of the page is there
            company = c.get("/company", params={"name": "GEO GROUP"})
            assert "contractwatch resolve update" in company.text
            assert company.headers["retry-after"]
            tagged = c.get("/agency/ICE.json", params={"purpose": "detention"})
            assert "contractwatch purpose update" in tagged.json()["error"]
            gate.set()
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                overview = c.get("/agency/ICE.json").json()["tables"]
                if overview["purpose"]["rows"]:
                    break
                time.sleep(0.5)
            assert overview["family"]["rows"] and overview["brand"]["rows"]
            assert overview["purpose"]["rows"] and not overview["purpose"]["unavailable"]
            assert "not computed" not in c.get("/agency/ICE").text
            assert c.get("/company", params={"name": "GEO GROUP"}).status_code == 200
            assert c.get("/agency/ICE", params={"purpose": "detention"}).status_code == 200
    finally:
        gate.set()


def test_stored_snapshot_is_the_computed_one(tmp_path, transactions_store):
    """A snapshot saved with the data is read back by the next server as it was computed:
    the same rows in the same order, the same pages; a new load makes a new version."""
    import shutil

    from contractwatch.ingest import ingest
    from contractwatch.store import Store
    from contractwatch.web import views
    from tests.conftest import TRANSACTIONS

    store = Store(tmp_path / "store")
    shutil.copytree(transactions_store.root, store.root,
                    ignore=shutil.ignore_patterns("web"))  # as ingest leaves it
    computed = Snapshot(store)
    assert not computed.saved
    computed.save()
    stored = Snapshot(store)
    assert stored.saved and stored.version == computed.version
    every = "SELECT * FROM web_rows"
    assert stored.rows(every) == computed.rows(every)
    assert views.agency(stored, "ICE", 2025).to_json() == views.agency(computed, "ICE",
                                                                        2025).to_json()
    ingest(store, [next(iter(sorted(TRANSACTIONS.glob("*.csv"))))], progress=False,
           as_of="2026-11-30")
    newer = Snapshot(store)
    assert not newer.saved and newer.version != computed.version


def test_a_large_stores_snapshot_read_from_its_file_gives_the_same_pages(
        tmp_path, transactions_store, monkeypatch):
    """From ON_DISK_ROWS stored rows on, web_rows is a view over the sorted file written with
    the data instead of a table in memory; every page reads the same rows either way."""
    import shutil

    from contractwatch.store import Store
    from contractwatch.web import queries, views

    store = Store(tmp_path / "store")
    shutil.copytree(transactions_store.root, store.root, ignore=shutil.ignore_patterns("web"))
    in_memory = Snapshot(store)
    monkeypatch.setattr(queries, "ON_DISK_ROWS", 1)
    on_disk = Snapshot(store)
    assert on_disk.on_disk and not in_memory.on_disk
    assert (store.root / queries.WEB_ROWS_FOLDER / on_disk.version / queries.WEB_ROWS_FILE
            ).is_file()
    kind = on_disk.rows("SELECT table_type FROM information_schema.tables "
                        "WHERE table_name = 'web_rows'")
    assert kind == [{"table_type": "VIEW"}]
    every = "SELECT * FROM web_rows ORDER BY ALL"  # (ties of the award sort in any order)
    assert on_disk.rows(every) == in_memory.rows(every)
    for agency, year in (("ICE", 2025), ("CBP", None)):
        assert views.agency(on_disk, agency, year).to_json() == \
            views.agency(in_memory, agency, year).to_json()
    assert Snapshot(store).saved  # the next server, in memory again, reads the same file


def test_sibling_orders_from_the_vehicles_list_are_the_query(snap):
    """An award page's sibling orders, taken from its vehicle's orders listed once per
    snapshot, are the rows of the one-award query (q.SIBLINGS) for each award tried."""
    from contractwatch.analyze import Filters
    from contractwatch.web import queries, views

    awards = snap.rows("SELECT award_key, arg_max(award_id_piid, action_date) AS piid, "
                       "arg_max(parent_award_id_piid, action_date) AS parent FROM web_rows "
                       "WHERE parent_award_id_piid IS NOT NULL GROUP BY award_key "
                       "ORDER BY hash(award_key) LIMIT 150")
    assert len(awards) == 150
    shown = 0
    for a in awards:
        where, params = snap.scope(Filters(), "keep")
        params.update(parent=a["parent"], exclude=[a["award_key"]], piid=a["piid"])
        expected = snap.rows(queries.SIBLINGS.format(where=where), params)
        assert views.sibling_orders(snap, where, params) == expected, a
        shown += len(expected)
    assert shown  # some awards have siblings


def test_search_ranked_on_sums_is_the_full_search(transactions_store):
    """A search ordered by obligations, date or actions works out the latest action's values
    for the page's awards only (q.SEARCH_RANKED); its pages are those of q.SEARCH, which
    works them out for every matching award."""
    from decimal import Decimal

    from contractwatch.web import queries, views

    snap = Snapshot(transactions_store)
    asked = [views.SearchQuery(q=text, agency=agency, sort=sort, page=page)
             for text in ("services", "detention", "skip tracing", "no such words")
             for agency in (None, "ICE") for sort in queries.RANKED_ORDERS
             for page in (1, 3)]
    asked += [views.SearchQuery(q="services", min_amount=Decimal("1000000"), sort="date"),
              views.SearchQuery(q="guard", max_amount=Decimal("0"), fy=2025, sort="actions")]
    for sq in asked:
        ranked = views.search(snap, sq).to_json()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(queries, "RANKED_ORDERS", ())
            full = views.search(snap, sq).to_json()
        assert ranked["facts"]["total_awards"] == full["facts"]["total_awards"], sq
        for part in ("rows", "source_rows"):
            assert ranked["tables"]["results"][part] == full["tables"]["results"][part], sq
    assert full["facts"]["total_awards"]  # the last asked matches something
