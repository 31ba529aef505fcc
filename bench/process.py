"""The whole process ``python -m sigforge +experiment=multi_input`` (verified export, logged to the
embedded SQLite store as a run, a LoggedModel and its files) against its anchors, measured in the
same invocation, alternating, medians:

- ``process_{wall,cpu}_vs_handwritten``: the hand-written build + ``tf.saved_model.save`` +
  ``mlflow.log_artifacts`` script (bench/handwritten_export.py; no verification, no MLflow model);
- ``process_{wall,cpu}_vs_keras_export``: what users write today, Keras's ``model.export`` and
  ``mlflow.tensorflow.log_model`` (bench/handwritten_export.py --keras);
- ``process_wall_vs_tensorflow_import``: the floor of any export, a process that imports TensorFlow.

CPU is user + system seconds of the process and its children (sigforge's logging helper).
``--busy`` keeps the second core spinning throughout (suffix ``_busy``).

    .venv/bin/python bench/process.py [--runs 5] [--busy]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _common import REPO, busy_core, measured_process

SIGFORGE = ["-m", "sigforge", "experiment=multi_input", "export.publish_identical=true"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--busy", action="store_true", help="keep the second core busy")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sigforge-bench-process-"))
    script = str(REPO / "bench" / "handwritten_export.py")
    sides = {
        "sigforge": SIGFORGE,
        "handwritten": [script, str(work / "hand")],
        "keras_export": [script, str(work / "keras"), "--keras"],
        "tensorflow_import": ["-c", "import tensorflow"],
    }
    for side in sides.values():  # untimed: each creates its SQLite store on first use
        measured_process(side, work)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    with busy_core(args.busy):
        for _ in range(args.runs):
            for name, side in sides.items():
                runs[name].append(measured_process(side, work))
    suffix = "_busy" if args.busy else ""

    def median(name: str, which: int) -> float:
        return statistics.median(r[which] for r in runs[name])

    for anchor in ("handwritten", "keras_export"):
        for which, what in ((0, "wall"), (1, "cpu")):
            ratio = median("sigforge", which) / median(anchor, which)
            print(f"process_{what}_vs_{anchor}{suffix}: {ratio:.2f}")
    print(
        f"process_wall_vs_tensorflow_import{suffix}: {median('sigforge', 0) / median('tensorflow_import', 0):.2f}"
    )
    for name in sides:
        walls = " ".join(f"{w:.2f}" for w, _ in runs[name])
        cpus = " ".join(f"{c:.2f}" for _, c in runs[name])
        print(f"  {name}: wall {walls} s; cpu {cpus} s")


if __name__ == "__main__":
    main()
