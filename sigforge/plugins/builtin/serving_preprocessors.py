"""The built-in preprocessors' classes: ``tf.Module``\\ s traced into the serving graph.

Imported only when a preprocessor is built (``preprocessors.py`` registers factories that import
this module on first use), so config validation never imports TensorFlow. Each class is stateless
between calls: ``serving_spec(spec)`` answers from ``spec`` alone, and ``__call__`` and
``example_input`` are handed the spec they produce for, so sigforge may call them in any order.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf


def _image_size(spec: tf.TensorSpec) -> tuple[int, int, int]:
    dims = spec.shape.as_list()
    if len(dims) != 4 or None in dims[1:]:
        raise ValueError(
            f"decode_image needs a model input of shape [batch, height, width, channels] with fixed "
            f"height, width and channels, got {dims}"
        )
    return dims[1], dims[2], dims[3]


class DecodeImage(tf.Module):
    """Client sends encoded image bytes ([batch] string); the model gets float32 [batch, H, W, C]."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__(name="decode_image")
        self.scale = float(scale)

    def serving_spec(self, spec: tf.TensorSpec) -> tf.TensorSpec:
        _image_size(spec)
        if spec.dtype != tf.float32:
            raise ValueError(f"decode_image produces float32, but the next step takes {spec.dtype.name}")
        return tf.TensorSpec([None], tf.string)

    def __call__(self, tensor: tf.Tensor, spec: tf.TensorSpec) -> tf.Tensor:
        height, width, channels = _image_size(spec)

        def decode(data: tf.Tensor) -> tf.Tensor:
            image = tf.io.decode_image(data, channels=channels, expand_animations=False)
            image = tf.image.resize(tf.cast(image, tf.float32), [height, width])
            return tf.ensure_shape(image, [height, width, channels])

        images = tf.map_fn(decode, tensor, fn_output_signature=tf.TensorSpec([height, width, channels]))
        return images * self.scale if self.scale != 1.0 else images

    def example_input(self, batch: int, spec: tf.TensorSpec) -> np.ndarray:
        """Real PNG-encoded images for verification's smoke call."""
        height, width, channels = _image_size(spec)
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)
        encoded = tf.io.encode_png(pixels).numpy()
        return np.array([encoded] * batch, dtype=object)


class Normalize(tf.Module):
    """``x * scale + offset``, or ``(x - mean) / std`` when ``mean``/``std`` are given."""

    def __init__(self, scale: float = 1.0, offset: float = 0.0, mean: Any = None, std: Any = None) -> None:
        super().__init__(name="normalize")
        if (mean is None) != (std is None):
            raise ValueError("normalize takes both mean and std, or neither (then scale and offset)")
        if std is not None and np.any(np.asarray(std, dtype=float) == 0):
            raise ValueError("normalize: std must not be 0")
        self.scale, self.offset, self.mean, self.std = float(scale), float(offset), mean, std

    def serving_spec(self, spec: tf.TensorSpec) -> tf.TensorSpec:
        return spec

    def __call__(self, tensor: tf.Tensor) -> tf.Tensor:
        if self.mean is not None:
            return (tensor - tf.constant(self.mean, tensor.dtype)) / tf.constant(self.std, tensor.dtype)
        return tensor * tf.constant(self.scale, tensor.dtype) + tf.constant(self.offset, tensor.dtype)


def _ids_length(spec: tf.TensorSpec) -> int:
    dims = spec.shape.as_list()
    if len(dims) != 2 or dims[1] is None or not spec.dtype.is_integer:
        raise ValueError(f"tokenize produces integer ids [batch, length]; the next step takes {spec}")
    return dims[1]


