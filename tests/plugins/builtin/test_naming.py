"""``plugins.builtin.naming``: the built-in naming policies, ``identity`` (the default), ``prefixed``
and ``template``, as clients see their keys."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sigforge.config.validate import build_spec
from sigforge.errors import PluginError
from sigforge.plugins.builtin.naming import identity, prefixed, template

IMAGE = SimpleNamespace(name="image", modality="image", dtype="float32", shape=(None, 28, 28, 1))
PREDICT = SimpleNamespace(name="serving_default", method="predict")


def test_identity_is_the_name_and_prefixed_puts_the_prefix_before_it():
    assert identity(IMAGE, PREDICT) == "image"
    assert prefixed(IMAGE, PREDICT, prefix="input_", template="ignored") == "input_image"


def test_a_template_may_use_every_field_of_the_input_and_the_signature():
    key = template(IMAGE, PREDICT, template="{signature}_{method}_{modality}_{dtype}_{name}")
    assert key == "serving_default_predict_image_float32_image"


@pytest.mark.parametrize("bad", ["{shape}_{name}", "{0}", "{name"])
def test_a_template_with_an_unknown_field_is_refused_listing_the_fields(bad):
    with pytest.raises(ValueError, match=r"naming.template = .* is not a valid template") as info:
        template(IMAGE, PREDICT, template=bad)
    assert "{name}, {modality}, {dtype}, {signature}, {method}" in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "keys"),
    [
        ([], {"image": "image", "text": "text"}),
        (["naming.policy=prefixed"], {"image": "input_image", "text": "input_text"}),
        (["naming.policy=prefixed", "naming.prefix=in_"], {"image": "in_image", "text": "in_text"}),
        (["naming.policy=template"], {"image": "image_image", "text": "text_text"}),  # {modality}_{name}
        (["naming.policy=template", "naming.template='{signature}_{name}'"],
         {"image": "serving_default_image", "text": "serving_default_text"}),
    ],
    ids=["identity-by-default", "prefixed", "prefixed-own-prefix", "template", "template-own"],
)  # fmt: skip
def test_the_configured_policy_gives_the_keys_clients_send(compose, plugins, overrides, keys):
    spec = build_spec(compose("+experiment=multi_input", *overrides), plugins)
    assert spec.signatures[0].keys == keys


def test_a_bad_template_in_the_config_is_refused_as_the_config_s_fault(compose, plugins):
    cfg = compose("+experiment=multi_input", "naming.policy=template", "naming.template='{size}'")
    with pytest.raises(PluginError, match=r"\(built in\) refused the config: .*naming.template = '\{size\}'"):
        build_spec(cfg, plugins)
