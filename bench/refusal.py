"""How long ``sigforge`` takes to refuse a breaking change (a renamed key, which the config alone
shows) against the floor of any export, a process that only imports TensorFlow, alternating runs,
medians. Below 1.0 means the refusal comes before TensorFlow would even have loaded.

- ``refusal_vs_tensorflow_import``: against the newest version on disk (read without TensorFlow);
- ``registry_refusal_vs_tensorflow_import``: against the registry's latest version
  (``mlflow.registered_model_name``), asked by the logging helper while TensorFlow is imported;
- ``refusal_vs_export``: the disk refusal against the same export published where nothing breaks.

    .venv/bin/python bench/refusal.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _common import measured_process

BREAKING = ["-m", "sigforge", "experiment=image_classifier", "naming=prefixed"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sigforge-bench-refusal-"))
    # v1 on disk, and v1 of registered model "digits"
    measured_process(
        ["-m", "sigforge", "experiment=image_classifier", "mlflow.registered_model_name=digits"], work
    )
    sides = {
        "disk": ([*BREAKING, "mlflow.enabled=false"], 5),
        "registry": ([*BREAKING, "model.name=digits_v2", "mlflow.registered_model_name=digits"], 5),
        # the same export, published (into a model directory of its own, so the refusals stay refusals)
        "export": (
            [*BREAKING, "mlflow.enabled=false", "model.name=published", "export.publish_identical=true"],
            0,
        ),
        "tensorflow_import": (["-c", "import tensorflow"], 0),
    }
    walls: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.runs):
        for name, (command, expect) in sides.items():
            walls[name].append(measured_process(command, work, expect=expect)[0])

    def median(name: str) -> float:
        return statistics.median(walls[name])

    print(f"refusal_vs_tensorflow_import: {median('disk') / median('tensorflow_import'):.2f}")
    print(f"registry_refusal_vs_tensorflow_import: {median('registry') / median('tensorflow_import'):.2f}")
    print(f"refusal_vs_export: {median('disk') / median('export'):.2f}")
    for name, values in walls.items():
        print(f"  {name}: {' '.join(f'{v:.2f}' for v in values)} s")


if __name__ == "__main__":
    main()
