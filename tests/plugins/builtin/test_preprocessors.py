"""``plugins.builtin.preprocessors``: the built-in preprocessors registered by name like any team's,
each a factory that builds its class (``serving_preprocessors``) only when a config uses it."""

from __future__ import annotations

import pytest

from sigforge.plugins.builtin.preprocessors import NAMES, _factory
from sigforge.plugins.hookspecs import Preprocessor


def test_the_four_built_in_preprocessors_are_registered_by_the_builtin_plugin(plugins):
    entries = plugins.preprocessors.entries
    assert set(NAMES) == {"decode_image", "normalize", "tokenize", "parse_example"}
    assert {name: entries[name].plugin for name in NAMES} == dict.fromkeys(
        NAMES, "sigforge.plugins.builtin.preprocessors"
    )
    assert [entries[name].value.__name__ for name in NAMES] == list(NAMES)  # named in tracebacks


@pytest.mark.parametrize(
    ("name", "params"),
    [("decode_image", {"scale": 0.5}), ("normalize", {"scale": 2.0}), ("parse_example", {"feature": "age"})],
)
def test_a_factory_passes_its_config_parameters_to_the_class_it_builds(name, params):
    pytest.importorskip("tensorflow")
    from sigforge.plugins.builtin.serving_preprocessors import CLASSES

    built = _factory(name)(**params)
    assert type(built) is CLASSES[name] and isinstance(built, Preprocessor)
    assert all(getattr(built, key) == value for key, value in params.items())


def test_a_parameter_the_class_does_not_take_is_refused_naming_it():
    pytest.importorskip("tensorflow")
    with pytest.raises(TypeError, match="sharpness"):
        _factory("normalize")(sharpness=3)
