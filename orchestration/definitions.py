"""The one Dagster `Definitions` of crm-warehouse: the daily refresh as an asset graph.

    landing loads (raw/landing, daily partitions) -> dbt part 1 (`dbt_staging`): seeds, staging of the
        landing files, the ODS's intermediate views -> identity resolution (identity/customer_identity)
        -> dbt part 2 (`dbt_build`): identity staging, ods, snapshots, warehouse (+ marts)
        -> Python models (models_ml wrappers) -> the maturity assessment -> warehouse grain checks
        -> publish (serving_database)
        -> the executive report pack (report_pack)

`daily_refresh` is one job over all of it; a run over a range of delivery days loads them in one step and
builds once (`crmw refresh`, backfills, the sensor). The schedule runs it every night for the day just over.
Everything that touches the working DuckDB file shares the `crmw_warehouse` pool (one slot). Paths come from
CRMW_HOME and the settings file (orchestration/settings.py), read when the definitions load.

Load it with `crmw ui`, or `dagster dev -m orchestration.definitions` with DAGSTER_HOME and
CRMW_DAGSTER_STORAGE set (see orchestration/instance.py).
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.checks import build_grain_checks
from orchestration.assets.dbt import build_dbt_assets
from orchestration.assets.identity import build_customer_identity
from orchestration.assets.landing import build_landing_loads, landing_partitions
from orchestration.assets.maturity import build_maturity_assessment
from orchestration.assets.models import build_model_assets
from orchestration.assets.report import build_report_pack
from orchestration.assets.serving import build_serving_database
from orchestration.sensors import build_sensors
from orchestration.settings import Settings, load_settings

JOB_NAME = "daily_refresh"
# The dbt view identity resolution reads (built by the first dbt part).
INPUT_KEY = dg.AssetKey(["ods", "int_customers_conformed"])


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions_def = landing_partitions(settings)
    landing_loads = build_landing_loads(settings, partitions_def)
    dbt_parts, dbt_resource = build_dbt_assets(settings)
    customer_identity = build_customer_identity(settings, INPUT_KEY)
    transform = [*dbt_parts, customer_identity, *build_model_assets(settings)]
    # The maturity assessment reads everything the transform built, so it comes after all of it.
    transform.append(build_maturity_assessment(settings, [s for a in transform for s in a.specs]))
    transform_specs = [spec for assets_def in transform for spec in assets_def.specs]
    grain_checks = build_grain_checks(settings, {spec.key for spec in transform_specs})
    blocking_checks = [
        spec.key
        for assets_def in (landing_loads, *transform, *grain_checks)
        for spec in assets_def.check_specs
        if spec.blocking
    ]
    serving_database = build_serving_database(settings, transform_specs, blocking_checks)
    report_pack = build_report_pack(settings, serving_database.key)

    daily_refresh = dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.all(),
        description="Load landing files of a range of delivery days, build and test with dbt, resolve customer "
        "identities, run the models, check, publish.",
    )
    schedule = dg.build_schedule_from_partitioned_job(
        daily_refresh,
        name="nightly_refresh",
        hour_of_day=settings.refresh.hour,
        minute_of_hour=settings.refresh.minute,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every day at {settings.refresh.schedule} ({settings.refresh.zone}): refresh the day just over.",
    )
    return dg.Definitions(
        assets=[landing_loads, *transform, serving_database, report_pack],
        asset_checks=grain_checks,
        jobs=[daily_refresh],
        schedules=[schedule],
        sensors=build_sensors(settings, daily_refresh, partitions_def),
        resources={"dbt": dbt_resource},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
