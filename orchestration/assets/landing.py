"""Landing loads: `raw/landing`, the raw layer, daily partitioned by delivery day.

Partition D means "the landing files delivered on D are in the raw tables" (loaded, quarantined row by row,
or rejected whole). The asset is the whole raw layer the loader writes, one DuckDB table per landing entity
(`raw.customers`, `raw.transactions`, ...); it is the dbt source `landing`, so every staging model hangs off
it. A run over a range of days (a backfill, `crmw refresh`) loads them all in one step (single-run backfill
policy): the loader reads the files of one entity in one scan, and Dagster records one event per day, so a
year of daily files costs no per-day overhead. Loads are idempotent, so retrying or re-running a day changes
nothing. Two blocking checks gate everything downstream, each reporting table by table:

- `reconciles_with_files`: every current file's rows = rows loaded + rows quarantined, and the raw and
  quarantine tables hold exactly those rows (nothing lost, nothing left over);
- `has_every_delivered_file` (freshness): every landing file delivered up to the run's last day is in the
  raw layer with the same content, or was rejected; the warehouse is not behind its landing folder.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from orchestration import progress
from orchestration.landing.contract import ENTITIES
from orchestration.landing.loader import ReconciliationError, discover, file_sha256, load_landing
from orchestration.landing.raw_tables import RAW_SCHEMA, create_raw_tables
from orchestration.settings import Settings

GROUP = "landing"
# Everything that writes (or reads) the working DuckDB file runs in this pool; dagster.yaml gives every
# pool a single slot, because DuckDB allows one writer per file.
WAREHOUSE_POOL = "crmw_warehouse"
# Run tags that make a run cover a range of partitions (what a single-run backfill sets).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
LOAD_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


# The raw layer as the dbt source `landing` in schema `raw` (see the translator in assets/dbt.py).
RAW_KEY = dg.AssetKey([RAW_SCHEMA, "landing"])


def landing_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """A partition per delivery day, from [refresh].first_day to yesterday (a day is loaded once it is over)."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.refresh.first_day.isoformat(), timezone=settings.refresh.zone, end_offset=0
    )


