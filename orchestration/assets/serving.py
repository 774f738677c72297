"""`serving_database` (group `publish`): write-audit-publish of what dashboards read.

It runs only when every upstream step succeeded: the loads' blocking checks, `dbt build` with all its tests,
and the warehouse grain checks. It then writes a new serving file, audits it against the working
warehouse and renames it over $CRMW_HOME/serving/crm.duckdb (see orchestration/publish.py).
"""

import datetime as dt
from collections.abc import Iterable

import dagster as dg

from orchestration import progress
from orchestration.assets.landing import RANGE_END_TAG, RANGE_START_TAG, WAREHOUSE_POOL
from orchestration.publish import PUBLISHED_SCHEMAS, AuditError, publish
from orchestration.settings import Settings

GROUP = "publish"
# Groups whose assets must be built (and pass their checks) before publishing.
PUBLISHED_GROUPS = ("warehouse", "quality", "models", "marts")
AUDIT_CHECK = "copy_matches_working_warehouse"


def _range_of_run(context: dg.AssetExecutionContext) -> tuple[dt.date | None, dt.date | None]:
    tags = context.run.tags
    start = tags.get(RANGE_START_TAG) or tags.get("dagster/partition")
    end = tags.get(RANGE_END_TAG) or tags.get("dagster/partition")
    return (dt.date.fromisoformat(start) if start else None, dt.date.fromisoformat(end) if end else None)


def _failing_blocking_checks(context: dg.AssetExecutionContext, blocking: list[dg.AssetCheckKey]) -> list[str]:
    """Blocking checks upstream of publish whose latest evaluation failed (in this run or, when publish
    runs on its own, in the last run that evaluated them). The keys are fixed when the definitions are
    built: a run of publish alone sees a job subset without the upstream checks."""
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(blocking)
    return sorted(k.to_user_string() for k, record in latest.items() if record.status.value == "FAILED")


def build_serving_database(
    settings: Settings, upstream: Iterable[dg.AssetSpec], blocking_checks: Iterable[dg.AssetCheckKey]
) -> dg.AssetsDefinition:
    deps = sorted({spec.key for spec in upstream if spec.group_name in PUBLISHED_GROUPS}, key=str)
    blocking = sorted(set(blocking_checks), key=lambda k: k.to_user_string())

    @dg.asset(
        name="serving_database",
        group_name=GROUP,
        deps=deps,
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        check_specs=[
            dg.AssetCheckSpec(AUDIT_CHECK, asset="serving_database",
                              description="the published copy has the working warehouse's rows and checksums")
        ],
        description=f"The published database ({', '.join(PUBLISHED_SCHEMAS)} + meta) at "
        "$CRMW_HOME/serving/crm.duckdb, replaced atomically after every check passed.",
    )
    def serving_database(context: dg.AssetExecutionContext):
        failing = _failing_blocking_checks(context, blocking)
        if failing:  # e.g. publish launched on its own after a failed refresh
            raise dg.Failure(
                description=f"not publishing: {len(failing)} blocking checks upstream failed in their latest "
                f"evaluation ({', '.join(failing[:5])}); run the refresh again once they pass",
                allow_retries=False,
            )
        range_start, range_end = _range_of_run(context)
        try:
            report = publish(
                settings, context.run.run_id, range_start, range_end,
                progress=lambda done, total, note: progress.report("publish", done, total, note),
            )
        except AuditError as exc:
            yield dg.AssetCheckResult(check_name=AUDIT_CHECK, passed=False, description=str(exc))
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        context.log.info(f"published {len(report.tables)} tables, {report.rows:,} rows to {report.path}")
        yield dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(report.path)),
                "tables": {t: n for t, n in report.tables.items()},
                "dagster/row_count": report.rows,
                "bytes": report.bytes,
                "data_through": report.data_through.isoformat() if report.data_through else None,
                "range_start": range_start.isoformat() if range_start else None,
                "range_end": range_end.isoformat() if range_end else None,
                "seconds": round(report.seconds, 2),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=AUDIT_CHECK, passed=True,
                    description=f"{len(report.tables)} tables, {report.rows:,} rows match the working warehouse",
                    metadata={"checksums": report.checksums},
                )
            ],
        )

    return serving_database
