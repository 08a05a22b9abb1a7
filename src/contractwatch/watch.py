"""Watches: what is new in the store since a watch last looked, without paging-noise alarms.

A watch is a saved filter (agency, keyword, company, PSC, minimum amount) plus the loads it
has seen. `check` rebuilds the store's current state as it stood over those loads, compares
it with the current state now, and records the loads it saw. The comparison is per
transaction (one row per transaction key: exact copies inside an API export are paging noise
here) and per award (obligations under the duplicate policy, ceilings).

Paging noise: the API export is sorted by amount only, so rows tied at $0.00 are served or
skipped at random between fetches. A row that vanishes is reported in its own section, never
as negative money, grouped as "likely paging noise" when it is $0.00 or when an exact copy of
the same amount now sits in its place (a tie swap); a row that comes back after missing is
"reappeared", not new. See ../shared/data/usaspending/README.md, "snapshots/".

Layout: ``<store>/watches/<name>/watch.json`` (definition and state; replaced atomically, the
commit point of a check) and ``<store>/watches/<name>/checks/<check_id>.json`` (each check's
findings, from which the Atom feed is built).

The queries are Ibis expressions run as precompiled templates on DuckDB (queries.py), so a
check builds no expression; the lists they take (keys seen, agency codes) go in as tables.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from contractwatch import queries
from contractwatch.analyze import Filters, apply_values, filter_values, run_query
from contractwatch.store import Catalog, Store, atomic_write_text

WATCHES = "watches"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # fullmatch: no trailing newline
ZERO = Decimal("0")
# Columns compared to tell a revised action from a repeat. The key columns (agency, PIID,
# modification) are the identity; fiscal_year follows action_date; the award key and link are
# spelled out by the parent columns.
COMPARED = [
    "action_date", "federal_action_obligation", "recipient_name", "recipient_uei",
    "recipient_parent_name", "transaction_description", "product_or_service_code",
    "product_or_service_code_description", "naics_code", "naics_description",
    "parent_award_id_piid", "parent_award_agency_id", "base_and_all_options_value",
    "base_and_exercised_options_value", "potential_total_value_of_award",
    "current_total_value_of_award", "type_of_contract_pricing", "award_type",
    "period_of_performance_current_end_date", "period_of_performance_potential_end_date",
]
ROW_COLUMNS = [
    "txn_key", "award_id_piid", "modification_number", "awarding_sub_agency_code",
    "awarding_sub_agency_name", "contract_award_unique_key", "usaspending_permalink",
    "fiscal_year", "load_id", "source_file", "source_row", "vintage", *COMPARED,
]
CHECK_KEEP = 50  # checks kept per watch (the feed shows them)


class WatchError(ValueError):
    """A watch that does not exist, already exists, or has a bad name."""


@dataclass
class Watch:
    """A saved filter and what it has seen."""

    name: str
    agency: str | None = None
    keyword: str | None = None
    company: str | None = None
    psc: str | None = None
    min_amount: str | None = None  # exact decimal as text
    created_at: str = ""
    seen_loads: list[str] = field(default_factory=list)
    seen_vintage: str | None = None
    # subaward files seen (manifest "file"); None: a watch from before subawards were watched
    seen_subawards: list[str] | None = None
    last_checked_at: str | None = None
    checks: list[str] = field(default_factory=list)

    def filters(self) -> Filters:
        return Filters(agency=self.agency, keyword=self.keyword, recipient=self.company,
                       psc=self.psc)

    def describe(self) -> str:
        parts = [self.filters().describe()]
        if self.min_amount:
            parts.append(f"awards of at least ${Decimal(self.min_amount):,.2f}")
        return ", ".join(p for p in parts if p != "all data") or "all data"


@dataclass
class Finding:
    """What one check found. Amounts are exact decimals; disappeared rows are listed with the
    amount they carried, never subtracted."""

    watch: str
    description: str
    check_id: str
    checked_at: str
    since_vintage: str | None
    now_vintage: str | None
    new_loads: list[dict[str, Any]]
    new_awards: list[dict[str, Any]] = field(default_factory=list)
    new_modifications: list[dict[str, Any]] = field(default_factory=list)
    reappeared: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    obligation_changes: list[dict[str, Any]] = field(default_factory=list)
    ceiling_changes: list[dict[str, Any]] = field(default_factory=list)
    new_recipients: list[dict[str, Any]] = field(default_factory=list)
    disappeared: list[dict[str, Any]] = field(default_factory=list)
    new_subaward_reports: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        noise = [r for r in self.disappeared if r["likely"] != "removed"]
        return {
            "new_awards": len(self.new_awards),
            "new_modifications": len(self.new_modifications),
            "reappeared": len(self.reappeared),
            "changed": len(self.changed),
            "obligation_changes": len(self.obligation_changes),
            "ceiling_changes": len(self.ceiling_changes),
            "new_recipients": len(self.new_recipients),
            "disappeared": len(self.disappeared),
            "disappeared_likely_noise": len(noise),
            "disappeared_removed": len(self.disappeared) - len(noise),
            "new_subaward_reports": len(self.new_subaward_reports),
        }

    def headline(self) -> str:
        c = self.counts()
        parts = [f"{c['new_awards']} new awards", f"{c['new_modifications']} new modifications",
                 f"{c['changed']} revised actions", f"{c['ceiling_changes']} ceiling changes",
                 f"{c['new_recipients']} recipients new to the agency",
                 f"{c['disappeared_removed']} non-zero rows gone",
                 f"{c['new_subaward_reports']} new subaward reports"]
        return f"{self.watch}: " + ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts"] = self.counts()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        data = {k: v for k, v in data.items() if k != "counts"}
        return cls(**data)


# ---- definitions ---------------------------------------------------------------------------

def _dir(store: Store) -> Path:
    return store.root / WATCHES


def _path(store: Store, name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise WatchError(f"watch name {name!r}: use letters, digits, '-', '_' or '.' "
                         "(up to 64, starting with a letter or digit)")
    return _dir(store) / name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _save(store: Store, w: Watch) -> None:
    atomic_write_text(_path(store, w.name) / "watch.json",
                  json.dumps(asdict(w), indent=1, sort_keys=True))


def get_watch(store: Store, name: str) -> Watch:
    path = _path(store, name) / "watch.json"
    if not path.exists():
        known = ", ".join(w.name for w in list_watches(store)) or "none yet"
        raise WatchError(f"no watch named {name!r} (watches: {known}); "
                         "create one with `contractwatch watch add`")
    return Watch(**json.loads(path.read_text(encoding="utf-8")))


def list_watches(store: Store) -> list[Watch]:
    folder = _dir(store)
    if not folder.exists():
        return []
    out = []
    for child in sorted(folder.iterdir()):
        path = child / "watch.json"
        if path.exists():
            out.append(Watch(**json.loads(path.read_text(encoding="utf-8"))))
    return out


def add_watch(store: Store, name: str, *, agency: str | None = None,
              keyword: str | None = None, company: str | None = None, psc: str | None = None,
              min_amount: Decimal | str | None = None, from_start: bool = False) -> Watch:
    """Save a watch. Its first check reports what arrives after now (or, with `from_start`,
    everything in the store)."""
    from contractwatch.agencies import resolve_agency

    path = _path(store, name)
    if (path / "watch.json").exists():
        raise WatchError(f"a watch named {name!r} exists; remove it first or pick another name")
    if agency:
        resolve_agency(agency)  # fail now, not at the first check
    if min_amount is not None:
        min_amount = str(Decimal(str(min_amount)))
    loads = [] if from_start else store.loads()
    w = Watch(name=name, agency=agency, keyword=keyword, company=company, psc=psc,
              min_amount=min_amount, created_at=_now(),
              seen_loads=[ld.load_id for ld in loads],
              seen_subawards=[] if from_start else _subaward_files(store),
              seen_vintage=max((ld.vintage for ld in loads if ld.vintage), default=None))
    _save(store, w)
    return w


def remove_watch(store: Store, name: str) -> None:
    get_watch(store, name)
    shutil.rmtree(_path(store, name))


@contextlib.contextmanager
def _locked(store: Store, name: str) -> Iterator[None]:
    """One check of a watch at a time (a second one would record the same loads twice)."""
    path = _path(store, name)
    path.mkdir(parents=True, exist_ok=True)
    with open(path / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise WatchError(f"watch {name!r} is being checked by another process") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# ---- the comparison ------------------------------------------------------------------------

def award_uid(txn_key: str) -> str:
    """The award part of a transaction key (agency|PIID|parent-or-*): stable when USAspending
    corrects an order's parent vehicle, unlike the generated award key."""
    parts = txn_key.split("|")
    return "|".join([parts[0], parts[1], parts[3]]) if len(parts) >= 4 else txn_key


