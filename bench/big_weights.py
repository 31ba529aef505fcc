"""Exports of a model whose weights are one big embedding table (1 GiB and 4 GiB by default),
against Keras's own ``model.export`` of the same model, each side in a fresh process:

- ``random``: sigforge's built-in text classifier, randomly initialised / the same architecture in
  plain Keras, built and exported with ``model.export``;
- ``weights``: ``model.weights=<file>.weights.h5`` / build, ``load_weights``, ``model.export``;
- ``source``: ``model.source=<file>.keras`` (a plain Keras model) / ``keras.saving.load_model``,
  ``model.export``;
- ``plugin_random``: a team's builder registered through ``register_models``
  (``bench/recommender_plugin.py``: Keras's default initializers), randomly initialised / the same
  builder called by hand, ``model.export``;
- ``plugin_weights``: that builder with ``model.weights=<file>.weights.h5`` / the builder by hand,
  ``load_weights``, ``model.export``.

Figures per case and size: ``big_weights_<case>_<size>_time_vs_keras_export`` (seconds after the
imports, medians of ``--runs`` alternating pairs) and ``big_weights_<case>_<size>_peak_rss_vs_weights``
(the highest peak RSS above the process's RSS after its imports, over the table's size; Keras's
side is printed beside it). sigforge verifies every export (``tf.saved_model.load`` and TF
Serving's C++ loader answer, compared with the in-memory model); Keras's export does not. Where
Keras's side is killed for want of memory (by the kernel, or by this script once its RSS reaches
what the machine had available when the case began, less 1 GiB, or ``--keras-limit-gib``, so
that a shared machine is not driven into its OOM killer), its figures say so.

    .venv/bin/python bench/big_weights.py                    # 1 GiB and 4 GiB
    .venv/bin/python bench/big_weights.py --sizes 0.25 --runs 1  # a quick look
    .venv/bin/python bench/big_weights.py --sizes 8 --cases plugin_weights --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import QUIET

DIM = 64  # embedding width: a table of N GiB has N * 2**30 / (4 * DIM) rows

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {bench!r})
mode, case, rows, work = {mode!r}, {case!r}, {rows}, {work!r}
if mode == "sigforge":
    from sigforge import TENSORFLOW_ENV_DEFAULTS
    for name, value in TENSORFLOW_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
import keras, tensorflow as tf
from _inprocess import compose
from recommender_plugin import recommender
from sigforge.pipeline import build_model, prepare, run_export

def rss_kb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

def builtin(*extra):
    return compose(
        "+experiment=multi_input", "inputs=[text]", "model=text_classifier", "signatures=predict",
        f"model.vocab_size={{rows}}", "model.embedding_dim={dim}", f"export.base_dir={{work}}/exports",
        "export.publish_identical=true", *extra,
    )

PLUGIN = ("model.architecture=recommender", "plugins.modules=[recommender_plugin]")

def plain():
    text = keras.Input((100,), dtype="int32", name="text")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(rows, {dim})(text))
    x = keras.layers.Dense(32, activation="relu")(x)
    return keras.Model(text, {{"scores": keras.layers.Dense(2, activation="softmax", name="scores")(x)}})

if mode == "prepare":  # case: the cases to prepare for, each file from a fresh count of layer names
    import gc, h5py, numpy as np
    wanted = set(case.split(","))
    if "plugin_weights" in wanted:
        # The builder's file layout from a one-row twin, then its table written 8 MiB at a time:
        # "trained" weights of any size for no more memory than a slice (save_weights copies whole).
        keras.backend.clear_session()
        path = f"{{work}}/plugin.weights.h5"
        recommender(None, None, vocab_size=1, embedding_dim={dim}).save_weights(path)
        with h5py.File(path, "a") as weights:
            found = []
            weights.visititems(lambda name, item: found.append(name) if getattr(item, "shape", None) == (1, {dim}) else None)
            (table,) = found
            del weights[table]
            dataset = weights.create_dataset(table, (rows, {dim}), "float32")
            rng, step = np.random.default_rng(0), 2**23 // (4 * {dim})
            for start in range(0, rows, step):
                stop = min(rows, start + step)
                dataset[start:stop] = rng.uniform(-0.05, 0.05, (stop - start, {dim})).astype("float32")
    if "weights" in wanted:
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        built = build_model(prepare(builtin())[0])
        built.save_weights(f"{{work}}/builtin.weights.h5")
        del built
        gc.collect()
    if "source" in wanted:  # Keras's eager draw of the plain model's table peaks at 3x
        keras.backend.clear_session()
        plain().save(f"{{work}}/plain.keras")
    raise SystemExit
files = {{
    "weights": [f"model.weights={{work}}/builtin.weights.h5"], "source": [f"model.source={{work}}/plain.keras"],
    "plugin_random": PLUGIN, "plugin_weights": [*PLUGIN, f"model.weights={{work}}/plugin.weights.h5"],
}}
spec, plugins = prepare(builtin(*files.get(case, [])))
before = rss_kb()
start = time.perf_counter()
if mode == "sigforge":
    run_export(spec, plugins)
else:
    if case == "source":
        model = keras.saving.load_model(f"{{work}}/plain.keras", compile=False)
    elif case == "weights":
        model = build_model(spec)
        model.load_weights(f"{{work}}/builtin.weights.h5")
    elif case.startswith("plugin"):  # the team's builder called by hand, as a team's script would
        model = recommender(spec.model, spec.inputs, vocab_size=rows, embedding_dim={dim})
        if case == "plugin_weights":
            model.load_weights(f"{{work}}/plugin.weights.h5")
    else:
        model = plain()
    model.export(f"{{work}}/keras_export", verbose=False)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": elapsed, "rss_before_kb": before, "rss_peak_kb": peak}}))
"""


