"""Keras users load sigforge exports with ``keras.layers.TFSMLayer``: every export, every signature,
multi-input ones too, answering as the SavedModel's own signatures do."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXPERIMENTS

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_export_loads_in_tfsmlayer_and_answers_like_its_signatures(export, experiment):
    result = export(experiment)
    loaded = tf.saved_model.load(str(result.export_dir))
    default = "serving_default" if "serving_default" in result.summary["signatures"] else None
    for name, feeds in result.report.inputs.items():
        expected = loaded.signatures[name](**{k: tf.constant(v) for k, v in feeds.items()})
        endpoints = [name] + (["serve"] if name == default else [])  # TFSMLayer's default endpoint
        for endpoint in endpoints:
            layer = keras.layers.TFSMLayer(str(result.export_dir), call_endpoint=endpoint)
            argument = next(iter(feeds.values())) if len(feeds) == 1 else dict(feeds)
            answered = layer(argument)
            assert sorted(answered) == sorted(expected), endpoint
            for key, value in expected.items():
                got, want = np.asarray(answered[key]), value.numpy()
                if want.dtype == object:
                    assert (got == want).all(), (endpoint, key)
                else:
                    np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f"{endpoint} {key}")


def test_the_default_endpoint_is_what_tfsmlayer_calls_without_arguments(export):
    result = export("multi_input")
    feeds = result.report.inputs["serving_default"]
    layer = keras.layers.TFSMLayer(str(result.export_dir))  # call_endpoint="serve"
    assert layer(dict(feeds))["scores"].shape == (len(feeds["image"]), 10)
