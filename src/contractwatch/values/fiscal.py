"""Federal fiscal years: FY2026 runs 2025-10-01 … 2026-09-30."""

from __future__ import annotations

from datetime import date


def fiscal_year(day: date) -> int:
    """The federal fiscal year a date falls in (October starts the next year's FY)."""
    return day.year + 1 if day.month >= 10 else day.year


def fiscal_year_bounds(fy: int) -> tuple[date, date]:
    """First and last day of a fiscal year."""
    return date(fy - 1, 10, 1), date(fy, 9, 30)


def parse_fiscal_year(text: str | int) -> int:
    """Accept 2026, '2026', 'FY2026', 'fy26'."""
    s = str(text).strip().upper().removeprefix("FY").strip()
    if not s.isdigit() or len(s) not in (2, 4):
        raise ValueError(f"not a fiscal year: {text!r} (use e.g. 2026 or FY2026)")
    year = int(s)
    return 2000 + year if len(s) == 2 else year