def _award_uid_expr(catalog: Catalog, t: Any) -> Any:
    """award_uid() in the engine: the key's first, second and fourth parts when it has a
    fifth (else the key as it is).

    On DuckDB (the templates) the key is split at '|': three regular expressions per row
    cost most of a check over millions of rows. Spark's split takes a regular expression,
    so there it is written with re_extract, not re_replace: the replacement's group syntax
    differs between engines (DuckDB \\1, Spark $1) and Ibis passes it through unchanged.
    """
    key = t.txn_key
    if catalog.engine == "duckdb":
        parts = key.split("|")
        return (parts.length() >= 5).ifelse(parts[0] + "|" + parts[1] + "|" + parts[3], key)
    pattern = r"^([^|]*\|[^|]*)\|[^|]*\|([^|]*)\|"
    return key.re_search(pattern).ifelse(
        key.re_extract(pattern, 1) + "|" + key.re_extract(pattern, 2), key)


def _scope(catalog: Catalog, policy: str, v: dict[str, Any]) -> Any:
    """Rows of every award the watch covers: agency rows, of awards where any action matches
    the keyword/company/PSC filters and (with a minimum) whose obligations or ceiling reach it.
    Whole awards, so a follow-up modification that does not repeat the keyword is still seen.
    `v`: the watch's filter values (`_values`), or a template's placeholders."""
    t = catalog.transactions(policy)
    none = dict.fromkeys(queries.PARAMS)
    base = apply_values(t, {**none, "department": v["department"], "agency": v["agency"]})
    base = base.mutate(award_uid=_award_uid_expr(catalog, base))
    matched = apply_values(base, {**none, "keyword": v["keyword"],
                                  "recipient": v["recipient"], "psc": v["psc"]})
    awards = matched.select("award_uid").distinct()
    if v["min_amount"] is not None:
        per = base.group_by("award_uid").aggregate(
            obl=base.federal_action_obligation.sum(),
            ceiling=base.potential_total_value_of_award.max())
        m = v["min_amount"]
        reaches = (per.obl >= m) | (per.ceiling.fill_null(ZERO) >= m)
        big = per.filter(m.isnull() | reaches if queries.is_placeholder(m) else reaches)
        awards = awards.semi_join(big.select("award_uid"), "award_uid")
    return base.semi_join(awards, "award_uid")


