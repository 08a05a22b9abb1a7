"""The same analyses on DuckDB and on Spark (local mode): identical rows, meta and caveats.

One JVM per test session (the `spark` fixture); each catalog gets its own Spark session over
it. Expected values come from the DuckDB run and, where a figure is plain, from tests/plain.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from contractwatch import analyze as A
from contractwatch.store import Store
from tests.conftest import SNAPSHOTS, TRANSACTIONS
from tests.plain import api_export_totals, read_rows

pytestmark = pytest.mark.spark
CENT = Decimal("0.01")


@pytest.fixture(scope="session")
def spark():
    import pyspark  # noqa: F401  (a missing Spark fails loudly, never skips)

    from contractwatch.engines import spark_session, stop_spark

    session = spark_session(master="local[2]")
    yield session
    stop_spark()


def normalise(value: Any) -> Any:
    """Engine-neutral form: Spark widens decimals and may return numpy or datetime types."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, Decimal):
        return value.quantize(CENT)
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return normalise(value.item())
    return value


def same(duck: A.Result, spark: A.Result) -> None:
    assert spark.columns == duck.columns
    assert normalise(spark.rows) == normalise(duck.rows)
    assert normalise(spark.meta) == normalise(duck.meta)
    assert spark.caveats == duck.caveats


def both(store: Store, spark_session: Any) -> tuple[Any, Any]:
    return store.connect(), store.connect(engine="spark", spark_session=spark_session)


@pytest.fixture(scope="module")
def snapshots_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Every snapshot: seven vintages of FY2026, five of FY2025 (revisions, withdrawals,
    actions moved between years) — the newest-vintage logic must agree across engines."""
    from contractwatch.ingest import ingest

    store = Store(tmp_path_factory.mktemp("snapshots-store"))
    ingest(store, [SNAPSHOTS], progress=False)
    return store


QUERIES = {
    "top recipients ICE FY2026": lambda c: A.top(c, "recipient", A.Filters(agency="ICE", fy=2026),
                                                 15),
    "top psc CBP": lambda c: A.top(c, "psc", A.Filters(agency="CBP"), 10),
    "top naics keyword": lambda c: A.top(c, "naics", A.Filters(keyword="detention"), 10),
    "top by fy": lambda c: A.top(c, "fy", A.Filters(), 0),
    "top by agency": lambda c: A.top(c, "agency", A.Filters(), 0),
    "trend ICE": lambda c: A.trend(c, A.Filters(agency="ICE")),
    "trend recipient": lambda c: A.trend(c, A.Filters(recipient="geo group")),
    "search skip tracing": lambda c: A.search(c, "skip tracing", A.Filters(agency="ICE"), 0),
    "search by date, paged": lambda c: A.search(c, "detention", A.Filters(), 7, 3, "date"),
    "search min amount": lambda c: A.search(c, "software", A.Filters(
        min_amount=Decimal("100000")), 20, 0, "actions"),
    "award collapse": lambda c: A.award(c, "70CDCR26FR0000024"),
    "award keep": lambda c: A.award(c, "70CDCR26FR0000024", policy="keep"),
    "top by purpose": lambda c: A.top(c, "purpose", A.Filters(agency="ICE", fy=2025), 0),
    "trend purpose untagged": lambda c: A.trend(c, A.Filters(agency="CBP", purpose="untagged")),
    "search purpose": lambda c: A.search(c, "services", A.Filters(purpose="location-services"),
                                         10),
    "status keep": lambda c: A.status(c),
    "status collapse": lambda c: A.status(c, "collapse"),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_transactions_store_same_on_both_engines(name: str, transactions_store: Store,
                                                 spark: Any) -> None:
    duck, sp = both(transactions_store, spark)
    d = QUERIES[name](duck)
    assert d.rows, "the query must return something for the comparison to mean anything"
    same(d, QUERIES[name](sp))


def test_spark_totals_equal_plain_sums(transactions_store: Store, spark: Any) -> None:
    """Spark's decimal sums are exact to the cent (every row counted, policy keep)."""
    plain = api_export_totals(sorted(TRANSACTIONS.glob("*.csv")))
    sp = transactions_store.connect(engine="spark", spark_session=spark)
    for agency, code in (("ICE", "7012"), ("CBP", "7014")):
        rows = A.trend(sp, A.Filters(agency=code)).rows
        got = {r["fiscal_year"]: r["federal_action_obligation"] for r in rows}
        assert got == {fy: v for (a, fy), v in plain.items() if a == agency}


