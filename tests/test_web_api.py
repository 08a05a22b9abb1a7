"""The web app over HTTP (a real uvicorn server on 127.0.0.1): JSON twins, CSV downloads,
security headers, escaping, read-only behaviour and the serve command's bind rules.

Expected figures come from tests/plain.py (csv module + Decimal) over the shared files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.conftest import TRANSACTIONS
from tests.plain import api_export_totals, read_rows
from tests.webtools import AWARD, NAME_PAYLOAD, PAYLOAD, injected_store, running_server

FILES = sorted(TRANSACTIONS.glob("*.csv"))


@pytest.fixture(scope="module")
def base(transactions_store):
    with running_server(transactions_store.root) as url:
        yield url


@pytest.fixture(scope="module")
def client(base):
    with httpx.Client(base_url=base, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def plain_rows():
    return [r for p in FILES for r in read_rows(p)]


def _json(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text[:500]
    return json.loads(response.text, parse_float=Decimal)


def test_agency_json_twin_matches_plain_sums(client):
    data = _json(client.get("/agency/ICE.json"))
    by_year = {r["fiscal_year"]: r["federal_action_obligation"]
               for r in data["tables"]["by_year"]["rows"]}
    expected = {fy: v for (agency, fy), v in api_export_totals(FILES).items() if agency == "ICE"}
    assert by_year == expected
    assert data["facts"]["federal_action_obligation"] == sum(expected.values())
    # provenance: each figure names its loads and the page lists their files and vintages
    loads = data["tables"]["by_year"]["loads"]
    assert len(loads) == 6 and set(loads) == set(data["loads"])
    assert all(Path(data["loads"][i]["source_file"]).name.startswith("CBP_ICE_FY")
               for i in loads)
    assert "SELECT" in data["tables"]["by_year"]["sql"].upper()


def test_fiscal_year_overview_and_recipient_csv(client, plain_rows):
    data = _json(client.get("/agency/ICE.json", params={"fy": "FY2026"}))
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for r in plain_rows:
        if r["Agency"] == "ICE" and r["Action Date"] >= "2025-10-01":
            expected[r["Recipient Name"]] += Decimal(r["Federal Action Obligation"])
    top = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:15]
    got = [(r["recipient_name"], r["federal_action_obligation"])
           for r in data["tables"]["recipients"]["rows"]]
    assert got == top
    response = client.get("/agency/ICE.csv", params={"fy": "2026", "table": "recipients"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["recipient_name"], Decimal(r["federal_action_obligation"])) for r in rows] == top


def test_source_rows_sum_to_the_figure(client, plain_rows):
    data = _json(client.get("/agency/ICE.json", params={"fy": "2025"}))
    link = data["tables"]["by_year"]["source_rows"][
        [r["fiscal_year"] for r in data["tables"]["by_year"]["rows"]].index(2025)]
    rows_page = _json(client.get(link.replace("/rows?", "/rows.json?")))
    expected = api_export_totals(FILES)[("ICE", 2025)]
    assert rows_page["facts"]["federal_action_obligation"] == expected
    n = sum(1 for r in plain_rows if r["Agency"] == "ICE" and
            "2024-10-01" <= r["Action Date"] <= "2025-09-30")
    assert rows_page["facts"]["rows"] == n
    page_rows = rows_page["tables"]["rows"]["rows"]
    assert len(page_rows) == 100 and all(r["source_file"] and r["source_row"]
                                         for r in page_rows)
    full = client.get(link.replace("/rows?", "/rows.csv?"))
    assert len(list(csv.DictReader(io.StringIO(full.text)))) == n


def test_search_pages_sorts_and_filters(client, plain_rows):
    matching = {r["Generated Award ID"] or r["Award ID"] for r in plain_rows
                if "SKIP TRACING" in r["Transaction Description"].upper()}
    first = _json(client.get("/search.json", params={"q": "skip tracing"}))
    assert first["facts"]["total_awards"] == len(matching)
    keys = [r["award_key"] for r in first["tables"]["results"]["rows"]]
    assert set(keys) == matching  # 18 awards: one page of 25
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in plain_rows:
        if (r["Generated Award ID"] or r["Award ID"]) in matching:
            totals[r["Generated Award ID"] or r["Award ID"]] += Decimal(
                r["Federal Action Obligation"])
    assert [r["federal_action_obligation"] for r in first["tables"]["results"]["rows"]] == \
        sorted(totals.values(), reverse=True)
    # filters and sort: ICE, FY2026, at least $1M, by recipient name
    params = {"q": "skip tracing", "agency": "ICE", "fy": "2026", "min": "1000000",
              "sort": "recipient"}
    filtered = _json(client.get("/search.json", params=params))
    names = [r["recipient_name"] for r in filtered["tables"]["results"]["rows"]]
    assert names == sorted(names) and names
    assert all(r["federal_action_obligation"] >= Decimal("1000000")
               for r in filtered["tables"]["results"]["rows"])


def test_search_pagination_in_html(client):
    html = client.get("/search", params={"q": "guard", "agency": "ICE"}).text
    assert 'rel="next"' in html and "page=2" in html
    one = _json(client.get("/search.json", params={"q": "guard", "agency": "ICE"}))
    two = _json(client.get("/search.json", params={"q": "guard", "agency": "ICE", "page": 2}))
    k1 = {r["award_key"] for r in one["tables"]["results"]["rows"]}
    k2 = {r["award_key"] for r in two["tables"]["results"]["rows"]}
    assert len(k1) == 25 and k2 and not k1 & k2
    assert one["facts"]["total_awards"] == two["facts"]["total_awards"] > 25


def test_award_page_and_siblings(client, plain_rows):
    data = _json(client.get(f"/award/{AWARD}.json"))
    mine = {tuple(r.values()) for r in plain_rows if r["Award ID"] == AWARD}  # copies collapse
    assert data["facts"]["actions"] == len(mine) == 2
    assert data["facts"]["federal_action_obligation"] == sum(
        Decimal(r[3]) for r in mine)
    assert data["facts"]["parent_award_id_piid"] == "70CDCR26D00000015"
    assert data["facts"]["usaspending_permalink"].startswith("https://www.usaspending.gov/")

    # a vehicle with several orders in the store: siblings = the other orders under it
    children: dict[str, set[str]] = defaultdict(set)
    for r in plain_rows:
        gid = r["Generated Award ID"]
        if gid.startswith("CONT_AWD_") and gid.count("_") == 5:
            children[gid.split("_")[4]].add(gid)
    parent = next(p for p, ks in sorted(children.items(), key=lambda kv: -len(kv[1]))
                  if p != "-NONE-" and 3 <= len(ks) <= 60)
    award_key = sorted(children[parent])[0]
    data = _json(client.get(f"/award/{award_key}.json"))
    siblings = {r["award_key"] for r in data["tables"]["siblings"]["rows"]}
    assert siblings == children[parent] - {award_key}


def test_company_page_degrades_or_shows_family(client):
    data = _json(client.get("/company.json", params={"name": "CAPGEMINI GOVERNMENT SOLUTIONS "
                                                     "LLC"}))
    members = [r["recipient_name"] for r in data["tables"]["members"]["rows"]]
    assert "CAPGEMINI GOVERNMENT SOLUTIONS LLC" in members
    years = sum(r["federal_action_obligation"] for r in data["tables"]["by_year"]["rows"])
    assert years == data["facts"]["federal_action_obligation"]


def test_errors_are_clear_and_escaped(client):
    r = client.get("/award/NOPE<script>x")
    assert r.status_code == 404
    assert "<script>x" not in r.text and "NOPE&lt;script&gt;x" in r.text
    assert client.get("/award/NOPE.json").json()["error"].startswith("no award")
    assert client.get("/search.json", params={"q": "x", "sort": "evil"}).status_code == 400
    assert client.get("/search", params={"q": "x", "fy": "20x6"}).status_code == 400
    assert client.get("/search", params={"q": "x", "min": "1e999"}).status_code == 400
    assert client.get("/agency/NOT-AN-AGENCY").status_code == 400
    assert client.get("/rows.json").status_code == 400


def test_security_headers_everywhere(client):
    for path in ("/", "/index.json", "/static/style.css", "/no/such/page",
                 "/agency/ICE.csv?table=recipients", f"/award/{AWARD}"):
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp, path
        assert "'unsafe-inline'" not in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-frame-options"] == "DENY"


def test_no_path_traversal(client):
    attempts = ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py",
                "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                "/agency/..%2f..%2fetc%2fpasswd.csv", "/static//etc/passwd"]
    for path in attempts:
        r = client.get(path)
        assert r.status_code in (400, 404), path
        assert "root:" not in r.text and "create_app" not in r.text, path
    r = client.get("/agency/ICE.csv", params={"table": "../../etc/passwd"})
    assert r.status_code == 404 and "no table" in r.json()["error"]


def test_read_only_http_and_store(client, transactions_store):
    before = {p: p.stat().st_mtime_ns for p in transactions_store.root.rglob("*")}
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert client.request(method, "/search").status_code == 405
    for path in ("/", "/agency/CBP", "/watches", "/search?q=detention", f"/award/{AWARD}"):
        assert client.get(path).status_code == 200
    after = {p: p.stat().st_mtime_ns for p in transactions_store.root.rglob("*")}
    assert after == before


def test_host_header_checked(client):
    r = client.get("/", headers={"host": "evil.example:8000"})
    assert r.status_code == 400
    assert client.get("/", headers={"host": "localhost:1"}).status_code == 200


def test_injected_markup_is_escaped_and_exact_in_json(tmp_path):
    root = injected_store(tmp_path)
    with running_server(root) as url, httpx.Client(base_url=url, timeout=120) as c:
        html = c.get("/search", params={"q": "skip tracing"}).text
        assert "<script" not in html.lower() and "<img" not in html.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "onerror=alert(2)" in html  # shown as text, inside an escaped tag
        award = c.get(f"/award/{AWARD}").text
        assert "<b>EVIL" not in award and "&lt;B&gt;EVIL&lt;/B&gt; &#34;CORP&#34;" in award
        assert "<script" not in award.lower()
        data = _json(c.get("/search.json", params={"q": "skip tracing"}))
        descs = {r["matching_description"] for r in data["tables"]["results"]["rows"]}
        assert any(d.startswith(PAYLOAD) for d in descs)
        names = {r["recipient_name"] for r in data["tables"]["results"]["rows"]}
        assert NAME_PAYLOAD in names
        text = c.get("/search.csv", params={"q": "skip tracing", "table": "results"}).text
        rows = list(csv.DictReader(io.StringIO(text)))
        assert NAME_PAYLOAD in {r["recipient_name"] for r in rows}


def test_create_app_refuses_missing_store(tmp_path):
    from contractwatch.web.app import create_app

    with pytest.raises(ValueError, match="no store"):
        create_app(tmp_path / "nothing-here")


def test_bind_rules():
    from contractwatch.cli.serve import bind_warning

    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert bind_warning(host) is None
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org"):
        assert "reachable from other machines" in bind_warning(host)


def _serve(store: Path, *args: str) -> tuple[str, subprocess.Popen]:
    """Start `contractwatch serve` and read its stderr until it says it is serving."""
    import select

    env = {**os.environ, "CONTRACTWATCH_STORE": str(store)}
    proc = subprocess.Popen([sys.executable, "-m", "contractwatch", "serve", *args],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    assert proc.stderr is not None
    out = b""
    deadline = time.monotonic() + 60
    try:
        while b"serving" not in out and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stderr], [], [], 0.2)
            if ready:
                out += os.read(proc.stderr.fileno(), 4096)
    except BaseException:
        proc.kill()
        proc.wait(timeout=20)
        raise
    return " ".join(out.decode().split()), proc


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command_defaults_to_loopback_and_warns_otherwise(transactions_store):
    port = _free_port()
    out, proc = _serve(transactions_store.root, "--port", str(port))
    try:
        assert f"http://127.0.0.1:{port}/" in out and "warning" not in out
        for _ in range(100):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/index.json", timeout=60)
                break
            except httpx.ConnectError:
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["facts"]["rows_current"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    port = _free_port()
    out, proc = _serve(transactions_store.root, "--host", "0.0.0.0", "--port", str(port))
    try:
        assert "warning: serving on 0.0.0.0" in out and "no login" in out
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_pages_follow_a_new_commit_of_the_store(tmp_path):
    """Pages are cached per manifest version: an ingest while serving shows on next load."""
    from contractwatch.ingest import ingest
    from contractwatch.store import Store
    from tests.conftest import SNAPSHOTS

    first = SNAPSHOTS / "FY2026_through_2026-02-13.csv"
    second = SNAPSHOTS / "FY2026_through_2026-02-24.csv"
    store = Store(tmp_path / "store")
    ingest(store, [first], progress=False)
    with running_server(store.root) as url, httpx.Client(base_url=url, timeout=120) as c:
        before = _json(c.get("/agency/CBP.json"))["facts"]["federal_action_obligation"]
        assert before == api_export_totals([first])[("CBP", 2026)]
        assert _json(c.get("/agency/CBP.json"))["facts"]["federal_action_obligation"] == before
        ingest(store, [second], progress=False)
        after = _json(c.get("/agency/CBP.json"))["facts"]["federal_action_obligation"]
        assert after == api_export_totals([second])[("CBP", 2026)] != before


def test_watch_results_pages(tmp_path):
    """A checked watch shows its stored findings; the app only reads them."""
    from contractwatch.ingest import ingest
    from contractwatch.store import Store
    from contractwatch.watch import add_watch, check
    from tests.conftest import SNAPSHOTS

    store = Store(tmp_path / "store")
    ingest(store, [SNAPSHOTS / "FY2026_through_2026-08-19.csv"], progress=False)
    add_watch(store, "ice-skip", agency="ICE", keyword="skip tracing")
    ingest(store, [SNAPSHOTS / "FY2026_through_2026-08-20.csv"], progress=False)
    finding = check(store, "ice-skip")
    with running_server(store.root) as url, httpx.Client(base_url=url, timeout=120) as c:
        listed = _json(c.get("/watches.json"))["tables"]["watches"]["rows"]
        assert [w["name"] for w in listed] == ["ice-skip"]
        assert listed[0]["headline"] == finding.headline()
        page = _json(c.get("/watch/ice-skip.json"))
        assert [r["check_id"] for r in page["tables"]["checks"]["rows"]] == [finding.check_id]
        for section, rows in finding.to_json().items():
            if section in page["tables"] and section != "checks":
                assert len(page["tables"][section]["rows"]) == len(rows), section
        html = c.get("/watch/ice-skip").text
        assert "Watch ice-skip" in html and finding.headline() in html
        assert c.get("/watch/no-such").status_code == 404


def test_family_source_rows_add_up_to_the_family_figure(client):
    data = _json(client.get("/agency/ICE.json", params={"fy": "2026"}))
    fam = data["tables"]["family"]
    assert not fam["unavailable"], fam["unavailable"]
    first = fam["rows"][0]
    rows = _json(client.get(fam["source_rows"][0].replace("/rows?", "/rows.json?")))
    assert rows["facts"]["federal_action_obligation"] == first["federal_action_obligation"]
    assert rows["facts"]["rows"] == first["transactions"]


def test_home_counts_and_coverage_match_plain_rows(client, plain_rows):
    data = _json(client.get("/index.json"))
    assert data["facts"]["rows_current"] == data["facts"]["rows_stored"] == len(plain_rows)
    codes = {"7012": "ICE", "7014": "CBP"}
    got = {(codes[r["awarding_sub_agency_code"]], r["fiscal_year"]): r["federal_action_obligation"]
           for r in data["tables"]["coverage"]["rows"]}
    assert got == api_export_totals(FILES)
