"""Money as exact decimals in dollars. Floats never touch a total."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
# A US-formatted amount as people and spreadsheets write it: "$1,234.50", "-1234.5", "(12.00)".
# Accounting parentheses must pair: "(1,234.50" and "99.00)" are not amounts.
_NUMBER = r"-?\$?-?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?"
_US_AMOUNT = re.compile(rf"\({_NUMBER}\)|{_NUMBER}")


def clean_amount_text(text: str) -> str:
    """Strip currency signs and thousands separators from a plain US amount.

    Returns the text unchanged when it does not look like one, so the caller's strict parse
    reports it. Accounting negatives "(12.00)" become "-12.00".
    """
    s = text.strip()
    if not s or not _US_AMOUNT.fullmatch(s) or s in ("$", "-", "()"):
        return s
    negative = s.startswith("(") and s.endswith(")")
    s = s.strip("()").replace("$", "").replace(",", "")
    return "-" + s.lstrip("-") if negative else s


# a trailing point ("12.") is refused, as the ingest engine's money macro refuses it
_PLAIN = re.compile(r"-?(\d+(\.\d+)?|\.\d+)")


def parse_money(text: str) -> Decimal:
    """Parse one amount exactly; raise ValueError naming the bad text.

    Scientific notation (1E26) is refused: a spreadsheet wrote it, and the cents are gone.
    """
    cleaned = clean_amount_text(text)
    if not _PLAIN.fullmatch(cleaned):
        raise ValueError(f"not an amount: {text!r}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    if value != value.quantize(CENT):
        raise ValueError(f"amount has fractions of a cent: {text!r}")
    return value.quantize(CENT)


def format_dollars(value: Decimal | float | int | None) -> str:
    """$1,234.56 style for tables; negative amounts keep their sign."""
    if value is None:
        return ""
    d = Decimal(value).quantize(CENT)
    sign = "-" if d < 0 else ""
    return f"{sign}${abs(d):,.2f}"