# ------------------------------------------------------------------------------------------------ helpers
def forget_deliveries_after(con: duckdb.DuckDBPyConnection, day: dt.date) -> int:
    """Take deliveries after `day` out of the raw layer (they stay in the landing folder), so the warehouse
    holds what it knew on `day`. Their load-log rows stop being current, so a later refresh loads them
    again. Returns the number of files forgotten."""
    create_raw_tables(con)
    (files,) = con.execute(
        f"select count(*) from {RAW_SCHEMA}.load_log where is_current and _delivery_date > ?", [day]
    ).fetchall()[0]
    con.execute("begin transaction")
    try:
        for table in (*ENTITIES, "quarantine", "dq_issues"):
            con.execute(f"delete from {RAW_SCHEMA}.{table} where _delivery_date > ?", [day])
        con.execute(
            f"update {RAW_SCHEMA}.load_log set is_current = false where is_current and _delivery_date > ?", [day]
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return int(files)


@dataclass
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


def reconcile_loads(con: duckdb.DuckDBPyConnection) -> dict[str, CheckOutcome]:
    """Per entity: do the raw and quarantine tables hold exactly the rows the load log says were loaded?"""
    outcomes = {}
    for entity in ENTITIES:
        rows = con.execute(
            f"""
            with logged as (
                select _file, rows_in_file, rows_loaded, rows_quarantined from {RAW_SCHEMA}.load_log
                where is_current and entity = ?
            ),
            loaded as (select _file, count(*) as n from {RAW_SCHEMA}.{entity} group by _file),
            quarantined as (
                select _file, count(*) as n from {RAW_SCHEMA}.quarantine where entity = ? group by _file
            ),
            files as (
                select _file from logged union select _file from loaded union select _file from quarantined
            )
            select f._file, l.rows_in_file, l.rows_loaded, coalesce(r.n, 0), l.rows_quarantined, coalesce(q.n, 0)
            from files as f
            left join logged as l on l._file = f._file
            left join loaded as r on r._file = f._file
            left join quarantined as q on q._file = f._file
            where l._file is null
               or l.rows_in_file <> l.rows_loaded + l.rows_quarantined
               or l.rows_loaded <> coalesce(r.n, 0)
               or l.rows_quarantined <> coalesce(q.n, 0)
            order by 1
            """,
            [entity, entity],
        ).fetchall()
        (files, in_files, loaded, quarantined) = con.execute(
            f"select count(*), coalesce(sum(rows_in_file), 0), coalesce(sum(rows_loaded), 0), "
            f"coalesce(sum(rows_quarantined), 0) from {RAW_SCHEMA}.load_log where is_current and entity = ?",
            [entity],
        ).fetchall()[0]
        problems = [
            f"{file}: " + (
                f"{raw_rows} raw rows from a file that is not in the load log" if in_file is None
                else f"{in_file} rows in file, load log {logged_ok} loaded + {logged_q} quarantined, "
                f"raw table has {raw_rows}, quarantine has {q_rows}"
            )
            for file, in_file, logged_ok, raw_rows, logged_q, q_rows in rows
        ]
        outcomes[entity] = CheckOutcome(
            passed=not problems,
            description=(
                f"{files} files: {in_files:,} rows = {loaded:,} loaded + {quarantined:,} quarantined"
                if not problems else f"{len(problems)} files do not reconcile; first: {problems[0]}"
            ),
            metadata={"files": int(files), "rows_in_files": int(in_files), "rows_loaded": int(loaded),
                      "rows_quarantined": int(quarantined), "mismatches": problems[:20]},
        )
    return outcomes


def check_deliveries(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, first_day: dt.date, last_day: dt.date
) -> dict[str, CheckOutcome]:
    """Per entity: is every landing file delivered from `first_day` to `last_day` loaded with its current
    content (or rejected)? Also reports each source system's latest delivery day loaded."""
    files, _ = discover(landing_dir, first_day, last_day)
    current = dict(
        con.execute(f"select _file, file_sha256 from {RAW_SCHEMA}.load_log where is_current").fetchall()
    )
    rejected = set(con.execute(f"select _file, file_sha256 from {RAW_SCHEMA}.rejected_files").fetchall())
    missing: dict[str, list[str]] = defaultdict(list)
    seen: dict[str, int] = defaultdict(int)
    for f in files:
        seen[f.entity] += 1
        sha = current.get(f.rel)
        content = file_sha256(f.path)  # once per file: this check reads every delivered file
        if sha == content or (f.rel, content) in rejected:
            continue
        missing[f.entity].append(f.rel + (" (changed since it was loaded)" if sha else " (not loaded)"))
    latest = {
        (system, entity): day
        for system, entity, day in con.execute(
            f"select source_system, entity, max(_delivery_date) from {RAW_SCHEMA}.load_log "
            "where is_current group by 1, 2"
        ).fetchall()
    }
    outcomes = {}
    for entity in ENTITIES:
        latest_by_system = {s: d.isoformat() for (s, e), d in sorted(latest.items()) if e == entity}
        gone = missing.get(entity, [])
        outcomes[entity] = CheckOutcome(
            passed=not gone,
            description=(
                f"all {seen[entity]} files delivered up to {last_day} are loaded" if not gone
                else f"{len(gone)} of {seen[entity]} files delivered up to {last_day} are not in the warehouse; "
                f"first: {gone[0]}. Run `crmw refresh` over their days."
            ),
            metadata={"files_delivered": seen[entity], "not_loaded": gone[:20],
                      "latest_delivery_by_source_system": latest_by_system},
        )
    return outcomes


def entity_stats(con: duckdb.DuckDBPyConnection, first_day: dt.date, last_day: dt.date) -> dict[str, dict]:
    """Per entity: current files and rows delivered in the window (for materialization metadata)."""
    stats = {e: {"files": 0, "rows_loaded": 0, "rows_quarantined": 0, "dq_issues": 0} for e in ENTITIES}
    for entity, files, loaded, quarantined, issues in con.execute(
        f"select entity, count(*), sum(rows_loaded), sum(rows_quarantined), sum(dq_issues) "
        f"from {RAW_SCHEMA}.load_log where is_current and _delivery_date between ? and ? group by 1",
        [first_day, last_day],
    ).fetchall():
        if entity in stats:
            stats[entity] = {"files": int(files), "rows_loaded": int(loaded), "rows_quarantined": int(quarantined),
                             "dq_issues": int(issues)}
    return stats


# ------------------------------------------------------------------------------------------------ asset
class LandingLoadConfig(dg.Config):
    """`as_of`: forget deliveries after the run's last day first, so the warehouse shows what it knew then
    (`crmw refresh --to D`). Off for schedules, sensors and re-runs of a range."""

    as_of: bool = False


def _combined(outcomes: dict[str, CheckOutcome]) -> CheckOutcome:
    """One check result for the raw layer from the outcome of each raw table."""
    failed = {entity: o for entity, o in outcomes.items() if not o.passed}
    description = (
        "; ".join(f"{entity}: {o.description}" for entity, o in failed.items()) if failed
        else "; ".join(f"{entity}: {o.description}" for entity, o in outcomes.items())
    )
    return CheckOutcome(not failed, description[:2000], {entity: o.metadata for entity, o in outcomes.items()})


def build_landing_loads(settings: Settings, partitions_def: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    raw_layer = dg.AssetSpec(
        RAW_KEY, group_name=GROUP, partitions_def=partitions_def, kinds={"python", "duckdb"},
        metadata={"dagster/table_name": f"{RAW_SCHEMA}.*", "tables": [f"{RAW_SCHEMA}.{e}" for e in ENTITIES]},
        description="The raw layer: the landing files of each delivery day loaded into one table per entity "
        "(quarantine, data-quality issues and load log beside them). Idempotent.",
    )

    @dg.multi_asset(
        name="landing_loads",
        specs=[raw_layer],
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=LOAD_RETRY,
        pool=WAREHOUSE_POOL,
        check_specs=[
            dg.AssetCheckSpec("reconciles_with_files", asset=RAW_KEY, blocking=True,
                              description="rows in files = rows loaded + rows quarantined, table by table"),
            dg.AssetCheckSpec("has_every_delivered_file", asset=RAW_KEY, blocking=True,
                              description="every file delivered up to the run's last day is loaded (freshness)"),
        ],
    )
    def landing_loads(context: dg.AssetExecutionContext, config: LandingLoadConfig):
        window = context.partition_time_window
        first_day, last_day = window.start.date(), (window.end - dt.timedelta(days=1)).date()
        files, _ = discover(settings.landing_dir, first_day, last_day)
        total = len(files)
        done = 0
        progress.report("load", 0, total, f"{first_day} .. {last_day}")

        def on_batch(message: str) -> None:
            nonlocal done
            context.log.info(message)
            parts = message.split()
            if len(parts) > 2 and parts[0] == "loaded" and parts[2].isdigit():
                done += int(parts[2])
                progress.report("load", done, total, parts[1])

        try:
            # A lock held by another process raises duckdb.IOException: the retry policy treats it as transient.
            with settings.connect_warehouse() as con:
                forgotten = forget_deliveries_after(con, last_day) if config.as_of else 0
                if forgotten:
                    context.log.info(f"set aside {forgotten} files delivered after {last_day} (as of {last_day})")
                report = load_landing(con, settings.landing_dir, first_day, last_day, progress=on_batch)
                stats = entity_stats(con, first_day, last_day)
                reconciled = _combined(reconcile_loads(con))
                delivered = _combined(check_deliveries(con, settings.landing_dir, settings.refresh.first_day, last_day))
        except ReconciliationError as exc:  # deterministic: retrying cannot help
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        progress.report("load", total, total, f"{report.rows_loaded:,} rows, {report.files_unchanged} files unchanged")
        for _, reason in report.rejected:
            context.log.warning(f"rejected {reason}")
        yield dg.MaterializeResult(
            asset_key=RAW_KEY,
            metadata={
                "first_day": first_day.isoformat(),
                "last_day": last_day.isoformat(),
                # What this run changed.
                "run_files_loaded": report.files_loaded,
                "run_files_unchanged": report.files_unchanged,
                "run_files_rejected": len(report.rejected),
                "run_rows_loaded": report.rows_loaded,
                "run_rows_quarantined": report.rows_quarantined,
                "run_files_forgotten": forgotten,
                "run_rejected": [reason for _, reason in report.rejected][:50],
                # What the raw tables hold from the range's deliveries, table by table.
                "delivered_in_range": stats,
            },
        )
        for check_name, outcome in (("reconciles_with_files", reconciled), ("has_every_delivered_file", delivered)):
            yield dg.AssetCheckResult(
                asset_key=RAW_KEY, check_name=check_name, passed=outcome.passed, severity=dg.AssetCheckSeverity.ERROR,
                description=outcome.description, metadata=outcome.metadata,
            )

    return landing_loads
