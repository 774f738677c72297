"""`crmw status` and the refresh log: what was refreshed, what is published, how fresh, what failed.

Failed refreshes are written to a small SQLite table, `$CRMW_HOME/status/refresh_log.sqlite` (several
processes append to it safely: `crmw refresh` and the run-failure sensor), plus one line each in
`$CRMW_HOME/logs/refresh.log`. Run history comes from the Dagster instance; what is published, per source
system, comes from the serving database's `meta` tables, opened read-only. Status never opens the working
warehouse, so it cannot get in a refresh's way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.landing.loader import discover
from orchestration.publish import connect_serving
from orchestration.settings import Settings

JOB_NAME = "daily_refresh"
# Tags `crmw refresh` puts on its runs: who started it, and which process on which host runs it.
TRIGGER_TAG = "crmw/trigger"
PID_TAG = "crmw/pid"
PID_START_TAG = "crmw/pid_start"
HOST_TAG = "crmw/host"

_SCHEMA = """
create table if not exists failures (
    run_id text not null,
    recorded_at text not null,
    job_name text,
    range_start text,
    range_end text,
    kind text not null,      -- run, step, check, skipped
    name text not null,
    message text,
    primary key (run_id, kind, name)
)
"""


@dataclass(frozen=True)
class FailureRecord:
    kind: str
    name: str
    message: str


@contextlib.contextmanager
def _log_db(settings: Settings) -> Iterator[sqlite3.Connection]:
    path = settings.refresh_log_path
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30)
    try:
        con.execute(_SCHEMA)
        with con:
            yield con
    finally:
        con.close()


def record_failures(
    settings: Settings, run_id: str, failures: list[FailureRecord], job_name: str = JOB_NAME,
    range_start: str | None = None, range_end: str | None = None,
) -> int:
    """Record a failed refresh's failures (once per run, kind and name); returns how many were new."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    new = []
    with _log_db(settings) as con:
        for f in failures:
            cur = con.execute(
                "insert or ignore into failures values (?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, now, job_name, range_start, range_end, f.kind, f.name, f.message],
            )
            if cur.rowcount:
                new.append(f)
    if new:
        settings.logs_dir.mkdir(parents=True, exist_ok=True)
        window = f" {range_start}..{range_end}" if range_start else ""
        with (settings.logs_dir / "refresh.log").open("a", encoding="utf-8") as log:
            for f in new:
                message = " ".join(f.message.split())[:500]
                log.write(f"{now} FAILED run {run_id}{window} {f.kind} {f.name}: {message}\n")
    return len(new)


def recent_failures(settings: Settings, limit: int = 10) -> list[tuple]:
    if not settings.refresh_log_path.exists():
        return []
    with _log_db(settings) as con:
        return con.execute(
            "select recorded_at, run_id, range_start, range_end, kind, name, message from failures "
            "order by recorded_at desc, run_id, kind, name limit ?",
            [limit],
        ).fetchall()


# ------------------------------------------------------------------------------------------------ runs
def process_start(pid: int) -> str | None:
    """The start time of a process (clock ticks since boot), to tell a live process from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return started is None or process_start(pid) in (None, started)


def process_gone(run) -> bool:
    """A run `crmw refresh` started on this host whose process no longer exists (it was killed)."""
    if run.tags.get(TRIGGER_TAG) != "cli" or run.tags.get(HOST_TAG) != socket.gethostname():
        return False
    pid = int(run.tags.get(PID_TAG, "0") or 0)
    return bool(pid) and not _alive(pid, run.tags.get(PID_START_TAG))


def failures_of_run(instance, run_id: str) -> list[FailureRecord]:
    """What went wrong in a run, from its event log: failed steps, failed checks, skipped steps, the run."""
    from dagster import DagsterEventType

    out: list[FailureRecord] = []
    types = {DagsterEventType.STEP_FAILURE, DagsterEventType.ASSET_CHECK_EVALUATION,
             DagsterEventType.STEP_SKIPPED, DagsterEventType.RUN_FAILURE}
    for entry in instance.all_logs(run_id, of_type=types):
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            message = event.message or ""
            if error and error.message:
                message = " ".join(error.message.strip().splitlines()[:3])
            if event.step_failure_data.user_failure_data and event.step_failure_data.user_failure_data.description:
                message = event.step_failure_data.user_failure_data.description
            out.append(FailureRecord("step", event.step_key or "?", message))
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                out.append(FailureRecord(
                    "check", f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
                    f"[{evaluation.severity.value}] {evaluation.description or 'failed'}",
                ))
        elif kind == DagsterEventType.STEP_SKIPPED:
            out.append(FailureRecord("skipped", event.step_key or "?",
                                     "not run: an upstream step or blocking check failed"))
        elif kind == DagsterEventType.RUN_FAILURE:
            out.append(FailureRecord("run", "run", event.message or "run failed"))
    return out


def run_range(run) -> tuple[str | None, str | None]:
    tags = run.tags
    start = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    end = tags.get("dagster/asset_partition_range_end") or tags.get("dagster/partition")
    return start, end


def record_run_failure(settings: Settings, instance, run) -> list[FailureRecord]:
    """Record a failed run's failures in the refresh log (table and log line); returns them."""
    failures = failures_of_run(instance, run.run_id) or [FailureRecord("run", "run", "run failed")]
    start, end = run_range(run)
    record_failures(settings, run.run_id, failures, run.job_name, start, end)
    return failures


