"""Identifiers: DUNS, UEI, PIIDs and USAspending's generated award keys."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

NONE = "-NONE-"
_AWARD_KEY = re.compile(
    r"^CONT_AWD_(?P<piid>[^_]+)_(?P<agency>[^_]+)_(?P<parent>[^_]+)_(?P<pagency>[^_]+)$"
)
_IDV_KEY = re.compile(r"^CONT_IDV_(?P<piid>[^_]+)_(?P<agency>[^_]+)$")
PERMALINK = "https://www.usaspending.gov/award/{key}/"


DOD_KEY_AGENCY = "9700"


@functools.cache
def key_agency_codes() -> frozenset[str]:
    """Sub-tier codes whose award keys carry the Department of Defense's 9700 (not their own
    code): every sub-tier of top-tier agency 097 in data/agencies.csv."""
    import csv
    from importlib.resources import files

    with files("contractwatch").joinpath("data/agencies.csv").open(encoding="utf-8") as fh:
        return frozenset(r["subtier_code"] for r in csv.DictReader(fh)
                         if r["toptier_code"] == "097")


def key_agency(sub_agency_code: str | None, agency_code: str | None = None) -> str | None:
    """The agency inside USAspending's keys for an awarding sub-tier (see sources/keys.py)."""
    if agency_code == "097" or (sub_agency_code and sub_agency_code in key_agency_codes()):
        return DOD_KEY_AGENCY
    return sub_agency_code


def pad_duns(value: str | None) -> str | None:
    """DUNS are 9 digits; spreadsheets strip leading zeros (52089695 was 052089695)."""
    if value is None:
        return None
    s = value.strip()
    if not s:
        return None
    if s.isdigit() and len(s) <= 9:
        return s.zfill(9)
    return s


def pad_agency_code(value: str | None) -> str | None:
    """Agency codes are 4 characters; 559 was 0559 (GAO) before a spreadsheet ate the zero."""
    if value is None:
        return None
    s = value.strip()
    if not s:
        return None
    return s.zfill(4) if s.isdigit() and len(s) < 4 else s


@dataclass(frozen=True)
class AwardKey:
    piid: str
    agency: str
    parent_piid: str | None
    parent_agency: str | None
    is_idv: bool = False

    def __str__(self) -> str:
        if self.is_idv:
            return f"CONT_IDV_{self.piid}_{self.agency}"
        return (
            f"CONT_AWD_{self.piid}_{self.agency}_"
            f"{self.parent_piid or NONE}_{self.parent_agency or NONE}"
        )

    @property
    def parent_key(self) -> str | None:
        """The vehicle's key (CONT_IDV_…), if the award was ordered under one."""
        if not self.parent_piid or not self.parent_agency:
            return None
        return f"CONT_IDV_{self.parent_piid}_{self.parent_agency}"


def parse_award_key(key: str) -> AwardKey | None:
    """Split a generated award id; None when it is not one."""
    m = _AWARD_KEY.match(key.strip())
    if m:
        parent = None if m["parent"] == NONE else m["parent"]
        pagency = None if m["pagency"] == NONE else m["pagency"]
        return AwardKey(m["piid"], m["agency"], parent, pagency)
    m = _IDV_KEY.match(key.strip())
    if m:
        return AwardKey(m["piid"], m["agency"], None, None, is_idv=True)
    return None


def permalink(award_key: str | None) -> str | None:
    return PERMALINK.format(key=award_key) if award_key else None
