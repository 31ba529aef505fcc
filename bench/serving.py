"""serving_reloaded_vs_in_memory: calling the reloaded multi_input signature against calling the
in-memory model on the same batch (both warm), median over alternating calls.

    .venv/bin/python bench/serving.py [--batch 64] [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _inprocess import compose


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf
    from _inprocess import base_dir

    from sigforge.pipeline import build_model, prepare, run_export

    spec, plugins = prepare(compose("+experiment=multi_input", f"export.base_dir={base_dir()}"))
    result = run_export(spec, plugins)
    model = build_model(spec)  # same seed: same weights as the export
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    rng = np.random.default_rng(0)
    image = tf.constant(rng.standard_normal((args.batch, 28, 28, 1)).astype("float32"))
    text = tf.constant(rng.integers(0, 1000, (args.batch, 100)).astype("int32"))
    np.testing.assert_allclose(
        serve(image=image, text=text)["scores"].numpy(),
        model({"image": image, "text": text})["scores"].numpy(),
        rtol=1e-4,
    )
    reloaded, in_memory = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        serve(image=image, text=text)["scores"].numpy()
        reloaded.append(time.perf_counter() - start)
        start = time.perf_counter()
        model({"image": image, "text": text}, training=False)["scores"].numpy()
        in_memory.append(time.perf_counter() - start)
    print(f"serving_reloaded_vs_in_memory: {statistics.median(reloaded) / statistics.median(in_memory):.2f}")
    print(f"  reloaded signature (ms, median): {statistics.median(reloaded) * 1000:.3f}")
    print(f"  in-memory model (ms, median): {statistics.median(in_memory) * 1000:.3f}")


if __name__ == "__main__":
    main()
