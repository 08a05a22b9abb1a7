"""Helpers for the web app's browser tests (Debian's Chromium driven by Playwright): where
screenshots go and how a page's figures and basics are read. The `browser` and `page`
fixtures live in conftest.py."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = ROOT / "test-artifacts" / "web"


def cells(pg: Any, table: str, col: str) -> list[str]:
    """The values of one column of a data table, as the page marks them up."""
    return pg.locator(f'table[data-table="{table}"] td[data-col="{col}"]').evaluate_all(
        "els => els.map(e => e.dataset.value ?? e.textContent.trim())")


def fact(pg: Any, name: str) -> Decimal:
    """A figure the page states (its exact value, not the formatted text)."""
    return Decimal(pg.locator(f'[data-fact="{name}"]').first.get_attribute("data-value"))


def accessible_basics(pg: Any, sections: bool = True) -> None:
    """One h1, a main landmark, language, labelled inputs, header cells with a scope."""
    assert pg.locator("html").get_attribute("lang") == "en"
    assert pg.locator("h1").count() == 1
    assert pg.locator("main#main").count() == 1
    assert pg.locator("h2").count() >= int(sections)
    unlabelled = pg.locator("input, select").evaluate_all(
        "els => els.filter(e => e.type !== 'hidden' && e.labels.length === 0)"
        ".map(e => e.name)")
    assert unlabelled == []
    assert pg.locator("thead th:not([scope=col])").count() == 0
