"""Families on real recipients: the press cases of issue 4 (expected values by hand)."""

from __future__ import annotations

import pytest

from contractwatch.resolve import Resolution, explain, resolve
from tests.resolve_fixtures import shared_recipients


@pytest.fixture(scope="module")
def res() -> Resolution:
    return resolve(shared_recipients())


def family(res: Resolution, name: str) -> tuple[str, str]:
    for r in res.mapping.to_pylist():
        if r["recipient_name"] == name:
            return r["family_id"], r["family_source"]
    raise AssertionError(name)


def test_capgemini(res: Resolution) -> None:
    assert family(res, "CAPGEMINI GOVERNMENT SOLUTIONS LLC")[0] == "curated:capgemini"


def test_dell_registrations_are_one_family(res: Resolution) -> None:
    # API export (no parent column) and FPDS rows (parent DENALI HOLDING INC) meet in one family.
    assert family(res, "DELL FEDERAL SYSTEMS L.P")[0] == "curated:dell-technologies"
    assert family(res, "DELL FEDERAL SYSTEMS L.P.") == ("curated:dell-technologies", "data-parent")
    assert family(res, "DELL MARKETING L.P.")[0] == "curated:dell-technologies"


def test_palantir_usg_in_palantir_family(res: Resolution) -> None:
    assert family(res, "PALANTIR USG, INC.")[0] == "curated:palantir"
    assert family(res, "PALANTIR TECHNOLOGIES INC.")[0] == "curated:palantir"


def test_net_direct_two_spellings_one_organisation(res: Resolution) -> None:
    rows = [
        r
        for r in res.mapping.to_pylist()
        if r["recipient_name"] == "NET DIRECT SYSTEMS, LLC" and r["recipient_duns"]
    ]
    parents = {r["recipient_parent_name"] for r in rows}
    assert parents == {"NET DIRECT SYSTEMS  LLC", "NET DIRECT SYSTEMS LLC"}
    assert {r["organisation_id"] for r in rows} == {"duns:054007823"}
    assert {r["family_source"] for r in rows} != {"data-parent"}  # its own parent is itself


def test_geo_med_is_not_geo_group(res: Resolution) -> None:
    assert family(res, "THE GEO GROUP, INC.")[0] == "curated:geo-group"
    assert family(res, "B.I. INCORPORATED")[0] == "curated:geo-group"
    assert family(res, "GEO-MED, LLC")[0] != "curated:geo-group"


def test_leidos_stale_parent_is_not_todays_saic(res: Resolution) -> None:
    assert family(res, "LEIDOS, INC.")[0] == "curated:leidos"
    assert family(res, "SCIENCE APPLICATIONS INTERNATIONAL CORPORATION")[0] == "curated:saic"


def test_explain_names_the_evidence(res: Resolution) -> None:
    out = explain(res, "NET DIRECT SYSTEMS LLC")
    pairs = [p for o in out["organisations"] for p in o["scored_pairs"]]
    assert any(
        p["merged"] and any(e["level"] == "exact match key" for e in p["evidence"]) for p in pairs
    )


def test_user_families_file_extends(tmp_path) -> None:  # type: ignore[no-untyped-def]
    user = tmp_path / "mine.yaml"
    user.write_text(
        "families:\n"
        "  - id: net-direct\n    name: Net Direct Group\n"
        "    members: [{name: NET DIRECT SYSTEMS LLC}]\n"
        "    source: https://example.org/net-direct\n"
    )
    rows = [{"recipient_name": "NET DIRECT SYSTEMS  LLC"}]
    r = resolve(rows, families_paths=[user], use_matcher=False).mapping.to_pylist()[0]
    assert (r["family_id"], r["family_name"], r["family_source"]) == (
        "curated:net-direct",
        "Net Direct Group",
        "curated",
    )
