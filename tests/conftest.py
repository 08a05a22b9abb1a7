"""Shared fixtures: the real files in ../shared/data and stores loaded from them.

Expected figures in tests come from plain csv-module computations over those files
(see tests/plain.py), never from the code under test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CONTRACTWATCH_SHARED", ROOT.parent / "shared")).resolve()
DATA = SHARED / "data"
TRANSACTIONS = DATA / "usaspending" / "transactions"
SNAPSHOTS = DATA / "usaspending" / "snapshots"
FPDS = DATA / "fpds_full"


def pytest_configure(config: pytest.Config) -> None:
    if not DATA.exists():
        raise pytest.UsageError(f"the shared data folder is missing: {DATA}")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """No test reads the user's real store or settings."""
    for key in list(os.environ):
        if key.startswith("CONTRACTWATCH_") and key != "CONTRACTWATCH_SHARED":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CONTRACTWATCH_STORE", str(tmp_path_factory.mktemp("default-store")))


@pytest.fixture(scope="session")
def transactions_store(tmp_path_factory: pytest.TempPathFactory):
    """A store holding the six fiscal-year files of ../shared/data/usaspending/transactions."""
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    store = Store(tmp_path_factory.mktemp("transactions-store"))
    ingest(store, [TRANSACTIONS], progress=False)
    return store


@pytest.fixture(scope="session")
def fpds_store(tmp_path_factory: pytest.TempPathFactory):
    """A store holding the 2018-layout ICE files of ../shared/data/fpds_full."""
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    store = Store(tmp_path_factory.mktemp("fpds-store"))
    ingest(store, [FPDS], progress=False)
    return store


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (`make system-deps` installs it)."""
    from playwright.sync_api import sync_playwright

    from tests.browsertools import ARGS, CHROMIUM, SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A page that records console errors (a CSP violation shows up there) and dialogs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(120_000)
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()
