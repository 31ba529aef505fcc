"""sweep_vs_processes: an 8-job multirun (naming policy x 4 hidden sizes) against 8 hand-written
processes doing the same exports and logging; also the joblib launcher's figure.

    .venv/bin/python bench/sweep.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _common import REPO, report, timed_process

SWEEP = [
    "-m",
    "+experiment=multi_input",
    "naming.policy=identity,prefixed",
    "model.name=multi_input_${naming.policy}",  # one model directory per contract (the sweep guard)
    "model.hidden_units=[16],[32],[64],[128]",
    "export.publish_identical=true",  # each timed sweep publishes, as the first one did
]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="sigforge-bench-sweep-"))
    script = str(REPO / "bench" / "handwritten_export.py")
    timed_process(
        ["-m", "sigforge", "+experiment=multi_input", "mlflow.enabled=true"], work
    )  # create the store
    timed_process([script, str(work / "hand")], work)
    basic = timed_process(["-m", "sigforge", *SWEEP], work)
    joblib = timed_process(
        ["-m", "sigforge", *SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], work
    )
    hand = sum(
        timed_process([script, str(work / "hand"), "--hidden", str(h), "--prefix", p], work)
        for p in ("", "input_")
        for h in (16, 32, 64, 128)
    )
    report(
        "sweep_vs_processes", [basic], [hand], "sigforge multirun, basic launcher", "8 hand-written processes"
    )
    report(
        "sweep_joblib_vs_processes",
        [joblib],
        [hand],
        "sigforge multirun, joblib launcher (2 jobs)",
        "8 hand-written processes",
    )


if __name__ == "__main__":
    main()
