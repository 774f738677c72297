"""`crmw refresh` end to end on a small demo bank (300 customers, three delivery days), run as a user runs
it: `.venv/bin/crmw` in its own process, no activated venv.

In order, on one CRMW_HOME: a refresh `--to` day 2 leaves day 3 out; a plain refresh then loads exactly
day 3 while readers hold the serving file open; a re-run of day 3 killed (SIGKILL) half-way through dbt
leaves the published file untouched, and running it again publishes exactly the same tables (re-running a
day changes nothing); finally a planted failing check blocks publishing and shows in `crmw status`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sqlite3
import subprocess
import threading

import dagster as dg
import duckdb
import pytest
from refresh_helpers import (
    CRMW,
    crmw,
    crmw_env,
    expected_counts,
    isolate_dagster_env,
    landing_files,
    published_counts,
    sha256,
)

from orchestration.demo_bank import generate_demo
from orchestration.instance import get_instance
from orchestration.publish import connect_serving, table_checksums
from orchestration.settings import load_settings
from orchestration.status import failures_of_run

pytestmark = pytest.mark.e2e

D1, D2, D3 = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)
STATE: dict[str, object] = {}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("refresh_home")
    generate_demo(home / "landing", home / "demo_truth", customers=300, seed=11, start=D1, end=D3)
    with pytest.MonkeyPatch.context() as mp:
        isolate_dagster_env(mp)
        mp.setenv("CRMW_HOME", str(home))
        yield home


def working(home, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse" / "crm.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def load_log(home) -> list[tuple]:
    return working(
        home, "select _file, file_sha256, rows_loaded, _loaded_at, is_current from raw.load_log order by 1, 4"
    )


def test_refresh_to_a_day_leaves_later_deliveries_out(home):
    result = crmw(home, "refresh", "--to", D2.isoformat())
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert f"Refresh of delivery days {D1} .. {D2} (as of the last day): published" in out
    for stage in ("load landing files", "dbt build + tests", "warehouse checks", "customer value (CLV)", "segments",
                  "campaign targeting", "lookalikes", "maturity assessment", "publish"):
        assert re.search(rf"^  {re.escape(stage)}\s+success\s+\d+\.\d+s", out, re.M), stage
    for bar in ("load ", "dbt build ", "publish "):  # a progress line per stage
        assert re.search(rf"^{bar}.*100%", out, re.M), bar

    landing = home / "landing"
    delivered = {p.relative_to(landing).as_posix() for p in landing_files(landing, D2)}
    later = {p.relative_to(landing).as_posix() for p in landing_files(landing)} - delivered
    assert later, "the demo delivers files on day 3"
    loaded = {f for f, *_ in working(home, "select _file from raw.load_log where is_current")}
    assert loaded == delivered
    with connect_serving(load_settings()) as con:
        assert con.execute("select range_start, range_end, data_through from meta.publish").fetchall() == [(D1, D2, D2)]
        assert published_counts(con) == expected_counts(landing, home / "demo_truth", D2)
        STATE["after_d2"] = table_checksums(con)


def test_one_more_day_loads_only_that_day_while_readers_hold_the_serving_file(home):
    settings = load_settings()
    landing = home / "landing"
    before = expected_counts(landing, home / "demo_truth", D2)
    old_reader = connect_serving(settings)
    errors: list[Exception] = []
    reads: list[int] = []
    stop = threading.Event()

    def poll() -> None:  # a dashboard opening the serving file again and again during the refresh
        while not stop.is_set():
            try:
                with connect_serving(settings) as con:
                    reads.append(con.execute("select count(*) from warehouse.fct_transactions").fetchall()[0][0])
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            stop.wait(0.2)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        result = crmw(home, "refresh")
    finally:
        stop.set()
        poller.join()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    day3 = len(landing_files(landing)) - len(landing_files(landing, D2))
    # Only the new day is in the run's range: earlier days are neither reloaded nor re-hashed.
    assert f"Refresh of delivery days {D3} .. {D3}: published" in result.stdout
    assert f"{day3} files loaded, 0 unchanged, 0 rejected" in result.stdout
    assert errors == [] and len(reads) >= 5
    after = expected_counts(landing, home / "demo_truth")
    assert set(reads) <= {before["fct_transactions"], after["fct_transactions"]}
    # The reader opened before keeps the version it opened; a new one sees the new publish.
    assert published_counts(old_reader) == before
    old_reader.close()
    with connect_serving(settings) as con:
        assert published_counts(con) == after
        assert con.execute("select range_start, range_end, data_through from meta.publish").fetchall() == [(D3, D3, D3)]
        STATE["after_d3"] = table_checksums(con)
    STATE["load_log"] = load_log(home)

    status = crmw(home, "status")
    assert status.returncode == 0, status.stderr
    assert re.search(rf"Last successful refresh: .* success\s+\(cli, {D3} \.\. {D3}", status.stdout)
    assert f"days {D3} .. {D3}, data through {D3}" in status.stdout
    for system in {p.relative_to(landing).parts[0] for p in landing_files(landing)}:
        assert re.search(rf"^  {system}\s+\S+\s+\S+\s+\d+\s+0d$", status.stdout, re.M), system


def test_killed_rerun_leaves_the_published_file_and_running_it_again_changes_nothing(home):
    settings = load_settings()
    serving_before = sha256(settings.serving_path)
    proc = subprocess.Popen(
        [CRMW, "refresh", "--from", D3.isoformat(), "--to", D3.isoformat()], env=crmw_env(home),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    seen = []
    for line in proc.stdout:
        seen.append(line)
        match = re.match(r"dbt build\s+[\d,]+/[\d,]+\s+(\d+)%", line)
        if match and int(match.group(1)) >= 40:  # dbt is rebuilding tables in the working warehouse
            os.killpg(proc.pid, signal.SIGKILL)  # the whole refresh: crmw and its dbt process
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)[-3000:]

    # What a killed run leaves: the old published file, intact and readable; a run still marked started.
    assert sha256(settings.serving_path) == serving_before
    with connect_serving(settings) as con:
        assert table_checksums(con) == STATE["after_d3"]
    with get_instance(settings) as instance:
        (killed,) = [r for r in instance.get_runs() if r.status == dg.DagsterRunStatus.STARTED]
    status = crmw(home, "status")
    assert f"run {killed.run_id[:8]}  interrupted (its crmw process is gone" in status.stdout, status.stdout

    result = crmw(home, "refresh", "--from", D3.isoformat(), "--to", D3.isoformat())
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert f"marked interrupted run {killed.run_id} as failed" in result.stdout
    n3 = len(landing_files(home / "landing")) - len(landing_files(home / "landing", D2))
    assert f"0 files loaded, {n3} unchanged" in result.stdout
    with connect_serving(settings) as con:
        assert table_checksums(con) == STATE["after_d3"]  # every published table, every column
    assert load_log(home) == STATE["load_log"]  # no file loaded twice
    with get_instance(settings) as instance:
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    with sqlite3.connect(settings.refresh_log_path) as con:
        assert con.execute("select kind, name from failures where run_id = ?", [killed.run_id]).fetchall() == [
            ("run", "interrupted")
        ]


def test_a_failing_check_blocks_publish_and_status_shows_it(home):
    settings = load_settings()
    serving_before = sha256(settings.serving_path)
    (file, lost), = working(home, "select _file, count(*) from raw.interactions group by 1 order by 1 limit 1")
    with duckdb.connect(str(settings.warehouse_path)) as con:  # plant drift: rows vanish from a loaded file
        con.execute("delete from raw.interactions where _file = ?", [file])

    result = crmw(home, "refresh")
    assert result.returncode == 1
    assert "FAILED, nothing published (the previous serving database is unchanged)" in result.stdout
    assert re.search(r"^  dbt build \+ tests\s+not run", result.stdout, re.M)
    assert re.search(r"^  publish\s+not run", result.stdout, re.M)
    message = f"{file}: {lost} rows in file, load log {lost} loaded + 0 quarantined, raw table has 0"
    check = "check raw/landing:reconciles_with_files: [ERROR] interactions: 1 files do not reconcile"
    assert f"{check}; first: {message}" in result.stdout
    assert sha256(settings.serving_path) == serving_before

    status = crmw(home, "status")
    assert "Failed checks in the last refresh: \n  raw/landing:reconciles_with_files: [ERROR] interactions:" in (
        status.stdout)
    assert "Recent failures" in status.stdout
    log_lines = (settings.logs_dir / "refresh.log").read_text(encoding="utf-8").splitlines()
    assert any("check raw/landing:reconciles_with_files" in line for line in log_lines)

    # The run-failure sensor (daemon runs) records through the same log, once per failure.
    from orchestration.definitions import build_definitions

    sensor = build_definitions(settings).resolve_sensor_def("refresh_failures")
    with sqlite3.connect(settings.refresh_log_path) as con:
        before = con.execute("select count(*) from failures").fetchall()
    with get_instance(settings) as instance:
        run = instance.get_runs(limit=1)[0]
        failure = [e for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)][0]
        context = dg.build_run_status_sensor_context(
            sensor_name="refresh_failures", dagster_event=failure.dagster_event, dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        sensor(context)
    with sqlite3.connect(settings.refresh_log_path) as con:
        assert con.execute("select count(*) from failures").fetchall() == before
        kinds = con.execute("select kind, name from failures where run_id = ? order by 1, 2", [run.run_id]).fetchall()
    assert ("check", "raw/landing:reconciles_with_files") in kinds and ("step", "landing_loads") in kinds

    # Publishing on its own (say from the UI) refuses while a blocking check's latest evaluation failed.
    job = build_definitions(settings).resolve_job_def("daily_refresh")
    with get_instance(settings) as instance:
        result = job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey("serving_database")], raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
        assert not result.success
        failures = [f.message for f in failures_of_run(instance, result.run_id) if f.kind == "step"]
    assert failures and failures[0].startswith(
        "not publishing: 1 blocking checks upstream failed in their latest evaluation "
        "(raw/landing:reconciles_with_files)")
    assert sha256(settings.serving_path) == serving_before
