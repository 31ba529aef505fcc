"""``verify.inputs``: what verification sends (deterministic batches of the client's dtypes and
shapes, real tf.Examples where a signature parses them, a preprocessor's own ``example_input``
where synthetic values mean nothing), each misbehaving plugin named."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import with_plugin

from sigforge import hookimpl
from sigforge.config.validate import build_spec
from sigforge.errors import PluginError

tf = pytest.importorskip("tensorflow")

from sigforge.verify.inputs import SMOKE_BATCH, synthetic_inputs  # noqa: E402


def test_a_signature_over_examples_is_sent_real_examples_leaving_out_what_has_a_default(compose, plugins):
    spec = build_spec(
        compose("+experiment=estimator_classifier", "inputs.measurements.default=[0.5,1.5,2.5]"), plugins
    )
    (sig,) = [s for s in spec.signatures if s.name == "classification"]
    sent = synthetic_inputs(sig, spec, plan=None)
    assert list(sent) == ["inputs"] and sent["inputs"].shape == (SMOKE_BATCH,)
    first, second = (tf.train.Example.FromString(raw).features.feature for raw in sent["inputs"].numpy())
    assert set(first) == set(sig.inputs) and set(second) == set(sig.inputs) - {"measurements"}
    assert len(first["measurements"].float_list.value) == 3 and len(first["age"].float_list.value) == 1
    # a variable-length feature gets a different number of values in each example
    assert [len(first["bucket"].int64_list.value), len(second["bucket"].int64_list.value)] == [1, 2]
    assert set(second["color"].bytes_list.value) <= {b"red", b"green", b"blue"}  # from its vocabulary
    again = synthetic_inputs(sig, spec, plan=None)
    assert again["inputs"].numpy().tolist() == sent["inputs"].numpy().tolist()  # deterministic


@pytest.mark.parametrize(
    ("example_input", "message"),
    [
        (lambda batch: 1 / 0, r"example_input\(2\) .* raised ZeroDivisionError"),
        (lambda batch: "not an array", r"example_input\(2\) .* returned <U12 \[\]"),
        (lambda batch: np.zeros((batch + 1, 28, 28, 1), np.uint8), r"returned uint8 \[3, 28, 28, 1\]"),
    ],
    ids=["raises", "wrong-type", "wrong-batch"],
)
def test_example_input_that_misbehaves_is_named(compose, tmp_path, example_input, message):
    from sigforge.pipeline import run_export

    class Raw:
        def serving_spec(self, spec):
            return tf.TensorSpec(spec.shape, tf.uint8)

        def __call__(self, tensor):
            return tf.cast(tensor, tf.float32)

    Raw.example_input = staticmethod(example_input)

    class Team:
        name = "team-raw"

        @hookimpl
        def register_preprocessors(self, register):
            register("raw", Raw)

    plugins = with_plugin(Team())
    cfg = compose(
        "+experiment=image_classifier", "inputs.image.preprocess=[{name: raw}]", f"export.base_dir={tmp_path}"
    )
    with pytest.raises(PluginError, match=message) as caught:
        run_export(build_spec(cfg, plugins), plugins)
    assert "plugin 'team-raw': preprocessor 'raw'" in str(caught.value)
    assert os.listdir(tmp_path / "image_classifier") == []


def test_preprocessor_without_example_input_is_told_what_to_add(compose, tmp_path):
    """A preprocessor that parses its input fails on random bytes; the error says to add example_input."""
    from sigforge.pipeline import run_export

    class Csv(tf.Module):
        def serving_spec(self, spec):
            return tf.TensorSpec([None], tf.string)

        def __call__(self, tensor):
            numbers = tf.strings.to_number(tf.strings.split(tensor, ",").to_tensor(shape=[None, 784]))
            return tf.reshape(numbers, [-1, 28, 28, 1])

    class Team:
        name = "team-csv"

        @hookimpl
        def register_preprocessors(self, register):
            register("csv_image", lambda: Csv())

    plugins = with_plugin(Team())
    cfg = compose(
        "+experiment=image_classifier",
        f"export.base_dir={tmp_path}",
        "inputs.image.preprocess=[{name: csv_image}]",
    )
    with pytest.raises(PluginError) as caught:
        run_export(build_spec(cfg, plugins), plugins)
    message = str(caught.value)
    assert "plugin 'team-csv'" in message and "preprocessor 'csv_image'" in message
    assert "example_input(batch)" in message and "string, shape [batch]" in message
    assert os.listdir(tmp_path / "image_classifier") == []
