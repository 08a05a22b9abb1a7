"""USAspending's contract subaward download (`Contracts_Subawards_*.csv`).

Recognised so that a `download/transactions` archive, which holds this file beside the prime
transactions (header only when there are none), loads whole. Subaward amounts are each
subaward's total as reported and are re-filed month after month, so they are never summed with
prime transactions; until the store has a place for them, ingest names the file and skips it.
"""

from __future__ import annotations

from contractwatch.sources.base import Context, Field, Layout


class SubawardsLayout(Layout):
    name = "usaspending-subawards"
    kind = "subawards"
    required_columns = ("prime_award_unique_key", "subaward_number", "subaward_amount")

    def fields(self, header: list[str], ctx: Context) -> dict[str, Field]:
        return {}
