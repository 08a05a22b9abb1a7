"""Answers written to a file or a pipe without Rich are the characters Rich writes there.

Each result below is rendered twice into a file-like buffer (no terminal, so no colour):
once by the plain writer (`plain_output.py`), once by Rich, and the two must be identical,
at several terminal widths, for every kind of column, wrapped header and cut text.
"""

from __future__ import annotations

import io

import pytest

from contractwatch import output
from contractwatch.analyze import Filters, award, search, status, top, trend
from contractwatch.plain_output import plain_line, plain_table
from contractwatch.result import Result

WIDTHS = (40, 80, 123, 200)


def _results(catalog) -> list[Result]:
    ice26 = Filters(agency="ICE", fy=2026)
    found = [top(catalog, by, ice26, limit=8) for by in ("recipient", "psc", "naics", "fy",
                                                        "agency")]
    found += [trend(catalog, Filters(agency="ICE")), status(catalog),
              trend(catalog, Filters(recipient="GEO GROUP")),
              search(catalog, "detention", ice26, limit=10),
              award(catalog, "70CDCR26FR0000024"), award(catalog, "70CDCR26D00000015"),
              Result(title="brackets [bold]x[/bold] and a colon: here", columns=["recipient_name"],
                     rows=[{"recipient_name": "[red]A[/red] :smile: B"}], caveats=[])]
    return found


def _render(result: Result, plain: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as m:
        m.setattr("sys.stderr", err)
        if not plain:
            m.setattr(output, "plain_width", lambda stream: None)
        output.new_run()
        output.render(result, "table", out=out)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
def test_plain_tables_are_what_rich_draws(transactions_store, monkeypatch, width) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    drawn = []
    real = output.plain_answer

    def spy(*args):
        text = real(*args)
        drawn.append(text is not None)
        return text

    monkeypatch.setattr(output, "plain_answer", spy)
    results = _results(transactions_store.connect())
    for result in results:
        plain, rich = _render(result, True, monkeypatch), _render(result, False, monkeypatch)
        assert plain == rich, result.title
        assert "┏" in plain[0]
    # most were drawn without Rich (the rest hold text beyond ASCII or an emoji-like code)
    assert sum(drawn) >= len(results) // 2, drawn


def test_what_only_rich_draws_alike_is_left_to_rich() -> None:
    assert plain_line("a :smile: b") is None  # an emoji code
    assert plain_line("tab\there") is None
    assert plain_line("a: b") == "a: b\n"
    assert plain_table(["name"], [(4, False, True)], [["café"]]) is None  # beyond ASCII
    assert plain_table(["name"], [(4, False, True)], []) is None  # no rows
    assert plain_table(["n"], [(2, True, False)], [["123"]]) is None  # would fold
