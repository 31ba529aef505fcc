"""``sigforge.hookspecs``, 0.1's path of ``sigforge.plugins.hookspecs``: it warns and offers the same
marker and protocols, so a team plugin typed against the old path keeps working until it moves."""

from __future__ import annotations

import importlib
import re
import sys

import pytest

import sigforge.plugins.hookspecs as new_home
from sigforge.errors import REMOVAL_VERSION


def test_importing_the_old_path_warns_naming_the_new_one_and_offers_its_objects(monkeypatch):
    monkeypatch.delitem(sys.modules, "sigforge.hookspecs", raising=False)
    said = f"sigforge.hookspecs moved to sigforge.plugins.hookspecs in sigforge 0.2; the old path is removed in {REMOVAL_VERSION}"
    with pytest.warns(DeprecationWarning, match=re.escape(said)):
        old = importlib.import_module("sigforge.hookspecs")
    assert sorted(old.__all__) == [
        "ModelBuilder", "NamingPolicy", "Preprocessor", "PreprocessorFactory", "PreprocessorWithExample", "hookspec"
    ]  # fmt: skip
    assert [name for name in old.__all__ if getattr(old, name) is not getattr(new_home, name)] == []
