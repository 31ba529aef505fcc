"""Shared by the plugin tests: team plugin modules written to disk and loaded the way a team's are."""

from __future__ import annotations

import sys
import textwrap

import pytest


@pytest.fixture
def team(tmp_path, monkeypatch):
    """Write plugin modules into an importable folder: ``team(name=source, ...)``; forgotten after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(**modules: str) -> list[str]:
        for name, source in modules.items():
            sys.modules.pop(name, None)
            written.append(name)
            (tmp_path / f"{name}.py").write_text(
                "from sigforge import hookimpl\n\n" + textwrap.dedent(source)
            )
        return list(modules)

    yield write
    for name in written:
        sys.modules.pop(name, None)
