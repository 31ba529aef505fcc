"""Stages with their elapsed time: a live status line on a terminal (rich), log records otherwise.

A single export shows compose, build, trace, write, verify, publish and log. (Sweeps show jobs
done out of total: sigforge.sweeps.parent_run.SweepProgressCallback.)
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("sigforge")


@dataclass
class Timed:
    """One stage's duration, known once its block has ended (``Progress.stage``)."""

    name: str
    seconds: float = 0.0


class Progress:
    """The one clock of the stages and the one console that shows them."""

    def __init__(self, live: bool | None = None) -> None:
        self.live = sys.stderr.isatty() if live is None else live
        self._rich: Any = None

    def _console(self) -> Any:
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(stderr=True)
        return self._rich

    def _print(self, text: str) -> None:
        self._console().print(text, highlight=False)

    def done(self, name: str, seconds: float) -> None:
        if self.live:
            self._print(f"[green]✓[/green] {name:<8} {seconds:6.2f}s")
        else:
            log.info("stage %s done in %.2fs", name, seconds)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[Timed]:
        """Show ``name`` while the block runs; the yielded ``Timed`` holds its duration after it."""
        timed = Timed(name)
        start = time.perf_counter()
        if self.live:
            with self._console().status(f"{name}..."):
                yield timed
        else:
            yield timed
        timed.seconds = time.perf_counter() - start
        self.done(name, timed.seconds)


class Silent(Progress):
    """No output at all (the default for library use)."""

    def __init__(self) -> None:
        super().__init__(live=False)

    def done(self, name: str, seconds: float) -> None:
        pass
