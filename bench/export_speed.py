"""export_vs_save: sigforge's in-process export of multi_input (build, trace, write, verify, publish)
against a hand-written ``tf.saved_model.save`` of the same model with the same signature, in the
same process, alternating runs. Prints the median ratio and the raw times.

verify_after_vs_before: the verify stage as it is now (warmup file written, read back and replayed
through TF Serving's C++ loader) against the same stage without the serving-loader check and the
warmup file (what verification did before), alternating exports in the same process.

    .venv/bin/python bench/export_speed.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import tensorflow as tf

    from sigforge.config.compose import compose
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import build_model, run_export
    from sigforge.plugins.manager import load_plugins

    work = Path(tempfile.mkdtemp(prefix="sigforge-bench-"))
    cfg = compose("experiment=multi_input", f"export.base_dir={work}", "export.publish_identical=true")
    plugins = load_plugins()
    spec = build_spec(cfg, plugins)

    def sigforge_export() -> None:
        run_export(spec, plugins)

    def hand_written(counter: list[int] = [0]) -> None:  # noqa: B006 - a run counter
        model = build_model(spec)
        serve = tf.function(
            lambda image, text: {"scores": model({"image": image, "text": text})["scores"]},
            input_signature=[
                tf.TensorSpec([None, 28, 28, 1], tf.float32, name="image"),
                tf.TensorSpec([None, 100], tf.int32, name="text"),
            ],
        )
        module = tf.Module()
        module.model = model
        counter[0] += 1
        tf.saved_model.save(
            module, str(work / "hand" / str(counter[0])), signatures={"serving_default": serve}
        )

    sigforge_export()  # warm-up: first traces pay for Keras/TF lazy initialisation
    hand_written()
    ours, theirs = [], []
    for _ in range(args.runs):
        for fn, times in ((sigforge_export, ours), (hand_written, theirs)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"export_vs_save: {ratio:.2f}")
    print(f"  sigforge export (s): {' '.join(f'{t:.3f}' for t in ours)}")
    print(f"  tf.saved_model.save (s): {' '.join(f'{t:.3f}' for t in theirs)}")
    sys.stdout.flush()

    from dataclasses import replace

    from sigforge.verify import checks as verify

    before_spec = replace(spec, warmup=False)
    real_check = verify.serving_loader_check
    after, before = [], []
    for _ in range(args.runs):
        after.append(run_export(spec, plugins).timings["verify_seconds"])
        verify.serving_loader_check = lambda *a, **k: []  # verification as it was: no C++ loader
        try:
            before.append(run_export(before_spec, plugins).timings["verify_seconds"])
        finally:
            verify.serving_loader_check = real_check
    ratio = statistics.median(after) / statistics.median(before)
    print(f"verify_after_vs_before: {ratio:.2f}")
    print(f"  verify with warmup + C++ loader (s): {' '.join(f'{t:.3f}' for t in after)}")
    print(f"  verify without them (s): {' '.join(f'{t:.3f}' for t in before)}")


if __name__ == "__main__":
    main()