def _values(w: Watch) -> dict[str, Any]:
    """The watch's filters as the values its queries take (None: not filtered)."""
    v = filter_values(w.filters())
    v["min_amount"] = Decimal(w.min_amount) if w.min_amount else None
    return v


def _rows_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    return _scope(catalog, "collapse", v).select(*ROW_COLUMNS, "award_uid")


def _awards_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    t = _scope(catalog, "keep", v)
    order = (t.action_date.cast("string") + "|" + t.modification_number.fill_null(""))
    return t.group_by("award_uid").aggregate(
        federal_action_obligation=t.federal_action_obligation.sum(),
        potential_total_value_of_award=t.potential_total_value_of_award.argmax(order),
        actions=t.count(),
    )


def _state(catalog: Catalog, w: Watch) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(rows by transaction key, awards by award uid) of a catalog, in the watch's scope."""
    if not catalog.loads:
        return {}, {}
    v = _values(w)
    # the scope's rows are used three times over: read again, not stored (queries.inlined)
    rows = {r["txn_key"]: r for r in run_query(catalog, "watch_rows", v,
                                               lambda v: _rows_expr(catalog, v),
                                               inline_ctes=True)[0]}
    awards = {r["award_uid"]: r for r in run_query(catalog, "watch_awards", v,
                                                   lambda v: _awards_expr(catalog, v),
                                                   inline_ctes=True)[0]}
    return rows, awards


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Columns whose value differs. A value appearing where there was none (a column the older
    source lacked, such as the generated award id) is not a revision; a value removed is."""
    out = []
    for c in COMPARED:
        a, b = old.get(c), new.get(c)
        if a is None or a == b:
            continue
        out.append((c, a, b))
    return out


def _given(catalog: Catalog, lists: dict[str, list[str]]) -> dict[str, Any]:
    """Lists of values a query takes (transaction keys, agency codes…): on DuckDB, one
    table each (`cw_given_<name>`, column `value`) that the precompiled SQL joins, since a
    literal list cannot be a template's placeholder; on Spark, the lists as they are."""
    if catalog.engine != "duckdb":
        return dict(lists)
    for name, values in lists.items():
        # one literal split in SQL: a Python list as a query parameter would have DuckDB
        # import pandas and NumPy to convert it (~0.5 s)
        rows = (f"SELECT unnest(string_split({queries.sql_literal(SEP.join(sorted(values)))}, "
                f"chr({ord(SEP)}))) AS value" if values else
                "SELECT NULL::VARCHAR AS value WHERE false")
        catalog.duck.execute(f"CREATE OR REPLACE TEMP TABLE cw_given_{name} AS {rows}")
    return {name: GIVEN for name in lists}


SEP = "\x1f"  # joins a list's values in one SQL literal (keys and codes never hold it)


GIVEN = "given"  # a list's value when it sits in its table (see `_given`)


def _isin(catalog: Catalog, column: Any, v: dict[str, Any], name: str) -> Any:
    """`column` among the list `name` of `_given` (or of the placeholders)."""
    if isinstance(v.get(name), list):
        return column.isin(v[name])
    return column.isin(catalog.table(f"cw_given_{name}").value)


def _run(catalog: Catalog, name: str, lists: dict[str, list[str]], build: Any
         ) -> list[dict[str, Any]]:
    return run_query(catalog, name, _given(catalog, lists), build)[0]


def _agency_recipients(catalog: Catalog, codes: set[str]) -> set[tuple[str, str]]:
    """(agency, recipient name) pairs in any load the watch saw, any fiscal year."""
    if not catalog.loads or not codes:
        return set()
    rows = _run(catalog, "watch_agency_recipients", {"codes": sorted(codes)},
                lambda v: _agency_recipients_expr(catalog, v))
    return {(r["awarding_sub_agency_code"], (r["recipient_name"] or "").upper()) for r in rows}


def _agency_recipients_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    t = catalog.transactions_all()
    t = t.filter(_isin(catalog, t.awarding_sub_agency_code, v, "codes"))
    return t.select("awarding_sub_agency_code", "recipient_name").distinct()


def _ever_seen(catalog: Catalog, keys: list[str]) -> dict[str, str]:
    """Of these transaction keys, those stored in any load the watch saw, with the newest
    vintage in which they were present."""
    if not catalog.loads or not keys:
        return {}
    rows = _run(catalog, "watch_ever_seen", {"keys": keys},
                lambda v: _ever_seen_expr(catalog, v))
    return {r["txn_key"]: r["last"] for r in rows}


