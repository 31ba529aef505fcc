"""``python -m sigforge.diff``, 0.1's command for ``sigforge diff``: it warns naming the new command
and runs the same reader."""

from __future__ import annotations

import re
import runpy
import sys

import pytest
from conftest import REPO

import sigforge.cli.diff_command as new_home
from sigforge.errors import REMOVAL_VERSION

VERSION = REPO / "tests" / "fixtures" / "adopt" / "handwritten_image" / "1"


def test_the_old_command_warns_naming_sigforge_diff_and_still_compares(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "sigforge.diff", raising=False)
    monkeypatch.setattr(sys, "argv", ["sigforge/diff.py", str(VERSION), str(VERSION.parent)])
    said = f"python -m sigforge.diff moved to sigforge diff in sigforge 0.2; the old path is removed in {REMOVAL_VERSION}"
    with pytest.warns(DeprecationWarning, match=re.escape(said)), pytest.raises(SystemExit) as ended:
        runpy.run_module("sigforge.diff", run_name="__main__")
    assert ended.value.code == 0
    assert capsys.readouterr().out == "no differences: the contracts are identical\n"


def test_importing_the_old_module_offers_the_new_commands_main():
    import sigforge.diff

    assert sigforge.diff.main is new_home.main
