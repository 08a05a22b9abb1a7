"""Name normalisation on real names from ../shared/data (expected values written by hand)."""

from __future__ import annotations

import pytest

from contractwatch.resolve.names import compact_key, display_name, match_key, org_key


def test_double_space_is_one_spelling() -> None:
    # fpds_full README: 'NET DIRECT SYSTEMS  LLC' (1,107 rows) and 'NET DIRECT SYSTEMS LLC' (57).
    assert display_name("NET DIRECT SYSTEMS  LLC") == "NET DIRECT SYSTEMS LLC"
    assert org_key("NET DIRECT SYSTEMS  LLC") == org_key("NET DIRECT SYSTEMS, LLC")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("THE GEO GROUP, INC.", "GEO GROUP INC., THE"),
        ("DELL MARKETING L.P.", "DELL MARKETING LIMITED PARTNERSHIP"),
        ("SPRINT COMMUNICATIONS CO LP", "SPRINT COMMUNICATIONS COMPANY L.P."),
        ("M V M, INC.", "MVM INCORPORATED"),
        ("ERNST & YOUNG LLP", "ERNST AND YOUNG LLP"),
        ("MESA, CITY OF", "CITY OF MESA"),
        ("BOOZ ALLEN HAMILTON INCORPORATED (3626)", "BOOZ ALLEN HAMILTON INC"),
    ],
)
def test_same_organisation_same_org_key(a: str, b: str) -> None:
    assert org_key(a) == org_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("GUIDEHOUSE INC.", "GUIDEHOUSE LLP"),  # two legal entities: org key keeps the form
        ("GEO-MED, LLC", "THE GEO GROUP, INC."),
        ("PALANTIR USG, INC.", "PALANTIR TECHNOLOGIES INC."),
        ("HARRIS CORPORATION", "HARRIS & STEWART ELECTRICAL INC."),
    ],
)
def test_different_organisations_differ(a: str, b: str) -> None:
    assert org_key(a) != org_key(b)


def test_match_key_strips_legal_forms_keeps_order() -> None:
    assert match_key("INTERNATIONAL BUSINESS MACHINES CORPORATION") == (
        "INTERNATIONAL BUSINESS MACHINES"
    )
    assert match_key("CACI, INC. - FEDERAL") == "CACI FEDERAL"
    assert match_key("TELOS CORP") == match_key("TELOS CORPORATION") == "TELOS"
    assert match_key("AT&T ENTERPRISES, LLC") == "AT&T ENTERPRISES"  # not read as 'AT' + 'T'
    assert match_key("KEARNEY & COMPANY, P.C.") == "KEARNEY AND CO"
    # "CORPORATION" mid-name is part of the name, not a legal form.
    assert match_key("CORRECTIONS CORPORATION OF AMERICA") == "CORRECTIONS CORP OF AMERICA"


def test_compact_key_ignores_spaces() -> None:
    assert compact_key("CORE CIVIC") == compact_key("CORECIVIC, INC.") == "CORECIVIC"
