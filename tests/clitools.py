"""Running the real CLI entry point inside the test process (a subprocess costs ~3 s)."""

from __future__ import annotations

import sys

import pytest


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `contractwatch ARGS`, errors unwrapped on one line."""
    from contractwatch.cli import start
    from contractwatch.cli.errors import run_safely

    monkeypatch.setenv("COLUMNS", "1000")  # one error line, unwrapped
    monkeypatch.setattr(sys, "argv", ["contractwatch", *args])
    code = run_safely(start(args))  # as `contractwatch` starts: queries on the fast path
    out = capsys.readouterr()
    return code, out.out, out.err
