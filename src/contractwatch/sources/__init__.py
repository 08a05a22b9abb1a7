"""Source adapters: each recognises one input layout and maps it to the canonical schema.

An adapter never writes anything; ingest streams its batches into the store. Adding a format
means adding a module here and listing it in LAYOUTS.
"""

from __future__ import annotations

from contractwatch.sources.api_export import ApiExportLayout
from contractwatch.sources.award_summaries import AwardSummariesLayout
from contractwatch.sources.base import Layout, SourceError
from contractwatch.sources.prime_transactions import (
    DeltaTransactionsLayout,
    PrimeTransactionsLayout,
)
from contractwatch.sources.subawards import SubawardsLayout

LAYOUTS: list[Layout] = [ApiExportLayout(), PrimeTransactionsLayout(), DeltaTransactionsLayout(),
                         AwardSummariesLayout(), SubawardsLayout()]


def detect_layout(header: list[str], file: str) -> Layout:
    """Pick the layout from the header line, or explain why none fits."""
    for layout in LAYOUTS:
        if layout.matches(header):
            return layout
    shown = ", ".join(header[:6]) + (" …" if len(header) > 6 else "")
    hints = "; ".join(layout.describe_missing(header) for layout in LAYOUTS)
    raise SourceError(file, 1, f"unknown header ({len(header)} columns: {shown}). {hints}")


__all__ = ["LAYOUTS", "Layout", "SourceError", "detect_layout"]
