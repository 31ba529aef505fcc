"""refusal_vs_tensorflow_import: how long ``sigforge`` takes to refuse a breaking change (a renamed
key, which the config alone shows) against the floor of any export, a process that only imports
TensorFlow. Below 1.0 means the refusal comes before TensorFlow would even have loaded.

    .venv/bin/python bench/refusal.py [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import QUIET, report, timed_process

BREAKING = ["-m", "sigforge", "experiment=image_classifier", "naming=prefixed", "mlflow.enabled=false"]


def timed_refusal(cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *BREAKING], cwd=cwd, env=QUIET, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 5:
        raise SystemExit(
            f"expected the export to be refused (exit 5), got {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sigforge-bench-refusal-"))
    timed_process(["-m", "sigforge", "experiment=image_classifier", "mlflow.enabled=false"], work)  # v1
    ours, floor = [], []
    for _ in range(args.runs):
        ours.append(timed_refusal(work))
        floor.append(timed_process(["-c", "import tensorflow"], work))
    report(
        "refusal_vs_tensorflow_import",
        ours,
        floor,
        "sigforge refusing a breaking change",
        "import tensorflow",
    )


if __name__ == "__main__":
    main()
