"""config/inputs: each declared input checked against InputConf and turned into an InputSpec (its
modality, dtype, shape, key, vocabulary, length input and preprocessor chain), no TensorFlow."""

from __future__ import annotations

import pytest

from sigforge.config.inputs import INPUT_DEFAULTS, inputs_spec
from sigforge.config.schema import InputConf
from sigforge.config.validate import build_spec
from sigforge.errors import Problems

from .test_validate import refusal


def checked(plugins, inputs: dict) -> tuple[dict, list[str]]:
    """``inputs_spec`` over ``inputs``: the specs it made and the problems it collected."""
    problems = Problems()
    return inputs_spec(inputs, plugins, problems), list(problems)


def test_an_input_takes_every_setting_it_leaves_out_from_input_conf(plugins):
    specs, problems = checked(plugins, {"x": {"shape": [None, 3]}})
    assert problems == []
    x, conf = specs["x"], InputConf()
    assert (x.modality, x.dtype, x.shape, x.key) == (conf.modality, conf.dtype, (None, 3), conf.key)
    assert (x.preprocess, x.vocabulary, x.length_input) == ((), conf.vocabulary, conf.length_input)
    assert set(INPUT_DEFAULTS) == set(InputConf.__dataclass_fields__)


def test_an_unknown_input_setting_is_refused_listing_the_settings(plugins):
    _, problems = checked(plugins, {"x": {"shape": [None], "dtyp": "int32"}})
    assert problems == [
        f"inputs.x: 'dtyp' is not an input setting; the settings are {', '.join(INPUT_DEFAULTS)}."
    ]


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({}, "inputs is empty; declare at least one input"),
        ({"x": 3}, "inputs.x = 3 must be a mapping such as {modality: dense, shape: [null, 8]}."),
        ({"x": {"shape": [None, True]}}, "inputs.x.shape[1] = True must be a positive integer or null"),
        ({"x": {"shape": "[null, 3]"}}, "inputs.x.shape = '[null, 3]' must be a list of dimensions"),
        ({"x": {"modality": "image", "dtype": "string"}}, "add preprocess: [{name: decode_image}]"),
        (
            {"x": {"shape": [None, 2**16, 2**15]}},
            "inputs.x.shape = [None, 65536, 32768]: one example of float32 is 8.0 GiB",
        ),
        (
            {"x": {"dtype": "int32", "vocabulary": ["a", "b"]}},
            "inputs.x.vocabulary is set, so inputs.x is categorical: give it dtype string",
        ),
        ({"x": {"preprocess": [{"scale": 2}]}}, "inputs.x.preprocess[0] = {'scale': 2} must be a mapping"),
        ({"2x": {}}, "inputs.2x: the input name '2x' must match [A-Za-z][A-Za-z0-9_]*"),
    ],
)
def test_a_wrong_input_is_refused_naming_its_key(plugins, inputs, expected):
    _, problems = checked(plugins, inputs)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("length", "ok"),
    [
        ({"dtype": "int32", "shape": [None]}, True),
        ({"dtype": "int64", "shape": [None]}, True),
        ({"dtype": "float32", "shape": [None]}, False),
        ({"dtype": "int32", "shape": [None, 1]}, False),
    ],
)
def test_a_length_input_must_be_an_integer_per_example(plugins, length, ok):
    sequence = {"modality": "sequence", "shape": [None, None, 4], "length_input": "length"}
    specs, problems = checked(plugins, {"seq": sequence, "length": length})
    assert (problems == []) is ok, problems
    if not ok:
        assert "inputs.seq.length_input = 'length' must name a declared int32/int64 input" in problems[0]
    assert specs["seq"].length_input == "length"


def test_a_length_input_must_be_declared(plugins):
    sequence = {"modality": "sequence", "shape": [None, None, 4], "length_input": "nothing"}
    _, problems = checked(plugins, {"seq": sequence})
    assert problems and "length_input = 'nothing' must name a declared" in problems[0]


def test_a_vocabulary_is_kept_as_strings_in_order(plugins):
    specs, problems = checked(plugins, {"color": {"dtype": "string", "vocabulary": ["red", 7, "blue"]}})
    assert problems == [] and specs["color"].vocabulary == ("red", "7", "blue")


def test_a_preprocessor_named_alone_takes_no_parameters_and_resolves_once(plugins):
    step = {"name": "normalize", "mean": 0.5, "std": 2.0}
    specs, problems = checked(plugins, {"x": {"preprocess": ["decode_image", step]}})
    assert problems == []
    chain = specs["x"].preprocess
    assert [(s.name, dict(s.params)) for s in chain] == [
        ("decode_image", {}),
        ("normalize", {"mean": 0.5, "std": 2.0}),
    ]
    assert chain[1].provider is plugins.preprocessors.get("normalize", "x")


def test_a_tf_example_input_is_parsed_in_graph(compose, plugins):
    spec = build_spec(compose("+experiment=tf_example"), plugins)
    examples = spec.input["examples"]
    assert (examples.modality, examples.dtype, examples.shape) == ("tf_example", "float32", (None, 8))
    assert [(s.name, dict(s.params)) for s in examples.preprocess] == [
        ("parse_example", {"feature": "features"})
    ]
    # Declared without a chain, a tf_example input is parsed with the feature named after it.
    bare = build_spec(compose("+experiment=tf_example", "inputs.examples.preprocess=[]"), plugins)
    assert [(s.name, dict(s.params)) for s in bare.input["examples"].preprocess] == [
        ("parse_example", {"feature": "examples"})
    ]


def test_tensor_name_as_key_is_refused_with_the_reason(compose, plugins):
    message = refusal(compose, plugins, "+experiment=image_classifier", "inputs.image.key=input_image:0")
    assert message == (
        "inputs.image.key = 'input_image:0' is not a valid signature key: TensorFlow would store it as "
        "'input_image_0'. ':0' is the output index in a tensor's name (serving_default_input_image:0), "
        "not part of an input key; use 'input_image'."
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("inputs.image.key=a-b", "TensorFlow would store it as 'a_b'"),
        ("inputs.image.key=1abc", "TensorFlow would store it as 'arg_1abc'"),
        ("inputs.image.dtype=float99", "inputs.image.dtype = 'float99' is not a TensorFlow dtype"),
        ("inputs.image.shape=[28,28]", "inputs.image.shape[0] = 28: the first dimension is the batch"),
        ("inputs.image.shape=[null,0]", "inputs.image.shape[1] = 0 must be a positive integer or null"),
        ("inputs.image.shape=[]", "inputs.image.shape = [] must be a list of dimensions"),
        ("inputs.image.modality=video", "inputs.image.modality = 'video' is not one of"),
        ("+inputs.image.preprocess=[{name: sharpen}]", "'sharpen' is not a registered preprocessor"),
    ],
)
def test_bad_input_values_are_refused_naming_the_key(compose, plugins, override, expected):
    assert expected in refusal(compose, plugins, "+experiment=image_classifier", override)


@pytest.mark.parametrize("keyword", ["is", "None", "class"])
def test_python_keywords_are_refused_as_input_keys(compose, plugins, keyword):
    """TensorFlow passes input keys as keyword arguments: ``is`` cannot be saved (found by the
    500-example property test)."""
    message = refusal(compose, plugins, "+experiment=multi_input", f"inputs.text.key={keyword}")
    assert f"inputs.text.key = {keyword!r} is a Python keyword" in message
    assert f"use {keyword + '_'!r}" in message
