"""Kind 6 of reliability round 4: a name rule holds for the whole name. ``$`` matches before a
trailing newline, so "digits\\n" passed ``^...$`` and was published into a directory whose name ends
in a newline. Every name rule is now checked with ``fullmatch`` (``rules.full_name``)."""

from __future__ import annotations

import copy

import pytest

from sigforge.config.validate import build_spec
from sigforge.errors import ConfigError, PluginError
from sigforge.plugins.manager import load_plugins
from sigforge.rules import KEY_PATTERN, MODEL_NAME_PATTERN, key_problem

TAILS = ["\n", "\r\n", "\n\n", "\nx", "\x00"]


def _edited(compose, experiment: str, edit):
    cfg = copy.deepcopy(compose(f"+experiment={experiment}"))
    edit(cfg)
    return cfg


@pytest.mark.parametrize("tail", TAILS)
def test_a_model_name_with_a_trailing_newline_is_refused(compose, plugins, tail):
    cfg = _edited(compose, "image_classifier", lambda c: c["model"].update(name="digits" + tail))
    with pytest.raises(ConfigError, match="model.name = 'digits"):
        build_spec(cfg, plugins)


@pytest.mark.parametrize("tail", TAILS)
def test_input_names_and_keys_with_a_trailing_newline_are_refused(compose, plugins, tail):
    def rename(cfg):
        cfg["inputs"]["image" + tail] = cfg["inputs"].pop("image")

    with pytest.raises((ConfigError, PluginError), match="image"):
        build_spec(_edited(compose, "image_classifier", rename), plugins)

    def rekey(cfg):
        cfg["inputs"]["image"]["key"] = "pixels" + tail

    with pytest.raises(ConfigError, match="inputs.image.key = 'pixels"):
        build_spec(_edited(compose, "image_classifier", rekey), plugins)


def test_a_signature_name_with_a_trailing_newline_is_refused(compose, plugins):
    def rename(cfg):
        cfg["signatures"]["serving_default\n"] = cfg["signatures"].pop("serving_default")

    with pytest.raises(ConfigError, match="is not a valid signature key"):
        build_spec(_edited(compose, "image_classifier", rename), plugins)


@pytest.mark.parametrize("name", ["digits\n", "my model\n", "a\nb"])
def test_a_registered_model_name_with_a_newline_is_refused(compose, plugins, name):
    cfg = _edited(compose, "image_classifier", lambda c: c["mlflow"].update(registered_model_name=name))
    with pytest.raises(ConfigError, match="mlflow.registered_model_name"):
        build_spec(cfg, plugins)


@pytest.mark.parametrize("module", ["json\n", "os.path\n"])
def test_a_plugin_module_path_with_a_trailing_newline_is_refused(module):
    with pytest.raises(PluginError, match="is not a dotted module path"):
        load_plugins([module], entry_points=False)


@pytest.mark.parametrize("tail", TAILS)
def test_the_rules_hold_for_the_whole_string(tail):
    from sigforge.rules import full_name

    assert not full_name(MODEL_NAME_PATTERN, "digits" + tail)
    assert not full_name(KEY_PATTERN, "image" + tail)
    assert key_problem("image" + tail, "k") is not None
    assert key_problem("image:0" + tail, "k") is not None
    # The patterns themselves are anchored at the very end, for any caller that uses .match.
    assert KEY_PATTERN.match("image" + tail) is None
    assert full_name(MODEL_NAME_PATTERN, "digits") and full_name(KEY_PATTERN, "image")
