"""A model's Keras variables created at the cost of one copy of themselves, whoever builds the model.

Keras on TensorFlow creates a variable from its initializer eagerly: a 1 GiB table drawn from
``uniform`` holds three full-size temporaries (the draw, its scaling, its shift) before the
variable adopts the last, and with ``model.weights`` that draw is then overwritten by the file.
While a registered builder runs (or a ``.keras`` archive's config is rebuilt), every variable
created through Keras passes through a TensorFlow variable creator (``tf.variable_creator_scope``,
public) that changes only how its first value is made:

- ``fill_later=True`` (the weights come from a file): the variable is created over an
  uninitialised buffer (``Empty(init=False)``: no page of it is touched, so it costs no memory
  until written) and recorded. The caller fills it from the file (``export/lean_weights.py``) and
  then calls ``Pending.initialise`` for whatever the file did not fill, which draws those from
  their own initializers: a variable is never left uninitialised, and never drawn to be overwritten.
- ``fill_later=False`` (random initialisation): a variable of more than ``GRAPH_BYTES`` whose
  initializer is one of Keras's standard random ones (``STANDARD``) is drawn by that initializer
  inside a ``tf.function`` with constant folding off, where each step runs in the buffer of the
  one before; the values are those Keras draws eagerly (same ops, same seeds). Any other
  initializer (a team's own, ``Zeros``, ``Orthogonal``...) is called as Keras calls it.

The one thing here beyond public API: Keras hands TensorFlow the initial value as
``lambda: initializer(self._shape, dtype=self._dtype)``, and the creator reads that closure for
the ``keras.Variable`` being made and its initializer (``_keras_variable``). If Keras changes
that, the creator leaves every variable to Keras, as before, and
``tests/test_dependency_guards.py`` fails naming this module.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Iterable, Iterator
from typing import Any

GRAPH_BYTES = 16 * 2**20  # smaller variables are drawn as Keras draws them (a trace costs more)


def standard_initializers() -> tuple[type, ...]:
    """Keras's own random initializers (exactly these classes: a subclass may draw otherwise)."""
    import keras

    i = keras.initializers
    return (
        i.RandomUniform,
        i.RandomNormal,
        i.TruncatedNormal,
        i.VarianceScaling,
        i.GlorotUniform,
        i.GlorotNormal,
        i.HeUniform,
        i.HeNormal,
        i.LecunUniform,
        i.LecunNormal,
    )


class Pending:
    """The variables created over uninitialised buffers, in creation order, until initialised."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Any, Any, Any]] = {}  # id(tf.Variable) -> (it, keras var, init)

    def add(self, variable: Any, keras_variable: Any, initializer: Any) -> None:
        self._entries[id(variable)] = (variable, keras_variable, initializer)

    def __len__(self) -> int:
        return len(self._entries)

    def initialise(self, filled: Iterable[Any] = ()) -> int:
        """Draw every recorded variable not in ``filled`` (tf.Variables) from its own initializer,
        in creation order (so that seeded initializers give what Keras would have); the count drawn."""
        done = {id(v) for v in filled}
        drawn = 0
        for key, (variable, keras_variable, initializer) in list(self._entries.items()):
            if key not in done:
                shape, dtype = tuple(keras_variable.shape), keras_variable.dtype
                if _graph_drawn(initializer, shape, dtype):
                    _in_a_graph(_assign_drawn(variable, initializer, shape, dtype))
                else:
                    variable.assign(initializer(shape, dtype=dtype))
                drawn += 1
            del self._entries[key]
        return drawn


@contextlib.contextmanager
def lean_variables(*, fill_later: bool) -> Iterator[Pending]:
    """Inside, Keras variables are created as the module docstring says; yields the ``Pending``
    record (empty unless ``fill_later``)."""
    import tensorflow as tf

    pending = Pending()

    def creator(next_creator: Any, **kwargs: Any) -> Any:
        found = _keras_variable(kwargs.get("initial_value"))
        if found is None:
            return next_creator(**kwargs)
        keras_variable, initializer = found
        shape, dtype = tuple(keras_variable.shape), keras_variable.dtype
        if fill_later and _numeric(dtype):
            kwargs["initial_value"] = lambda: tf.raw_ops.Empty(
                shape=shape, dtype=tf.as_dtype(dtype), init=False
            )
            variable = next_creator(**kwargs)
            pending.add(variable, keras_variable, initializer)
            return variable
        if _graph_drawn(initializer, shape, dtype):
            kwargs["initial_value"] = lambda: _in_a_graph(lambda: initializer(shape, dtype=dtype))
        return next_creator(**kwargs)

    with tf.variable_creator_scope(creator):
        yield pending


def _keras_variable(initial_value: Any) -> tuple[Any, Any] | None:
    """The ``keras.Variable`` and the initializer behind Keras's initial-value lambda, else None."""
    import keras

    if not inspect.isfunction(initial_value) or initial_value.__closure__ is None:
        return None
    cells = inspect.getclosurevars(initial_value).nonlocals
    variable, initializer = cells.get("self"), cells.get("initializer")
    if not isinstance(variable, keras.Variable) or not callable(initializer):
        return None
    return variable, initializer


def _numeric(dtype: str) -> bool:
    import tensorflow as tf

    kind = tf.as_dtype(dtype)
    return kind.is_floating or kind.is_integer or kind.is_bool or kind.is_complex


def _graph_drawn(initializer: Any, shape: tuple[int, ...], dtype: str) -> bool:
    import tensorflow as tf

    return (
        _numeric(dtype)
        and math.prod(shape) * tf.as_dtype(dtype).size > GRAPH_BYTES
        and type(initializer) in standard_initializers()
    )


def _assign_drawn(variable: Any, initializer: Any, shape: tuple[int, ...], dtype: str) -> Any:
    return lambda: variable.assign(initializer(shape, dtype=dtype))


def _in_a_graph(step: Any) -> Any:
    """``step()`` run as a ``tf.function`` with grappler's constant folding off: with it on, the
    draw (whose seed and shape are constants) is folded into a second full-size constant."""
    import tensorflow as tf

    function = tf.function(step, autograph=False)
    concrete = function.get_concrete_function()
    before = tf.config.optimizer.get_experimental_options().get("constant_folding", True)
    tf.config.optimizer.set_experimental_options({"constant_folding": False})
    try:
        return concrete()
    finally:
        tf.config.optimizer.set_experimental_options({"constant_folding": before})
