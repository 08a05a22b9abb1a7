"""Resolution: recipient row → organisation → corporate family; brands named in descriptions.

Three views of every amount, always labelled: the **prime recipient** (as recorded), the
**corporate family** (parent fields in the data > curated families file > name matcher, with
stored judgements overriding the matcher), and the **brand named in the description**.

Natural persons are never resolved: rows the data marks as individuals or sole proprietors
keep their own organisation and family (``family_source = 'individual-not-resolved'``) and
never reach the matcher (DESIGN.md, product principle).

Entry points: :func:`resolve` (full result with evidence), :func:`resolve_recipients` (the
mapping table only), :func:`explain`, :func:`review_pairs`, :func:`detect_brands`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contractwatch.resolve.brands import detect_brands, find_brands, load_brands
from contractwatch.resolve.families import Families, load_families
from contractwatch.resolve.judgements import Judgement, load_judgements, pair_key
from contractwatch.resolve.names import display_name, looks_like_person, match_key, org_key

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "Resolution",
    "resolve",
    "resolve_recipients",
    "explain",
    "review_pairs",
    "detect_brands",
    "find_brands",
    "load_brands",
    "load_families",
    "organisation_id",
    "MATCH_THRESHOLD",
    "REVIEW_FLOOR",
]

MATCH_THRESHOLD = 0.80  # merge at or above (see tests/test_resolve_quality.py for P/R)
REVIEW_FLOOR = 0.20  # pairs between this and the threshold go to review

INPUT_COLUMNS = [
    "recipient_name",
    "recipient_uei",
    "recipient_duns",
    "recipient_parent_uei",
    "recipient_parent_duns",
    "recipient_parent_name",
    "recipient_is_individual",
]
OUTPUT_COLUMNS = INPUT_COLUMNS + [
    "organisation_id",
    "organisation_name",
    "family_id",
    "family_name",
    "family_source",
    "family_evidence",
]
_TRUE = {"t", "true", "1", "y", "yes"}


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)


def organisation_id(name: str | None, uei: str | None = None, duns: str | None = None) -> str:
    """UEI, else DUNS (zero-padded), else the normalised name: one id per registration."""
    from contractwatch.values.ids import pad_duns

    if _clean(uei):
        return f"uei:{_clean(uei).upper()}"  # type: ignore[union-attr]
    if pad_duns(_clean(duns)):
        return f"duns:{pad_duns(_clean(duns))}"
    return f"name:{org_key(name)}"


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class Resolution:
    """Everything a resolve run decided, with the evidence to explain it.

    `mapping` and `scores` are Arrow tables as computed, or lists of rows as read back from
    the store (see contractwatch.companies)."""

    mapping: pa.Table | list[dict[str, Any]]
    # Splink's scored pairs (None when the matcher was off)
    scores: pa.Table | list[dict[str, Any]] | None
    org_names: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)  # org id → reasons
    threshold: float = MATCH_THRESHOLD


def table_rows(table: pa.Table | Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return table.to_pylist() if hasattr(table, "to_pylist") else list(table)


def _rows(table: pa.Table | Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{c: r.get(c) for c in INPUT_COLUMNS} for r in table_rows(table)]


def resolve(
    recipients: pa.Table | Iterable[dict[str, Any]],
    *,
    families: Families | None = None,
    families_paths: Iterable[str | Path] = (),
    judgements_path: str | Path | None = None,
    threshold: float = MATCH_THRESHOLD,
    use_matcher: bool = True,
    engine: str = "duckdb",
) -> Resolution:
    """Resolve distinct recipients to organisations and families; see module docstring.

    ``recipients`` has the columns of ``INPUT_COLUMNS`` (any may be missing or null).
    ``families_paths`` are user YAML files on top of the shipped starter set;
    ``judgements_path`` is e.g. ``<store>/resolve/judgements.csv``.
    """
    import pyarrow as pa

    from contractwatch.values.ids import pad_duns

    fams = families or load_families(*families_paths)
    judged = load_judgements(judgements_path) if judgements_path else {}
    rows = _rows(recipients)
    uf = _UnionFind()
    names: dict[str, Counter[str]] = defaultdict(Counter)
    evidence: dict[str, list[str]] = defaultdict(list)
    source_of: dict[str, str] = {}
    parent_count: Counter[str] = Counter()
    curated_of_root: dict[str, str] = {}
    org_of_row: list[str] = []
    individuals: set[str] = set()
    match_inputs: dict[str, dict[str, str | None]] = {}

    def attach_curated(node: str, name: str | None, duns: str | None, uei: str | None) -> bool:
        link = fams.lookup(name, duns, uei)
        if not link:
            return False
        fam_node = f"curated:{link.family_id}"
        names[fam_node][link.family_name] += 1
        uf.union(node, fam_node)
        evidence[node].append(
            f"curated: {link.rule} -> {link.family_name} ({link.source}; {link.file})"
        )
        return True

    for r in rows:
        name, uei, duns = (
            _clean(r["recipient_name"]),
            _clean(r["recipient_uei"]),
            _clean(r["recipient_duns"]),
        )
        oid = organisation_id(name, uei, duns)
        if _is_true(r["recipient_is_individual"]) or looks_like_person(name):
            # Shown as recorded, never matched, never linked (product principle).
            oid = "individual:" + oid.split(":", 1)[1]
            individuals.add(oid)
            org_of_row.append(oid)
            names[oid][display_name(name)] += 1
            continue
        org_of_row.append(oid)
        names[oid][display_name(name)] += 1
        uf.find(oid)
        p_uei, p_duns, p_name = (
            _clean(r["recipient_parent_uei"]),
            pad_duns(_clean(r["recipient_parent_duns"])),
            _clean(r["recipient_parent_name"]),
        )
        pid = organisation_id(p_name, p_uei, p_duns) if (p_uei or p_duns or p_name) else None
        same_as_self = pid == oid or (not (p_uei or p_duns) and org_key(p_name) == org_key(name))
        if pid and not same_as_self:
            names[pid][display_name(p_name) or pid] += 1
            parent_count[pid] += 1
            uf.union(oid, pid)
            source_of.setdefault(oid, "data-parent")
            evidence[oid].append(f"data-parent: {display_name(p_name) or pid} [{pid}]")
            attach_curated(pid, p_name, p_duns, p_uei)
        if attach_curated(oid, name, pad_duns(duns), uei):
            source_of.setdefault(oid, "curated")
        match_inputs.setdefault(
            oid,
            {
                "name": name,
                "duns": pad_duns(duns),
                "uei": uei,
                "parent": pid if pid and not same_as_self else None,
            },
        )

    for root_node in list(uf.parent):
        if root_node.startswith("curated:"):
            curated_of_root[uf.find(root_node)] = root_node

    scores = None
    if use_matcher and len(match_inputs) > 1:
        from contractwatch.resolve.matching import MatchRecord, score_pairs

        records = [
            MatchRecord(oid, v["name"] or "", v["duns"], v["uei"], v["parent"])
            for oid, v in match_inputs.items()
        ]
        scores = score_pairs(records, min_probability=REVIEW_FLOOR, engine=engine)
        ranked = sorted(
            zip(
                scores.column("unique_id_l").to_pylist(),
                scores.column("unique_id_r").to_pylist(),
                scores.column("match_probability").to_pylist(),
                strict=True,
            ),
            key=lambda t: -t[2],
        )
        edges = [(a, b, p) for a, b, p in ranked if p >= threshold]
        # Reviewer decisions: POSITIVE merges whatever the score, NEGATIVE blocks.
        for (a, b), d in judged.items():
            if (
                d["judgement"] == Judgement.POSITIVE.value
                and a in match_inputs
                and b in match_inputs
            ):
                edges.insert(0, (a, b, 1.0))
        negatives = {k for k, d in judged.items() if d["judgement"] == Judgement.NEGATIVE.value}
        members: dict[str, set[str]] = defaultdict(set)
        for oid in match_inputs:
            members[uf.find(oid)].add(oid)
        for a, b, p in edges:
            ra, rb = uf.find(a), uf.find(b)
            if ra == rb:
                continue
            judged_pos = judged.get(pair_key(a, b), {}).get("judgement") == "positive"
            if pair_key(a, b) in negatives:
                continue
            if any(pair_key(x, y) in negatives for x in members[ra] for y in members[rb]):
                continue
            ca, cb = curated_of_root.get(ra), curated_of_root.get(rb)
            if ca and cb and ca != cb and not judged_pos:
                continue  # the matcher never joins two curated families
            uf.union(a, b)
            new = uf.find(a)
            members[new] = members.pop(ra, set()) | members.pop(rb, set())
            if ca or cb:
                curated_of_root[new] = ca or cb  # type: ignore[assignment]
            why = "judgement: positive" if judged_pos else f"matched p={p:.3f}"
            evidence[a].append(f"{why} with {names[b].most_common(1)[0][0]} [{b}]")
            evidence[b].append(f"{why} with {names[a].most_common(1)[0][0]} [{a}]")
            source_of.setdefault(a, "matched")
            source_of.setdefault(b, "matched")

    # Name each family: curated name, else the most-cited parent, else its most frequent member.
    comp_nodes: dict[str, list[str]] = defaultdict(list)
    for node in list(uf.parent):
        comp_nodes[uf.find(node)].append(node)
    fam_of_root: dict[str, tuple[str, str]] = {}
    for root, nodes in comp_nodes.items():
        cur = [n for n in nodes if n.startswith("curated:")]
        if cur:
            rep = sorted(cur)[0]
        else:
            parents = [n for n in nodes if parent_count[n]]
            rep = (
                max(parents, key=lambda n: (parent_count[n], n))
                if parents
                else min(nodes, key=lambda n: (-sum(names[n].values()), n))
            )
        fam_of_root[root] = (rep, names[rep].most_common(1)[0][0] if names[rep] else rep)

    org_names = {oid: c.most_common(1)[0][0] for oid, c in names.items()}
    out: dict[str, list[Any]] = {c: [] for c in OUTPUT_COLUMNS}
    for r, oid in zip(rows, org_of_row, strict=True):
        for c in INPUT_COLUMNS:
            out[c].append(r[c])
        out["organisation_id"].append(oid)
        out["organisation_name"].append(org_names[oid])
        if oid in individuals:
            fam, fam_name, src = oid, org_names[oid], "individual-not-resolved"
        else:
            fam, fam_name = fam_of_root[uf.find(oid)]
            in_family = len(comp_nodes[uf.find(oid)]) > 1
            src = source_of.get(oid, "self") if in_family else "self"
        out["family_id"].append(fam)
        out["family_name"].append(fam_name)
        out["family_source"].append(src)
        out["family_evidence"].append("; ".join(dict.fromkeys(evidence.get(oid, []))) or None)
    for c in ("recipient_is_individual",):
        out[c] = [_is_true(v) if v is not None else None for v in out[c]]
    schema = pa.schema(
        [(c, pa.bool_() if c == "recipient_is_individual" else pa.string()) for c in OUTPUT_COLUMNS]
    )
    mapping = pa.table(out, schema=schema)
    return Resolution(mapping, scores, org_names, dict(evidence), threshold)


def resolve_recipients(
    recipients: pa.Table | Iterable[dict[str, Any]],
    *,
    families_paths: Iterable[str | Path] = (),
    judgements_path: str | Path | None = None,
    threshold: float = MATCH_THRESHOLD,
    use_matcher: bool = True,
) -> pa.Table:
    """The mapping table only: one row per input row, with organisation and family columns.

    Output columns: the input columns, organisation_id, organisation_name, family_id,
    family_name, family_source ('data-parent' | 'curated' | 'matched' | 'self' |
    'individual-not-resolved') and family_evidence (why, in words).
    """
    return resolve(
        recipients,
        families_paths=families_paths,
        judgements_path=judgements_path,
        threshold=threshold,
        use_matcher=use_matcher,
    ).mapping


def explain(resolution: Resolution, name: str) -> dict[str, Any]:
    """Why a recipient sits in its family: its links, and the matcher's scored pairs with levels.

    ``name`` is compared after normalisation, so any recorded spelling works.
    """
    from contractwatch.resolve.matching import describe_pair

    rows = [
        r
        for r in table_rows(resolution.mapping)
        if match_key(r["recipient_name"]) == match_key(name)
    ]
    result: dict[str, Any] = {"query": name, "organisations": []}
    for oid in dict.fromkeys(r["organisation_id"] for r in rows):
        r = next(x for x in rows if x["organisation_id"] == oid)
        pairs = []
        if resolution.scores is not None:
            for s in table_rows(resolution.scores):
                if oid in (s["unique_id_l"], s["unique_id_r"]):
                    other = s["unique_id_r"] if s["unique_id_l"] == oid else s["unique_id_l"]
                    pairs.append(
                        {
                            "other_id": other,
                            "other_name": resolution.org_names.get(other, other),
                            "match_probability": round(s["match_probability"], 4),
                            "match_weight": round(s["match_weight"], 3),
                            "merged": s["match_probability"] >= resolution.threshold,
                            "evidence": describe_pair(s),
                        }
                    )
        result["organisations"].append(
            {
                "organisation_id": oid,
                "organisation_name": r["organisation_name"],
                "family_id": r["family_id"],
                "family_name": r["family_name"],
                "family_source": r["family_source"],
                "links": resolution.evidence.get(oid, []),
                "scored_pairs": sorted(pairs, key=lambda p: -p["match_probability"]),
            }
        )
    return result


def review_pairs(
    resolution: Resolution,
    *,
    judgements_path: str | Path | None = None,
    floor: float = REVIEW_FLOOR,
    ceiling: float | None = None,
) -> list[dict[str, Any]]:
    """Uncertain pairs (floor <= p < threshold) not yet judged, most likely first.

    Feed the result to :func:`contractwatch.resolve.judgements.export_review`.
    """
    from contractwatch.resolve.matching import describe_pair

    if resolution.scores is None:
        return []
    top = resolution.threshold if ceiling is None else ceiling
    judged = load_judgements(judgements_path) if judgements_path else {}
    out = []
    for s in table_rows(resolution.scores):
        p = s["match_probability"]
        if not floor <= p < top or pair_key(s["unique_id_l"], s["unique_id_r"]) in judged:
            continue
        out.append(
            {
                "left_id": s["unique_id_l"],
                "right_id": s["unique_id_r"],
                "left_name": resolution.org_names.get(s["unique_id_l"], s["unique_id_l"]),
                "right_name": resolution.org_names.get(s["unique_id_r"], s["unique_id_r"]),
                "match_probability": round(p, 4),
                "evidence": "; ".join(
                    f"{e['comparison']}: {e['level']}"
                    for e in describe_pair(s)
                    if e["level"] != "null"
                ),
            }
        )
    return sorted(out, key=lambda r: -r["match_probability"])
