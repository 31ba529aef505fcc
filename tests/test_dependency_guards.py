"""The few places sigforge relies on more than a dependency's public API, each owned by one module.

Each test here fails loudly, naming the module, when the dependency changes what that module
relies on: a silent break would otherwise surface as a wrong export or a hung sweep.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest


def test_submitit_launcher_still_submits_through_map_array_and_reads_results():
    """sigforge.sweeps.slurm_guard.bound_results_of_map_array relies on both lines."""
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher

    source = inspect.getsource(BaseSubmititLauncher.launch)
    assert "executor.map_array(" in source
    assert "j.results()[0] for j in jobs" in source


def test_the_map_array_patch_lasts_one_sweep():
    import submitit

    from sigforge.sweeps.slurm_guard import bound_results_of_map_array

    original = submitit.AutoExecutor.map_array
    restore = bound_results_of_map_array()
    assert submitit.AutoExecutor.map_array is not original
    restore()
    assert submitit.AutoExecutor.map_array is original


def test_tensorflow_fingerprint_writer_matches_the_rewritten_saved_model(export, tmp_path):
    """sigforge.export.saved_model.set_method_names refreshes fingerprint.pb with TensorFlow's own
    (non-public) writer after rewriting method names: what TensorFlow's public reader finds must be
    the fingerprint of the saved_model.pb as published, not of the one tf.saved_model.save wrote."""
    import shutil

    import tensorflow as tf
    from tensorflow.python.saved_model import fingerprinting_utils

    export_dir = export("dnn_classifier").export_dir
    fresh = tmp_path / "fresh"
    shutil.copytree(export_dir, fresh)
    (fresh / "fingerprint.pb").unlink()
    fingerprinting_utils.write_fingerprint(str(fresh))
    published = tf.saved_model.experimental.read_fingerprint(str(export_dir))
    recomputed = tf.saved_model.experimental.read_fingerprint(str(fresh))
    assert published.saved_model_checksum == recomputed.saved_model_checksum != 0


@pytest.mark.parametrize("value", [b"", b"short", b"x" * 1000])
def test_tstring_size_is_measured_and_strings_round_trip(value):
    import tensorflow as tf

    from sigforge.verify import serving_loader

    assert serving_loader.tstring_size() == 24  # x86_64 and aarch64 builds of TensorFlow 2.x
    api = serving_loader._c_api()
    array = np.array([[value, b"second"]], dtype=object)
    tensor = serving_loader._to_tensor(api, array, tf.string)
    try:
        back = serving_loader._from_tensor(api, tensor, tf.string)
    finally:
        api.TF_DeleteTensor(tensor)
    assert back.tolist() == array.tolist()


def test_keras_still_hands_tensorflow_its_initializer_in_a_closure():
    """sigforge.export.lean_variables._keras_variable reads Keras's initial-value lambda
    (``lambda: initializer(self._shape, dtype=self._dtype)``) for the variable and its initializer:
    if Keras changes it, plugin builders' variables are drawn eagerly again, at three copies."""
    import keras
    import tensorflow as tf

    from sigforge.export.lean_variables import _keras_variable

    initializer = keras.initializers.RandomUniform(seed=1)
    seen = []

    def creator(next_creator, **kwargs):
        seen.append(_keras_variable(kwargs["initial_value"]))
        return next_creator(**kwargs)

    with tf.variable_creator_scope(creator):
        variable = keras.Variable(initializer=initializer, shape=(3, 2))
    ((found_variable, found_initializer),) = seen
    assert found_variable is variable and found_initializer is initializer
