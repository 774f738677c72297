"""Run history for the Pipeline page, read from the Dagster instance in a background thread.

Opening the instance costs seconds (importing Dagster, reading its storage), far over a callback's budget, so
a page view never waits for it: it shows the history last read (at most REFRESH_SECONDS old) and asks a
background thread for a newer one. Failures recorded by the refresh (the refresh log) are a small SQLite
read and are read directly.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from orchestration.settings import Settings
from orchestration.status import recent_runs

REFRESH_SECONDS = 60.0


@dataclass
class RunHistory:
    """The latest refresh runs of one CRMW_HOME, kept fresh by a background reader."""

    settings: Settings
    limit: int = 10
    runs: list[dict] | None = None
    error: str | None = None
    read_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _reading: bool = False

    def current(self) -> tuple[list[dict] | None, str | None]:
        """(runs, error) as last read; None runs while the first read is still going. Starts a read when the
        history is older than REFRESH_SECONDS."""
        with self._lock:
            stale = time.monotonic() - self.read_at > REFRESH_SECONDS
            if stale and not self._reading:
                self._reading = True
                threading.Thread(target=self._read, name="crmw-run-history", daemon=True).start()
            return self.runs, self.error

    def _read(self) -> None:
        try:
            runs, error = recent_runs(self.settings, self.limit), None
        except Exception as exc:  # shown on the page; the next view tries again
            runs, error = None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        with self._lock:
            if runs is not None:
                self.runs = runs
            self.error, self.read_at, self._reading = error, time.monotonic(), False

    def wait(self, timeout: float = 60.0) -> None:
        """Block until no read is going on (tests, the benchmark's warm-up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._reading:
                    return
            time.sleep(0.05)
