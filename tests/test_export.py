"""Exports: CSV/Parquet sums against plain sums, FtM entities validated by followthemoney."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from contractwatch.analyze import Filters
from contractwatch.export import export_ftm, export_tables
from contractwatch.store import Store
from tests.conftest import FPDS, TRANSACTIONS
from tests.plain import fiscal_year, read_rows

FY2026 = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"
ZERO = Decimal("0")
ICE26 = [r for r in read_rows(FY2026) if r["Agency"] == "ICE"]
ICE26_SUM = sum((Decimal(r["Federal Action Obligation"]) for r in ICE26), ZERO)


def test_csv_and_parquet_tables(transactions_store: Store, tmp_path: Path) -> None:
    catalog = transactions_store.connect()
    f = Filters(agency="ICE", fy=2026)
    rep = export_tables(catalog, "csv", tmp_path / "csv", f)
    assert rep.counts["transactions"] == len(ICE26)
    with open(tmp_path / "csv" / "transactions.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sum((Decimal(r["federal_action_obligation"]) for r in rows), ZERO) == ICE26_SUM
    assert {r["vintage"] for r in rows} == {""}  # the newest file carries no date in its name
    with open(tmp_path / "csv" / "awards.csv", newline="", encoding="utf-8") as fh:
        awards = list(csv.DictReader(fh))
    assert len(awards) == len({r["Generated Award ID"] for r in ICE26})
    assert sum((Decimal(r["federal_action_obligation"]) for r in awards), ZERO) == ICE26_SUM

    export_tables(catalog, "parquet", tmp_path / "pq", f)
    t = pq.read_table(tmp_path / "pq" / "transactions.parquet")
    assert t.num_rows == len(ICE26)
    assert sum(t.column("federal_action_obligation").to_pylist(), ZERO) == ICE26_SUM
    fam = pq.read_table(tmp_path / "pq" / "families.parquet")
    assert set(fam.column("recipient_name").to_pylist()) == {r["Recipient Name"] for r in ICE26}
    assert sum(fam.column("federal_action_obligation").to_pylist(), ZERO) == ICE26_SUM
    with pytest.raises(ValueError, match="unknown table"):
        export_tables(catalog, "csv", tmp_path / "x", f, ("bids",))


def _entities(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def _validated(entities: list[dict]) -> None:
    """Each entity re-parsed by the followthemoney model keeps every value; refs resolve."""
    from followthemoney import model

    ids = {e["id"] for e in entities}
    assert len(ids) == len(entities)
    for e in entities:
        proxy = model.get_proxy(e, cleaned=False)
        assert proxy.to_dict()["properties"] == e["properties"], e["id"]
        for name in proxy.schema.required:
            assert proxy.get(name), (e["schema"], name)
        for prop in proxy.schema.properties.values():
            if prop.type.name == "entity":
                assert set(proxy.get(prop)) <= ids
    assert "Person" not in {e["schema"] for e in entities}


def test_ftm_from_api_export(transactions_store: Store) -> None:
    out = io.StringIO()
    export_ftm(transactions_store.connect(), out, Filters(agency="ICE", fy=2026))
    entities = _entities(out.getvalue())
    _validated(entities)
    kinds = Counter(e["schema"] for e in entities)
    assert kinds["PublicBody"] == 1
    assert kinds["Contract"] == kinds["ContractAward"] == len(
        {r["Generated Award ID"] for r in ICE26})
    awards = [e for e in entities if e["schema"] == "ContractAward"]
    assert sum((Decimal(a["properties"]["amount"][0]) for a in awards), ZERO) == ICE26_SUM
    capgemini = next(e for e in entities if e["schema"] == "Contract"
                     and e["properties"]["name"] == ["70CDCR26FR0000024"])
    assert capgemini["properties"]["summary"] == ["ceiling unknown in the source"]
    assert capgemini["properties"]["sourceUrl"] == [
        "https://www.usaspending.gov/award/"
        "CONT_AWD_70CDCR26FR0000024_7012_70CDCR26D00000015_7012/"]


def test_ftm_from_full_download_with_ownership_and_individuals(fpds_store: Store,
                                                              tmp_path: Path) -> None:
    out = io.StringIO()
    rep = export_ftm(fpds_store.connect(), out, Filters(agency="ICE", fy=2016))
    text = out.getvalue()
    entities = _entities(text)
    _validated(entities)
    kinds = Counter(e["schema"] for e in entities)
    assert kinds["Ownership"] > 0
    rows = [r for p in sorted(FPDS.glob("*.csv")) for r in read_rows(p)
            if r["awarding_sub_agency_code"] == "7012"
            and fiscal_year("-".join(reversed(r["action_date"][:10].split("/")))) == 2016]
    plain = sum((Decimal(r["federal_action_obligation"] or "0") for r in rows), ZERO)
    awards = [e for e in entities if e["schema"] == "ContractAward"]
    assert sum((Decimal(a["properties"]["amount"][0]) for a in awards), ZERO) == plain
    # sole proprietors: a LegalEntity with the recorded name and nothing else
    individuals = {r["recipient_name"] for r in rows
                   if r["sole_proprietorship"].lower() in ("t", "true")}  # the data's flag
    legal = [e for e in entities if e["schema"] == "LegalEntity"]
    assert individuals and individuals <= {n for e in legal for n in e["properties"]["name"]}
    assert all(set(e["properties"]) == {"name"} for e in legal)
    assert any("LegalEntity" in n for n in rep.notes) == bool(individuals)
    # the followthemoney command line re-parses the file unchanged
    path = tmp_path / "ice.ftm.json"
    path.write_text(text, encoding="utf-8")
    ftm = Path(sys.executable).with_name("ftm")
    done = subprocess.run([str(ftm), "validate", "-i", str(path), "-o", str(tmp_path / "v")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    again = _entities((tmp_path / "v").read_text(encoding="utf-8"))
    def core(e: dict) -> str:
        return json.dumps([e["id"], e["schema"], e["properties"]], sort_keys=True)

    assert sorted(map(core, again)) == sorted(map(core, entities))


def test_cli_export(transactions_store: Store, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "contractwatch", "--store",
                               str(transactions_store.root), "export", *args],
                              capture_output=True, text=True, timeout=300)

    r = cli("--format", "ftm", "--agency", "ICE", "--fy", "2026", "--recipient", "CAPGEMINI")
    assert r.returncode == 0, r.stderr
    entities = _entities(r.stdout)
    names = {e["id"]: e["properties"]["name"][0] for e in entities
             if e["schema"] in ("Company", "Organization")}
    assert set(names.values()) == {"CAPGEMINI GOVERNMENT SOLUTIONS LLC", "Capgemini SE"}
    # the curated families file states the parent: one Ownership edge, parent → subsidiary
    owns = [e["properties"] for e in entities if e["schema"] == "Ownership"]
    assert [(names[o["owner"][0]], names[o["asset"][0]]) for o in owns] == [
        ("Capgemini SE", "CAPGEMINI GOVERNMENT SOLUTIONS LLC")]
    r = cli("--format", "parquet", "-o", str(tmp_path / "pq"), "--table", "awards",
            "--agency", "ICE", "--min-amount", "100000000")
    assert r.returncode == 0, r.stderr
    got = pq.read_table(tmp_path / "pq" / "awards.parquet")
    assert min(got.column("federal_action_obligation").to_pylist()) >= 100_000_000
    assert not (tmp_path / "pq" / "transactions.parquet").exists()
    assert cli("--format", "csv").returncode == 2  # a folder is needed
