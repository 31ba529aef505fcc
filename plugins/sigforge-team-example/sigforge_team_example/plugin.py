"""The team's serving conventions, as a sigforge plugin.

- naming policy ``camel``: the team's JavaScript clients send camelCase keys, so
  ``input_sequence`` is served as ``inputSequence`` (``naming.policy=camel``).
- preprocessor ``uint8_image``: clients send raw uint8 pixels (4x smaller than float32 on the wire);
  the serving graph converts them to the float32 in [0, 1] the model was trained on.
- model ``res_mlp``: the team's residual MLP over any numeric inputs, with its own hyperparameters in
  ``model.params`` (``model.architecture=res_mlp '+model.params={depth: 3, width: 64}'``, or a
  ``params:`` mapping in a ``model/`` YAML file of the team's config directory).
"""

from __future__ import annotations

from sigforge import hookimpl


def camel(input, signature, **params):
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


def res_mlp(model, inputs, *, depth=2, width=32, **params):
    """Flatten and concatenate every input, then ``depth`` residual blocks of ``width`` units
    (``model.params.depth`` and ``model.params.width``: this architecture's own settings)."""
    import keras

    depth, width = int(depth), int(width)
    if depth < 1 or width < 1:
        raise ValueError(f"res_mlp needs model.params.depth >= 1 and width >= 1, got {depth} and {width}")
    tensors = {i.name: keras.Input(shape=tuple(i.shape[1:]), dtype=i.dtype, name=i.name) for i in inputs}
    flat = [
        keras.layers.Flatten()(keras.ops.cast(t, "float32"))
        if len(t.shape) > 2
        else keras.ops.cast(keras.ops.reshape(t, (-1, 1)) if len(t.shape) == 1 else t, "float32")
        for t in tensors.values()
    ]
    x = keras.layers.Dense(width)(flat[0] if len(flat) == 1 else keras.layers.Concatenate()(flat))
    for _ in range(depth):
        x = x + keras.layers.Dense(width, activation="relu")(x)
    if model.task == "regression":
        return keras.Model(tensors, {"outputs": keras.layers.Dense(1)(x)})
    return keras.Model(tensors, {"scores": keras.layers.Dense(model.num_classes, activation="softmax")(x)})


@hookimpl
def register_models(register):
    register("res_mlp", res_mlp)


@hookimpl
def register_naming_policies(register):
    register("camel", camel)


@hookimpl
def register_preprocessors(register):
    register("uint8_image", Uint8Image)
