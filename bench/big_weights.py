"""big_weights_export_vs_save and big_weights_peak_rss_vs_variables: a model with 256 MiB of
variables and one predict signature. Each side runs in its own process: sigforge's export (build,
trace, write, verify, publish) against building the same model and ``tf.saved_model.save`` with the
same serving signature; and sigforge's peak RSS above the process's RSS after imports, over the
variables' size. The sigforge side runs with the TensorFlow environment ``python -m sigforge`` sets
(``sigforge.TENSORFLOW_ENV_DEFAULTS``); the hand-written side with TensorFlow's defaults.

    .venv/bin/python bench/big_weights.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _common import QUIET

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {bench!r})
if {mode!r} == "sigforge":
    from sigforge import TENSORFLOW_ENV_DEFAULTS
    for name, value in TENSORFLOW_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
from _inprocess import base_dir, compose
import tensorflow as tf, keras
from sigforge.pipeline import build_model, prepare, run_export
cfg = compose(
    "+experiment=dnn_classifier", f"export.base_dir={{base_dir()}}", "model.hidden_units=[8192,8192]",
    "signatures=predict",
)
spec, plugins = prepare(cfg)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if {mode!r} == "sigforge":
    result = run_export(spec, plugins)
else:
    model = build_model(spec)
    names = [i.name for i in spec.inputs]
    specs = [tf.TensorSpec(i.shape, i.dtype, name=i.name) for i in spec.inputs]
    serve = tf.function(lambda *xs: model(dict(zip(names, xs))), input_signature=specs)
    module = tf.Module(); module.model = model
    tf.saved_model.save(module, str(base_dir() / "plain"), signatures={{"serving_default": serve}})
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": elapsed, "rss_before_kb": before, "rss_peak_kb": peak}}))
"""


def run(mode: str) -> dict:
    code = CHILD.format(bench=str(Path(__file__).parent), mode=mode)
    out = subprocess.run([sys.executable, "-c", code], env=QUIET, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    variables_mib = (8192 * 8192 * 4) / 2**20  # the 8192x8192 float32 kernel dominates
    runs = 3  # alternating, each in a fresh process: one run of each side is too noisy on 2 cores
    pairs = [(run("sigforge"), run("save")) for _ in range(runs)]
    ours = sorted(pairs, key=lambda p: p[0]["seconds"])[runs // 2][0]
    theirs = sorted(pairs, key=lambda p: p[1]["seconds"])[runs // 2][1]
    print(f"big_weights_export_vs_save: {ours['seconds'] / theirs['seconds']:.2f}  (medians of {runs})")
    grown = max((o["rss_peak_kb"] - o["rss_before_kb"]) / 1024 for o, _ in pairs)
    print(f"big_weights_peak_rss_vs_variables: {grown / variables_mib:.2f}  (the highest of {runs})")
    ours_s = " ".join(f"{o['seconds']:.2f}" for o, _ in pairs)
    theirs_s = " ".join(f"{t['seconds']:.2f}" for _, t in pairs)
    print(f"  sigforge export (s): {ours_s}")
    print(f"  build + tf.saved_model.save (s): {theirs_s}")
    saved = max((t["rss_peak_kb"] - t["rss_before_kb"]) / 1024 for _, t in pairs)
    print(
        f"  variables: {variables_mib:.0f} MiB; sigforge peak RSS growth: {grown:.0f} MiB (save alone: {saved:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
