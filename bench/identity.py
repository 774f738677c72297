"""Benchmark: identity resolution time on a demo bank of N customers, first run and one incremental day.

Not part of the test suite. Generates a demo bank (`crmw demo --customers N`) in a scratch CRMW_HOME,
sets the last delivery day's files aside, loads the rest into the raw layer, builds the dbt views identity
reads and times identity resolution from scratch (training, scoring every candidate pair, clustering,
keys). Then it loads the last day, rebuilds the views and times the incremental run on top (only new and
changed records scored against the linked ones). Accuracy against the planted truth is printed for both.
The machine is shared, so read the times with the load average printed beside them.

    .venv/bin/python bench/identity.py [--customers 100000] [--home /tmp/identity-bench]

At 1M customers (`--customers 1000000`) it takes about 22 minutes, most of it generating and loading.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from orchestration.demo_bank import generate_demo
from orchestration.identity import INPUT_RELATION, TRUTH_FILE, IdentityRun, resolve_warehouse
from orchestration.landing.loader import load_landing
from orchestration.settings import load_settings

START, END = dt.date(2024, 1, 1), dt.date(2025, 12, 31)


def _set_aside(landing: Path, day: dt.date, aside: Path) -> int:
    """Move every landing file delivered on `day` to `aside` (same relative path); returns how many."""
    moved = 0
    for path in sorted(landing.rglob(f"{day.isoformat()}.*")):
        target = aside / path.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        moved += 1
    return moved


def _put_back(aside: Path, landing: Path) -> None:
    for path in sorted(p for p in aside.rglob("*") if p.is_file()):
        target = landing / path.relative_to(aside)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)


def _line(label: str, run: IdentityRun, seconds: float) -> str:
    r, a = run.report, run.accuracy
    accuracy = (f"; precision {a.precision:.4f} recall {a.recall:.4f} F1 {a.f1:.4f}" if a is not None else "")
    return (f"{label}: {r.records:,} records ({r.new_records:,} new, {r.changed_records:,} changed), "
            f"{r.pairs_scored:,} pairs scored, {r.customers:,} customers, {seconds:.1f} s "
            f"(steps {r.seconds}){accuracy}; load average {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> None:
    from orchestration.dbt_runner import run_dbt

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--home", type=Path, default=None, help="scratch CRMW_HOME (default: a temp folder)")
    args = parser.parse_args(argv)
    home = args.home or Path(tempfile.mkdtemp(prefix="identity-bench-"))
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = load_settings(home)
    truth = settings.demo_truth_dir / TRUTH_FILE

    start = time.perf_counter()
    generate_demo(settings.landing_dir, settings.demo_truth_dir, customers=args.customers, start=START, end=END)
    print(f"demo of {args.customers:,} customers generated in {time.perf_counter() - start:.1f} s")
    aside = home / "last_day"
    print(f"{_set_aside(settings.landing_dir, END, aside)} files of {END} set aside")

    def load_and_build() -> None:
        started = time.perf_counter()
        settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(settings.warehouse_path)) as con:
            load_landing(con, settings.landing_dir)
        run_dbt(settings, ["run", "--select", f"+{INPUT_RELATION.split('.')[-1]}"])
        print(f"load and dbt views: {time.perf_counter() - started:.1f} s")

    load_and_build()
    started = time.perf_counter()
    first = resolve_warehouse(settings.warehouse_path, settings.identity, truth)
    print(_line("first run (link everyone)", first, time.perf_counter() - started))

    _put_back(aside, settings.landing_dir)
    load_and_build()
    started = time.perf_counter()
    day = resolve_warehouse(settings.warehouse_path, settings.identity, truth)
    print(_line(f"incremental day {END}", day, time.perf_counter() - started))


if __name__ == "__main__":
    main()
