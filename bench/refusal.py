"""How long ``sigforge`` takes to refuse a breaking change (a renamed key, which the config alone
shows), alternating runs, medians, each against an anchor measured in the same run:

- ``refusal_vs_tensorflow_import``: against the newest version on disk, ``mlflow.enabled=false``
  (read without TensorFlow), / a process that only imports TensorFlow (the floor of any export);
- ``logged_refusal_vs_tensorflow_import``: the same refusal with MLflow on, as by default: the
  process ends once the refused run is recorded FAILED with its diff;
- ``registry_refusal_vs_tensorflow_import``: against the registry's latest version
  (``mlflow.registered_model_name``), judged in the exporter from the embedded store without MLflow;
- ``{logged,registry}_refusal_vs_mlflow_floor``: those two / a process that only imports MLflow and
  opens the same store, the least that recording the refused run costs;
- ``{logged,registry}_verdict_vs_tensorflow_import``: when those two print their refusal (before
  MLflow records the run) / the TensorFlow import;
- ``registry_dry_run_vs_dry_run``: ``export.dry_run=true`` with the registry's verdict / without;
- ``refusal_vs_export``: the disk refusal / the same export published where nothing breaks.

    .venv/bin/python bench/refusal.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import QUIET, measured_process

BREAKING = ["-m", "sigforge", "experiment=image_classifier", "naming=prefixed"]


def verdict_seconds(args: list[str], cwd: Path) -> float:
    """Seconds until ``python ARGS`` has printed its refusal (the line after it says that the refused
    run is being recorded)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        env=QUIET,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = None
    for line in proc.stderr or ():
        if seen is None and "recording the refused export's run in MLflow" in line:
            seen = time.perf_counter() - start
    if proc.wait() != 5 or seen is None:
        raise SystemExit(f"not refused as expected: {' '.join(args)}")
    return seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sigforge-bench-refusal-"))
    # v1 on disk, and v1 of registered model "digits"
    measured_process(
        ["-m", "sigforge", "experiment=image_classifier", "mlflow.registered_model_name=digits"], work
    )
    store = f"sqlite:///{work / 'outputs' / 'mlflow.db'}"
    registry = [*BREAKING, "model.name=digits_v2", "mlflow.registered_model_name=digits"]
    sides = {
        "disk": ([*BREAKING, "mlflow.enabled=false"], 5),
        "disk_logged": (BREAKING, 5),
        "registry": (registry, 5),
        "mlflow_floor": (
            ["-c", f"from mlflow.tracking import MlflowClient; MlflowClient('{store}').search_experiments()"],
            0,
        ),
        "registry_dry_run": ([*registry, "export.dry_run=true"], 0),
        "dry_run": ([*BREAKING, "export.dry_run=true"], 0),
        # the same export, published (into a model directory of its own, so the refusals stay refusals)
        "export": (
            [*BREAKING, "mlflow.enabled=false", "model.name=published", "export.publish_identical=true"],
            0,
        ),
        "tensorflow_import": (["-c", "import tensorflow"], 0),
    }
    walls: dict[str, list[float]] = {name: [] for name in sides}
    verdicts: dict[str, list[float]] = {"disk_logged": [], "registry": []}
    for _ in range(args.runs):
        for name, (command, expect) in sides.items():
            walls[name].append(measured_process(command, work, expect=expect)[0])
        for name, seconds in verdicts.items():
            seconds.append(verdict_seconds(sides[name][0], work))
    walls.update({f"{name}_verdict": seconds for name, seconds in verdicts.items()})

    for name, ours, anchor in (
        ("refusal_vs_tensorflow_import", "disk", "tensorflow_import"),
        ("logged_refusal_vs_tensorflow_import", "disk_logged", "tensorflow_import"),
        ("registry_refusal_vs_tensorflow_import", "registry", "tensorflow_import"),
        ("logged_refusal_vs_mlflow_floor", "disk_logged", "mlflow_floor"),
        ("registry_refusal_vs_mlflow_floor", "registry", "mlflow_floor"),
        ("logged_verdict_vs_tensorflow_import", "disk_logged_verdict", "tensorflow_import"),
        ("registry_verdict_vs_tensorflow_import", "registry_verdict", "tensorflow_import"),
        ("registry_dry_run_vs_dry_run", "registry_dry_run", "dry_run"),
        ("refusal_vs_export", "disk", "export"),
    ):
        print(f"{name}: {statistics.median(walls[ours]) / statistics.median(walls[anchor]):.2f}")
    for name, values in walls.items():
        print(f"  {name}: {' '.join(f'{v:.2f}' for v in values)} s (median {statistics.median(values):.2f})")


if __name__ == "__main__":
    main()
