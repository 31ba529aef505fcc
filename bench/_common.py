"""Helpers shared by the benchmarks: timing whole processes and printing ``name: ratio`` lines."""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# As on a user's machine, compiled modules are cached (some sandboxes set PYTHONDONTWRITEBYTECODE,
# which would recompile sigforge's modules, never its dependencies', in every measured process).
QUIET = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONWARNINGS": "ignore",
}


def measured_process(args: Sequence[str], cwd: Path, expect: int = 0) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the process and every child it waited for, e.g.
    sigforge's logging helper) of ``python ARGS``; exits the benchmark on another exit status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=QUIET, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != expect:
        raise SystemExit(
            f"benchmark command exited {result.returncode}, not {expect}: {' '.join(args)}\n{result.stderr[-3000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def timed_process(args: Sequence[str], cwd: Path) -> float:
    return measured_process(args, cwd)[0]


@contextlib.contextmanager
def busy_core(busy: bool) -> Iterator[None]:
    """With ``busy``, a process spinning on one core for the duration (the machine's second core
    taken by another job, as on a shared CI runner or a laptop running a training job)."""
    if not busy:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def report(name: str, ours: list[float], theirs: list[float], ours_label: str, theirs_label: str) -> None:
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"{name}: {ratio:.2f}")
    print(f"  {ours_label} (s): {' '.join(f'{t:.2f}' for t in ours)}")
    print(f"  {theirs_label} (s): {' '.join(f'{t:.2f}' for t in theirs)}")
