"""Independent computations over the shared CSV files with the csv module and Decimal.

These are the expected values of the tests; they share no code with contractwatch.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def fiscal_year(iso_date: str) -> int:
    year, month = int(iso_date[:4]), int(iso_date[5:7])
    return year + 1 if month >= 10 else year


def api_export_totals(paths: list[Path]) -> dict[tuple[str, int], Decimal]:
    """Plain sum of Federal Action Obligation per (Agency, fiscal year), every row counted."""
    totals: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for path in paths:
        for row in read_rows(path):
            key = (row["Agency"], fiscal_year(row["Action Date"]))
            totals[key] += Decimal(row["Federal Action Obligation"])
    return dict(totals)
