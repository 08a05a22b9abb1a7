"""Spilling to disk: every DuckDB connection of every process gets a folder of its own.

DuckDB names its temporary files alike in every process; two processes spilling into one
folder overwrote each other's blocks ("Corrupt temporary file", seen on a 10M-row store)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from contractwatch.store import duckdb_config


def test_each_connection_and_process_spills_into_a_folder_of_its_own() -> None:
    first, second = duckdb_config("64MB"), duckdb_config("64MB")
    assert first["temp_directory"] != second["temp_directory"]
    assert Path(first["temp_directory"]).parent == Path(second["temp_directory"]).parent
    other = subprocess.run(
        [sys.executable, "-c", "import json; from contractwatch.store import duckdb_config; "
         "print(json.dumps(duckdb_config()['temp_directory']))"],
        capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(other.stdout) not in (first["temp_directory"], second["temp_directory"])


def test_a_spilling_query_answers_and_leaves_no_folder_behind() -> None:
    import duckdb

    config = {**duckdb_config("48MB"), "threads": 1}
    con = duckdb.connect(config=config)
    total = con.sql("SELECT sum(i) FROM (SELECT i, repeat('x', 64) AS pad FROM range(2000000) "
                    "r(i) ORDER BY pad || i::VARCHAR DESC)").fetchone()[0]
    con.close()
    assert total == sum(range(2_000_000))
    assert not Path(config["temp_directory"]).exists()
