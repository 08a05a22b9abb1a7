"""What the command line chose (global options, output formats), without Typer: the fast
path (`cli/fastpath.py`) answers query commands through it without importing Typer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Policy(StrEnum):
    keep = "keep"
    collapse = "collapse"


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@dataclass
class State:
    store_dir: Path | None = None
    duplicates: str | None = None
    engine: str | None = None

    def settings(self) -> Any:
        from contractwatch import settings

        return settings.load(self.store_dir, duplicate_policy=self.duplicates,
                             engine=self.engine)

    def store(self) -> Any:
        from contractwatch.store import Store

        return Store(self.settings().store_dir)

    def catalog(self) -> Any:
        s = self.settings()
        from contractwatch.store import Store

        return Store(s.store_dir).connect(engine=s.engine)

    def api(self) -> Any:
        """The Python API's view of the store, as the options set it (contractwatch.api)."""
        from contractwatch.api import OpenStore

        return OpenStore(self.store_dir, engine=self.engine, duplicates=self.duplicates)

    @property
    def policy(self) -> str:
        return self.settings().duplicate_policy


state = State()
