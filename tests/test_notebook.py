"""The worked notebook (docs/notebooks/ice.ipynb) runs top to bottom on the sample store and
shows figures that plain csv-module sums confirm."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contractwatch.store import Store
from tests.conftest import ROOT, TRANSACTIONS
from tests.plain import fiscal_year, read_rows

NOTEBOOK = ROOT / "docs" / "notebooks" / "ice.ipynb"


def test_the_notebook_answers_the_readme_questions(transactions_store: Store,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("CONTRACTWATCH_STORE", str(transactions_store.root))  # cw.open()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    shown = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", output
            data = output.get("data", {})
            shown.append(output.get("text", "") + data.get("text/html", "")
                         + data.get("text/plain", ""))
    text = "\n".join(shown)
    rows = [r for r in read_rows(TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv")
            if r["Agency"] == "ICE" and fiscal_year(r["Action Date"]) == 2026]
    total = sum(Decimal(r["Federal Action Obligation"]) for r in rows)
    assert f"${total:,.2f}" in text  # ICE's FY2026 total, as a headline fact of `top`
    assert "18 awards match" in text  # skip tracing
    assert "Capgemini" in text and "Dell Technologies" in text
    assert "<table>" in text and "note:" in text  # rich display with its caveats
