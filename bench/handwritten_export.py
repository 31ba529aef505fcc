"""The script users write by hand, and the baseline for bench/process.py and bench/sweep.py:
build the multi_input model, ``tf.saved_model.save`` it with a signature, ``mlflow.log_artifacts``
it to an SQLite store. No verification, no summary, no MLflow model. With ``--keras``, what users
write with Keras 3 and MLflow 3 instead: ``model.export`` and ``mlflow.tensorflow.log_model``.

    python bench/handwritten_export.py OUT_DIR [--hidden 32] [--prefix input_] [--keras]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--prefix", default="")
    parser.add_argument(
        "--keras", action="store_true", help="model.export + mlflow.tensorflow.log_model instead"
    )
    args = parser.parse_args()

    import keras
    import mlflow
    import tensorflow as tf

    image = keras.Input(shape=(28, 28, 1), name="image")
    text = keras.Input(shape=(100,), dtype="int32", name="text")
    x = keras.layers.GlobalAveragePooling2D()(
        keras.layers.Conv2D(8, 3, padding="same", activation="relu")(image)
    )
    t = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(1000, 16)(text))
    h = keras.layers.Dense(args.hidden, activation="relu")(keras.layers.Concatenate()([x, t]))
    model = keras.Model(
        {"image": image, "text": text}, {"scores": keras.layers.Dense(10, activation="softmax")(h)}
    )

    if args.keras:  # what users write today with Keras 3 and MLflow 3
        import mlflow.tensorflow

        export_dir = args.out / "exports" / "keras" / str(os.getpid())
        model.export(str(export_dir), verbose=False)
        mlflow.set_tracking_uri(f"sqlite:///{(args.out / 'mlflow.db').resolve()}")
        mlflow.set_experiment("keras_export")
        with mlflow.start_run():
            mlflow.log_params({"hidden": args.hidden})
            mlflow.tensorflow.log_model(model, name="model")
        return

    p = args.prefix
    serve = tf.function(
        lambda a, b: {"scores": model({"image": a, "text": b})["scores"]},
        input_signature=[
            tf.TensorSpec([None, 28, 28, 1], tf.float32, name=f"{p}image"),
            tf.TensorSpec([None, 100], tf.int32, name=f"{p}text"),
        ],
    )
    export_dir = args.out / "exports" / "handwritten" / str(os.getpid())
    tf.saved_model.save(model, str(export_dir), signatures={"serving_default": serve})

    mlflow.set_tracking_uri(f"sqlite:///{(args.out / 'mlflow.db').resolve()}")
    mlflow.set_experiment("handwritten")
    with mlflow.start_run():
        mlflow.log_params({"hidden": args.hidden, "prefix": args.prefix})
        mlflow.log_artifacts(str(export_dir), "model")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
