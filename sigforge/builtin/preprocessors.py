"""Built-in preprocessors, traced into the serving graph (filled in by the plugins work)."""

from __future__ import annotations

from sigforge import hookimpl


@hookimpl
def register_preprocessors(register):
    pass
