"""Helpers shared by the benchmarks: timing whole processes and printing ``name: ratio`` lines."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


def timed_process(args: Sequence[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=QUIET, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{result.stderr[-3000:]}")
    return elapsed


def report(name: str, ours: list[float], theirs: list[float], ours_label: str, theirs_label: str) -> None:
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"{name}: {ratio:.2f}")
    print(f"  {ours_label} (s): {' '.join(f'{t:.2f}' for t in ours)}")
    print(f"  {theirs_label} (s): {' '.join(f'{t:.2f}' for t in theirs)}")
