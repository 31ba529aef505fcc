"""The team's serving conventions, as a sigforge plugin.

- naming policy ``camel``: the team's JavaScript clients send camelCase keys, so
  ``input_sequence`` is served as ``inputSequence`` (``naming.policy=camel``).
- preprocessor ``uint8_image``: clients send raw uint8 pixels (4x smaller than float32 on the wire);
  the serving graph converts them to the float32 in [0, 1] the model was trained on.
"""

from __future__ import annotations

from sigforge import hookimpl


def camel(input, signature):
    head, *rest = input.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Uint8Image:
    def serving_spec(self, spec):
        import tensorflow as tf

        if spec.dtype != tf.float32:
            raise ValueError(f"uint8_image feeds a float32 input, not {spec.dtype.name}")
        return tf.TensorSpec(spec.shape, tf.uint8)

    def __call__(self, tensor):
        import tensorflow as tf

        return tf.cast(tensor, tf.float32) / 255.0


@hookimpl
def register_naming_policies(register):
    register("camel", camel)


@hookimpl
def register_preprocessors(register):
    register("uint8_image", Uint8Image)