def child(mode: str, case: str, rows: int, work: Path, keras_limit_gib: float | None = None) -> dict:
    code = CHILD.format(
        bench=str(Path(__file__).parent), mode=mode, case=case, rows=rows, work=str(work), dim=DIM
    )
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], env=QUIET, stdout=stdout, stderr=stderr, text=True
        )
        limit_kb = available_kb() - 2**20 if keras_limit_gib is None else int(keras_limit_gib * 2**20)
        while proc.poll() is None:
            if mode == "keras" and rss_kb(proc.pid) > limit_kb:
                proc.kill()  # Keras's export would not fit what the machine had: as the OOM killer would
            time.sleep(0.05)
        stdout.seek(0)
        stderr.seek(0)
        if proc.returncode == -9 and mode == "keras":  # killed for want of memory: Keras's export did not fit
            return {}
        if proc.returncode != 0:
            raise SystemExit(f"{mode} {case} exited {proc.returncode}:\n{stderr.read()[-3000:]}")
        return json.loads(stdout.read().strip().splitlines()[-1]) if mode != "prepare" else {}


def available_kb() -> int:
    with open("/proc/meminfo") as meminfo:
        return next(int(line.split()[1]) for line in meminfo if line.startswith("MemAvailable:"))


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (FileNotFoundError, ProcessLookupError):
        return 0


def grown(pairs: list[tuple[dict, dict]], side: int) -> float:
    """The highest peak RSS growth of one side, in MiB."""
    return max((p[side]["rss_peak_kb"] - p[side]["rss_before_kb"]) / 1024 for p in pairs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,4", help="table sizes in GiB, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="alternating pairs per case and size")
    parser.add_argument("--cases", default="random,weights,source,plugin_random,plugin_weights")
    parser.add_argument(
        "--keras-limit-gib",
        type=float,
        help="kill Keras's side at this RSS (default: what the machine has available less 1 GiB)",
    )
    args = parser.parse_args()
    for size in (float(s) for s in args.sizes.split(",")):
        rows = int(size * 2**30) // (4 * DIM)
        weights_mib = rows * DIM * 4 / 2**20
        with tempfile.TemporaryDirectory(prefix="sigforge-bench-") as tmp:
            work = Path(tmp)
            child("prepare", args.cases, rows, work)
            for case in args.cases.split(","):
                pairs = [
                    (
                        child("sigforge", case, rows, work),
                        child("keras", case, rows, work, args.keras_limit_gib),
                    )
                    for _ in range(args.runs)
                ]
                report(f"big_weights_{case}_{size:g}gib", pairs, weights_mib)


def report(name: str, pairs: list[tuple[dict, dict]], weights_mib: float) -> None:
    ours = statistics.median(o["seconds"] for o, _ in pairs)
    fitted = [(o, t) for o, t in pairs if t]
    if fitted:
        theirs = statistics.median(t["seconds"] for _, t in fitted)
        print(f"{name}_time_vs_keras_export: {ours / theirs:.2f}  ({ours:.1f} s vs {theirs:.1f} s)")
        keras = f"Keras's export: {grown(fitted, 1) / weights_mib:.2f}"
    else:
        print(f"{name}_time_vs_keras_export: -  ({ours:.1f} s; Keras's export was killed: out of memory)")
        keras = "Keras's export: out of memory"
    print(
        f"{name}_peak_rss_vs_weights: {grown(pairs, 0) / weights_mib:.2f}  ({keras}; {weights_mib:.0f} MiB of weights)",
        flush=True,
    )


if __name__ == "__main__":
    main()