class Tokenize(tf.Module):
    """Client sends UTF-8 text ([batch] string); the model gets int32 ids [batch, length].

    Tokens are whitespace-separated (lower-cased unless ``lowercase=false``); id of a token = its
    line number in the vocabulary file + ``first_id``; unknown tokens get ``oov_id``; sequences are
    cut or padded with ``pad_id`` to the model's length. The vocabulary file is saved in the
    SavedModel's assets/ and read from there when TF Serving loads it.
    """

    def __init__(
        self,
        vocabulary_file: str | None = None,
        vocabulary: Sequence[str] | None = None,
        oov_id: int = 1,
        pad_id: int = 0,
        first_id: int = 2,
        lowercase: bool = True,
    ) -> None:
        super().__init__(name="tokenize")
        if (vocabulary_file is None) == (vocabulary is None):
            raise ValueError("tokenize takes exactly one of vocabulary_file (a path) or vocabulary (a list)")
        if vocabulary is not None:
            vocabulary_file = write_vocabulary(vocabulary)
        path = Path(vocabulary_file).expanduser()
        if not path.is_file():
            raise ValueError(f"tokenize: vocabulary_file '{vocabulary_file}' does not exist")
        self.oov_id, self.pad_id, self.lowercase = int(oov_id), int(pad_id), bool(lowercase)
        self.vocabulary_asset = tf.saved_model.Asset(str(path.resolve()))
        initializer = tf.lookup.TextFileInitializer(
            self.vocabulary_asset,
            key_dtype=tf.string,
            key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
            value_dtype=tf.int64,
            value_index=tf.lookup.TextFileIndex.LINE_NUMBER,
        )
        self.table = tf.lookup.StaticHashTable(initializer, default_value=-1)
        self.first_id = int(first_id)

    def serving_spec(self, spec: tf.TensorSpec) -> tf.TensorSpec:
        _ids_length(spec)
        return tf.TensorSpec([None], tf.string)

    def __call__(self, tensor: tf.Tensor, spec: tf.TensorSpec) -> tf.Tensor:
        text = tf.strings.lower(tensor) if self.lowercase else tensor
        found = self.table.lookup(tf.strings.split(text))
        ids = tf.where(found < 0, tf.cast(self.oov_id, tf.int64), found + self.first_id)
        dense = ids.to_tensor(default_value=self.pad_id, shape=[None, _ids_length(spec)])
        return tf.cast(dense, spec.dtype)

    def example_input(self, batch: int, spec: tf.TensorSpec) -> np.ndarray:
        texts = [b"the quick brown fox", b"an unknownword here"]
        return np.array([texts[i % len(texts)] for i in range(batch)], dtype=object)


def _feature_spec(spec: tf.TensorSpec) -> tf.io.FixedLenFeature:
    if spec.dtype not in (tf.float32, tf.int64, tf.string) or None in spec.shape.as_list()[1:]:
        raise ValueError(f"parse_example yields float32, int64 or string of fixed shape; got {spec}")
    return tf.io.FixedLenFeature(spec.shape.as_list()[1:], spec.dtype)


class ParseExample(tf.Module):
    """Client sends serialized tf.Examples ([batch] string); the model gets one fixed-shape feature."""

    def __init__(self, feature: str | None = None) -> None:
        super().__init__(name="parse_example")
        self.feature = feature or "value"

    def serving_spec(self, spec: tf.TensorSpec) -> tf.TensorSpec:
        _feature_spec(spec)
        return tf.TensorSpec([None], tf.string)

    def __call__(self, tensor: tf.Tensor, spec: tf.TensorSpec) -> tf.Tensor:
        return tf.io.parse_example(tensor, {self.feature: _feature_spec(spec)})[self.feature]

    def example_input(self, batch: int, spec: tf.TensorSpec) -> np.ndarray:
        """Real serialized tf.Examples carrying the feature, for verification's smoke call."""
        size = int(np.prod(spec.shape.as_list()[1:], dtype=np.int64))
        rng = np.random.default_rng(0)
        examples = []
        for _ in range(batch):
            if spec.dtype == tf.string:
                value = tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"sigforge"] * size))
            elif spec.dtype == tf.int64:
                value = tf.train.Feature(int64_list=tf.train.Int64List(value=rng.integers(0, 10, size)))
            else:
                value = tf.train.Feature(float_list=tf.train.FloatList(value=rng.standard_normal(size)))
            features = tf.train.Features(feature={self.feature: value})
            examples.append(tf.train.Example(features=features).SerializeToString())
        return np.array(examples, dtype=object)


CLASSES: dict[str, type] = {
    "decode_image": DecodeImage,
    "normalize": Normalize,
    "tokenize": Tokenize,
    "parse_example": ParseExample,
}


def write_vocabulary(tokens: Sequence[str]) -> str:
    """An inline vocabulary becomes a file for the export's lifetime; the SavedModel keeps a copy."""
    directory = tempfile.mkdtemp(prefix="sigforge-vocab-")
    atexit.register(shutil.rmtree, directory, True)
    path = Path(directory) / "vocabulary.txt"
    path.write_text("".join(f"{t}\n" for t in tokens), encoding="utf-8")
    return str(path)