# ------------------------------------------------------------------------------------------------ status
@dataclass
class Status:
    last_success: dict | None = None
    last_run: dict | None = None
    running: list[dict] = field(default_factory=list)
    published: dict | None = None
    deliveries: list[tuple] = field(default_factory=list)  # from the serving meta
    landing_latest: dict[str, tuple[dt.date, int]] = field(default_factory=dict)  # system -> (latest day, files)
    failed_checks: list[FailureRecord] = field(default_factory=list)  # in the last run
    failures: list[tuple] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _run_summary(instance, record) -> dict:
    run = record.dagster_run
    start, end = run_range(run)
    seconds = (record.end_time - record.start_time) if record.end_time and record.start_time else None
    state = run.status.value
    if not run.is_finished and process_gone(run):
        state = "interrupted (its crmw process is gone; the next refresh marks it failed)"
    return {
        "run_id": run.run_id, "status": state, "range": (start, end),
        "trigger": run.tags.get("crmw/trigger") or ("schedule" if run.tags.get("dagster/schedule_name")
                                                   else "sensor" if run.tags.get("dagster/sensor_name") else "ui"),
        "started": dt.datetime.fromtimestamp(record.start_time, dt.UTC) if record.start_time else None,
        "seconds": seconds,
    }


def recent_runs(settings: Settings, limit: int = 10) -> list[dict]:
    """The latest runs of the refresh job, newest first (run id, status, range, trigger, start, seconds); empty
    when no refresh has run in this CRMW_HOME. Reads the Dagster instance: seconds on first use."""
    if not (settings.dagster_home / "dagster.yaml").exists():
        return []
    from dagster import RunsFilter

    from orchestration.instance import get_instance

    with get_instance(settings) as instance:
        records = instance.get_run_records(RunsFilter(job_name=JOB_NAME), limit=limit)
        return [_run_summary(instance, r) for r in records]


def collect_status(settings: Settings) -> Status:
    status = Status()
    if (settings.dagster_home / "dagster.yaml").exists():
        from dagster import DagsterRunStatus, RunsFilter

        from orchestration.instance import get_instance

        with get_instance(settings) as instance:
            ok = instance.get_run_records(
                RunsFilter(job_name=JOB_NAME, statuses=[DagsterRunStatus.SUCCESS]), limit=1
            )
            done = instance.get_run_records(
                RunsFilter(job_name=JOB_NAME, statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE,
                                                        DagsterRunStatus.CANCELED]), limit=1
            )
            running = instance.get_run_records(
                RunsFilter(job_name=JOB_NAME, statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING,
                                                        DagsterRunStatus.QUEUED]), limit=5
            )
            status.last_success = _run_summary(instance, ok[0]) if ok else None
            status.last_run = _run_summary(instance, done[0]) if done else None
            status.running = [_run_summary(instance, r) for r in running]
            if done:
                status.failed_checks = [f for f in failures_of_run(instance, done[0].dagster_run.run_id)
                                        if f.kind == "check"]
    else:
        status.notes.append(f"no refresh has run in {settings.home} yet")
    if settings.serving_path.exists():
        try:
            with connect_serving(settings) as con:
                (run_id, published_at, range_start, range_end, data_through), = con.execute(
                    "select run_id, published_at, range_start, range_end, data_through from meta.publish"
                ).fetchall()
                tables = con.execute(
                    "select table_schema, table_name from information_schema.tables where table_catalog = 'crm' "
                    "and table_schema not in ('meta', 'information_schema', 'pg_catalog') order by 1, 2"
                ).fetchall()
                rows = {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0]
                        for s, t in tables}
                status.deliveries = con.execute(
                    "select source_system, entity, files, last_delivery_date, rows_loaded, rows_quarantined, "
                    "dq_issues from meta.deliveries order by 1, 2"
                ).fetchall()
            status.published = {
                "path": settings.serving_path, "bytes": settings.serving_path.stat().st_size,
                "run_id": run_id, "published_at": published_at, "range": (range_start, range_end),
                "data_through": data_through, "tables": rows,
            }
        except duckdb.Error as exc:
            status.notes.append(f"cannot read {settings.serving_path}: {exc}")
    else:
        status.notes.append(f"nothing published yet ({settings.serving_path} does not exist)")
    files, _ = discover(settings.landing_dir)
    for f in files:
        day, n = status.landing_latest.get(f.source_system, (f.delivery_date, 0))
        status.landing_latest[f.source_system] = (max(day, f.delivery_date), n + 1)
    status.failures = recent_failures(settings, limit=10)
    return status