def test_snapshots_store_same_on_both_engines(snapshots_store: Store, spark: Any) -> None:
    duck, sp = both(snapshots_store, spark)
    for name in ("top recipients ICE FY2026", "top by fy", "trend ICE", "status keep",
                 "status collapse", "search skip tracing"):
        same(QUERIES[name](duck), QUERIES[name](sp))


def test_snapshots_current_state_on_spark_is_the_newest_file(snapshots_store: Store,
                                                             spark: Any) -> None:
    """Newest vintage wins and withdrawn rows drop out: the current FY2025/FY2026 sums are
    the plain sums of the newest snapshot of each year, on Spark too."""
    newest = [SNAPSHOTS / "FY2026_through_2026-08-20.csv",
              SNAPSHOTS / "FY2025_fetched_2026-08-22.csv"]
    plain = api_export_totals(newest)
    sp = snapshots_store.connect(engine="spark", spark_session=spark)
    rows = A.top(sp, "agency", A.Filters(fy=2026), 0).rows
    got = {r["awarding_sub_agency_code"]: r["federal_action_obligation"] for r in rows}
    assert got == {"7012": plain[("ICE", 2026)], "7014": plain[("CBP", 2026)]}
    rows = A.top(sp, "agency", A.Filters(fy=2025), 0).rows
    got = {r["awarding_sub_agency_code"]: r["federal_action_obligation"] for r in rows}
    assert got == {"7012": plain[("ICE", 2025)], "7014": plain[("CBP", 2025)]}


def test_fpds_store_same_on_both_engines(fpds_store: Store, spark: Any) -> None:
    """The full 2018 layout: ceilings, transaction numbers, UEI/DUNS columns filled."""
    duck, sp = both(fpds_store, spark)
    biggest = A.top(duck, "recipient", A.Filters(), 3)
    same(biggest, A.top(sp, "recipient", A.Filters(), 3))
    same(A.trend(duck, A.Filters()), A.trend(sp, A.Filters()))
    same(A.status(duck), A.status(sp))
    found = A.search(duck, "detention", A.Filters(), 20)
    same(found, A.search(sp, "detention", A.Filters(), 20))
    with_ceiling = [r for r in found.rows if r["potential_total_value_of_award"] is not None]
    assert with_ceiling, "fpds rows carry ceilings: the argmax path must be exercised"
    piid = with_ceiling[0]["award_id_piid"]
    same(A.award(duck, piid), A.award(sp, piid))


def test_two_catalogs_on_spark_do_not_share_views(snapshots_store: Store, spark: Any) -> None:
    """Catalogs over different load sets keep their own views (a watch compares two)."""
    from contractwatch.store import Catalog

    loads = snapshots_store.loads()
    oldest = min(loads, key=lambda ld: ld.vintage or "")
    old = Catalog(snapshots_store, [oldest], [], "spark", spark)
    cur = snapshots_store.connect(engine="spark", spark_session=spark)
    n_old = int(old.con.execute(old.transactions_all().count()))
    n_cur = int(cur.con.execute(cur.transactions_all().count()))
    assert n_old == len(read_rows(SNAPSHOTS / oldest.source_file.split("/")[-1]))
    assert n_cur > n_old
    assert int(old.con.execute(old.transactions_all().count())) == n_old


def test_watch_diff_same_on_both_engines(tmp_path: Path, spark: Any) -> None:
    from contractwatch import watch as W
    from contractwatch.ingest import ingest

    store = Store(tmp_path / "store")
    ingest(store, [SNAPSHOTS / "FY2026_through_2026-07-06.csv",
                   SNAPSHOTS / "FY2025_fetched_2026-08-04.csv"], progress=False)
    w = W.add_watch(store, "ice", agency="ICE")
    ingest(store, [SNAPSHOTS / "FY2026_through_2026-08-19.csv",
                   SNAPSHOTS / "FY2025_fetched_2026-08-19.csv"], progress=False)

    def plain(finding: Any) -> dict[str, Any]:
        d = dataclasses.asdict(finding)
        d.pop("check_id")
        d.pop("checked_at")
        return normalise(d)

    duck = plain(W.compare(store, w, engine="duckdb"))
    assert duck["new_awards"] and duck["new_modifications"]
    assert plain(W.compare(store, w, engine="spark")) == duck


def test_families_and_brands_same_on_both_engines(transactions_store: Store,
                                                  spark: Any) -> None:
    from contractwatch import companies

    duck, sp = both(transactions_store, spark)
    f = A.Filters(agency="ICE", fy=2026)
    for by in ("family", "brand"):
        d = companies.top_by_family_or_brand(duck, by, f, 10, "keep")
        assert d.rows
        same(d, companies.top_by_family_or_brand(sp, by, f, 10, "keep"))


