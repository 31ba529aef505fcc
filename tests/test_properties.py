"""Properties: random specs round-trip exactly into saved_model.pb; random invalid keys are refused.

The default suite runs a few examples; ``HYPOTHESIS_PROFILE=thorough`` runs many more.
"""

from __future__ import annotations

import keyword
import os
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigforge.rules import KEY_PATTERN, key_problem, tf_sanitized

valid_keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True)
# Input keys are keyword arguments of the signature function, so Python keywords are refused there.
input_keys = valid_keys.filter(lambda k: not keyword.iskeyword(k))
any_keys = st.text(alphabet=string.ascii_letters + string.digits + "_-.:/ ", min_size=1, max_size=12)


@given(any_keys)
@settings(max_examples=200)
def test_key_problem_accepts_exactly_the_keys_tensorflow_keeps(key):
    assert (key_problem(key, "k") is None) == bool(KEY_PATTERN.match(key))
    if key_problem(key, "k") is not None:
        assert tf_sanitized(key) != key or not key[0].isalpha()


tf = pytest.importorskip("tensorflow")


@given(any_keys.filter(lambda k: not KEY_PATTERN.match(k)))
def test_keys_we_refuse_are_changed_or_refused_by_tensorflow(tmp_path_factory, key):
    module = tf.Module()
    fn = tf.function(lambda x: {"y": x}, input_signature=[tf.TensorSpec([None], tf.float32, name=key)])
    path = tmp_path_factory.mktemp("k")
    try:
        tf.saved_model.save(module, str(path), signatures={"s": fn.get_concrete_function()})
    except (ValueError, AssertionError):
        return  # TensorFlow refuses it outright
    from sigforge.contract.read import read_contract

    written = set(read_contract(path)["s"].inputs)
    loaded = set(tf.saved_model.load(str(path)).signatures["s"].structured_input_signature[1])
    assert written != {key} or loaded != {key}, "TensorFlow kept a key sigforge refuses"


@st.composite
def random_specs(draw):
    """Inputs (names, dtypes, shapes with free dimensions), predict signatures, a naming policy, and
    sometimes a classify signature (then the features are ones a tf.Example can carry)."""
    classify = draw(st.booleans())
    dtypes = ["float32", "int64"] if classify else ["float32", "float64", "int32", "int64"]
    dim = st.integers(1, 4) if classify else st.one_of(st.none(), st.integers(1, 4))
    tensor = st.fixed_dictionaries(
        {"dtype": st.sampled_from(dtypes), "shape": st.lists(dim, max_size=2).map(lambda rest: [None, *rest])}
    )
    # Valid specs: keys within a signature differ in more than case (see the next test).
    inputs = draw(
        st.dictionaries(input_keys, tensor, min_size=1, max_size=4).filter(
            lambda d: len({k.lower() for k in d}) == len(d)
        )
    )
    predict = st.just({"method": "predict", "outputs": ["scores"]})
    signatures = draw(st.dictionaries(valid_keys, predict, min_size=1, max_size=3))
    if classify:
        name = draw(valid_keys.filter(lambda k: k not in signatures))
        signatures[name] = {"method": "classify", "outputs": ["classes", "scores"]}
    return inputs, signatures, draw(st.sampled_from(["identity", "prefixed"]))


@given(input_keys)
def test_keys_differing_only_in_case_are_refused(compose, plugins, key):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ConfigError

    other = key.swapcase()
    if keyword.iskeyword(other):
        # 'AS' swaps to the keyword 'as', which is refused as a keyword first; flipping the first
        # letter back ('As') still differs only in case and is no keyword.
        other = other[0].swapcase() + other[1:]
    if other == key:
        other = key + "_"  # no letters to flip: then the keys differ and must be accepted
    cfg = compose("+experiment=dnn_classifier")
    scalar = {"modality": "tabular", "dtype": "float32", "shape": [None]}
    cfg["inputs"] = {"first": {**scalar, "key": key}, "second": {**scalar, "key": other}}
    cfg["signatures"] = {"predict": {"method": "predict", "outputs": ["scores"]}}
    if key.lower() == other.lower():
        with pytest.raises(ConfigError, match="differ only in case"):
            build_spec(cfg, plugins)
    else:
        assert build_spec(cfg, plugins).signatures[0].keys == {"first": key, "second": other}


def assert_round_trip(compose, plugins, base, inputs, signatures, policy):
    """Export a random spec and read saved_model.pb back: every key, dtype, shape and method exact."""
    from sigforge.config.validate import build_spec
    from sigforge.contract.read import read_contract
    from sigforge.pipeline import run_export

    cfg = compose("+experiment=image_classifier", f"export.base_dir={base}")
    cfg["model"]["architecture"] = "dnn_classifier"
    cfg["inputs"] = {name: {"modality": "tabular", **spec} for name, spec in inputs.items()}
    cfg["signatures"] = signatures
    cfg["naming"]["policy"] = policy
    spec = build_spec(cfg, plugins)
    written = read_contract(run_export(spec, plugins).export_dir)
    assert set(written) == set(signatures)
    prefix = "input_" if policy == "prefixed" else ""
    for name, sig in signatures.items():
        got = {k: (t.dtype, list(t.shape)) for k, t in written[name].inputs.items()}
        assert written[name].method_name == f"tensorflow/serving/{sig['method']}"
        if sig["method"] == "classify":
            assert got == {"inputs": ("string", [None])}
            assert {k: t.dtype for k, t in written[name].outputs.items()} == {
                "classes": "string",
                "scores": "float32",
            }
        else:
            assert got == {prefix + n: (s["dtype"], s["shape"]) for n, s in inputs.items()}


@given(random_specs())
def test_random_specs_round_trip_exactly(compose, plugins, tmp_path_factory, case):
    assert_round_trip(compose, plugins, tmp_path_factory.mktemp("p"), *case)


# 100 specs in every full run (about 80 s here), 500 drawn afresh with HYPOTHESIS_PROFILE=thorough:
# at 0.8 s a spec, 500 in every run cost the suite 7 of its minutes.
MANY_SPECS = 500 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 100


@pytest.mark.slow
@settings(max_examples=MANY_SPECS)
@given(random_specs())
def test_many_random_specs_round_trip_exactly(compose, plugins, tmp_path_factory, case):
    assert_round_trip(compose, plugins, tmp_path_factory.mktemp("p"), *case)
