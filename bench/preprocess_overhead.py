"""serving_call_with_preprocessors_vs_model: calling the reloaded ``image_bytes`` signature
(decode_image + normalize traced in-graph) on a batch of PNG bytes, against doing the same
preprocessing eagerly in Python and calling the reloaded ``image_classifier`` signature on floats.
Same process, alternating runs, median ratio.

    .venv/bin/python bench/preprocess_overhead.py [--batch 32] [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def export(experiment: str, base: str):
    from sigforge.config.compose import compose
    from sigforge.pipeline import prepare, run_export

    spec, plugins = prepare(compose(f"+experiment={experiment}", f"export.base_dir={base}"))
    return run_export(spec, plugins).export_dir


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from sigforge.config.schema import register_schema

    register_schema()
    base = tempfile.mkdtemp(prefix="sigforge-bench-")
    with_pre = tf.saved_model.load(str(export("image_bytes", base))).signatures["serving_default"]
    model = tf.saved_model.load(str(export("image_classifier", base))).signatures["serving_default"]
    rng = np.random.default_rng(0)
    pngs = [
        tf.io.encode_png(rng.integers(0, 256, (28, 28, 1), dtype=np.uint8)).numpy() for _ in range(args.batch)
    ]
    batch = tf.constant(pngs)

    def in_graph():
        return with_pre(image=batch)["scores"].numpy()

    def eager_then_model():
        images = [
            tf.image.resize(tf.cast(tf.io.decode_image(p, channels=1), tf.float32), [28, 28]) for p in pngs
        ]
        floats = tf.stack(images) * (1 / 255)
        return model(image=floats)["scores"].numpy()

    np.testing.assert_allclose(in_graph(), eager_then_model(), rtol=1e-4, atol=1e-6)
    ours, theirs = [], []
    for _ in range(args.runs):
        for fn, times in ((in_graph, ours), (eager_then_model, theirs)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    print(
        f"serving_call_with_preprocessors_vs_model: {statistics.median(ours) / statistics.median(theirs):.2f}"
    )
    print(f"  in-graph decode_image+normalize (ms, median): {statistics.median(ours) * 1000:.2f}")
    print(f"  eager preprocessing + model call (ms, median): {statistics.median(theirs) * 1000:.2f}")


if __name__ == "__main__":
    main()
