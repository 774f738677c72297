"""A 60-day backfill is one run: sixty daily partitions of every raw table loaded in one step, one dbt
build, one publish. The working warehouse is locked by another process when the run starts, so the load
fails, retries with backoff and then succeeds, still in the same run."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time

import dagster as dg
import duckdb
import pytest
from refresh_helpers import CRMW, crmw_env, expected_counts, isolate_dagster_env, landing_files, published_counts

from orchestration.demo_bank import generate_demo
from orchestration.instance import get_instance
from orchestration.publish import connect_serving
from orchestration.settings import load_settings

pytestmark = pytest.mark.e2e

FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 3, 1)


def test_sixty_day_backfill_completes_in_one_run(tmp_path, monkeypatch):
    home = tmp_path / "home"
    generate_demo(home / "landing", home / "demo_truth", customers=200, seed=5, start=FIRST, end=LAST)
    isolate_dagster_env(monkeypatch)
    monkeypatch.setenv("CRMW_HOME", str(home))
    settings = load_settings()
    days = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    assert len(days) == 60

    settings.warehouse_path.parent.mkdir(parents=True)
    lock = duckdb.connect(str(settings.warehouse_path))  # e.g. a notebook left open on the working file
    started = time.perf_counter()
    proc = subprocess.Popen([CRMW, "refresh"], env=crmw_env(home), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if lock is not None and line.startswith("load "):  # the load step started and found the file locked
            time.sleep(1.0)
            lock.close()
            lock = None
    proc.wait(timeout=900)
    seconds = time.perf_counter() - started
    out = "".join(lines)
    assert proc.returncode == 0, out[-4000:]
    assert f"Refresh of delivery days {FIRST} .. {LAST}: published" in out
    print(f"\n60-day backfill of {len(landing_files(home / 'landing'))} files: {seconds:.1f}s")

    with get_instance(settings) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
            FIRST.isoformat(), LAST.isoformat())
        steps = [e.step_key for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)]
        assert steps.count("dbt_build") == 1 and steps.count("serving_database") == 1
        retries = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
        assert [e.step_key for e in retries] == ["landing_loads"] * len(retries) and len(retries) >= 1
        raw = dg.AssetKey(["raw", "landing"])
        assert instance.get_materialized_partitions(raw) == {d.isoformat() for d in days}
        materialized = [e.dagster_event.asset_key for e in instance.all_logs(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)]
        assert materialized.count(raw) == 60  # one event per day, whatever the number of tables

    landing = home / "landing"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        loaded = {f for (f,) in con.execute("select _file from raw.load_log where is_current").fetchall()}
    assert loaded == {p.relative_to(landing).as_posix() for p in landing_files(landing)}
    with connect_serving(settings) as con:
        assert con.execute("select range_start, range_end, data_through from meta.publish").fetchall() == [
            (FIRST, LAST, LAST)]
        counts = published_counts(con)
    assert counts == expected_counts(landing, home / "demo_truth")
    assert counts["fct_transactions"] > 100 and counts["dim_campaign"] >= 1
    assert re.search(r"^  load landing files\s+success", out, re.M)