def _ever_seen_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    t = catalog.transactions_all()
    t = t.filter(_isin(catalog, t.txn_key, v, "keys"))
    return t.group_by("txn_key").aggregate(last=t.vintage.max())


def _ever_seen_awards(catalog: Catalog, uids: set[str]) -> set[str]:
    """Of these award uids, those with an action in any load the watch saw."""
    if not catalog.loads or not uids:
        return set()
    rows = _run(catalog, "watch_ever_seen_awards", {"uids": sorted(uids)},
                lambda v: _ever_seen_awards_expr(catalog, v))
    return {r["award_uid"] for r in rows}


def _ever_seen_awards_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    t = catalog.transactions_all()
    t = t.mutate(award_uid=_award_uid_expr(catalog, t))
    return t.filter(_isin(catalog, t.award_uid, v, "uids")).select("award_uid").distinct()


def _tie_copies(catalog: Catalog, codes: set[str]) -> set[tuple[str, str, Decimal]]:
    """(agency, PIID, amount) of extra copies in the current state: each stands for a skipped
    transaction of the same amount, usually a sibling action of the same award."""
    if not catalog.loads or not codes:
        return set()
    rows = _run(catalog, "watch_tie_copies", {"codes": sorted(codes)},
                lambda v: _tie_copies_expr(catalog, v))
    return {(r["awarding_sub_agency_code"], r["award_id_piid"], r["federal_action_obligation"])
            for r in rows}


def _tie_copies_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    d = catalog.duplicate_rows()
    d = d.filter(_isin(catalog, d.awarding_sub_agency_code, v, "codes"))
    return d.select("awarding_sub_agency_code", "award_id_piid", "federal_action_obligation")


def _event(row: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "agency": row["awarding_sub_agency_code"],
        "award_id_piid": row["award_id_piid"],
        "modification_number": row["modification_number"],
        "action_date": row["action_date"],
        "federal_action_obligation": row["federal_action_obligation"],
        "recipient_name": row["recipient_name"],
        "transaction_description": row["transaction_description"],
        "potential_total_value_of_award": row.get("potential_total_value_of_award"),
        "usaspending_permalink": row["usaspending_permalink"],
        "source_file": row["source_file"],
        "source_row": row["source_row"],
        "vintage": row["vintage"],
        "txn_key": row["txn_key"],
    }


