"""Award texts: what each award says it buys, read once for every stage that reads it.

Purpose tags (purposes.py) and search by meaning (meaning.py) both read an award's texts:
the distinct descriptions of its actions and its PSC and NAICS (codes and titles). This stage
is the one place that builds them from the current state of the data: one query groups the
current rows (every copy counted, policy 'keep') by award and text, and `iter_awards` streams
them award by award, in award-key order, without holding the store in memory. Each award
comes with its money (for the review queue), its descriptions in the order they first
appear, its codes, and where its texts occur (department, agency, fiscal year, with the
number of actions), which search by meaning filters on.

Text is normalised here too: `clean` (spaces collapsed, what is shown and embedded) and
`words` (upper-case words framed by spaces, what phrases match).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

QUERY = "award_texts"
TEXT_COLUMNS = ["award_key", "award_id_piid", "awarding_agency_code",
                "awarding_sub_agency_code", "fiscal_year", "transaction_description",
                "product_or_service_code", "product_or_service_code_description", "naics_code",
                "naics_description"]

# where an award's texts occur: (description, PSC title, NAICS title, department, agency,
# fiscal year) -> number of actions
Occurrence = tuple[str | None, str | None, str | None, str | None, str | None, int]


def clean(text: str | None) -> str:
    """A text with its runs of spaces collapsed: what is shown and embedded."""
    return " ".join((text or "").split())


def words(text: str | None) -> str:
    """Upper-case words separated by single spaces, framed by spaces: what phrases match."""
    return " " + re.sub(r"[^A-Z0-9&]+", " ", (text or "").upper()).strip() + " "


@dataclass
class AwardText:
    """One award's texts: every distinct description, PSC and NAICS, and where they occur."""

    award_key: str
    award_id_piid: str | None = None
    agency: str | None = None
    obligations: Decimal = Decimal("0")
    descriptions: list[str] = field(default_factory=list)
    psc: set[tuple[str | None, str | None]] = field(default_factory=set)
    naics: set[tuple[str | None, str | None]] = field(default_factory=set)
    occurrences: dict[Occurrence, int] = field(default_factory=dict)

    def text(self) -> str:
        return " | ".join(self.descriptions)

    def add(self, r: dict[str, Any]) -> None:
        """One row of the query: a text of this award in one agency and fiscal year."""
        self.obligations += r["federal_action_obligation"] or 0
        d = (r["transaction_description"] or "").strip()
        if d and d not in self.descriptions:
            self.descriptions.append(d)
        if r["product_or_service_code"] or r["product_or_service_code_description"]:
            self.psc.add((r["product_or_service_code"], r["product_or_service_code_description"]))
        if r["naics_code"] or r["naics_description"]:
            self.naics.add((r["naics_code"], r["naics_description"]))
        where = (r["transaction_description"], r["product_or_service_code_description"],
                 r["naics_description"], r["awarding_agency_code"],
                 r["awarding_sub_agency_code"], int(r["fiscal_year"] or 0))
        self.occurrences[where] = self.occurrences.get(where, 0) + int(r["actions"])

    def occurrences_in_order(self) -> list[tuple[Occurrence, int]]:
        """The occurrences sorted by their texts, then department, agency and year (a missing
        value last): the same order every time, whatever order the rows came in."""
        def key(item: tuple[Occurrence, int]) -> tuple[Any, ...]:
            return tuple((v is None, v if v is not None else "") for v in item[0])

        return sorted(self.occurrences.items(), key=key)


def texts_expr(catalog: Any) -> Any:
    """Each award's distinct texts and codes per agency and fiscal year, with their money,
    first action date and number of actions (current rows, every copy counted as `top`
    counts them), in award-key order and, within an award, in the order texts appeared."""
    from contractwatch.analyze import award_key

    t = catalog.transactions("keep")
    t = t.mutate(award_key=award_key(t))
    grouped = t.group_by(TEXT_COLUMNS).aggregate(
        federal_action_obligation=t.federal_action_obligation.sum(),
        first_action_date=t.action_date.min(),
        actions=t.count(),
    )
    first = ["award_key", "first_action_date", "transaction_description"]
    return grouped.order_by([*first, *(c for c in TEXT_COLUMNS if c not in first)])


def iter_awards(catalog: Any, batch: int = 50_000) -> Iterator[AwardText]:
    """Every award of the current state with its texts, streamed in award-key order (on
    DuckDB from a cursor, so memory does not grow with the store)."""
    from contractwatch.analyze import run_query, template_sql

    sql = template_sql(catalog, QUERY, {})
    if sql is None:
        rows: Any = run_query(catalog, QUERY, {}, lambda v: texts_expr(catalog))[0]
    else:
        rows = _cursor_rows(catalog.duck.cursor().execute(sql), batch)
    current: AwardText | None = None
    for r in rows:
        if current is None or r["award_key"] != current.award_key:
            if current is not None:
                yield current
            current = AwardText(r["award_key"], r["award_id_piid"],
                                r["awarding_sub_agency_code"])
        current.add(r)
    if current is not None:
        yield current


def _cursor_rows(cur: Any, batch: int) -> Iterator[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    while True:
        chunk = cur.fetchmany(batch)
        if not chunk:
            return
        for row in chunk:
            yield dict(zip(names, row, strict=True))


def query_expressions(catalog: Any, p: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The stage's query as a template (see queries.py)."""
    yield QUERY, texts_expr(catalog)
