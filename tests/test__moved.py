"""``sigforge._moved``: how a 0.1 import path says where its names went, and when it goes away."""

from __future__ import annotations

import re
import sys

import pytest

from sigforge._moved import warn_moved
from sigforge.errors import REMOVAL_VERSION


def old_module_body() -> None:
    """What a moved module's top level does: ``warn_moved`` as its own code runs."""
    warn_moved("sigforge.old", "sigforge.new.home")


def test_the_warning_names_both_paths_and_the_removal_version():
    with pytest.warns(DeprecationWarning) as warned:
        old_module_body()
    (warning,) = warned
    assert str(warning.message) == (
        f"sigforge.old moved to sigforge.new.home in sigforge 0.2; the old path is removed in "
        f"{REMOVAL_VERSION} (CHANGELOG.md)."
    )


def test_the_warning_points_at_the_code_that_used_the_old_path():
    """Python shows a DeprecationWarning only where ``__main__`` triggered it: the warning must be
    attributed to the importer's line, not to sigforge's own shim."""
    with pytest.warns(DeprecationWarning) as warned:
        old_module_body()  # this line is the user's code
    (warning,) = warned
    assert warning.filename == __file__
    assert warning.lineno == sys._getframe().f_lineno - 3


def test_importing_a_moved_module_warns_from_the_importing_line(monkeypatch):
    monkeypatch.delitem(sys.modules, "sigforge.compose", raising=False)
    with pytest.warns(DeprecationWarning, match=re.escape("sigforge.compose moved to")) as warned:
        import sigforge.compose  # noqa: F401
    (warning,) = warned
    assert (warning.filename, warning.lineno) == (__file__, sys._getframe().f_lineno - 2)
