"""All configuration in one place, read from CONTRACTWATCH_* environment variables.

Tests override these by setting the variables (or passing explicit arguments); nothing else in
the package reads a CONTRACTWATCH_* variable (tests/test_settings.py checks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DUPLICATE_POLICIES = ("keep", "collapse")
ENGINES = ("duckdb", "spark")
COMPRESSIONS = ("snappy", "zstd")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"CONTRACTWATCH_{name}")
    return value if value not in (None, "") else default


def default_store_dir() -> Path:
    """Per-user data directory, unless CONTRACTWATCH_STORE says otherwise."""
    explicit = _env("STORE")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("contractwatch")) / "store"


def default_threads() -> int:
    """Every core this process may run on: a query should use the machine as a
    hand-written DuckDB query would."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 2


def default_memory_limit() -> str:
    """A quarter of the machine's memory, at least 1 GiB. Distinct counts over tens of
    millions of rows need a few GB; below that DuckDB spills to disk and runs ~25 % slower
    (50M rows, 1 GB vs 6 GB), while a quarter leaves room for other programs."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX
        return "1GiB"
    return f"{max(1024, total // 4 // 2**20)}MiB"


@dataclass(frozen=True)
class Settings:
    """Runtime settings; build with :func:`load`."""

    store_dir: Path
    # How identical rows inside one API export are treated (see DESIGN "Money rules"):
    # keep = every copy counts (right for totals: each copy stands for a skipped transaction
    # of the same amount); collapse = one row per transaction key (for per-action views).
    duplicate_policy: str = "keep"
    engine: str = "duckdb"
    spark_master: str = "local[2]"
    spark_remote: str | None = None
    api_url: str = "https://api.usaspending.gov"
    api_rate_per_second: float = 4.0
    api_timeout_seconds: float = 60.0
    # DuckDB queries: worker threads and the memory they may use before spilling to disk
    # (ingest keeps its own bounds: one engine thread, 512 MB)
    threads: int = 2
    memory_limit: str = "1GiB"
    # Parquet written by ingest: snappy loads faster, zstd makes a store ~40 % smaller
    # (2M rows: 205 MB vs 127 MB; ingest about 8 % slower)
    parquet_compression: str = "snappy"

    def __post_init__(self) -> None:
        if self.duplicate_policy not in DUPLICATE_POLICIES:
            raise ValueError(
                f"duplicate policy must be one of {DUPLICATE_POLICIES}, "
                f"not {self.duplicate_policy!r}"
            )
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {self.engine!r}")
        if self.parquet_compression not in COMPRESSIONS:
            raise ValueError(f"Parquet compression must be one of {COMPRESSIONS}, "
                             f"not {self.parquet_compression!r}")


def engine_resources() -> tuple[int, str]:
    """DuckDB's threads and memory limit (what every connection needs, without finding the
    store folder, which imports platformdirs)."""
    return (int(_env("THREADS") or default_threads()),
            _env("MEMORY_LIMIT") or default_memory_limit())


def load(store_dir: str | Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI options) winning."""
    values: dict[str, object] = {
        "store_dir": Path(store_dir).expanduser() if store_dir else default_store_dir(),
        "duplicate_policy": _env("DUPLICATE_POLICY", "keep"),
        "engine": _env("ENGINE", "duckdb"),
        "spark_master": _env("SPARK_MASTER", "local[2]"),
        "spark_remote": _env("SPARK_REMOTE"),
        "api_url": _env("API_URL", "https://api.usaspending.gov"),
        "api_rate_per_second": float(_env("API_RATE", "4") or 4),
        "api_timeout_seconds": float(_env("API_TIMEOUT", "60") or 60),
        **dict(zip(("threads", "memory_limit"), engine_resources(), strict=True)),
        "parquet_compression": _env("PARQUET_COMPRESSION", "snappy"),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)  # type: ignore[arg-type]


# ---- data files and switches read where they are used (no Settings object reaches there) --

def families_files() -> list[str]:
    """User families files (CONTRACTWATCH_FAMILIES, separated like PATH) added to the
    shipped set."""
    return [p for p in (_env("FAMILIES") or "").split(os.pathsep) if p]


def purposes_file() -> Path | None:
    """A taxonomy to use instead of the shipped one (CONTRACTWATCH_PURPOSES)."""
    value = _env("PURPOSES")
    return Path(value) if value else None


def purpose_examples_off() -> bool:
    """CONTRACTWATCH_PURPOSE_EXAMPLES=off (or 0, no): no nearest-example suggestions even
    where the `meaning` extra is installed."""
    return (_env("PURPOSE_EXAMPLES") or "").lower() in ("off", "0", "no")
