"""``plugins.calling``: hooks are called through pluggy's own caller (its order, its hook wrappers,
new and old style, and firstresult apply), each implementation shimmed so that every failure names
its plugin and hook, and traced on request. The plugins are real modules written to disk and loaded
the way a team's are, through ``plugins.modules`` (the ``team`` fixture, ``conftest.py`` here)."""

from __future__ import annotations

import pluggy
import pytest
from conftest import with_plugin

from sigforge import PROJECT_NAME, hookimpl
from sigforge.errors import ConfigError, PluginError
from sigforge.plugins.manager import load_plugins, make_plugin_manager


def _rule(marker: str, says: str) -> str:
    return f"""
        @hookimpl{marker}
        def validate_signature(signature):
            return ["{says}"]
        """


def _problems(compose, modules: list[str]) -> list[str]:
    from sigforge.pipeline import prepare

    with pytest.raises(ConfigError) as err:
        prepare(compose("+experiment=image_classifier", f"plugins.modules=[{','.join(modules)}]"))
    return err.value.problems


def test_tryfirst_plain_and_trylast_run_in_pluggys_order(compose, team):
    # registered last-marked first, so only the markers can put them in order
    modules = team(
        team_last=_rule("(trylast=True)", "LAST"),
        team_plain=_rule("", "PLAIN"),
        team_first=_rule("(tryfirst=True)", "FIRST"),
    )
    assert _problems(compose, modules) == [
        "plugin 'team_first': FIRST",
        "plugin 'team_plain': PLAIN",
        "plugin 'team_last': LAST",
    ]


def test_a_new_style_wrapper_wraps_the_other_implementations(compose, team):
    modules = team(
        team_rules=_rule("", "no raw scores"),
        team_waiver="""
        @hookimpl(wrapper=True)
        def validate_signature(signature):
            found = yield
            # waive the rule, keep a note: a wrapper sees each plugin's problems, already attributed
            return [[p.replace("no raw scores", "raw scores waived") for p in problems] for problems in found]
        """,
    )
    assert _problems(compose, modules) == ["plugin 'team_rules': raw scores waived"]


def test_an_old_style_hookwrapper_wraps_too(compose, team):
    modules = team(
        team_rules=_rule("", "no raw scores"),
        team_old="""
        @hookimpl(hookwrapper=True)
        def validate_signature(signature):
            outcome = yield
            outcome.force_result(outcome.get_result() + [["wrapped: " + signature.name]])
        """,
    )
    assert _problems(compose, modules) == ["plugin 'team_rules': no raw scores", "wrapped: serving_default"]


def test_a_wrapper_that_removes_every_problem_lets_the_export_go_on(compose, team):
    from sigforge.pipeline import prepare

    modules = team(
        team_rules=_rule("", "no raw scores"),
        team_amnesty="""
        @hookimpl(wrapper=True)
        def validate_signature(signature):
            yield
            return []
        """,
    )
    spec, _ = prepare(compose("+experiment=image_classifier", f"plugins.modules=[{','.join(modules)}]"))
    assert [s.name for s in spec.signatures] == ["serving_default"]


class FirstResultSpecs:
    """A firstresult hook, as a spec may declare one: pluggy stops at the first non-None answer."""

    @pluggy.HookspecMarker(PROJECT_NAME)(firstresult=True)
    def pick_runtime(self, signature):
        """The first plugin that answers decides."""


def test_firstresult_stops_at_the_first_answer_in_pluggys_order(team):
    import importlib

    team(
        team_abstains="""
        @hookimpl(tryfirst=True)
        def pick_runtime(signature):
            return None
        """,
        team_answers="""
        @hookimpl
        def pick_runtime(signature):
            return "tflite for " + signature
        """,
        team_never_asked="""
        @hookimpl(trylast=True)
        def pick_runtime(signature):
            raise AssertionError("called after the first answer")
        """,
    )
    pm = make_plugin_manager(entry_points=False)
    pm.add_hookspecs(FirstResultSpecs)
    for name in ("team_never_asked", "team_answers", "team_abstains"):
        pm.register(importlib.import_module(name), name=name)
    assert pm.hook.pick_runtime(signature="serving_default") == "tflite for serving_default"


def test_a_failing_implementation_is_named_by_plugin_and_hook_even_inside_a_wrapper(compose, team):
    from sigforge.pipeline import prepare

    modules = team(
        team_broken="""
        @hookimpl
        def validate_signature(signature):
            return {}["missing"]
        """,
        team_watcher="""
        seen = []

        @hookimpl(wrapper=True)
        def validate_signature(signature):
            try:
                return (yield)
            except Exception as err:
                seen.append(type(err).__name__)
                raise
        """,
    )
    with pytest.raises(
        PluginError, match="plugin 'team_broken' failed in hook validate_signature: KeyError: 'missing'"
    ):
        prepare(compose("+experiment=image_classifier", f"plugins.modules=[{','.join(modules)}]"))
    import team_watcher

    assert team_watcher.seen == ["PluginError"]  # the wrapper saw the failure, already named


def test_a_failing_wrapper_is_named(team):
    team(
        team_bad_wrapper="""
        @hookimpl(wrapper=True)
        def register_models(register):
            yield
            raise OSError("disk full")
        """
    )
    with pytest.raises(
        PluginError, match="plugin 'team_bad_wrapper' failed in hook register_models: OSError: disk full"
    ):
        load_plugins(["team_bad_wrapper"], entry_points=False)


def test_a_wrapper_that_never_yields_is_named(team):
    team(
        team_no_yield="""
        @hookimpl(wrapper=True)
        def register_models(register):
            if register is None:
                yield
        """
    )
    with pytest.raises(
        PluginError,
        match="plugin 'team_no_yield' failed in hook register_models: RuntimeError: the wrapper returned "
        "without yielding",
    ):
        load_plugins(["team_no_yield"], entry_points=False)


def test_trace_plugins_prints_each_call_its_plugins_and_durations(team, monkeypatch, capsys):
    team(team_rules=_rule("(tryfirst=True)", "FIRST"))
    monkeypatch.setenv("SIGFORGE_TRACE_PLUGINS", "1")
    plugins = load_plugins(["team_rules"], entry_points=False)
    assert plugins.validate_signature("serving_default") == ["plugin 'team_rules': FIRST"]
    lines = [line for line in capsys.readouterr().err.splitlines() if "validate_signature" in line]
    assert lines[0].startswith("sigforge trace: validate_signature(signature='serving_default') -> ")
    assert "team_rules [tryfirst]" in lines[0]
    assert any("plugin 'team_rules' took" in line and line.endswith(" ms") for line in lines)
    assert lines[-1].startswith(
        "sigforge trace: validate_signature returned [[\"plugin 'team_rules': FIRST\"]] in "
    )


def test_without_the_switch_nothing_is_traced(team, monkeypatch, capsys):
    monkeypatch.delenv("SIGFORGE_TRACE_PLUGINS", raising=False)
    load_plugins(entry_points=False)
    assert "sigforge trace" not in capsys.readouterr().err


def test_hook_that_raises_is_reported_by_plugin_and_hook():
    class Broken:
        name = "broken-plugin"

        @hookimpl
        def register_models(self, register):
            raise RuntimeError("boom")

    with pytest.raises(
        PluginError, match="plugin 'broken-plugin' failed in hook register_models: RuntimeError: boom"
    ):
        with_plugin(Broken())