def test_splink_model_same_predictions_on_spark(spark: Any) -> None:
    """The resolver's Splink model on Splink's Spark backend scores like on DuckDB."""
    from splink import Linker

    from contractwatch.engines import splink_db_api
    from contractwatch.resolve import matching

    names = sorted({r["Recipient Name"] for r in
                    read_rows(TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv")})
    records = [matching.MatchRecord(unique_id=str(i), name=n) for i, n in enumerate(names)]
    scored = {}
    for engine in ("duckdb", "spark"):
        api = splink_db_api(engine)
        linker = Linker(api.register(matching._records_table(records)),
                        matching.model_settings())
        df = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
        scored[engine] = {(r.unique_id_l, r.unique_id_r): round(r.match_probability, 9)
                          for r in df.itertuples()}
    assert scored["duckdb"], "some names must match for the comparison to mean anything"
    assert scored["spark"] == scored["duckdb"]


def test_cli_engine_spark(transactions_store: Store) -> None:
    """`contractwatch --engine spark top …` starts its own local Spark and prints the same."""
    env = {**os.environ, "CONTRACTWATCH_SPARK_MASTER": "local[1]"}
    args = ["top", "--agency", "ICE", "--fy", "2026", "--limit", "5", "--format", "json"]

    def run(*extra: str) -> list[dict[str, Any]]:
        out = subprocess.run([sys.executable, "-m", "contractwatch", "--store",
                              str(transactions_store.root), *extra, *args],
                             capture_output=True, text=True, timeout=300, env=env)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout, parse_float=Decimal)

    spark_rows = run("--engine", "spark")
    assert len(spark_rows) == 5
    assert spark_rows == run("--engine", "duckdb")


def test_unknown_engine_is_a_clear_error(transactions_store: Store) -> None:
    out = subprocess.run([sys.executable, "-m", "contractwatch", "--store",
                          str(transactions_store.root), "status"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "CONTRACTWATCH_ENGINE": "oracle"})
    assert out.returncode == 2 and "oracle" in out.stderr
    assert "Traceback" not in out.stderr


def test_search_pages_are_slices_of_the_full_order(transactions_store: Store,
                                                   spark: Any) -> None:
    """Offset paging is an explicit row number in the sort order, on both engines."""
    for catalog in both(transactions_store, spark):
        full = A.search(catalog, "detention", A.Filters(), 0, 0, "date").rows
        page = A.search(catalog, "detention", A.Filters(), 7, 3, "date").rows
        assert len(full) > 10
        assert page == full[3:10]
        assert "_rn" not in page[0]


@pytest.fixture()
def spark_connect_url(tmp_path: Path):
    """A real Spark Connect server on a free loopback port (Spark ships it)."""
    import socket

    import grpc  # noqa: F401  (Spark Connect clients need pyspark[connect])
    import pyspark

    home = Path(pyspark.__file__).parent
    jars = sorted((home / "jars").glob("spark-connect_*.jar"))
    assert jars, "this PySpark has no Spark Connect server jar"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "connect.log"
    with open(log, "w") as fh:
        server = subprocess.Popen(
            [str(home / "bin" / "spark-submit"), "--class",
             "org.apache.spark.sql.connect.service.SparkConnectServer", "--master", "local[1]",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.memory=1g",
             "--conf", "spark.driver.bindAddress=127.0.0.1",
             "--conf", "spark.driver.host=127.0.0.1", str(jars[-1])],
            stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
    try:
        deadline = time.monotonic() + 180
        while "Spark Connect server started" not in log.read_text():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Spark Connect server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.mark.slow
def test_cli_on_spark_connect(transactions_store: Store, spark_connect_url: str) -> None:
    """CONTRACTWATCH_SPARK_REMOTE points the same commands at a Spark Connect server."""
    env = {**os.environ, "CONTRACTWATCH_ENGINE": "spark",
           "CONTRACTWATCH_SPARK_REMOTE": spark_connect_url}
    base = [sys.executable, "-m", "contractwatch", "--store", str(transactions_store.root)]
    args = ["search", "skip tracing", "--agency", "ICE", "--limit", "5", "--offset", "2",
            "--format", "json"]
    out = subprocess.run([*base, *args], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    duck = subprocess.run([*base, "--engine", "duckdb", *args], capture_output=True, text=True,
                          timeout=120)
    remote = json.loads(out.stdout, parse_float=Decimal)
    assert len(remote) == 5
    assert remote == json.loads(duck.stdout, parse_float=Decimal)
