"""Live progress of a refresh, stage by stage.

Assets report `(stage, done, total, note)` here as they work. Nobody listens in a Dagster-launched run
(assets log to the run's event log instead); `crmw refresh` runs the job in its own process and listens,
drawing one progress bar per stage.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Listener = Callable[[str, int, int, str], None]  # stage, done, total, note

_listeners: list[Listener] = []


def report(stage: str, done: int, total: int, note: str = "") -> None:
    """Tell whoever listens that `stage` has done `done` of `total` units."""
    for listener in list(_listeners):
        listener(stage, done, total, note)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Receive progress reports while the block runs (the job executes in this process)."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


class ProgressBars:
    """Draws `stage [#####.....] done/total note` on a terminal, or prints a line per 10% otherwise."""

    WIDTH = 30

    def __init__(self, out: TextIO | None = None, interactive: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.interactive = self.out.isatty() if interactive is None else interactive
        self._stage: str | None = None
        self._last_tenth = -1
        self._started = 0.0

    def __call__(self, stage: str, done: int, total: int, note: str) -> None:
        if stage != self._stage:
            self._end_line()
            self._stage, self._last_tenth, self._started = stage, -1, time.perf_counter()
        total = max(total, 1)
        done = min(done, total)
        elapsed = time.perf_counter() - self._started
        if self.interactive:
            filled = self.WIDTH * done // total
            bar = "#" * filled + "." * (self.WIDTH - filled)
            text = f"{stage:<12} [{bar}] {done:>6,}/{total:<6,} {elapsed:6.1f}s  {note}"[:118]
            self.out.write("\r" + text.ljust(118))
            self.out.flush()
            if done == total:
                self._end_line()
        else:
            tenth = 10 * done // total
            if tenth > self._last_tenth:
                self._last_tenth = tenth
                self.out.write(f"{stage:<12} {done:>6,}/{total:<6,} {10 * tenth:>3}%  {elapsed:6.1f}s  {note}\n")
                self.out.flush()

    def _end_line(self) -> None:
        if self.interactive and self._stage is not None:
            self.out.write("\n")
            self.out.flush()
        self._stage = None

    def close(self) -> None:
        self._end_line()
