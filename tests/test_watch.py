"""Watches replayed over the seven FY2026 snapshots, checked against a plain csv diff.

The expected differences come from the csv module and Decimal over the snapshot files, with
the method of ../shared/data/usaspending/README.md ("Differences between consecutive
snapshots"): exact duplicate rows collapsed, rows keyed by (Agency, Award ID, Modification),
compared on the shared columns (and on the Generated Award ID where both files have it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch import watch
from contractwatch.ingest import ingest
from contractwatch.store import Store
from tests.conftest import SNAPSHOTS
from tests.plain import read_rows

FY2026 = sorted(SNAPSHOTS.glob("FY2026_through_*.csv"))
CODES = {"ICE": "7012", "CBP": "7014"}
SHARED = ["Recipient Name", "Federal Action Obligation", "Action Date",
          "Product/Service Description", "NAICS Description", "Transaction Description"]
Key = tuple[str, str, str]


def snapshot(path: Path) -> dict[Key, dict[str, str]]:
    """Distinct rows of a snapshot by (Agency, Award ID, Modification)."""
    out: dict[Key, dict[str, str]] = {}
    for row in read_rows(path):
        key = (row["Agency"], row["Award ID"], row["Modification"])
        assert key not in out or out[key] == row, "key not unique among distinct rows"
        out[key] = row
    return out


def differs(a: dict[str, str], b: dict[str, str]) -> bool:
    for c in SHARED:
        x, y = a[c], b[c]
        if c == "Federal Action Obligation":
            x, y = Decimal(x), Decimal(y)
        if x != y:
            return True
    gen_a, gen_b = a.get("Generated Award ID"), b.get("Generated Award ID")
    return bool(gen_a and gen_b and gen_a != gen_b)


def tie_copies(path: Path) -> set[tuple[str, str, Decimal]]:
    """(Agency, Award ID, amount) of rows present twice in one file."""
    seen: set[tuple[str, ...]] = set()
    out = set()
    for row in read_rows(path):
        whole = tuple(row.values())
        if whole in seen:
            out.add((row["Agency"], row["Award ID"], Decimal(row["Federal Action Obligation"])))
        seen.add(whole)
    return out


def key_of(event: dict) -> Key:
    agency = {v: k for k, v in CODES.items()}[event["agency"]]
    return agency, event["award_id_piid"], event["modification_number"]


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory):
    """Ingest each snapshot in turn and check two watches after each one."""
    store = Store(tmp_path_factory.mktemp("replay"))
    ingest(store, [FY2026[0]], progress=False)
    watch.add_watch(store, "all")
    watch.add_watch(store, "ice-skip", agency="ICE", keyword="skip tracing")
    findings = []
    for path in FY2026[1:]:
        ingest(store, [path], progress=False)
        findings.append((watch.check(store, "all"), watch.check(store, "ice-skip")))
    return store, findings


def test_each_check_matches_an_independent_diff(replay) -> None:
    store, findings = replay
    history = [snapshot(FY2026[0])]
    renamed = 0
    for i, path in enumerate(FY2026[1:]):
        old, new = history[-1], snapshot(path)
        added = {k for k in new if k not in old}
        removed = {k for k in old if k not in new}
        changed = {k for k in old.keys() & new.keys() if differs(old[k], new[k])}
        ever_keys = set().union(*history)
        ever_awards = {(a, p) for snap in history for (a, p, _m) in snap}
        reappeared = {k for k in added if k in ever_keys}
        new_mods = {k for k in added - reappeared if k[:2] in ever_awards}
        new_award_rows = added - reappeared - new_mods
        ties = tie_copies(path)
        noise = {k for k in removed
                 if Decimal(old[k]["Federal Action Obligation"]) == 0
                 or (k[0], k[1], Decimal(old[k]["Federal Action Obligation"])) in ties}
        names_before = {(r["Agency"], r["Recipient Name"]) for snap in history
                        for r in snap.values()}
        new_names = {(new[k]["Agency"], new[k]["Recipient Name"])
                     for k in added - reappeared} - names_before

        f, _ = findings[i]
        got_award_rows = {
            (a, r["award_id_piid"], m)
            for r in f.new_awards for a in [key_of({**r, "modification_number": ""})[0]]
            for m in r["modifications"]
        }
        label = f"{FY2026[i].name} -> {path.name}"
        assert got_award_rows == new_award_rows, label
        assert {key_of(e) for e in f.new_modifications} == new_mods, label
        assert {key_of(e) for e in f.reappeared} == reappeared, label
        assert {key_of(e) for e in f.changed} == changed, label
        assert {key_of(e) for e in f.disappeared} == removed, label
        assert {key_of(e) for e in f.disappeared if e["likely"] != "removed"} == noise, label
        got_names = {({v: k for k, v in CODES.items()}[r["agency"]], r["recipient_name"])
                     for r in f.new_recipients}
        assert got_names == new_names, label
        # new actions add up per award, to the cent; the recipient is the latest action's
        for row in f.obligation_changes:
            expected = sum((Decimal(new[k]["Federal Action Obligation"]) for k in new_mods
                            if CODES[k[0]] == row["agency"] and k[1] == row["award_id_piid"]),
                           Decimal("0"))
            assert row["from_new_actions"] == expected, (label, row["award_id_piid"])
            actions = [r for k, r in new.items()
                       if CODES[k[0]] == row["agency"] and k[1] == row["award_id_piid"]]
            last = max(r["Action Date"] for r in actions)
            names = {r["Recipient Name"] for r in actions if r["Action Date"] == last}
            assert row["recipient_name"] in names, (label, row["award_id_piid"])
            renamed += len({r["Recipient Name"] for r in actions}) > 1
        history.append(new)
    assert renamed >= 1  # an award whose new actions name a new recipient (a novation) was met


def test_paging_noise_is_grouped_not_alarmed(replay) -> None:
    """README: 20/0/7/52/97/68 rows removed per pair, of which 19/0/6/51/89/68 are $0.00;
    the 8 non-zero rows gone between 07-06 and 08-19 include a 1,233,708.36 ICE action."""
    _, findings = replay
    removed = [len(f.disappeared) for f, _ in findings]
    zero = [sum(1 for e in f.disappeared if e["federal_action_obligation"] == 0)
            for f, _ in findings]
    assert removed == [20, 0, 7, 52, 97, 68]
    assert zero == [19, 0, 6, 51, 89, 68]
    f = findings[4][0]
    gone = {e["federal_action_obligation"] for e in f.disappeared if e["likely"] == "removed"}
    assert Decimal("1233708.36") in gone
    # each is listed with the amount the row carried (not negated into a "change")
    carried = snapshot(FY2026[4])
    for e in f.disappeared:
        assert e["federal_action_obligation"] == Decimal(
            carried[key_of(e)]["Federal Action Obligation"])
    deloitte = [e for e in f.disappeared if e["award_id_piid"] == "70CMSW24FR0000024"]
    assert [(e["modification_number"], e["likely"]) for e in deloitte] == [("P00008", "removed")]
    md = watch.to_markdown(f)
    assert "likely paging noise ($0.00 row not served by this fetch): 89 rows" in md
    assert "-$1,233,708.36" not in md and "$1,233,708.36" in md


def test_keyword_watch_follows_whole_awards(replay) -> None:
    """A keyword watch reports follow-up actions of matching awards even when the follow-up's
    own description does not repeat the keyword."""
    store, findings = replay
    seen = [e for _, f in findings for e in f.new_modifications]
    assert seen, "skip-tracing awards got modifications during FY2026"
    assert any("SKIP TRACING" not in (e["transaction_description"] or "") for e in seen)
    assert all(e["agency"] == "7012" for _, f in findings for e in f.new_awards)
    skip = {r["Award ID"] for r in read_rows(FY2026[-1])
            if r["Agency"] == "ICE" and "SKIP TRACING" in r["Transaction Description"]}
    reported = {a["award_id_piid"] for _, f in findings for a in f.new_awards}
    first = {r["Award ID"] for r in read_rows(FY2026[0])}
    assert reported == skip - first


def test_recheck_reports_nothing_new_and_feed_is_atom(replay) -> None:
    store, findings = replay
    again = watch.check(store, "all", update=False)
    assert again.counts()["new_awards"] == 0 and not again.disappeared and not again.changed
    feed = ET.parse(store.root / "watches" / "all" / "feed.atom").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 6
    assert all(e.find("a:id", ns).text and e.find("a:updated", ns).text for e in entries)
    last = findings[-1][0]
    assert entries[0].find("a:title", ns).text == last.headline()
    links = {x.get("href") for x in entries[0].findall("a:link", ns)}
    assert {a["usaspending_permalink"] for a in last.new_awards[:20]} <= links


def test_cli_watch_lifecycle(tmp_path: Path) -> None:
    store = tmp_path / "store"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "contractwatch", "--store", str(store),
                               *args], capture_output=True, text=True, timeout=180)

    assert cli("ingest", str(FY2026[-3])).returncode == 0
    r = cli("watch", "add", "ice", "--agency", "ICE", "--min-amount", "1000000")
    assert r.returncode == 0, r.stderr
    assert cli("watch", "add", "ice", "--agency", "ICE").returncode == 2  # exists
    assert cli("watch", "add", "x", "--agency", "NOPE").returncode == 2
    assert cli("ingest", str(FY2026[-2])).returncode == 0
    r = cli("watch", "check", "ice", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data[0]["watch"] == "ice" and data[0]["counts"]["new_awards"] > 0
    # independent: ICE awards absent from 07-06 whose actions in 08-19 sum to >= $1M
    old = {r["Award ID"] for r in read_rows(FY2026[-3])}
    sums: dict[str, Decimal] = {}
    for row in read_rows(FY2026[-2]):
        if row["Agency"] == "ICE":
            sums[row["Award ID"]] = sums.get(row["Award ID"], Decimal(0)) + Decimal(
                row["Federal Action Obligation"])
    expected = {a for a, s in sums.items() if a not in old and s >= 1_000_000}
    assert {a["award_id_piid"] for a in data[0]["new_awards"]} == expected
    feed = tmp_path / "ice.xml"
    r = cli("watch", "check", "--format", "markdown", "--atom", str(feed))
    assert r.returncode == 0, r.stderr
    assert "## Watch `ice`" in r.stdout and "None." in r.stdout  # nothing new the 2nd time
    assert ET.parse(feed).getroot().tag.endswith("feed")
    r = cli("watch", "list", "--format", "json")
    assert [w["name"] for w in json.loads(r.stdout)] == ["ice"]
    assert cli("watch", "remove", "ice").returncode == 0
    assert cli("watch", "check", "ice").returncode == 2
