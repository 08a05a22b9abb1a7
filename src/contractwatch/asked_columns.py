"""Columns a reader names with `--columns`: any canonical column, or any source column a load
kept as the source gave it (`source_columns.parquet`), beside an analysis's own columns.

Nothing is dropped for want of a column: the rows of a load that lacks it read
'not in source' (for a canonical column: the load holds no value in it at all, as API exports
hold no competition fields), so `top` keeps their money in a group of that name and the caveat
names the loads. `top` groups by the columns; `search` shows each award's latest action's value
and says which awards' actions differ; `award` shows each action's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contractwatch.store import Catalog, LoadRecord, source_column_names

NOT_IN_SOURCE = "not in source"
# columns of the stored rows that are bookkeeping, not data a reader asks for
_INTERNAL = ("txn_key", "row_hash", "vintage_rank")


@dataclass(frozen=True)
class AskedColumn:
    name: str  # as asked, and the result's column name
    source: str | None  # the source column's own name; None for a canonical column
    lacking: tuple[str, ...]  # ids of the loads that lack it (their rows read NOT_IN_SOURCE)


def split_names(text: str | list[str] | None) -> list[str]:
    """'a,b' or ['a', 'b,c'] as a list of names, in order, once each."""
    if text is None:
        return []
    parts = [text] if isinstance(text, str) else list(text)
    names = [n.strip() for part in parts for n in part.split(",")]
    return list(dict.fromkeys(n for n in names if n))


def resolve(catalog: Catalog, names: str | list[str] | None) -> list[AskedColumn]:
    """The named columns, checked: a canonical name is the typed canonical column, another
    name a source column (`NAME_source` reaches a source column named like a canonical one,
    as the 2018 download's own `fiscal_year`). An unknown name is a one-line error naming
    the nearest known ones."""
    from contractwatch.schema import COLUMN_NAMES

    canonical = [c for c in COLUMN_NAMES if c not in _INTERNAL]
    kept = source_column_names(catalog.loads)
    out = []
    for name in split_names(names):
        if name in canonical:
            out.append(AskedColumn(name, None, _loads_without_values(catalog, name)))
            continue
        source = name.removesuffix("_source") if name.removesuffix("_source") in canonical \
            and name.endswith("_source") else name
        if source in kept and (source == name or source in canonical):
            out.append(AskedColumn(name, source, tuple(
                ld.load_id for ld in catalog.loads if source not in ld.source_columns)))
            continue
        known = canonical + [f"{n}_source" if n in canonical else n for n in kept]
        import difflib

        near = difflib.get_close_matches(name, known, n=5, cutoff=0.6) or \
            [k for k in known if name.lower() in k.lower()][:5]
        raise LookupError(
            f"--columns: no column {name!r} in this store"
            + (f" (near: {', '.join(near)})" if near else "")
            + f"; {len(canonical)} canonical columns and {len(kept)} source columns are known "
            "(`contractwatch status --loads --format json` lists each load's)")
    return out


def _loads_without_values(catalog: Catalog, column: str) -> tuple[str, ...]:
    """Loads holding no value at all in a canonical column: their layout does not carry it
    (an API export has no competition fields), so their rows read 'not in source'."""
    if not catalog.loads:
        return ()
    t = catalog.transactions_all()
    counted = t.group_by("load_id").aggregate(n=t[column].count())
    found = {r["load_id"]: r["n"] for r in catalog.execute_arrow(counted).to_pylist()}
    return tuple(ld.load_id for ld in catalog.loads if not found.get(ld.load_id))


def with_asked(catalog: Catalog, t: Any, asked: list[AskedColumn]) -> Any:
    """`t` (stored rows with load_id and source_row) with the asked columns beside its own,
    under the names asked; rows of a load lacking a column read NOT_IN_SOURCE."""
    import ibis

    sources = [a.source for a in asked if a.source is not None]
    if sources:
        before = set(t.columns)
        t = catalog.with_source_columns(t, sources)
        t = t.rename({a.name: f"{a.source}_source" if a.source in before else a.source
                      for a in asked if a.source is not None
                      and a.name != (f"{a.source}_source" if a.source in before else a.source)})
    changed = {}
    for a in asked:
        if a.lacking:
            value = t[a.name] if a.source else t[a.name].cast("string")
            changed[a.name] = ibis.ifelse(t.load_id.isin(list(a.lacking)),
                                          ibis.literal(NOT_IN_SOURCE), value)
    return t.mutate(**changed) if changed else t


def lacking_notes(catalog: Catalog, asked: list[AskedColumn], in_scope: set[str]) -> list[str]:
    """One line per asked column that loads in scope lack, naming the loads' files."""
    by_id = {ld.load_id: ld for ld in catalog.loads}
    out = []
    for a in asked:
        lacking = [by_id[i] for i in a.lacking if i in in_scope]
        if lacking:
            out.append(f"{a.name}: {_files(lacking)} {'lacks' if len(lacking) == 1 else 'lack'}"
                       f" this column ({len(lacking)} of {len(in_scope)} loads in scope); "
                       f"their rows read {NOT_IN_SOURCE!r}, their money is counted there")
    return out


def _files(loads: list[LoadRecord]) -> str:
    names = [Path(ld.source_file).name for ld in loads]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
