"""Distinct recipients read from ../shared/data with the csv module (no contractwatch code)."""

from __future__ import annotations

import csv
import glob
import os
from functools import lru_cache
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CONTRACTWATCH_SHARED", _ROOT.parent / "shared")).resolve() / "data"


@lru_cache(maxsize=1)
def shared_recipients() -> list[dict[str, object]]:
    """One row per distinct recipient record: FPDS rows carry DUNS, parent and the sole-
    proprietorship flag; USAspending API rows carry only the name."""
    seen: dict[tuple[object, ...], dict[str, object]] = {}
    for f in sorted(glob.glob(str(DATA / "fpds_full" / "*.csv"))):
        with open(f, newline="") as fh:
            for r in csv.DictReader(fh):
                row = {
                    "recipient_name": r["recipient_name"],
                    "recipient_uei": None,
                    "recipient_duns": r["recipient_duns"] or None,
                    "recipient_parent_uei": None,
                    "recipient_parent_duns": r["recipient_parent_duns"] or None,
                    "recipient_parent_name": r["recipient_parent_name"] or None,
                    "recipient_is_individual": r["sole_proprietorship"] == "t",
                }
                seen.setdefault(tuple(row.values()), row)
    for f in sorted(glob.glob(str(DATA / "usaspending" / "transactions" / "*.csv"))):
        with open(f, newline="") as fh:
            for r in csv.DictReader(fh):
                row = {
                    "recipient_name": r["Recipient Name"],
                    "recipient_uei": None,
                    "recipient_duns": None,
                    "recipient_parent_uei": None,
                    "recipient_parent_duns": None,
                    "recipient_parent_name": None,
                    "recipient_is_individual": None,
                }
                seen.setdefault(tuple(row.values()), row)
    return list(seen.values())
