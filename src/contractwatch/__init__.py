"""contractwatch: follow public money from a government agency to the companies it pays.

In a notebook: ``import contractwatch as cw; store = cw.open()`` (see contractwatch.api).
Importing the package loads nothing else (not even `typing`): the engine loads on the first
question.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from os import PathLike

    from contractwatch.api import OpenStore

__version__ = "0.1.0"


def open(path: str | PathLike[str] | None = None, *, engine: str | None = None,  # noqa: A001
         duplicates: str | None = None) -> OpenStore:
    """The store at `path` (default: CONTRACTWATCH_STORE, else the per-user data folder),
    opened for questions: top, trend, award, search, company, explain, status."""
    from contractwatch.api import open as open_store

    return open_store(path, engine=engine, duplicates=duplicates)
