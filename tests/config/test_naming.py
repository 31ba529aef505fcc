"""config/naming: the key each client sends, an explicit ``inputs.<name>.key`` or else the naming
policy's, checked to survive TensorFlow and to be unique (beyond case) within its signature."""

from __future__ import annotations

import pytest

from sigforge.config.naming import resolve_keys
from sigforge.config.validate import build_spec
from sigforge.errors import ConfigError, Problems
from sigforge.spec import InputSpec, Registered, SignatureSpec

from .test_validate import refusal

IMAGE = InputSpec("image", "image", "float32", (None, 28, 28, 1))
TEXT = InputSpec("text", "text", "int32", (None, 100), key="tokens")
INPUTS = {"image": IMAGE, "text": TEXT}
NAMING = {"policy": "recording", "prefix": "in_", "template": "{name}"}


def recording(calls: list) -> Registered:
    """A naming policy that records what it was asked and prefixes the input's name."""

    def policy(input, signature, **params):
        calls.append((input.name, signature.name, params))
        return params["prefix"] + input.name

    return Registered("recording", policy, "test-plugin")


def test_an_explicit_key_wins_and_the_policy_is_asked_only_for_the_others():
    calls: list = []
    problems = Problems()
    signature = SignatureSpec("serving_default", "predict", ("image", "text"), ("scores",))
    resolved = resolve_keys(signature, INPUTS, recording(calls), NAMING, problems)
    assert problems == []
    assert dict(resolved.keys) == {"image": "in_image", "text": "tokens"}
    # The policy gets the naming group's parameters, not the policy's own name.
    assert calls == [("image", "serving_default", {"prefix": "in_", "template": "{name}"})]


def test_a_signature_that_takes_examples_gets_no_per_input_keys():
    calls: list = []
    classify = SignatureSpec("classification", "classify", ("image", "text"), ("classes", "scores"))
    resolved = resolve_keys(classify, INPUTS, recording(calls), NAMING, Problems())
    assert resolved is classify and calls == [] and resolved.client_keys == ("inputs",)


def test_a_name_the_policy_keeps_but_tensorflow_cannot_is_the_configs_to_fix():
    problems = Problems()
    keep = Registered("identity", lambda input, signature, **params: input.name, "builtin")
    odd = InputSpec("class", "dense", "float32", (None,))
    signature = SignatureSpec("predict", "predict", ("class",), ("scores",))
    resolved = resolve_keys(signature, {"class": odd}, keep, {"policy": "identity"}, problems)
    assert dict(resolved.keys) == {}
    assert len(problems) == 1 and problems[0].endswith("Set inputs.class.key or rename the input.")


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("naming.policy=identity", "image"),
        ("naming.policy=prefixed", "input_image"),
        ("naming=template", "image_image"),
        ("inputs.image.key=pixels", "pixels"),
    ],
)
def test_naming_policy_and_explicit_key_decide_the_client_key(compose, plugins, override, key):
    spec = build_spec(compose("+experiment=image_classifier", override), plugins)
    assert spec.signatures[0].keys == {"image": key}


def test_template_policy_takes_its_template_from_config(compose, plugins):
    cfg = compose("+experiment=multi_input", "naming.policy=template", "naming.template='{dtype}_{name}'")
    assert build_spec(cfg, plugins).signatures[0].keys == {"image": "float32_image", "text": "int32_text"}


def test_two_inputs_with_one_key_are_refused(compose, plugins):
    message = refusal(compose, plugins, "+experiment=multi_input", "inputs.text.key=image")
    assert "inputs 'image' and 'text' both get the key 'image'" in message


def test_keys_that_differ_only_in_case_are_refused(compose, plugins):
    message = refusal(compose, plugins, "+experiment=multi_input", "inputs.text.key=IMAGE")
    assert "get the keys 'image' and 'IMAGE', which differ only in case" in message


def test_an_input_named_like_a_keyword_needs_a_key_under_identity(compose, plugins):
    cfg = compose("+experiment=dnn_classifier")
    cfg["inputs"] = {"is": {"modality": "tabular", "dtype": "float32", "shape": [None]}}
    cfg["signatures"] = {"predict": {"method": "predict", "outputs": ["scores"]}}
    with pytest.raises(
        ConfigError,
        match=r"inputs.is \(the key under naming policy 'identity'\) = 'is' is a Python keyword.*Set inputs.is.key",
    ):
        build_spec(cfg, plugins)
    cfg["naming"]["policy"] = "prefixed"  # input_is is a fine key
    assert build_spec(cfg, plugins).signatures[0].keys == {"is": "input_is"}
