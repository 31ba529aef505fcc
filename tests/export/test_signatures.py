"""``export.signatures``: one traced function per signature over flat TensorSpecs named by the
client keys, the preprocessors traced in front of the model (each refusal naming its plugin), and
what the SavedModel must hold for them (variables, lookup tables)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Preprocessor, census_example, inputs_of, saved_model_proto, with_plugin

from sigforge import hookimpl
from sigforge.config.validate import build_spec
from sigforge.errors import PluginError
from sigforge.plugins.manager import SigforgeDeprecationWarning

tf = pytest.importorskip("tensorflow")


def test_image_classifier_exports_exactly(export):
    sig = saved_model_proto(export("image_classifier").export_dir).signature_def["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert inputs_of(sig) == {"image": ("float32", [-1, 28, 28, 1])}
    assert set(sig.outputs) == {"scores"}


def test_multi_input_exports_exactly(export):
    sig = saved_model_proto(export("multi_input").export_dir).signature_def["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert inputs_of(sig) == {"image": ("float32", [-1, 28, 28, 1]), "text": ("int32", [-1, 100])}


def test_variable_length_exports_exactly(export):
    sig = saved_model_proto(export("variable_length").export_dir).signature_def["serving_default"]
    assert inputs_of(sig) == {
        "input_sequence": ("float32", [-1, -1, 100]),
        "sequence_length": ("int32", [-1]),
    }


def test_classify_answers_tf_examples_like_predict_answers_features(export):
    loaded = tf.saved_model.load(str(export("dnn_classifier").export_dir))
    batch = tf.constant([census_example(41.0, 40, "nurse"), census_example(23.0, 12, "artist")])
    out = loaded.signatures["classification"](inputs=batch)
    assert out["classes"].numpy().tolist() == [[b"low", b"medium", b"high"]] * 2
    direct = loaded.signatures["predict"](
        age=tf.constant([41.0, 23.0]),
        hours_per_week=tf.constant([40, 12], dtype=tf.int64),
        occupation=tf.constant(["nurse", "artist"]),
    )
    np.testing.assert_allclose(out["scores"].numpy(), direct["scores"].numpy(), rtol=1e-6)


def test_prefixed_naming_reaches_the_saved_model(export):
    sig = saved_model_proto(export("multi_input", "naming.policy=prefixed").export_dir).signature_def[
        "serving_default"
    ]
    assert set(sig.inputs) == {"input_image", "input_text"}
    loaded = tf.saved_model.load(str(export("multi_input", "naming.policy=prefixed").export_dir))
    assert set(loaded.signatures["serving_default"].structured_input_signature[1]) == {
        "input_image",
        "input_text",
    }


def test_models_with_lookup_tables_keep_them_in_the_saved_model(compose, tmp_path):
    """Only variables and layer-owned TF resources are tracked; a StringLookup table must survive."""
    import keras

    from sigforge.pipeline import run_export

    class LookupModel:
        @hookimpl
        def register_models(self, register):
            def build(model, inputs, **params):
                occupation = keras.Input(shape=(), dtype="string", name="occupation")
                ids = keras.layers.StringLookup(
                    vocabulary=["engineer", "teacher", "nurse"], output_mode="one_hot"
                )(occupation)
                age = keras.Input(shape=(), name="age")
                hours = keras.Input(shape=(), dtype="int64", name="hours_per_week")
                merged = keras.layers.Concatenate()(
                    [
                        ids,
                        keras.layers.Reshape((1,))(age),
                        keras.layers.Reshape((1,))(keras.ops.cast(hours, "float32")),
                    ]
                )
                scores = keras.layers.Dense(model.num_classes, activation="softmax")(merged)
                return keras.Model(
                    {"occupation": occupation, "age": age, "hours_per_week": hours}, {"scores": scores}
                )

            register("lookup_model", build)

    plugins = with_plugin(LookupModel())
    cfg = compose(
        "+experiment=dnn_classifier", f"export.base_dir={tmp_path}", "model.architecture=lookup_model"
    )
    result = run_export(build_spec(cfg, plugins), plugins)
    loaded = tf.saved_model.load(str(result.export_dir))
    a = loaded.signatures["predict"](
        age=tf.constant([1.0, 1.0]),
        hours_per_week=tf.constant([1, 1], tf.int64),
        occupation=tf.constant(["teacher", "nurse"]),
    )["scores"].numpy()
    assert not np.allclose(a[0], a[1])  # the table distinguishes the two occupations after reload


def export_with(compose, plugins, tmp_path, *overrides):
    from sigforge.pipeline import run_export

    spec = build_spec(compose(*overrides, f"export.base_dir={tmp_path}"), plugins)
    return run_export(spec, plugins)


def test_a_preprocessor_that_stores_state_in_serving_spec_still_works_with_a_warning(compose, tmp_path):
    class Remembers:  # 0.1's form: __call__ reads what serving_spec stored
        def serving_spec(self, spec):
            self.dtype = spec.dtype
            return tf.TensorSpec(spec.shape, tf.uint8)

        def __call__(self, tensor):
            return tf.cast(tensor, self.dtype) / 255.0

    with pytest.warns(
        SigforgeDeprecationWarning,
        match=r"plugin 'team-pre': preprocessor 'team_pre'.serving_spec stores state",
    ):
        result = export_with(
            compose,
            with_plugin(Preprocessor(Remembers)),
            tmp_path,
            "+experiment=image_classifier",
            "+inputs.image.preprocess=[{name: team_pre}]",
        )
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    assert serve(image=tf.zeros([2, 28, 28, 1], tf.uint8))["scores"].shape == (2, 10)


def test_preprocessor_whose_serving_spec_is_not_a_tensorspec_is_named(compose, tmp_path):
    class Bad:
        def serving_spec(self, spec):
            return "string please"

        def __call__(self, tensor):
            return tensor

    with pytest.raises(
        PluginError, match=r"plugin 'team-pre': preprocessor 'team_pre'.serving_spec returned str"
    ):
        export_with(
            compose,
            with_plugin(Preprocessor(Bad)),
            tmp_path,
            "+experiment=image_classifier",
            "+inputs.image.preprocess=[{name: team_pre}]",
        )
    assert not any(tmp_path.rglob("saved_model.pb"))


def test_preprocessor_output_that_does_not_fit_the_model_names_both(compose, tmp_path):
    class Shrink:
        def serving_spec(self, spec):
            return tf.TensorSpec([None, 14, 14, 1], tf.float32)

        def __call__(self, tensor):
            return tensor  # forgot to resize

    with pytest.raises(
        PluginError,
        match=r"preprocessor 'team_pre' on inputs.image returns float32 \(None, 14, 14, 1\), "
        r"but the model takes float32 \[None, 28, 28, 1\]",
    ):
        export_with(
            compose,
            with_plugin(Preprocessor(Shrink)),
            tmp_path,
            "+experiment=image_classifier",
            "+inputs.image.preprocess=[{name: team_pre}]",
        )
    assert not any(tmp_path.rglob("saved_model.pb"))


def test_a_tracing_error_is_told_in_a_line_without_autographs_frames_or_keras_argument_dump():
    from sigforge.export.signatures import traced_error_message

    raised = ValueError(
        "in user code:\n\n"
        '    File "/team/model.py", line 12, in serve  *\n'
        "        return model(features)\n\n"
        '    \x1b[31mValueError: Input 0 of layer "dense" is incompatible with the layer\x1b[0m\n\n'
        "Arguments received by Dense.call():\n"
        "  \u2022 inputs=tf.Tensor(shape=(None, 8), dtype=float32)\n"
    )
    assert traced_error_message(raised) == (
        'ValueError: Input 0 of layer "dense" is incompatible with the layer'
    )
    named = PluginError("PluginError: plugin 'team': preprocessor 'x' returned int")
    assert traced_error_message(named) == "plugin 'team': preprocessor 'x' returned int"
