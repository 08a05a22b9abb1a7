"""Query engine resources: the machine's cores and a quarter of its memory unless set."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from contractwatch.store import Store


def _engine_settings(store: Store) -> tuple[int, str]:
    con = store.connect().con.con
    return con.execute(
        "SELECT current_setting('threads'), current_setting('memory_limit')").fetchone()


def _as_duckdb_shows(limit: str) -> str:
    return duckdb.connect(config={"memory_limit": limit}).execute(
        "SELECT current_setting('memory_limit')").fetchone()[0]


def test_queries_use_every_core_and_a_quarter_of_memory(transactions_store: Store) -> None:
    with open("/proc/meminfo") as fh:
        kib = int(next(line for line in fh if line.startswith("MemTotal:")).split()[1])
    quarter_mib = max(1024, kib // 4 // 1024)
    threads, limit = _engine_settings(transactions_store)
    assert threads == len(os.sched_getaffinity(0))
    assert limit == _as_duckdb_shows(f"{quarter_mib}MiB")


def test_environment_overrides_resources(transactions_store: Store,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACTWATCH_THREADS", "1")
    monkeypatch.setenv("CONTRACTWATCH_MEMORY_LIMIT", "1500MB")
    assert _engine_settings(transactions_store) == (1, _as_duckdb_shows("1500MB"))


def test_only_settings_reads_contractwatch_variables() -> None:
    """Every CONTRACTWATCH_* variable is read in settings.py, so one file lists them all."""
    import re

    import contractwatch

    package = Path(contractwatch.__file__).parent
    reads = re.compile(r"(environ|getenv)[^\n]*CONTRACTWATCH_")
    readers = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                     if p.name != "settings.py" and reads.search(p.read_text()))
    assert readers == []
