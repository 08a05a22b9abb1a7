"""The analyses' precompiled SQL (data/query_templates.json) is what Ibis compiles now, and a
query command runs it without importing Ibis, pandas or Arrow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from contractwatch import queries

HEAVY = ("ibis", "pandas", "pyarrow", "sqlglot", "httpx", "numpy")


def test_shipped_templates_match_the_expressions():
    shipped = json.loads(queries.TEMPLATES_JSON.read_text(encoding="utf-8"))
    assert queries.compile_all() == shipped, (
        "data/query_templates.json is stale: run `python -m contractwatch.queries`")


def test_one_template_is_read_as_the_whole_file_reads_it():
    whole = queries.templates()
    assert {name: queries.template(name) for name in whole} == whole
    with pytest.raises(KeyError):
        queries.template("top:no-such-query:keep:disjoint")


def test_values_are_filled_in_as_quoted_literals():
    sql = "SELECT * FROM t WHERE a = '§recipient§' AND b = CAST('§fy§' AS BIGINT) LIMIT " \
        f"{queries.LIMIT_MARK}"
    filled = _fill(sql, {"recipient": "O'Brien § 'x'", "fy": 2026, "limit": 5})
    assert filled == ("SELECT * FROM t WHERE a = 'O''Brien § ''x''' AND "
                      "b = CAST('2026' AS BIGINT) LIMIT 5")
    assert _fill(sql, {"limit": 0}).endswith("CAST(NULL AS BIGINT) ")
    assert queries.sql_literal(Decimal("10.50")) == "'10.50'"
    with pytest.raises(TypeError):
        queries.sql_literal(1.5)


def _fill(sql: str, values: dict) -> str:
    original = queries.templates
    queries.templates = lambda: {"q": sql}  # type: ignore[assignment]
    try:
        return queries.fill("q", values)
    finally:
        queries.templates = original  # type: ignore[assignment]


def _modules_after(args: list[str], store: str) -> set[str]:
    code = ("import sys\nfrom contractwatch.cli import start\n"
            "from contractwatch.cli.errors import run_safely\n"
            f"sys.argv = ['contractwatch', *{args!r}]\n"
            "code = run_safely(start(sys.argv[1:]))\n"
            "print('\\n'.join(sorted(sys.modules)))\n"
            "sys.exit(code)\n")
    env = {**os.environ, "CONTRACTWATCH_STORE": store}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.parametrize("args", [
    ["--help"], ["top", "--help"],
])
def test_help_imports_no_engine_layer(args, tmp_path):
    loaded = _modules_after(args, str(tmp_path))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert "duckdb" not in loaded


@pytest.mark.parametrize("args", [
    ["status"],
    ["top", "--agency", "ICE", "--fy", "2026"],
    ["top", "--by", "psc", "--keyword", "guard", "-n", "3"],
    ["top", "--by", "agency", "--format", "json"],
    ["trend", "--agency", "ICE", "--recipient", "GEO"],
    ["search", "detention", "--agency", "ICE", "--offset", "2", "-n", "3"],
])
def test_query_commands_import_no_ibis_pandas_or_arrow(args, transactions_store):
    loaded = _modules_after(args, str(transactions_store.root))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert "typer" not in loaded  # answered on the fast path (cli/fastpath.py)


@pytest.mark.parametrize("args", [
    ["top", "--by", "family", "--agency", "ICE", "--fy", "2026"],
    ["top", "--by", "brand", "-n", "5"],
    ["company", "Capgemini"],
    ["resolve", "explain", "THE GEO GROUP, INC."],
])
def test_family_and_brand_answers_read_the_stored_resolution(args, transactions_store):
    """Once resolved (by the first such question), family, brand and company answers cost
    what a recipient answer costs: no matcher, no Ibis, no Arrow."""
    _modules_after(args, str(transactions_store.root))  # the first may resolve and store
    loaded = _modules_after(args, str(transactions_store.root))
    assert not loaded & {*HEAVY, "splink"}, sorted(loaded & {*HEAVY, "splink"})
    assert "typer" not in loaded  # answered on the fast path (cli/fastpath.py)


def test_stored_resolution_follows_the_data_and_the_judgements(tmp_path):
    """A new load or a new judgement gives a new version (computed again); an unchanged
    store reuses the stored one."""
    from contractwatch import companies
    from contractwatch.ingest import ingest
    from contractwatch.store import Store
    from tests.conftest import TRANSACTIONS

    store = Store(tmp_path / "s")
    ingest(store, [TRANSACTIONS / "CBP_ICE_FY2025_Contract_Obligations.csv"], progress=False)
    first = companies.families_folder(store.connect())
    assert (first / "mapping.parquet").is_file()
    assert companies.families_folder(store.connect()) == first
    (first / "evidence.json").write_text('{"org_names": {}, "evidence": {"x": ["kept"]}, '
                                         '"threshold": 0.8}')
    # read back as stored, not computed again
    assert companies.resolution_rows(store.connect()).evidence == {"x": ["kept"]}
    ingest(store, [TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"], progress=False)
    after_load = companies.families_folder(store.connect())
    assert after_load != first
    judged = companies.judgements_path(store.connect())
    judged.parent.mkdir(parents=True, exist_ok=True)
    judged.write_text("left_id,right_id,judgement\n")
    after_judgement = companies.families_folder(store.connect())
    assert after_judgement not in (first, after_load)
    assert companies.brands_folder(store.connect()).parent.name == "brands"


@pytest.mark.parametrize(("args", "hidden", "extra"), [
    (["export", "--format", "ftm", "--agency", "ICE", "--fy", "2026"], "followthemoney", "ftm"),
    (["serve", "--port", "0"], "fastapi", "web"),
])
def test_a_missing_extra_is_named_in_one_line(args, hidden, extra, transactions_store):
    """Optional parts are extras: a command that needs a missing one says which to install."""
    code = ("import sys\n"
            f"sys.modules[{hidden!r}] = None  # as if not installed\n"
            "from contractwatch.cli import start\n"
            "from contractwatch.cli.errors import run_safely\n"
            f"sys.argv = ['contractwatch', *{args!r}]\n"
            "sys.exit(run_safely(start(sys.argv[1:])))\n")
    env = {**os.environ, "CONTRACTWATCH_STORE": str(transactions_store.root)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"install contractwatch[{extra}]" in lines[0], done.stderr
    assert hidden in lines[0]


def test_a_report_draws_its_charts_with_nothing_extra_installed(transactions_store, tmp_path):
    """Charts are SVG written by contractwatch.charts: no chart library, even when one is
    installed, is imported for them."""
    code = ("import sys\nsys.modules['vl_convert'] = None\nsys.modules['altair'] = None\n"
            "from contractwatch.cli import start\n"
            "from contractwatch.cli.errors import run_safely\n"
            f"sys.argv = ['contractwatch', 'report', '--agency', 'ICE', '--fy', '2026', "
            f"'-o', {str(tmp_path / 'r.html')!r}]\n"
            "sys.exit(run_safely(start(sys.argv[1:])))\n")
    env = {**os.environ, "CONTRACTWATCH_STORE": str(transactions_store.root)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") >= 4 and "install contractwatch[charts]" not in page
