"""``python -m sigforge.log``, 0.1's command for ``sigforge log``: it warns naming the new command
and runs the same reader."""

from __future__ import annotations

import re
import runpy
import sys

import pytest

import sigforge.cli.log_command as new_home
from sigforge.errors import REMOVAL_VERSION


def test_the_old_command_warns_naming_sigforge_log_and_runs_it(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "sigforge.log", raising=False)
    monkeypatch.setattr(sys, "argv", ["sigforge/log.py", "--help"])
    said = f"python -m sigforge.log moved to sigforge log in sigforge 0.2; the old path is removed in {REMOVAL_VERSION}"
    with pytest.warns(DeprecationWarning, match=re.escape(said)), pytest.raises(SystemExit) as ended:
        runpy.run_module("sigforge.log", run_name="__main__")
    assert ended.value.code == 0
    assert capsys.readouterr().out.startswith("usage: sigforge log [-h] [--tracking-uri TRACKING_URI]")


def test_importing_the_old_module_offers_the_new_commands_main():
    import sigforge.log

    assert sigforge.log.main is new_home.main
