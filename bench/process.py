"""process_vs_handwritten: the whole process ``python -m sigforge +experiment=multi_input`` (logging
to the embedded SQLite store) against the hand-written script doing the same build, save and log
(bench/handwritten_export.py), alternating runs, median ratio.

    .venv/bin/python bench/process.py [--runs 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import REPO, report, timed_process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sigforge-bench-process-"))
    script = str(REPO / "bench" / "handwritten_export.py")
    # One untimed run of each: both create their SQLite store on first use.
    timed_process(["-m", "sigforge", "experiment=multi_input", "export.publish_identical=true"], work)
    timed_process([script, str(work / "hand")], work)
    ours, theirs = [], []
    for _ in range(args.runs):
        ours.append(
            timed_process(["-m", "sigforge", "experiment=multi_input", "export.publish_identical=true"], work)
        )
        theirs.append(timed_process([script, str(work / "hand")], work))
    report("process_vs_handwritten", ours, theirs, "python -m sigforge", "hand-written script")


if __name__ == "__main__":
    main()
