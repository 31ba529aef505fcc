"""``sigforge.compose``, 0.1's path of ``sigforge.config.compose``: it warns and offers the same functions."""

from __future__ import annotations

import importlib
import re
import sys

import pytest

import sigforge.config.compose as new_home
from sigforge.errors import REMOVAL_VERSION


def test_importing_the_old_path_warns_naming_the_new_one_and_offers_its_functions(monkeypatch):
    monkeypatch.delitem(sys.modules, "sigforge.compose", raising=False)
    said = f"sigforge.compose moved to sigforge.config.compose in sigforge 0.2; the old path is removed in {REMOVAL_VERSION}"
    with pytest.warns(DeprecationWarning, match=re.escape(said)):
        old = importlib.import_module("sigforge.compose")
    assert old.__all__ == ["compose", "normalize_overrides"]
    assert old.compose is new_home.compose
    assert old.normalize_overrides is new_home.normalize_overrides
