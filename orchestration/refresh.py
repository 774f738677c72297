"""`crmw refresh`: the daily refresh job, run once over a range of delivery days in this process.

The run goes into the CRMW_HOME's Dagster instance like any other (it shows in `crmw ui` and `crmw status`),
with a progress bar per stage and a final table of rows and timings. Before starting it marks as failed
any earlier `crmw refresh` run whose process is gone (killed) and frees the pool slot that run held, so a
killed refresh never blocks the next one. Landing files are the source of truth and loads are idempotent,
so running again after a kill finishes with the same published result.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from orchestration import progress
from orchestration.landing.loader import discover
from orchestration.settings import Settings
from orchestration.status import (
    HOST_TAG,
    JOB_NAME,
    PID_START_TAG,
    PID_TAG,
    TRIGGER_TAG,
    FailureRecord,
    process_gone,
    process_start,
    record_failures,
    record_run_failure,
    run_range,
)

# Step keys of the job, in order, and how the final table names them.
STAGES = {
    "landing_loads": "load landing files",
    "dbt_staging": "dbt staging + tests",
    "identity__customer_identity": "identity resolution",
    "dbt_build": "dbt build + tests",
    "warehouse_grain": "warehouse checks",
    "customer_value_models": "customer value (CLV)",
    "customer_segment_rules": "segments",
    "models__campaign_targeting": "campaign targeting",
    "models__lookalikes": "lookalikes",
    "maturity_assessment": "maturity assessment",
    "serving_database": "publish",
    "report_pack": "report pack",
}


class RefreshError(RuntimeError):
    """The refresh cannot start (no landing files, a range outside the partitions); nothing was changed."""


@dataclass
class Stage:
    step: str
    name: str
    status: str  # success, failure, skipped, not run
    seconds: float | None
    result: str


@dataclass
class RefreshResult:
    run_id: str
    success: bool
    first_day: dt.date
    last_day: dt.date
    as_of: bool
    stages: list[Stage] = field(default_factory=list)
    published: dict[str, int] = field(default_factory=dict)
    published_path: Path | None = None
    failures: list[FailureRecord] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    waiting_files: int = 0
    recovered_runs: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ------------------------------------------------------------------------------------------------ range
def last_complete_day(settings: Settings) -> dt.date:
    """The last delivery day that is over in the refresh time zone (the last daily partition)."""
    from orchestration.assets.landing import landing_partitions

    key = landing_partitions(settings).get_last_partition_key()
    return dt.date.fromisoformat(key) if key else settings.refresh.first_day - dt.timedelta(days=1)


def _unloaded_days(settings: Settings, files) -> set[dt.date] | None:
    """Delivery days with a file that is not in the working warehouse's load log, or was modified after it
    was loaded; None when the warehouse cannot be read (then every day counts). Cheap: no file is hashed
    here (the load compares contents, and the freshness check catches a file changed behind our back)."""
    import duckdb

    if not settings.warehouse_path.exists():
        return None
    try:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            loaded = {
                f: at for f, at in con.execute("select _file, _loaded_at from raw.load_log where is_current").fetchall()
            }
    except duckdb.Error:  # no raw layer yet, or a refresh holds the file: plan from the first day
        return None
    days = set()
    for f in files:
        at = loaded.get(f.rel)
        if at is None or dt.datetime.fromtimestamp(f.path.stat().st_mtime) >= at:
            days.add(f.delivery_date)
    return days


def plan_range(
    settings: Settings, date_from: dt.date | None, date_to: dt.date | None
) -> tuple[dt.date, dt.date, int]:
    """(first day, last day, files waiting for their day to end) of a refresh; raises RefreshError.

    Without --from the range starts at the first day with a file not loaded yet (or changed since), so a
    nightly refresh over two years of history covers one new day; with nothing new it is the last day."""
    files, _ = discover(settings.landing_dir)
    days = sorted({f.delivery_date for f in files})
    if not days:
        raise RefreshError(
            f"no landing files in {settings.landing_dir}; run `crmw demo` or deliver files as "
            "<source_system>/<entity>/<YYYY-MM-DD>.csv|parquet"
        )
    last_complete = last_complete_day(settings)
    if date_to and date_to > last_complete:
        raise RefreshError(f"--to {date_to} is not over yet; the last complete delivery day is {last_complete}")
    last = date_to or min(days[-1], last_complete)
    if days[0] < settings.refresh.first_day and (date_from is None or date_from < settings.refresh.first_day):
        raise RefreshError(
            f"landing files from {days[0]} are before the first partition day {settings.refresh.first_day}; "
            f"set [refresh] first_day = \"{days[0]}\" (or earlier) in {settings.config_path}"
        )
    if date_to and date_to < days[0]:
        raise RefreshError(f"no landing files on or before {date_to}; the first is dated {days[0]}")
    if date_from:
        first = date_from
    else:
        due = [f for f in files if f.delivery_date <= last]
        unloaded = _unloaded_days(settings, due)
        candidates = sorted(unloaded) if unloaded is not None else sorted({f.delivery_date for f in due})
        first = candidates[0] if candidates else min(last, days[-1])
    if last < first:
        raise RefreshError(
            f"nothing to refresh: the range {first} .. {last} is empty"
            + (f" (files dated after {last_complete} wait for their day to end)" if days[-1] > last_complete else "")
        )
    waiting = sum(1 for f in files if f.delivery_date > last_complete)
    return first, last, waiting


# ------------------------------------------------------------------------------------------------ recovery
def recover_interrupted_runs(settings: Settings, instance) -> list[str]:
    """Mark as failed the `crmw refresh` runs of this host whose process is gone, and free their pool slots."""
    from dagster import DagsterRunStatus, RunsFilter

    host = socket.gethostname()
    runs = instance.get_runs(
        RunsFilter(
            job_name=JOB_NAME,
            statuses=[DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
                      DagsterRunStatus.CANCELING],
            tags={TRIGGER_TAG: "cli", HOST_TAG: host},
        )
    )
    recovered = []
    for run in runs:
        if not process_gone(run):
            continue
        pid = run.tags.get(PID_TAG)
        message = f"interrupted: the crmw process {pid} running it is gone (killed?); nothing was published by it"
        instance.report_run_failed(run, message)
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        start, end = run_range(run)
        record_failures(settings, run.run_id, [FailureRecord("run", "interrupted", message)], run.job_name, start, end)
        recovered.append(run.run_id)
    return recovered


# ------------------------------------------------------------------------------------------------ result
def _stages(instance, run_id: str) -> list[Stage]:
    from dagster import DagsterEventType

    types = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
             DagsterEventType.STEP_SKIPPED, DagsterEventType.ASSET_MATERIALIZATION,
             DagsterEventType.ASSET_CHECK_EVALUATION}
    started: dict[str, float] = {}
    ended: dict[str, tuple[str, float]] = {}
    materialized: dict[str, list] = {}
    checks: dict[str, list] = {}
    for entry in instance.all_logs(run_id, of_type=types):
        event = entry.dagster_event
        step = entry.step_key or (event.step_key if event else None)
        if event is None or step is None:
            continue
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            started.setdefault(step, entry.timestamp)
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED):
            ended[step] = (kind.value, entry.timestamp)
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            materialized.setdefault(step, []).append(event.event_specific_data.materialization)
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            checks.setdefault(step, []).append(event.event_specific_data)
    out = []
    for step, name in STAGES.items():
        kind, end = ended.get(step, (None, None))
        status = {"STEP_SUCCESS": "success", "STEP_FAILURE": "failure", "STEP_SKIPPED": "skipped"}.get(kind, "not run")
        seconds = end - started[step] if end and step in started else None
        result = _describe(step, materialized.get(step, []), checks.get(step, [])) if step in started else ""
        out.append(Stage(step, name, status, seconds, result))
    return out


def _value(metadata, key, default=None):
    item = metadata.get(key)
    return default if item is None else item.value


def _check_counts(checks) -> str:
    from dagster import AssetCheckSeverity

    passed = sum(1 for c in checks if c.passed)
    warned = sum(1 for c in checks if not c.passed and c.severity == AssetCheckSeverity.WARN)
    failed = len(checks) - passed - warned
    text = f"{passed} checks passed" + (f", {warned} warned" if warned else "")
    return text + (f", {failed} FAILED" if failed else "")


def _describe(step: str, materializations: list, checks: list) -> str:
    if step == "landing_loads" and materializations:
        meta = materializations[0].metadata
        text = (
            f"{_value(meta, 'run_files_loaded', 0)} files loaded, {_value(meta, 'run_files_unchanged', 0)} unchanged, "
            f"{_value(meta, 'run_files_rejected', 0)} rejected; {_value(meta, 'run_rows_loaded', 0):,} rows "
            f"({_value(meta, 'run_rows_quarantined', 0):,} quarantined)"
        )
        forgotten = _value(meta, "run_files_forgotten", 0)
        return text + (f"; {forgotten} later files set aside" if forgotten else "") + f"; {_check_counts(checks)}"
    if step == "identity__customer_identity" and materializations:
        meta = materializations[0].metadata
        text = (f"{_value(meta, 'records', 0):,} records -> {_value(meta, 'customers', 0):,} customers "
                f"({_value(meta, 'new_records', 0):,} new, {_value(meta, 'changed_records', 0):,} changed)")
        precision, recall = _value(meta, "demo_precision"), _value(meta, "demo_recall")
        return text + (f"; demo truth precision {precision:.4f}, recall {recall:.4f}" if precision is not None else "")
    if step in ("dbt_staging", "dbt_build"):
        return f"{len(materializations)} seeds/models/snapshots built; {_check_counts(checks)} (dbt tests)"
    if step == "maturity_assessment" and materializations:
        for mat in materializations:
            if "summary" in mat.metadata:
                return f"overall {_value(mat.metadata, 'summary')}"
        return ""
    if step == "warehouse_grain":
        return _check_counts(checks)
    if step == "models__campaign_targeting" and materializations:
        metrics = _value(materializations[0].metadata, "metrics", {}) or {}
        if "top_decile_lift" not in metrics:
            return "not validated: " + "; ".join(_value(materializations[0].metadata, "notes", []) or [])
        return (f"top-decile lift {metrics['top_decile_lift']:.2f} (AUC {metrics['auc']:.3f}) on "
                f"{int(metrics['holdout_campaigns'])} held-out campaigns")
    if step == "models__lookalikes" and materializations:
        meta = materializations[0].metadata
        auc = _value(meta, "auc")
        return (f"{_value(meta, 'seed_customers', 0):,} seed customers, AUC {auc:.3f}" if auc is not None
                else _value(meta, "note", ""))
    if step == "customer_value_models" and materializations:
        meta = materializations[0].metadata
        return (f"{_value(meta, 'dagster/row_count', 0):,} customers as of {_value(meta, 'as_of_date')}, "
                f"published model {_value(meta, 'chosen_model')}")
    if step == "customer_segment_rules" and materializations:
        sizes = _value(materializations[0].metadata, "tier_sizes", {}) or {}
        return f"{sum(sizes.values()):,} customers: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
    if step == "serving_database" and materializations:
        meta = materializations[0].metadata
        tables = _value(meta, "tables", {}) or {}
        return f"{len(tables)} tables, {_value(meta, 'dagster/row_count', 0):,} rows; {_check_counts(checks)}"
    if step == "report_pack" and materializations:
        meta = materializations[0].metadata
        return _value(meta, "path") or f"not written: {_value(meta, 'error')}"
    return _check_counts(checks) if checks else ""


def _rejected(instance, run_id: str) -> list[str]:
    from dagster import DagsterEventType

    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        meta = entry.dagster_event.event_specific_data.materialization.metadata
        if "run_rejected" in meta:
            return list(meta["run_rejected"].value)
    return []


def _published(instance, run_id: str) -> dict[str, int]:
    from dagster import AssetKey, DagsterEventType

    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.dagster_event.event_specific_data.materialization
        if mat.asset_key == AssetKey("serving_database"):
            return dict(mat.metadata["tables"].value)
    return {}


# ------------------------------------------------------------------------------------------------ run
def refresh(
    settings: Settings,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    listener: progress.Listener | None = None,
) -> RefreshResult:
    """Run `daily_refresh` once over the delivery days date_from .. date_to (default: every landing file).

    `--to` alone means "as of that day": deliveries after it are set aside first. With `--from` it re-runs
    the range and leaves later deliveries in place."""
    from orchestration.assets.landing import RANGE_END_TAG, RANGE_START_TAG
    from orchestration.definitions import JOB_NAME as JOB
    from orchestration.definitions import build_definitions
    from orchestration.instance import get_instance

    started = time.perf_counter()
    first, last, waiting = plan_range(settings, date_from, date_to)
    as_of = date_to is not None and date_from is None
    tags = {
        RANGE_START_TAG: first.isoformat(),
        RANGE_END_TAG: last.isoformat(),
        TRIGGER_TAG: "cli",
        PID_TAG: str(os.getpid()),
        PID_START_TAG: process_start(os.getpid()) or "",
        HOST_TAG: socket.gethostname(),
        # The CLI reports failures to its user; the instance's automatic run retries are for daemon runs.
        "dagster/max_retries": "0",
    }
    run_config = {
        "ops": {"landing_loads": {"config": {"as_of": as_of}}},
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    with (
        get_instance(settings) as instance,
        warnings.catch_warnings(),
        # What the steps print (dbt's own log lines) goes to a file; the terminal gets the progress bars.
        open(settings.logs_dir / "refresh_output.log", "w", encoding="utf-8") as output,
    ):
        warnings.simplefilter("ignore")
        recovered = recover_interrupted_runs(settings, instance)
        job = build_definitions(settings).resolve_job_def(JOB)
        with progress.listening(listener or (lambda *_: None)), contextlib.redirect_stdout(output):
            result = job.execute_in_process(instance=instance, tags=tags, run_config=run_config, raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
        out = RefreshResult(run_id=result.run_id, success=result.success, first_day=first, last_day=last,
                            as_of=as_of, waiting_files=waiting, recovered_runs=recovered)
        out.stages = _stages(instance, result.run_id)
        if result.success:
            out.published = _published(instance, result.run_id)
            out.published_path = settings.serving_path
        else:
            out.failures = record_run_failure(settings, instance, run)
        out.rejected = _rejected(instance, result.run_id)
    out.seconds = time.perf_counter() - started
    return out


def render_result(result: RefreshResult) -> str:
    span = f"{result.first_day} .. {result.last_day}" + (" (as of the last day)" if result.as_of else "")
    verdict = (
        "published" if result.success
        else "FAILED, nothing published (the previous serving database is unchanged)"
    )
    lines = ["", f"Refresh of delivery days {span}: {verdict}", f"run {result.run_id}", ""]
    for run_id in result.recovered_runs:
        lines.insert(1, f"marked interrupted run {run_id} as failed (its process is gone) and freed its pool slot")
    lines.append(f"  {'stage':<20} {'status':<8} {'time':>8}  result")
    for s in result.stages:
        secs = f"{s.seconds:7.1f}s" if s.seconds is not None else "       -"
        lines.append(f"  {s.name:<20} {s.status:<8} {secs}  {s.result}")
    lines.append(f"  {'total':<20} {'':<8} {result.seconds:7.1f}s")
    if result.published:
        lines += ["", f"Published {result.published_path}"]
        lines.extend(f"  {table:<40} {rows:>12,}" for table, rows in result.published.items())
        lines.append(f"  {'total':<40} {sum(result.published.values()):>12,}")
    if result.failures:
        lines += ["", "What failed"]
        lines.extend(f"  {f.kind} {f.name}: {' '.join(f.message.split())[:300]}" for f in result.failures)
    if result.rejected:
        lines += ["", f"{len(result.rejected)} landing files rejected (nothing of them loaded; see raw.rejected_files)"]
        lines.extend(f"  {reason}" for reason in result.rejected[:20])
    if result.waiting_files:
        lines += ["", f"{result.waiting_files} landing files are dated today or later; "
                  "they load once their day is over"]
    return "\n".join(lines)
