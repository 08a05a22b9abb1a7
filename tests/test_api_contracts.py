"""The client and the local test server against the official API contracts.

The contracts are the Blueprint files copied in tests/apiserver/contracts/ (SOURCE.md names
the commit). These tests check the parse itself on facts read from the files by eye, that the
server refuses what the contracts do not define, and that every request the client sends, in
every method it has, and in a whole sync and enrich, is one the contracts define.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from contractwatch.sources.usaspending_api import (
    IDV_LISTINGS,
    SUBAWARD_FIELDS,
    UsaspendingClient,
    agency_filter,
)
from contractwatch.store import Store
from contractwatch.sync import make_query, sync
from tests.apiserver import ApiServer, Dataset
from tests.apiserver.blueprint import CONTRACTS, SERVER_CODE, contracts
from tests.conftest import SNAPSHOTS

AUG19 = SNAPSHOTS / "FY2026_through_2026-08-19.csv"
ICE = "U.S. Immigration and Customs Enforcement"


@pytest.fixture(scope="module")
def server():
    ds = Dataset()
    ds.load([AUG19], "2026-08-19")
    with ApiServer(ds) as srv:
        yield srv
    assert srv.violations == []


def test_the_contract_files_parse_into_what_they_say():
    c = contracts()
    routes = {(ep.method, ep.path) for ep in c.endpoints}
    assert ("POST", "/api/v2/idvs/awards/") in routes
    assert ("GET", "/api/v2/idvs/amounts/{award_id}/") in routes
    assert ("GET", "/api/v2/download/status") in routes
    assert not any("/awards/idvs/" in path for _, path in routes)
    found = c.endpoint("POST", "/api/v2/search/spending_by_award/")
    assert found is not None
    award = found[0]
    assert award.request["last_record_unique_id"].type == "number"
    assert award.request["last_record_sort_value"].type == "string"
    assert award.request["order"].members == ["desc", "asc"]
    tx = c.endpoint("POST", "/api/v2/transactions/")[0]
    assert "id" not in tx.request["sort"].members  # no unique sort key is offered
    assert tx.request["sort"].members[0] == "modification_number"
    filters = c.structure("v2/search/spending_by_transaction.md", "AdvancedFilterObject")
    assert filters.attrs["award_type_codes"].required
    count = c.structure("v2/search/spending_by_transaction_count.md", "AdvancedFilterObject")
    assert not count.attrs["award_type_codes"].required  # "not required" there
    period = c.structure("v2/search/spending_by_award.md", "TimePeriodObject")
    assert "last_modified_date" in period.attrs["date_type"].members  # via search_filters.md
    fields = c.structure("v2/search/spending_by_transaction.md", "FieldNameObject")
    assert {"Award ID", "Mod", "Transaction Amount", "generated_internal_id"} <= \
        set(fields.members)
    assert c.endpoint("GET", "/api/v2/awards/last_updated/")[0].path == \
        "/api/v2/awards/last_updated/"  # not taken for awards/{award_id}/
    assert (CONTRACTS / "SOURCE.md").read_text().count("13a1ee0f0eb5bae5ae41c89b439b98f0881cf0c4")
    for (file, _), (_, source) in SERVER_CODE.items():
        assert (CONTRACTS / file).exists() and source.startswith("usaspending_api/")


def test_the_server_refuses_what_the_contracts_do_not_define(server):
    search = "/api/v2/search/spending_by_transaction/"
    good = {"filters": {"award_type_codes": ["A"]}, "fields": ["Award ID"], "sort": "Award ID",
            "limit": 1}
    with httpx.Client(base_url=server.url) as http:
        assert http.post(search, json=good).status_code == 200
        unknown = http.post(search, json={**good, "cursor": "x"})
        assert unknown.status_code == 400 and "cursor" in unknown.json()["detail"]
        wrong = http.post(search, json={**good, "limit": "ten"})
        assert wrong.status_code == 400 and "limit" in wrong.json()["detail"]
        bad_field = http.post(search, json={**good, "fields": ["Award ID", "Ceiling"]})
        assert bad_field.status_code == 400
        missing = http.post(search, json={"fields": ["Award ID"], "sort": "Award ID"})
        assert missing.status_code == 422 and "filters" in missing.json()["detail"]
        no_types = http.post(search, json={**good, "filters": {"keywords": ["x"]}})
        assert no_types.status_code == 422 and "award_type_codes" in no_types.text
        # the count endpoint does not require award types (its contract says so)
        assert http.post("/api/v2/search/spending_by_transaction_count/",
                         json={"filters": {"keywords": ["x"]}}).status_code == 200
        assert http.post("/api/v2/awards/idvs/awards/", json={"award_id": "x"}).status_code \
            == 404
        assert http.get("/api/v2/download/status", params={"file_name": "x", "y": "1"}) \
            .status_code == 400
        assert http.get("/api/v2/awards/last_updated/").json()["last_updated"] == "08/19/2026"


def test_every_request_the_client_sends_is_in_the_contracts(server, tmp_path: Path):
    """Run every client method and a whole sync, enrich and download sync; check what the
    server recorded against the parsed contracts (the server also refused anything else)."""
    from contractwatch.enrich import enrich

    c = contracts()
    server.requests.clear()
    filters = {"agencies": agency_filter(ICE), "award_type_codes": ["A", "B", "C", "D"],
               "time_period": [{"start_date": "2026-08-01", "end_date": "2026-08-19"}]}
    with UsaspendingClient(server.url, rate_per_second=0, poll_interval=0.01) as client:
        client.spending_by_transaction(filters)
        client.spending_by_transaction_count(filters)
        awards = list(client.spending_by_award(filters, ["Award ID", "Award Amount"],
                                               limit=7))
        gid = awards[0]["generated_internal_id"]
        client.award(gid)
        client.transactions(gid)
        parent = next(a["generated_internal_id"] for a in awards
                      if a["generated_internal_id"].split("_")[4] != "-NONE-")
        idv = "CONT_IDV_{4}_{5}".format(*parent.split("_"))
        for kind in IDV_LISTINGS:  # child_awards, child_idvs, grandchild_awards
            client.idv_awards(idv, kind=kind)
        client.idv_amounts(idv)
        list(client.spending_by_award_pages(filters, SUBAWARD_FIELDS, sort="Sub-Award Amount",
                                            subawards=True))
        client.last_updated()
        client.download_count(filters)
        client.download_transactions(filters, tmp_path / "d.zip")
        store = Store(tmp_path / "store")
        sync(store, make_query("ICE", "2026-08-01", recipient="A"), api_url=server.url,
             client=client)
        sync(store, make_query("CBP", "2026-08-10", via="download", keyword="SERVICES"),
             api_url=server.url, client=client)
        enrich(store, client, limit=2)
    sent = {(m, p) for m, p, _, _ in server.requests}
    documented = {(ep.method, ep.path) for ep in c.endpoints}
    assert sent <= documented
    assert {"/api/v2/idvs/awards/", "/api/v2/idvs/amounts/{award_id}/", "/api/v2/transactions/",
            "/api/v2/download/status", "/api/v2/search/spending_by_award/"} <= \
        {p for _, p in sent}
    for method, path, body, query in server.requests:
        ep = next(e for e in c.endpoints if (e.method, e.path) == (method, path))
        assert c.check_request(ep, body) == [] if method == "POST" else body is None
        assert set(query) <= set(ep.params)
    assert server.violations == []
