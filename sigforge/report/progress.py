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
from typing import Any

log = logging.getLogger("sigforge")


class Progress:
    def __init__(self, live: bool | None = None) -> None:
        self.live = sys.stderr.isatty() if live is None else live
        self._console: Any = None

    def _print(self, text: str) -> None:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True)
        self._console.print(text, highlight=False)

    def done(self, name: str, seconds: float) -> None:
        if self.live:
            self._print(f"[green]✓[/green] {name:<8} {seconds:6.2f}s")
        else:
            log.info("stage %s done in %.2fs", name, seconds)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        if self.live:
            if self._console is None:
                from rich.console import Console

                self._console = Console(stderr=True)
            with self._console.status(f"{name}..."):
                yield
        else:
            yield
        self.done(name, time.perf_counter() - start)


class Silent(Progress):
    """No output at all (the default for library use)."""

    def __init__(self) -> None:
        super().__init__(live=False)

    def done(self, name: str, seconds: float) -> None:
        pass