def _when(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):  # stored and shown in UTC
        return value.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    return str(value)


def _run_line(run: dict) -> str:
    start, end = run["range"]
    span = f"{start} .. {end}" if start else "unpartitioned"
    secs = f", {run['seconds']:.1f}s" if run["seconds"] is not None else ""
    return (f"{_when(run['started'])}  run {run['run_id'][:8]}  {run['status'].lower()}  "
            f"({run['trigger']}, {span}{secs})")


def render_status(status: Status, settings: Settings) -> str:
    lines = [f"crm-warehouse status ({settings.home})", ""]
    lines.append("Last successful refresh: " + (_run_line(status.last_success) if status.last_success else "none"))
    if status.last_run and (not status.last_success or status.last_run["run_id"] != status.last_success["run_id"]):
        lines.append("Last refresh:            " + _run_line(status.last_run))
    for run in status.running:
        lines.append("Running now:             " + _run_line(run))
    lines.append("")
    pub = status.published
    if pub:
        start, end = pub["range"]
        lines += [
            f"Published: {pub['path']} ({pub['bytes'] / 1e6:.1f} MB)",
            f"  at {_when(pub['published_at'])} by run {pub['run_id'][:8]}, days {start} .. {end}, "
            f"data through {pub['data_through']}",
            f"  {len(pub['tables'])} tables, {sum(pub['tables'].values()):,} rows:",
        ]
        lines.extend(f"    {name:<40} {rows:>12,}" for name, rows in pub["tables"].items())
    else:
        lines.append("Published: nothing yet")
    lines += ["", "Freshness per source system (published vs landing folder)"]
    lines.append(f"  {'source system':<18} {'published through':<18} {'latest file':<12} {'files':>7} {'behind':>7}")
    published_latest: dict[str, tuple[dt.date, int]] = {}
    for system, _, files, last, *_ in status.deliveries:
        day, n = published_latest.get(system, (last, 0))
        published_latest[system] = (max(day, last), n + files)
    for system in sorted(set(published_latest) | set(status.landing_latest)):
        pub_day, pub_files = published_latest.get(system, (None, 0))
        land_day, land_files = status.landing_latest.get(system, (None, 0))
        behind = (land_day - pub_day).days if pub_day and land_day else None
        lines.append(
            f"  {system:<18} {_when(pub_day):<18} {_when(land_day):<12} {pub_files:>7,} "
            f"{('-' if behind is None else f'{behind}d'):>7}"
        )
    quarantined = [(s, e, q) for s, e, _, _, _, q, _ in status.deliveries if q]
    total_q = sum(q for *_, q in quarantined)
    lines += ["", f"Quarantined rows (published): {total_q:,}"]
    lines.extend(f"  {s}/{e:<24} {q:>10,}" for s, e, q in quarantined)
    lines += ["", "Failed checks in the last refresh: " + ("none" if not status.failed_checks else "")]
    lines.extend(f"  {f.name}: {f.message}" for f in status.failed_checks)
    if status.failures:
        lines += ["", f"Recent failures (from {settings.refresh_log_path.name})"]
        for recorded_at, run_id, _, _, kind, name, message in status.failures:
            lines.append(f"  {recorded_at}  run {run_id[:8]}  {kind} {name}: {' '.join((message or '').split())[:150]}")
    if status.notes:
        lines += [""] + [f"note: {n}" for n in status.notes]
    return "\n".join(lines)


def log_path(settings: Settings) -> Path:
    return settings.logs_dir / "refresh.log"
