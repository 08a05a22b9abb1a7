"""Brand rules on real transaction descriptions from ../shared/data/usaspending."""

from __future__ import annotations

import csv
import glob

import pytest

from contractwatch.resolve.brands import detect_brands, find_brands
from tests.resolve_fixtures import DATA


def ids(text: str) -> list[str]:
    return [h.brand_id for h in find_brands(text)]


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("MICROSOFT LICENSES", ["microsoft"]),  # DELL FEDERAL SYSTEMS L.P is the recipient
        ("MICROSOFT ELA FOR ADDITIONAL O365 LICENSES", ["microsoft"]),
        ("AMAZON WEB SERVICES PUBLIC CLOUD", ["aws"]),  # FOUR POINTS TECHNOLOGY, L.L.C.
        ("AMAZON WES SERVICES", ["aws"]),  # typo in the record
        ("AWS PROFESSIONAL SERVICES", ["aws"]),
        ("GOOGLE CLOUD PLATFORM SERVICES", ["google"]),
        ("SERVICE NOW LICENSE RENEWAL", ["servicenow"]),
        (
            "CONSOLIDATED LEAD EVALUATION AND REPORTING (CLEAR) SYSTEM ACCESS/SUBSCRIPTION",
            ["thomson-reuters-clear"],
        ),
        ("CLEAR ACCESS FOR FLO, CALD, AND HRVLD", ["thomson-reuters-clear"]),
        ("ACCURINT LEXISNEXIS SUBSCRIPTIONS", ["lexisnexis"]),
        (
            "CLEARVIEW AI FEDERAL INVESTIGATOR TOOL + CLOUD DATABASE LOCAL LICENSE SOFTWARE"
            " LICENSE",
            ["clearview"],
        ),
        ("IBM SOFTWARE AND HARDWARE MAINTENANCE.", ["ibm"]),
        (
            "AMB# 20831; EIGHT CISCO CATALYST 8000V FOR ICE CLOUDS AMAZON GOVCLOUD AND AZURE; "
            "POP IS 1 YEAR FROM AWARD",
            ["microsoft", "aws", "cisco"],
        ),
    ],
)
def test_real_descriptions_that_must_hit(description: str, expected: list[str]) -> None:
    assert sorted(ids(description)) == sorted(expected)


@pytest.mark.parametrize(
    "description",
    [
        "FEDERAL IMMIGRATION LAWS AND REGULATIONS",  # AWS inside LAWS
        "BREACHING SAWS",
        "OFO SAN FRANCISCO FIELD OFFICES LAPTOPS W/DOCKING STATIONS",  # CISCO inside FRANCISCO
        "CLEAR TRASH BAG PURCHASE FOR THE EL PASO PROCESSING CENTER",
        "PURCHASE OF 124,500 ROUNDS OF .223 NONMARKING/CLEAR (5.56) P/N 5360149",
        "PRE-CLEARANCE",
        "ANNUAL SUBSCRIPTION TO KHARON CLEARVIEW.",  # Kharon's product, not Clearview AI
        "10 DELL LAPTOPS FOR OTD",  # Dell is a recipient here, not a brand rule
        "NEW AWARD FOR AXONIUS LICENSES",
    ],
)
def test_real_descriptions_that_must_not_hit(description: str) -> None:
    assert ids(description) == []


def test_detect_brands_table_over_all_real_descriptions() -> None:
    descs = []
    for f in sorted(glob.glob(str(DATA / "usaspending" / "transactions" / "*.csv"))):
        with open(f, newline="") as fh:
            descs += [r["Transaction Description"] for r in csv.DictReader(fh)]
    t = detect_brands(descs)
    assert t.column_names[:3] == ["transaction_description", "brand_id", "brand"]
    brands = set(t.column("brand_id").to_pylist())
    assert {"microsoft", "aws", "google", "oracle", "palantir", "lexisnexis"} <= brands
    # No description containing "LAWS" was read as AWS.
    for d, b in zip(
        t.column("transaction_description").to_pylist(),
        t.column("brand_id").to_pylist(),
        strict=True,
    ):
        if b == "aws":
            assert "AWS" in d.split() or "AMAZON" in d or "AWS" in d.replace("(", " ").split()
