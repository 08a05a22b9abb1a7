"""The fast path answers query commands exactly as the Typer app does, or leaves them to it.

Each command line below runs twice in this process, through `cli.start` with and without the
fast path, and the two runs must print the same bytes on stdout and stderr and exit alike.
"""

from __future__ import annotations

import json
import sys

import pytest

from contractwatch.cli import start
from contractwatch.cli.errors import run_safely
from contractwatch.cli.fastpath import OPTIONS_JSON, compile_options, parse
from contractwatch.output import set_quiet

ANSWERED = [
    ["status"],
    ["status", "--loads", "-f", "json"],
    ["top", "--agency", "ICE", "--fy", "2026", "-n", "5"],
    ["top", "--by", "psc", "--agency", "ICE", "--fy", "2026", "--format", "csv"],
    ["top", "--by=naics", "--keyword", "detention", "-f", "json", "--limit=3"],
    ["top", "--by", "family", "--agency", "ICE", "--fy", "2026", "-n", "4"],
    ["top", "--agency", "ICE", "--columns", "no_such_column"],  # an error, both ways
    ["top", "--agency", "NOPE"],
    ["top", "--fy", "twenty"],
    ["--quiet", "top", "--agency", "CBP", "--fy", "2025", "-n", "3", "--show-sql"],
    ["--duplicates", "collapse", "top", "--agency", "ICE", "--fy", "2026", "-n", "3"],
    ["trend", "--agency", "ICE"],
    ["trend", "-r", "GEO", "-f", "csv"],
    ["award", "70CDCR26FR0000024"],
    ["award", "70CDCR26D00000015"],  # a vehicle: its orders and facts
    ["award", "NO-SUCH-AWARD"],
    ["search", "detention", "--agency", "ICE", "--fy", "2026", "-n", "5"],
    ["search", "skip tracing", "--by", "vehicle", "-f", "json"],
    ["search", "guard", "--sort", "date", "--offset", "2", "-n", "3", "--min-amount", "1000.5"],
    ["search", "guard", "--sort", "nonsense"],
    ["company", "GEO GROUP", "--agency", "ICE"],
    ["company", "Capgemini", "-f", "json"],
    ["company", "CSI AVIATION", "-f", "csv", "--fy", "2025"],
    ["resolve", "explain", "THE GEO GROUP, INC."],
    ["resolve", "explain", "CSI AVIATION, INC", "-f", "json"],
]
LEFT_TO_TYPER = [
    ["--help"], ["top", "--help"], ["top", "-n", "-1"], ["top", "--limit=abc"],
    ["top", "--no-such-option"], ["top", "-n5"], ["top", "-n", "3", "-n", "4"],
    ["award"], ["award", "A", "B"], ["search", "x", "--min-amount", "nan"],
    ["--format", "json", "top"], ["--engine", "sparkle", "top"], ["top", "--", "x"],
    ["ingest", "x.csv"], ["report", "--agency", "ICE", "--fy", "2026", "-o", "r.html"],
    ["award", "--show-sql=yes", "X"], ["top", "-f", "yaml"],
    ["company"], ["resolve"], ["resolve", "update"], ["resolve", "explain"],
    ["watch", "check"],
]


def _run(args: list[str], fast: bool, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["contractwatch", *args])
    code = run_safely(start(args, fast=fast))
    set_quiet(False)  # --quiet holds for the process; the next run starts without it
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args", ANSWERED, ids=" ".join)
def test_fast_path_answers_as_typer_does(args, transactions_store, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "120")
    full = ["--store", str(transactions_store.root), *args]
    assert parse(full) is not None
    typer_run = _run(full, False, monkeypatch, capsys)
    if args[0] in ("company", "resolve"):  # the first may resolve and store the families
        typer_run = _run(full, False, monkeypatch, capsys)
    fast_run = _run(full, True, monkeypatch, capsys)
    assert fast_run == typer_run
    assert typer_run[1] or typer_run[0] == 2  # an answer, or a one-line error


@pytest.mark.parametrize("args", LEFT_TO_TYPER, ids=" ".join)
def test_anything_else_is_left_to_typer(args) -> None:
    assert parse(args) is None


def test_compiled_options_are_current() -> None:
    """data/cli_options.json is what the Typer app declares now (run
    `python -m contractwatch.cli.fastpath` after changing a query command's options)."""
    assert json.loads(OPTIONS_JSON.read_text(encoding="utf-8")) == compile_options()
