"""The pure value modules: fiscal years, money, identifiers (Hypothesis where it helps)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contractwatch.values.fiscal import fiscal_year, fiscal_year_bounds, parse_fiscal_year
from contractwatch.values.ids import pad_agency_code, pad_duns, parse_award_key, permalink
from contractwatch.values.money import format_dollars, parse_money


@given(st.dates(min_value=date(1980, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_falls_inside_its_fiscal_year(day: date) -> None:
    start, end = fiscal_year_bounds(fiscal_year(day))
    assert start <= day <= end
    assert fiscal_year(start - timedelta(days=1)) == fiscal_year(day) - 1


def test_fiscal_year_edges_and_spellings() -> None:
    assert fiscal_year(date(2025, 10, 1)) == 2026
    assert fiscal_year(date(2026, 9, 30)) == 2026
    assert [parse_fiscal_year(x) for x in ("2026", "FY2026", "fy26", 2026)] == [2026] * 4
    with pytest.raises(ValueError):
        parse_fiscal_year("next year")


@given(st.decimals(min_value=Decimal("-1e13"), max_value=Decimal("1e13"), places=2,
                   allow_nan=False, allow_infinity=False))
def test_money_round_trips_through_text_and_us_format(value: Decimal) -> None:
    assert parse_money(str(value)) == value
    assert parse_money(f"{value:,.2f}") == value
    assert parse_money(format_dollars(value).replace("$", "")) == value


def test_duns_and_agency_codes_get_their_zeros_back() -> None:
    assert pad_duns("52089695") == "052089695"
    assert pad_duns(" 123456789 ") == "123456789"
    assert pad_duns("") is None
    assert pad_agency_code("559") == "0559"
    assert pad_agency_code("7012") == "7012"


def test_award_keys() -> None:
    key = parse_award_key("CONT_AWD_70CDCR26FR0000024_7012_70CDCR26D00000015_7012")
    assert key is not None and key.parent_key == "CONT_IDV_70CDCR26D00000015_7012"
    none = parse_award_key("CONT_AWD_70CDCR26C00000016_7012_-NONE-_-NONE-")
    assert none is not None and none.parent_key is None
    assert str(none) == "CONT_AWD_70CDCR26C00000016_7012_-NONE-_-NONE-"
    assert parse_award_key("70CDCR26FR0000024") is None
    assert permalink("CONT_IDV_X_7012") == "https://www.usaspending.gov/award/CONT_IDV_X_7012/"
