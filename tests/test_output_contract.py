"""One output contract for every command, in every format (README, "What you can ask").

The answer goes to stdout, headline facts included, parseable as JSON or CSV; caveats go to
stderr, each once, and `--quiet` silences them; an 80-column table never breaks a number or
a date. Expected figures are plain csv-module sums over the source rows.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch.store import Store
from tests.conftest import TRANSACTIONS
from tests.plain import fiscal_year, read_rows

FY2026 = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"
AWARD = "70CDCR26FR0000024"
COMMANDS = {  # what each answer must carry, as JSON/CSV names
    "status": (["status"], ["rows_current", "awarding_sub_agency_code"]),
    "status --loads": (["status", "--loads"], ["source_file", "vintage"]),
    "top": (["top", "--agency", "ICE", "--fy", "2026", "-n", "5"],
            ["recipient_name", "federal_action_obligation", "scope_total_obligations"]),
    "top family": (["top", "--agency", "ICE", "--fy", "2026", "--by", "family", "-n", "5"],
                   ["family_name", "scope_total_obligations"]),
    "top brand": (["top", "--agency", "ICE", "--by", "brand", "-n", "5"],
                  ["brand", "shared_with_other_brands"]),
    "top psc": (["top", "--agency", "CBP", "--by", "psc", "-n", "5"],
                ["product_or_service_code_description", "scope_total_obligations"]),
    "trend": (["trend", "--recipient", "GEO GROUP"],
              ["fiscal_year", "federal_action_obligation", "change_from_previous_year"]),
    "award": (["award", AWARD],
              ["recipient_name", "award_total_obligations", "award_ceiling",
               "parent_award_id_piid", "usaspending_permalink", "running_total"]),
    "search": (["search", "skip tracing", "--agency", "ICE", "--fy", "2026", "-n", "5"],
               ["award_id_piid", "matching_description", "total_awards"]),
    "company": (["company", "Capgemini", "-n", "3"],
                ["family_name", "scope_total_obligations"]),
    # JSON: the nested explanation (organisations, their links and scored pairs)
    "explain": (["resolve", "explain", "DELL MARKETING L.P."], ["query", "organisations"]),
}
FORMATS = ("table", "json", "csv")
MONEY = re.compile(r"-?\$[\d,.]+")
WHOLE_MONEY = re.compile(r"-?\$\d{1,3}(,\d{3})*\.\d\d")
DATE_START = re.compile(r"(?<![\d-])\d{4}-\d\d-[\d]*")
WHOLE_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def run(store: Store, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "contractwatch", "--store", str(store.root),
                           *args], capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def answers(transactions_store: Store) -> dict[tuple[str, str], subprocess.CompletedProcess]:
    """Every command in every format (two at a time: the machine has two cores)."""
    jobs = [(name, fmt) for name in COMMANDS for fmt in FORMATS]

    def one(job: tuple[str, str]) -> subprocess.CompletedProcess[str]:
        name, fmt = job
        return run(transactions_store, *COMMANDS[name][0], "--format", fmt)

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(jobs, pool.map(one, jobs), strict=True))


def notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("note:")]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_format_parses_and_carries_the_answer(answers, name: str) -> None:
    wanted = COMMANDS[name][1]
    for fmt in FORMATS:
        out = answers[(name, fmt)]
        assert out.returncode == 0, (name, fmt, out.stderr[-2000:])
        assert "Traceback" not in out.stderr
        assert not any(line.startswith("note:") for line in out.stdout.splitlines())
        if fmt == "json":
            data = json.loads(out.stdout, parse_float=Decimal)
            rows = data if isinstance(data, list) else [data]
            assert rows and all(k in rows[0] for k in wanted), (name, list(rows[0]))
        elif fmt == "csv":
            reader = csv.DictReader(io.StringIO(out.stdout))
            flat = ["family_name"] if name == "explain" else wanted
            assert set(flat) <= set(reader.fieldnames or []), (name, reader.fieldnames)
            assert list(reader)
        else:
            assert not out.stdout.lstrip().startswith(("{", "["))  # a table, not JSON
        said = notes(out.stderr)
        assert len(said) == len(set(said)), (name, fmt, said)  # each caveat once


@pytest.mark.parametrize("name", COMMANDS)
def test_tables_at_80_columns_keep_numbers_and_dates_whole(answers, name: str) -> None:
    text = answers[(name, "table")].stdout
    for line in text.splitlines():
        assert len(line) <= 80 or not line.startswith(("│", "┃", "┏", "└")), line
        for token in MONEY.findall(line):
            assert WHOLE_MONEY.fullmatch(token.rstrip(".")), (name, token, line)
        for token in DATE_START.findall(line):
            assert WHOLE_DATE.fullmatch(token), (name, token, line)


def test_award_headline_facts_are_on_stdout(answers) -> None:
    rows = [r for f in sorted(TRANSACTIONS.glob("*.csv")) for r in read_rows(f)
            if r["Award ID"] == AWARD]
    total = sum(Decimal(r["Federal Action Obligation"]) for r in rows)
    table = " ".join(answers[("award", "table")].stdout.split())
    assert rows[0]["Recipient Name"] in table
    assert f"obligated on this award: ${total:,.2f}" in table
    assert "ceiling (this award's own): unknown" in table  # the API export has none
    assert f"usaspending.gov/award/{rows[0]['Generated Award ID']}" in table
    data = json.loads(answers[("award", "json")].stdout, parse_float=Decimal)
    assert {d["award_total_obligations"] for d in data} == {total}
    assert {d["award_ceiling"] for d in data} == {None}
    assert data[0]["parent_award_id_piid"] == rows[0]["Generated Award ID"].split("_")[4]


def test_scope_total_is_part_of_a_ranking(answers) -> None:
    ice = [r for r in read_rows(FY2026) if r["Agency"] == "ICE"
           and fiscal_year(r["Action Date"]) == 2026]
    total = sum(Decimal(r["Federal Action Obligation"]) for r in ice)
    assert f"obligations in the whole scope: ${total:,.2f}" in answers[("top", "table")].stdout
    rows = list(csv.DictReader(io.StringIO(answers[("top", "csv")].stdout)))
    assert {Decimal(r["scope_total_obligations"]) for r in rows} == {total}


def test_caveats_are_worded_once_and_only_when_true(answers) -> None:
    status = answers[("status", "table")].stderr
    assert len(re.findall(r"no fetch date|no vintage", status)) == 1
    assert "contractwatch status" not in status
    assert "PSC/NAICS codes" not in answers[("top psc", "table")].stderr
    assert "all agencies" in answers[("trend", "table")].stdout.splitlines()[0]
    company = answers[("company", "table")]
    assert notes(company.stderr) and "unknown" in company.stdout  # ceilings it lacks
    counts = json.loads(answers[("top brand", "json")].stdout)
    brand_table = answers[("top brand", "table")].stdout
    assert all(isinstance(r["shared_with_other_brands"], int) for r in counts)
    assert "shared_with_other_brands" not in brand_table  # headers in words


def test_status_names_agencies(answers) -> None:
    table = answers[("status", "table")].stdout
    assert re.search(r"7012\s+│ ICE", table) and re.search(r"7014\s+│ CBP", table)


def test_quiet_silences_caveats_anywhere_on_the_line(transactions_store: Store) -> None:
    loud = run(transactions_store, "top", "--agency", "ICE", "--fy", "2026", "-n", "3")
    quiet = run(transactions_store, "top", "--agency", "ICE", "--fy", "2026", "-n", "3",
                "--quiet")
    assert notes(loud.stderr) and not notes(quiet.stderr)
    assert quiet.returncode == 0 and quiet.stdout == loud.stdout
    first = run(transactions_store, "--quiet", "trend", "--agency", "ICE")
    assert first.returncode == 0 and not notes(first.stderr)


def test_ingest_answers_in_every_format(tmp_path: Path) -> None:
    src = TRANSACTIONS / "CBP_ICE_FY2021_Contract_Obligations.csv"
    rows = len(read_rows(src))
    for fmt in FORMATS:
        out = run(Store(tmp_path / fmt), "ingest", str(src), "--format", fmt)
        assert out.returncode == 0, out.stderr
        if fmt == "json":
            assert json.loads(out.stdout)[0]["rows_kept"] == rows
        elif fmt == "csv":
            assert int(next(csv.DictReader(io.StringIO(out.stdout)))["rows_kept"]) == rows
        else:
            assert f"{rows:,}" in out.stdout
        assert len(re.findall(r"no vintage", out.stderr)) <= 1


def test_the_report_prints_counts_as_counts(transactions_store: Store) -> None:
    from contractwatch.report import build_report, to_markdown

    md = to_markdown(build_report(transactions_store.connect(), "ICE", 2026, limit=5,
                                  charts=False))
    tables = [line for line in md.splitlines() if line.startswith("|")]  # not the SQL notes
    assert not any("family_source" in t or "shared_with_other_brands" in t for t in tables)
    header = next(line for line in md.splitlines() if "actions naming other brands" in line)
    cells = [c.strip() for c in header.split("|")]
    col = cells.index("actions naming other brands")
    lines = md.splitlines()
    body = lines[lines.index(header) + 2:]
    values = [line.split("|")[col].strip() for line in body if line.startswith("|")]
    assert values and not any(v.startswith("$") for v in values)
