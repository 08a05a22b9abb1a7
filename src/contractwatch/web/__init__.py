"""The web app (`contractwatch serve`): pages over the store, each with JSON and CSV twins."""

from __future__ import annotations


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See contractwatch.web.app.create_app (imported lazily: the CLI needs no web server)."""
    from contractwatch.web.app import create_app as build

    return build(*args, **kwargs)
