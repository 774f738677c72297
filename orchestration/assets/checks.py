"""Blocking grain checks on the warehouse, run after dbt and before publishing.

dbt tests check each model on its own (unique keys, relationships, invariants). These check the warehouse
against the raw layer it came from: a fact or dimension has exactly one row per natural key delivered
(duplicates and re-deliveries resolved, nothing dropped), and the customer dimension exactly one current
version per customer of the ODS (keys merged away keep only closed versions). A failure stops `publish`,
so dashboards keep the last good database.
"""

from collections.abc import Iterable

import dagster as dg
import duckdb

from orchestration.assets.landing import WAREHOUSE_POOL
from orchestration.landing.contract import ENTITIES
from orchestration.landing.raw_tables import RAW_SCHEMA
from orchestration.settings import Settings

# Warehouse table -> the raw entity whose natural keys (per source system) it has one row for.
ONE_ROW_PER_RAW_KEY = {
    "fct_transactions": "transactions",
    "fct_interactions": "interactions",
    "fct_holdings": "accounts",
    "fct_campaign_contacts": "campaign_contacts",
    "dim_campaign": "campaigns",
}
CUSTOMER_DIMENSION = "dim_customer"
CURRENT_CUSTOMERS = "ods.ods_customers"  # the golden records the snapshot versions
WAREHOUSE = "warehouse"


def _customer_versions(con: duckdb.DuckDBPyConnection) -> tuple[bool, str, dict]:
    """Every customer of the ODS has exactly one current version, and nothing else has one. A key that
    identity resolution merged away (or whose records all left) keeps its closed versions and no current
    one: the snapshot invalidates it, which is history, not a fault."""
    rows, current, doubled, missing, extra, retired, customers = con.execute(f"""
        with dim as (select * from {WAREHOUSE}.{CUSTOMER_DIMENSION}),
        cur as (select customer_key, count(*) as n from dim where is_current group by customer_key),
        ods as (select distinct customer_key from {CURRENT_CUSTOMERS})
        select
            (select count(*) from dim),
            (select coalesce(sum(n), 0) from cur),
            (select count(*) from cur where n > 1),
            (select count(*) from ods where customer_key not in (select customer_key from cur)),
            (select count(*) from cur where customer_key not in (select customer_key from ods)),
            (select count(distinct customer_key) from dim
             where customer_key not in (select customer_key from cur)
               and customer_key not in (select customer_key from ods)),
            (select count(*) from ods)
    """).fetchall()[0]
    passed = doubled == 0 and missing == 0 and extra == 0
    description = (f"{customers:,} customers in the ODS, {current:,} current versions ({doubled:,} customers with "
                   f"more than one, {missing:,} without one, {extra:,} of keys no longer in the ODS); "
                   f"{retired:,} keys retired (merged or gone) keep closed versions only; {rows:,} versions in all")
    return passed, description, {"customers": customers, "current_versions": int(current), "versions": rows,
                                 "doubled": doubled, "missing": missing, "extra": extra, "retired_keys": retired}


def grain_outcomes(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, tuple[bool, str, dict]]:
    """table -> (passed, description, metadata) for the warehouse tables given."""
    out = {}
    for table in tables:
        if table == CUSTOMER_DIMENSION:
            out[table] = _customer_versions(con)
            continue
        entity = ONE_ROW_PER_RAW_KEY[table]
        key = ", ".join(["source_system", *ENTITIES[entity].key])
        (rows,) = con.execute(f"select count(*) from {WAREHOUSE}.{table}").fetchall()[0]
        (keys,) = con.execute(
            f"select count(*) from (select distinct {key} from {RAW_SCHEMA}.{entity}) as k"
        ).fetchall()[0]
        out[table] = (
            rows == keys,
            f"{rows:,} rows for {keys:,} distinct ({key}) in {RAW_SCHEMA}.{entity}",
            {"rows": rows, "raw_natural_keys": keys},
        )
    return out


def build_grain_checks(settings: Settings, available: set[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    tables = [t for t in (*ONE_ROW_PER_RAW_KEY, CUSTOMER_DIMENSION) if dg.AssetKey([WAREHOUSE, t]) in available]
    if not tables:
        return []
    specs = [
        dg.AssetCheckSpec("one_row_per_natural_key" if t != CUSTOMER_DIMENSION else "one_current_version_per_customer",
                          asset=dg.AssetKey([WAREHOUSE, t]), blocking=True)
        for t in tables
    ]

    @dg.multi_asset_check(specs=specs, name="warehouse_grain", pool=WAREHOUSE_POOL, can_subset=True)
    def warehouse_grain(context: dg.AssetCheckExecutionContext):
        selected = [(spec, table) for spec, table in zip(specs, tables, strict=True)
                    if spec.key in context.selected_asset_check_keys]
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            outcomes = grain_outcomes(con, [table for _, table in selected])
        for spec, table in selected:
            passed, description, metadata = outcomes[table]
            yield dg.AssetCheckResult(
                asset_key=spec.asset_key, check_name=spec.name, passed=passed,
                severity=dg.AssetCheckSeverity.ERROR, description=description, metadata=metadata,
            )

    return [warehouse_grain]
