"""``plugins.builtin.serving_preprocessors``: the built-in preprocessors' classes, traced into the
serving graph so that clients send raw data (encoded images, text, serialized tf.Examples), with
what they own (a vocabulary) saved inside the SavedModel."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import inputs_of, saved_model_proto

tf = pytest.importorskip("tensorflow")

from sigforge.plugins.builtin.serving_preprocessors import (  # noqa: E402
    DecodeImage,
    Normalize,
    ParseExample,
    Tokenize,
)


def test_builtin_image_bytes_experiment_serves_real_png_and_jpeg(export):
    result = export("image_bytes")
    assert result.summary["signatures"]["serving_default"]["inputs"] == {
        "image": {"dtype": "string", "shape": [None]}
    }
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    pixels = (np.arange(28 * 28, dtype=np.uint8).reshape(28, 28, 1) * 3) % 255
    batch = tf.constant([tf.io.encode_png(pixels).numpy(), tf.io.encode_jpeg(pixels, quality=100).numpy()])
    scores = serve(image=batch)["scores"].numpy()
    assert scores.shape == (2, 10)
    np.testing.assert_allclose(scores[0], scores[1], atol=2e-3)  # same picture, two encodings
    # Same result as preprocessing eagerly and calling the model with floats.
    direct = tf.saved_model.load(str(export("image_classifier").export_dir)).signatures["serving_default"]
    np.testing.assert_allclose(
        scores[0], direct(image=tf.constant(pixels[None] / 255.0, tf.float32))["scores"][0], rtol=1e-4
    )


def test_builtin_tokenize_ships_its_vocabulary_as_an_asset(export, tmp_path):
    import shutil

    result = export("text_raw")
    moved = tmp_path / "moved"
    shutil.copytree(result.export_dir, moved)  # the SavedModel must not depend on files outside it
    assert (moved / "assets" / "vocabulary.txt").read_text().splitlines()[:3] == ["the", "a", "an"]
    serve = tf.saved_model.load(str(moved)).signatures["serving_default"]
    image = tf.zeros([2, 28, 28, 1])
    same = serve(image=image, text=tf.constant(["The quick fox", "the   QUICK fox"]))["scores"].numpy()
    np.testing.assert_allclose(same[0], same[1], rtol=1e-6)  # lower-cased, whitespace-split
    other = serve(image=image, text=tf.constant(["lazy dog", "zzz unknown"]))["scores"].numpy()
    assert not np.allclose(same[0], other[0])


def test_tokenize_maps_tokens_to_ids_with_oov_and_padding():
    tokenize = Tokenize(vocabulary=["the", "fox"], oov_id=1, pad_id=0, first_id=2)
    ids_spec = tf.TensorSpec([None, 5], tf.int32)
    assert tokenize.serving_spec(ids_spec) == tf.TensorSpec([None], tf.string)
    ids = tokenize(tf.constant(["the red fox", "Fox the fox the fox the"]), ids_spec).numpy().tolist()
    assert ids == [[2, 1, 3, 0, 0], [3, 2, 3, 2, 3]]


def test_normalize_and_parse_example():
    normalize = Normalize(mean=[1.0], std=[2.0])
    np.testing.assert_allclose(normalize(tf.constant([[3.0]])).numpy(), [[1.0]])
    with pytest.raises(ValueError, match="both mean and std"):
        Normalize(mean=[1.0])
    parse = ParseExample(feature="age")
    age = tf.TensorSpec([None], tf.float32)
    assert parse.serving_spec(age) == tf.TensorSpec([None], tf.string)
    example = tf.train.Example(
        features=tf.train.Features(
            feature={"age": tf.train.Feature(float_list=tf.train.FloatList(value=[7.5]))}
        )
    )
    assert parse(tf.constant([example.SerializeToString()]), age).numpy().tolist() == [7.5]


def test_tf_example_predict_signature_parses_serialized_examples_in_graph(export):
    parsed = export("tf_example")
    sig = saved_model_proto(parsed.export_dir).signature_def["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert inputs_of(sig) == {"examples": ("string", [-1])}
    # The same model (same seed) taking the float features directly.
    direct = export("tf_example", "inputs.examples.modality=dense", "inputs.examples.preprocess=[]")
    assert inputs_of(saved_model_proto(direct.export_dir).signature_def["serving_default"]) == {
        "examples": ("float32", [-1, 8])
    }
    features = np.random.default_rng(3).standard_normal((3, 8)).astype("float32")
    serialized = [
        tf.train.Example(
            features=tf.train.Features(
                feature={"features": tf.train.Feature(float_list=tf.train.FloatList(value=row))}
            )
        ).SerializeToString()
        for row in features
    ]
    from_examples = tf.saved_model.load(str(parsed.export_dir)).signatures["serving_default"](
        examples=tf.constant(serialized)
    )["scores"]
    from_floats = tf.saved_model.load(str(direct.export_dir)).signatures["serving_default"](
        examples=tf.constant(features)
    )["scores"]
    np.testing.assert_allclose(from_examples.numpy(), from_floats.numpy(), rtol=1e-6)
    assert not np.allclose(from_examples.numpy()[0], from_examples.numpy()[1])


def test_each_preprocessor_refuses_a_model_input_it_cannot_produce_naming_it():
    with pytest.raises(ValueError, match=r"decode_image needs a model input of shape \[batch, height"):
        DecodeImage().serving_spec(tf.TensorSpec([None, 784], tf.float32))
    with pytest.raises(ValueError, match="decode_image produces float32, but the next step takes uint8"):
        DecodeImage().serving_spec(tf.TensorSpec([None, 28, 28, 1], tf.uint8))
    with pytest.raises(ValueError, match=r"tokenize produces integer ids \[batch, length\]"):
        Tokenize(vocabulary=["the"]).serving_spec(tf.TensorSpec([None, None], tf.int32))
    with pytest.raises(ValueError, match="exactly one of vocabulary_file"):
        Tokenize()
    with pytest.raises(ValueError, match="std must not be 0"):
        Normalize(mean=[0.0], std=[0.0])


def test_decode_image_scales_what_it_decodes_and_gives_real_pngs_to_verify_with():
    spec = tf.TensorSpec([None, 4, 4, 1], tf.float32)
    pngs = DecodeImage().example_input(3, spec)
    assert pngs.shape == (3,) and all(png.startswith(b"\x89PNG") for png in pngs)
    raw = DecodeImage()(tf.constant(list(pngs)), spec).numpy()
    scaled = DecodeImage(scale=1 / 255)(tf.constant(list(pngs)), spec).numpy()
    assert raw.shape == (3, 4, 4, 1) and raw.max() > 1
    np.testing.assert_allclose(scaled, raw / 255, rtol=1e-6)