def _latest_rows(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each award's latest action (by date, then key): what names its recipient now. (The
    order rows come back in is the engine's, so "the first row" would name any of them.)"""
    out: dict[str, dict[str, Any]] = {}
    for k in sorted(rows, key=lambda k: (str(rows[k]["action_date"]), k)):
        out[rows[k]["award_uid"]] = rows[k]
    return out


def _subaward_files(store: Store) -> list[str]:
    return [d["file"] for d in store.manifest()["subawards"]]


def compare(store: Store, w: Watch, engine: str = "duckdb") -> Finding:
    """What changed in the watch's scope between the loads it saw and the store now."""
    loads = store.loads()
    seen = set(w.seen_loads)
    prev_loads = [ld for ld in loads if ld.load_id in seen]
    manifest = store.manifest()
    seen_subawards = set(w.seen_subawards if w.seen_subawards is not None
                         else _subaward_files(store))
    prev = Catalog(store, prev_loads, list(manifest["details"]), engine,
                   subawards=[d for d in manifest["subawards"] if d["file"] in seen_subawards])
    cur = store.connect(engine=engine)
    new_loads = [ld for ld in loads if ld.load_id not in seen]
    finding = Finding(
        watch=w.name, description=w.describe(), check_id=time.strftime("%Y%m%dT%H%M%S")
        + f"-{os.getpid()}", checked_at=_now(), since_vintage=w.seen_vintage,
        now_vintage=max((ld.vintage for ld in loads if ld.vintage), default=None),
        new_loads=[{"load_id": ld.load_id, "source_file": ld.source_file,
                    "vintage": ld.vintage} for ld in new_loads],
    )
    gone_loads = seen - {ld.load_id for ld in loads}
    if gone_loads:
        finding.notes.append(f"{len(gone_loads)} loads this watch saw are no longer in the "
                             "store; compared with what remains")
    if not new_loads:
        finding.notes.append("no new loads since the last check")
    before, awards_before = _state(prev, w)
    after, awards_after = _state(cur, w)

    added = [k for k in after if k not in before]
    earlier = _ever_seen(prev, added)
    known_awards = _ever_seen_awards(prev, {award_uid(k) for k in added})
    codes = {r["awarding_sub_agency_code"] for r in after.values()
             if r["awarding_sub_agency_code"]}
    old_recipients = _agency_recipients(prev, codes)
    new_award_rows: dict[str, list[dict[str, Any]]] = {}
    for k in sorted(added, key=lambda k: (str(after[k]["action_date"]), k)):
        row = after[k]
        if k in earlier:
            e = _event(row, "reappeared")
            e["last_seen_vintage"] = earlier[k]
            finding.reappeared.append(e)
        elif row["award_uid"] in known_awards:
            finding.new_modifications.append(_event(row, "new modification"))
        else:
            new_award_rows.setdefault(row["award_uid"], []).append(row)

    for uid, rows in new_award_rows.items():
        first = rows[0]
        a = awards_after.get(uid, {})
        finding.new_awards.append({
            "agency": first["awarding_sub_agency_code"],
            "award_id_piid": first["award_id_piid"],
            "recipient_name": rows[-1]["recipient_name"],
            "first_action_date": min(r["action_date"] for r in rows),
            "actions": len(rows),
            "federal_action_obligation": sum((r["federal_action_obligation"] or ZERO
                                              for r in rows), ZERO),
            "potential_total_value_of_award": a.get("potential_total_value_of_award"),
            "parent_award_id_piid": first["parent_award_id_piid"],
            "transaction_description": first["transaction_description"],
            "usaspending_permalink": rows[-1]["usaspending_permalink"],
            "modifications": [r["modification_number"] for r in rows],
            # without its base action the award is older than the store's data
            "kind": "new award" if "0" in [r["modification_number"] for r in rows]
            else "first seen (earlier actions not in the store)",
            "txn_keys": [r["txn_key"] for r in rows],
        })
    finding.new_awards.sort(key=lambda r: (-r["federal_action_obligation"], r["award_id_piid"]))

    revised_amount: dict[str, Decimal] = {}
    for k in sorted(set(before) & set(after)):
        diffs = _changes(before[k], after[k])
        if not diffs:
            continue
        row = after[k]
        e = _event(row, "revised")
        e["changes"] = [{"column": c, "before": a, "after": b} for c, a, b in diffs]
        finding.changed.append(e)
        for c, a, b in diffs:
            if c == "federal_action_obligation":
                revised_amount[row["award_uid"]] = revised_amount.get(
                    row["award_uid"], ZERO) + (b or ZERO) - a

    ties = _tie_copies(cur, {r["awarding_sub_agency_code"] for r in before.values()
                             if r["awarding_sub_agency_code"]})
    missing = [k for k in before if k not in after]
    out_of_scope = _current_keys(cur, missing)
    for k in sorted(missing, key=lambda k: (str(before[k]["action_date"]), k)):
        row = before[k]
        amount = row["federal_action_obligation"] or ZERO
        if k in out_of_scope:
            continue  # still current, only outside the watch's scope now
        e = _event(row, "disappeared")
        if amount == ZERO:
            e["likely"] = "paging noise ($0.00 row not served by this fetch)"
        elif (row["awarding_sub_agency_code"], row["award_id_piid"], amount) in ties:
            e["likely"] = "paging noise (a copy of an action of the same amount stands in)"
        else:
            e["likely"] = "removed"
        finding.disappeared.append(e)

    latest = _latest_rows(after)
    new_amount: dict[str, Decimal] = {}
    for e in finding.new_modifications:
        uid = award_uid(e["txn_key"])
        new_amount[uid] = new_amount.get(uid, ZERO) + (e["federal_action_obligation"] or ZERO)
    gone_amount: dict[str, Decimal] = {}
    for e in finding.disappeared:
        uid = award_uid(e["txn_key"])
        gone_amount[uid] = gone_amount.get(uid, ZERO) + (e["federal_action_obligation"] or ZERO)
    for uid in sorted(set(new_amount) | set(revised_amount)):
        b, a = awards_before.get(uid), awards_after.get(uid)
        if not a or not b:
            continue
        change = new_amount.get(uid, ZERO) + revised_amount.get(uid, ZERO)
        if change == ZERO:
            continue
        row = latest[uid]
        finding.obligation_changes.append({
            "agency": row["awarding_sub_agency_code"], "award_id_piid": row["award_id_piid"],
            "recipient_name": row["recipient_name"],
            "obligated_before": b["federal_action_obligation"],
            "obligated_now": a["federal_action_obligation"],
            "from_new_actions": new_amount.get(uid, ZERO),
            "from_revisions": revised_amount.get(uid, ZERO),
            "no_longer_listed": gone_amount.get(uid, ZERO),
            "usaspending_permalink": row["usaspending_permalink"],
        })
    finding.obligation_changes.sort(key=lambda r: -abs(r["from_new_actions"]
                                                      + r["from_revisions"]))

    for uid in sorted(set(awards_before) & set(awards_after)):
        cb = awards_before[uid]["potential_total_value_of_award"]
        ca = awards_after[uid]["potential_total_value_of_award"]
        if ca is None or cb == ca:
            continue
        row = latest[uid]
        finding.ceiling_changes.append({
            "agency": row["awarding_sub_agency_code"], "award_id_piid": row["award_id_piid"],
            "recipient_name": row["recipient_name"], "ceiling_before": cb, "ceiling_now": ca,
            "change": ca - cb if cb is not None else None,
            "usaspending_permalink": row["usaspending_permalink"],
        })
    finding.ceiling_changes.sort(key=lambda r: -abs(r["change"] or ZERO))

    seen_names: set[tuple[str, str]] = set()
    for e in [*finding.new_awards, *finding.new_modifications]:
        name = (e["recipient_name"] or "").upper()
        key = (e["agency"], name)
        if not name or key in old_recipients or key in seen_names:
            continue
        seen_names.add(key)
        finding.new_recipients.append({
            "agency": e["agency"], "recipient_name": e["recipient_name"],
            "first_award": e["award_id_piid"],
            "federal_action_obligation": e["federal_action_obligation"],
            "usaspending_permalink": e["usaspending_permalink"],
        })
    finding.new_subaward_reports = _new_subaward_reports(prev, cur, after)
    if w.seen_subawards is None and cur.subaward_files:
        finding.notes.append("subaward reports are watched from this check on (this watch "
                             "was made before they were): the ones loaded so far are taken as "
                             "seen")
    if any(ld.source_format == "usaspending-api-export" for ld in new_loads):
        finding.notes.append("API-export rows carry no ceiling: ceiling changes are only seen "
                             "for awards with full-download rows")
    return finding


SUBAWARD_EVENT_COLUMNS = (
    "prime_key", "prime_award_piid", "prime_awardee_name", "subaward_number",
    "subawardee_key", "subawardee_name", "subaward_amount", "subaward_action_date",
    "subaward_report_id", "subaward_report_last_modified_date", "report_rank",
    "recorded_as_individual", "source_file",
)


def _subaward_reports(catalog: Catalog, keys: set[str], piids: set[str]) -> list[dict[str, Any]]:
    """The subaward reports of the given prime awards (by key, or by PIID for reports of
    the 2018 layout, which name the prime by PIID only)."""
    if not catalog.subaward_files or not (keys or piids):
        return []
    return _run(catalog, "watch_subaward_reports", {"keys": sorted(keys), "piids": sorted(piids)},
                lambda v: _subaward_reports_expr(catalog, v))


def _subaward_reports_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    from contractwatch.subcontracts import ranked

    r = ranked(catalog)
    of_prime = _isin(catalog, r.prime_award_unique_key, v, "keys") | (
        r.prime_award_unique_key.isnull() & _isin(catalog, r.prime_award_piid, v, "piids"))
    return r.filter(of_prime).select(*SUBAWARD_EVENT_COLUMNS)


def _report_id(r: dict[str, Any]) -> tuple[Any, ...]:
    """A report's identity: the same report in a newer download is not new."""
    return (r["prime_key"], r["subaward_number"], r["subawardee_key"],
            r["subaward_report_id"], r["subaward_report_last_modified_date"],
            str(r["subaward_amount"]))


def _new_subaward_reports(prev: Catalog, cur: Catalog, after: dict[str, dict[str, Any]]
                          ) -> list[dict[str, Any]]:
    """Subaward reports under the watch's awards that the previous check had not seen: a
    new subaward, or a re-filing of one (its amount as reported now; counted once, never
    added to the prime's obligations). Subawardees are named as the record names them."""
    from contractwatch.values.ids import PERMALINK

    keys = {r["contract_award_unique_key"] for r in after.values()
            if r["contract_award_unique_key"]}
    piids = {r["award_id_piid"] for r in after.values() if r["award_id_piid"]}
    now = _subaward_reports(cur, keys, piids)
    if not now:
        return []
    before = _subaward_reports(prev, keys, piids)
    seen = {_report_id(r) for r in before}
    known = {(r["prime_key"], r["subaward_number"], r["subawardee_key"]) for r in before}
    out = []
    for r in now:
        if _report_id(r) in seen:
            continue
        refiled = (r["prime_key"], r["subaward_number"], r["subawardee_key"]) in known
        out.append({
            "kind": "re-filed subaward" if refiled else "new subaward",
            "prime_award_piid": r["prime_award_piid"], "prime_key": r["prime_key"],
            "prime_awardee_name": r["prime_awardee_name"],
            "subaward_number": r["subaward_number"], "subawardee_name": r["subawardee_name"],
            "subaward_amount": r["subaward_amount"],
            "subaward_action_date": r["subaward_action_date"],
            "subaward_report_id": r["subaward_report_id"],
            "counted": r["report_rank"] == 0,  # the report that counts now (the latest)
            "recorded_as_individual": r["recorded_as_individual"],
            "source_file": r["source_file"],
            "usaspending_permalink": PERMALINK.format(key=r["prime_key"])
            if str(r["prime_key"]).startswith("CONT_") else None,
        })
    out.sort(key=lambda e: (-(e["subaward_amount"] or ZERO), str(e["prime_key"]),
                            str(e["subaward_number"])))
    return out


def _current_keys(catalog: Catalog, keys: list[str]) -> set[str]:
    if not catalog.loads or not keys:
        return set()
    rows = _run(catalog, "watch_current_keys", {"keys": keys},
                lambda v: _current_keys_expr(catalog, v))
    return {r["txn_key"] for r in rows}


def _current_keys_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    t = catalog.transactions("collapse")
    return t.filter(_isin(catalog, t.txn_key, v, "keys")).select("txn_key").distinct()


def query_expressions(catalog: Catalog, p: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The watch's queries as templates (see queries.py)."""
    _given(catalog, dict.fromkeys(("codes", "keys", "uids", "piids"), []))
    yield "watch_rows", _rows_expr(catalog, p)
    yield "watch_awards", _awards_expr(catalog, p)
    yield "watch_agency_recipients", _agency_recipients_expr(catalog, p)
    yield "watch_ever_seen", _ever_seen_expr(catalog, p)
    yield "watch_ever_seen_awards", _ever_seen_awards_expr(catalog, p)
    yield "watch_tie_copies", _tie_copies_expr(catalog, p)
    yield "watch_current_keys", _current_keys_expr(catalog, p)
    yield "watch_subaward_reports", _subaward_reports_expr(catalog, p)


def check(store: Store, name: str, *, update: bool = True, engine: str = "duckdb") -> Finding:
    """Compare, save the finding, and (unless `update` is false) move the watch forward."""
    with _locked(store, name):
        w = get_watch(store, name)
        finding = compare(store, w, engine)
        if update:
            folder = _path(store, name) / "checks"
            atomic_write_text(folder / f"{finding.check_id}.json", dumps_finding(finding))
            loads = store.loads()
            w.seen_loads = [ld.load_id for ld in loads]
            w.seen_subawards = _subaward_files(store)
            w.seen_vintage = finding.now_vintage
            w.last_checked_at = finding.checked_at
            w.checks = [*w.checks, finding.check_id][-CHECK_KEEP:]
            _save(store, w)  # the commit point
            for old in folder.iterdir():  # each check's JSON and its feed entry's HTML
                if old.suffix in (".json", ".html") and old.stem not in w.checks:
                    old.unlink(missing_ok=True)
            write_feed(store, [w], _path(store, name) / "feed.atom")
        return finding


def history(store: Store, w: Watch) -> list[Finding]:
    folder = _path(store, w.name) / "checks"
    out = []
    for check_id in w.checks:
        path = folder / f"{check_id}.json"
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
            out.append(Finding.from_json(data))
    return out


def dumps_finding(finding: Finding) -> str:
    from contractwatch.output import dumps

    return dumps(finding.to_json())


# ---- presentation --------------------------------------------------------------------------

def _money(v: Any) -> str:
    from contractwatch.values.money import format_dollars

    return "" if v is None else format_dollars(Decimal(str(v)))


# Links go out only to the award pages of USAspending: data can hold any text, and a
# `javascript:` or look-alike link in a feed reader is an attack, not a citation.
LINK_HOSTS = ("www.usaspending.gov", "usaspending.gov")
_SAFE_URL = re.compile(r"https?://([A-Za-z0-9.-]+)(/[A-Za-z0-9._~:/?#@!$&'*+,;=%-]*)?")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")


class _Markdown(str):
    """Text that is already Markdown (a link this module built): not escaped again."""


def safe_link(url: Any) -> str | None:
    """The URL if it is an http(s) link to a known host, written plainly; else None."""
    if not isinstance(url, str):
        return None
    m = _SAFE_URL.fullmatch(url)
    return url if m and m.group(1).lower() in LINK_HOSTS else None


def _link(text: Any, url: str | None) -> str:
    safe = safe_link(url)
    return _Markdown(f"[{_md_escape(text)}]({safe})") if safe else _md_escape(text)


def _md_escape(text: Any) -> str:
    """Data as literal text in Markdown: no HTML (`<script>` shows as text), no emphasis,
    links or table breaks from the data's own punctuation, one line."""
    if text is None:
        return ""
    if isinstance(text, _Markdown):
        return text
    s = " ".join(str(text).splitlines())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def noise_summary(finding: Finding) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in finding.disappeared:
        groups.setdefault(e["likely"], []).append(e)
    out = []
    for likely, rows in sorted(groups.items()):
        if likely == "removed":
            continue
        total = sum((Decimal(str(r["federal_action_obligation"] or 0)) for r in rows), ZERO)
        out.append(f"likely {likely}: {len(rows)} rows ({_money(total)})")
    return out


def to_markdown(finding: Finding) -> str:
    """The finding as Markdown, ready to paste into a newsletter or an issue."""
    f = finding
    c = f.counts()
    lines = [f"## Watch `{f.watch}` — {_md_escape(f.description)}", "",
             f"Checked {f.checked_at}; data vintage {f.since_vintage or 'none'} → "
             f"{f.now_vintage or 'none'}; {len(f.new_loads)} new loads.", ""]

    def table(title: str, header: list[str], rows: list[list[str]]) -> None:
        lines.append(f"### {title} ({len(rows)})")
        lines.append("")
        if not rows:
            lines.extend(["None.", ""])
            return
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for r in rows:
            lines.append("| " + " | ".join(_md_escape(x) for x in r) + " |")
        lines.append("")

    table("New awards", ["award", "recipient", "first action", "obligated", "ceiling",
                         "description"],
          [[_link(r["award_id_piid"], r["usaspending_permalink"]), r["recipient_name"],
            r["first_action_date"], _money(r["federal_action_obligation"]),
            _money(r["potential_total_value_of_award"]) or "unknown",
            r["transaction_description"]] for r in f.new_awards])
    table("New modifications", ["award", "mod", "date", "obligated", "recipient",
                                "description"],
          [[_link(r["award_id_piid"], r["usaspending_permalink"]), r["modification_number"],
            r["action_date"], _money(r["federal_action_obligation"]), r["recipient_name"],
            r["transaction_description"]] for r in f.new_modifications])
    table("Obligation changes by award", ["award", "recipient", "before", "now",
                                          "new actions", "revisions"],
          [[_link(r["award_id_piid"], r["usaspending_permalink"]), r["recipient_name"],
            _money(r["obligated_before"]), _money(r["obligated_now"]),
            _money(r["from_new_actions"]), _money(r["from_revisions"])]
           for r in f.obligation_changes])
    table("Ceiling changes", ["award", "recipient", "before", "now", "change"],
          [[_link(r["award_id_piid"], r["usaspending_permalink"]), r["recipient_name"],
            _money(r["ceiling_before"]) or "unknown", _money(r["ceiling_now"]),
            _money(r["change"])] for r in f.ceiling_changes])
    table("Revised actions", ["award", "mod", "what changed"],
          [[_link(r["award_id_piid"], r["usaspending_permalink"]), r["modification_number"],
            "; ".join(f"{x['column']}: {x['before']} → {x['after']}" for x in r["changes"])]
           for r in f.changed])
    table("Recipients new to the agency", ["agency", "recipient", "first award", "obligated"],
          [[r["agency"], r["recipient_name"],
            _link(r["first_award"], r["usaspending_permalink"]),
            _money(r["federal_action_obligation"])] for r in f.new_recipients])
    table("New subaward reports (below the prime, never added to it)",
          ["prime award", "prime recipient", "subrecipient (as recorded)", "subaward",
           "amount as reported", "kind"],
          [[_link(r["prime_award_piid"], r["usaspending_permalink"]), r["prime_awardee_name"],
            r["subawardee_name"], r["subaward_number"], _money(r["subaward_amount"]),
            r["kind"]] for r in f.new_subaward_reports])
    removed = [r for r in f.disappeared if r["likely"] == "removed"]
    table("Rows no longer listed by the source (not de-obligations)",
          ["award", "mod", "date", "amount it carried", "recipient"],
          [[_link(r["award_id_piid"], r["usaspending_permalink"]), r["modification_number"],
            r["action_date"], _money(r["federal_action_obligation"]), r["recipient_name"]]
           for r in removed])
    for line in noise_summary(f):
        lines.append(f"- {line}")
    if c["reappeared"]:
        lines.append(f"- {c['reappeared']} rows missing from an earlier fetch came back "
                     "(paging noise, not new)")
    for note in f.notes:
        lines.append(f"- note: {_md_escape(note)}")
    return "\n".join(lines).rstrip() + "\n"


def write_feed(store: Store, watches: list[Watch], path: str | Path) -> Path:
    """An Atom feed of the watches' recent checks, for any feed reader."""
    from xml.etree import ElementTree as ET

    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")
    names = ", ".join(w.name for w in watches)
    ET.SubElement(feed, f"{{{ns}}}title").text = f"contractwatch: {names}"
    ET.SubElement(feed, f"{{{ns}}}id").text = "urn:contractwatch:watch:" + ":".join(
        w.name for w in watches)
    # newest first; two checks in the same second keep their order of record (each watch's
    # history is oldest first), so the newest is never put below an older one
    recorded = [f for w in watches for f in history(store, w)]
    findings = [f for _, f in sorted(enumerate(recorded), key=lambda x: (x[1].checked_at, x[0]),
                                     reverse=True)]
    updated = findings[0].checked_at if findings else _now()
    ET.SubElement(feed, f"{{{ns}}}updated").text = updated
    author = ET.SubElement(feed, f"{{{ns}}}author")
    ET.SubElement(author, f"{{{ns}}}name").text = "contractwatch"
    ET.SubElement(feed, f"{{{ns}}}generator").text = "contractwatch"
    for f in findings:
        entry = ET.SubElement(feed, f"{{{ns}}}entry")
        ET.SubElement(entry, f"{{{ns}}}title").text = f.headline()
        ET.SubElement(entry, f"{{{ns}}}id").text = f"urn:contractwatch:check:{f.watch}:" \
            f"{f.check_id}"
        ET.SubElement(entry, f"{{{ns}}}updated").text = f.checked_at
        for a in f.new_awards[:20]:
            href = safe_link(a["usaspending_permalink"])
            if href:
                ET.SubElement(entry, f"{{{ns}}}link", rel="related", href=href,
                              title=str(a["award_id_piid"]))
        content = ET.SubElement(entry, f"{{{ns}}}content", type="html")
        content.text = _entry_html(store, f)
    out = Path(path)  # each watch keeps its own feed in the store; users' paths are checked
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        ET.ElementTree(feed).write(tmp, encoding="utf-8", xml_declaration=True)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def is_our_feed(path: Path) -> bool:
    """An Atom feed this module wrote: `watch check --atom` may refresh it without --force."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16384)
    except OSError:
        return False
    return b"<feed" in head and b"<generator>contractwatch</generator>" in head


def _entry_html(store: Store, f: Finding) -> str:
    """A check's feed entry as HTML, rendered once and kept beside its JSON: the feed is
    rewritten after every check with the last 50, and rendering them all took most of it."""
    path = _path(store, f.watch) / "checks" / f"{f.check_id}.html"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        html = _markdown_to_html(to_markdown(f))
        if path.with_suffix(".json").exists():  # a check that is kept
            atomic_write_text(path, html)
        return html


def _markdown_to_html(text: str) -> str:
    """HTML for the feed's content; raw HTML in the Markdown stays text (html=False)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
