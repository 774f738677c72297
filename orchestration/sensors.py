"""Sensors: start a refresh when new landing files appear; record every failed refresh.

`new_landing_files` fingerprints the landing folder per delivery day (paths, sizes, modification times; no
file is opened) and requests one run over the range of days that changed since its last tick. Its first
tick only records the folder as it is: files already there are the schedule's or `crmw refresh`'s business.
Days that are not over yet wait for their partition (the schedule picks them up at night).

`refresh_failures` records every failed `daily_refresh` run, whoever launched it, in the refresh log (a
table and a log line) that `crmw status` shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict

import dagster as dg

from orchestration.assets.landing import RANGE_END_TAG, RANGE_START_TAG
from orchestration.landing.loader import discover
from orchestration.settings import Settings
from orchestration.status import record_run_failure


def landing_fingerprints(settings: Settings, last_day: dt.date) -> dict[str, str]:
    """Delivery day -> fingerprint of its files (path, size, mtime), for days first_day .. last_day."""
    files, _ = discover(settings.landing_dir, settings.refresh.first_day, last_day)
    by_day: dict[str, list[str]] = defaultdict(list)
    for f in files:
        st = f.path.stat()
        by_day[f.delivery_date.isoformat()].append(f"{f.rel}|{st.st_size}|{st.st_mtime_ns}")
    return {day: hashlib.sha1("\n".join(sorted(v)).encode()).hexdigest()[:16] for day, v in by_day.items()}


def changed_days(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    return sorted(day for day, fp in current.items() if previous.get(day) != fp)


def build_sensors(settings: Settings, job, partitions_def: dg.DailyPartitionsDefinition) -> list:
    @dg.sensor(
        name="new_landing_files",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts a refresh over the delivery days whose landing files are new or changed.",
    )
    def new_landing_files(context: dg.SensorEvaluationContext):
        last_key = partitions_def.get_last_partition_key()
        if last_key is None:
            return dg.SkipReason("no complete delivery day yet")
        current = landing_fingerprints(settings, dt.date.fromisoformat(last_key))
        if context.cursor is None:
            context.update_cursor(json.dumps(current, sort_keys=True))
            return dg.SkipReason(f"recorded the landing folder as it is: {len(current)} delivery days")
        days = changed_days(json.loads(context.cursor), current)
        if not days:
            return dg.SkipReason("no new or changed landing files")
        first, last = days[0], days[-1]
        context.update_cursor(json.dumps(current, sort_keys=True))
        run_key = "landing-" + hashlib.sha1(json.dumps({d: current[d] for d in days}).encode()).hexdigest()[:16]
        return dg.RunRequest(
            run_key=run_key,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last,
                  "crmw/trigger": "sensor", "crmw/changed_days": str(len(days))},
        )

    @dg.run_failure_sensor(
        name="refresh_failures",
        monitored_jobs=[job],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records every failed daily_refresh in the refresh log that `crmw status` shows.",
    )
    def refresh_failures(context: dg.RunFailureSensorContext):
        failures = record_run_failure(settings, context.instance, context.dagster_run)
        for f in failures:
            context.log.error(f"refresh {context.dagster_run.run_id} failed: {f.kind} {f.name}: {f.message}")

    return [new_landing_files, refresh_failures]
