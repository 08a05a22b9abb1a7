"""The Python API, for notebooks and scripts; the CLI and the web app answer through it too.

    import contractwatch as cw
    store = cw.open()                      # the default store (CONTRACTWATCH_STORE), or a path
    ice = store.top(agency="ICE", fy=2026, by="family")
    ice.to_pandas(); ice.caveats; ice.sql  # a Result (contractwatch.result)

Every method returns a Result: rows with exact decimals, the SQL behind them, the caveats a
reader must see, and in Jupyter an HTML table with those caveats.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from contractwatch.result import Result


def open(path: str | Path | None = None, *, engine: str | None = None,  # noqa: A001
         duplicates: str | None = None) -> OpenStore:
    """The store at `path` (default: CONTRACTWATCH_STORE, else the per-user data folder)."""
    return OpenStore(path, engine=engine, duplicates=duplicates)


class OpenStore:
    """A store opened for questions. The catalog is read once, on the first question;
    `refresh()` reads it again after new loads."""

    def __init__(self, path: str | Path | None = None, *, engine: str | None = None,
                 duplicates: str | None = None) -> None:
        from contractwatch import settings

        self.settings = settings.load(Path(path) if path else None,
                                      duplicate_policy=duplicates, engine=engine)
        self.duplicates = duplicates  # as asked: `award` collapses copies unless told
        self._catalog: Any = None

    def __repr__(self) -> str:
        return f"<contractwatch store {self.settings.store_dir}>"

    @property
    def path(self) -> Path:
        return Path(self.settings.store_dir)

    @property
    def catalog(self) -> Any:
        if self._catalog is None:
            from contractwatch.store import Store

            self._catalog = Store(self.path).connect(engine=self.settings.engine)
        return self._catalog

    @property
    def policy(self) -> str:
        return self.settings.duplicate_policy

    def refresh(self) -> OpenStore:
        self._catalog = None
        return self

    # ---- the analyses -----------------------------------------------------------------

    def top(self, by: str | None = None, agency: str | None = None,
            fy: int | str | None = None, keyword: str | None = None,
            limit: int = 20, columns: str | list[str] | None = None,
            purpose: str | None = None) -> Result:
        """Who got the most: obligations by recipient (the default), psc, naics, fy, agency,
        family, brand or purpose (an award with several purposes counts under each);
        `columns` (canonical or source columns) are further group keys, or the only ones
        when `by` is not given (columns=['extent_competed'])."""
        from contractwatch.analyze import top

        return top(self.catalog, by, filters(agency=agency, fy=fy, keyword=keyword,
                                             purpose=purpose), limit, self.policy, columns)

    def trend(self, agency: str | None = None, recipient: str | None = None,
              keyword: str | None = None, purpose: str | None = None) -> Result:
        """Obligations by fiscal year for an agency, a recipient, a keyword or a purpose."""
        from contractwatch.analyze import trend

        return trend(self.catalog, filters(agency=agency, recipient=recipient,
                                           keyword=keyword, purpose=purpose), self.policy)

    def award(self, award_id: str, columns: str | list[str] | None = None) -> Result:
        """An award's actions with a running total; facts: recipient, total, ceiling,
        vehicle, page. Exact copies of actions are collapsed unless duplicates='keep'.
        `columns`: each action's value of these (canonical or source) columns."""
        from contractwatch.analyze import award

        return award(self.catalog, award_id, self.duplicates or "collapse", columns)

    def search(self, text: str, agency: str | None = None, fy: int | str | None = None,
               recipient: str | None = None, psc: str | None = None,
               naics: str | None = None, min_amount: Decimal | float | None = None,
               max_amount: Decimal | float | None = None, sort: str = "obligations",
               limit: int = 50, offset: int = 0,
               columns: str | list[str] | None = None, purpose: str | None = None,
               by: str | None = None, meaning: bool = False,
               progress: bool = False) -> Result:
        """Awards whose action descriptions contain `text`, ranked by obligations;
        `columns`: each award's latest action's value of these columns; with by='vehicle',
        grouped by the vehicle they were ordered under. With `meaning=True`, awards whose
        texts mean what `text` says, best first, each with the passage that matched and its
        scores (needs contractwatch[meaning]; the index is built first when the data
        changed, with a progress bar on stderr if `progress`)."""
        f = filters(agency=agency, fy=fy, recipient=recipient, psc=psc, naics=naics,
                    min_amount=min_amount, max_amount=max_amount, purpose=purpose)
        if meaning:
            from contractwatch import meaning as by_meaning

            if offset or sort != "obligations" or columns or by not in (None, "award"):
                raise ValueError("a search by meaning is ranked by its scores: sort, offset, "
                                 "columns and by do not apply")
            return by_meaning.search(self.catalog, text, f, limit, self.policy, progress)
        from contractwatch.analyze import search

        return search(self.catalog, text, f, limit, offset, sort, self.policy, columns, by)

    def index(self, progress: bool = False) -> Result:
        """Build the index behind search by meaning for the current data, if it is not built
        yet (needs contractwatch[meaning])."""
        from contractwatch import meaning

        return meaning.index_status(self.catalog, progress)

    def company(self, name: str, agency: str | None = None, fy: int | str | None = None,
                limit: int = 10, purpose: str | None = None) -> Result:
        """A corporate family named as people type it ('Dell', 'palantir'): totals by year
        and agency; `.parts` holds its members, largest awards and brands resold."""
        from contractwatch.companies import company

        return company(self.catalog, name, filters(agency=agency, fy=fy, purpose=purpose),
                       limit, self.policy)

    def explain(self, name: str) -> Result:
        """Why a recipient sits in its family: links and the matcher's scored pairs."""
        from contractwatch.companies import explain_name, explanation

        return explanation(explain_name(self.catalog, name, self.policy))

    def purposes(self, award: str) -> Result:
        """Why an award has each of its purpose tags: reason, phrase or code, passage."""
        from contractwatch.purposes import explain

        return explain(self.catalog, award)

    def purpose_review(self, limit: int = 50, purpose: str | None = None) -> Result:
        """Uncertain purpose tags, the largest money first."""
        from contractwatch.purposes import review

        return review(self.catalog, limit, purpose)

    def status(self) -> Result:
        """Coverage per agency and fiscal year; facts: loads and rows; `.meta['loads']`."""
        from contractwatch.analyze import status

        return status(self.catalog, self.policy)


def filters(agency: str | None = None, fy: int | str | None = None, **kw: Any) -> Any:
    """Filters from the values people pass: fy as 2026, '2026' or 'FY2026'; amounts as
    numbers (never NaN)."""
    import math

    from contractwatch.analyze import Filters
    from contractwatch.values.fiscal import parse_fiscal_year

    for name in ("min_amount", "max_amount"):
        amount = kw.get(name)
        if amount is not None and not isinstance(amount, Decimal):
            if not math.isfinite(amount):
                raise ValueError(f"{name} {amount}: not an amount")
            kw[name] = Decimal(str(amount))
    year = parse_fiscal_year(str(fy)) if fy is not None and fy != "" else None
    return Filters(agency=agency, fy=year, **kw)
