"""Customer lifetime value in the refresh: read the working warehouse's transactions and customer P&L, run
models_ml.clv.customer_clv (backtest, model choice, forecast), write `marts.customer_clv` and
`marts.model_metrics`, which publish copies to the serving database.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from models_ml.clv.customer_value import ClvConfig, ClvResult, customer_clv
from models_ml.clv.features import MONTH_COLUMNS
from orchestration.settings import Settings
from orchestration.warehouses import DuckDBWarehouse

SCHEMA = "marts"  # published (orchestration/publish.py PUBLISHED_SCHEMAS)
CLV_TABLE, METRICS_TABLE = "customer_clv", "model_metrics"


def latest_landing_date(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The latest delivery day loaded (the refresh's cut-off when it was not given)."""
    has_log = con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                          "and table_name = 'load_log'").fetchall()[0][0]
    day = None
    if has_log:
        day = con.execute("select max(_delivery_date) from raw.load_log where is_current").fetchall()[0][0]
    if day is None:
        raise ValueError("no landing file has been loaded: nothing to forecast customer value from")
    return day


def run_clv(settings: Settings, range_end: dt.date | None = None) -> ClvResult:
    """Forecast and write customer_clv and model_metrics as of the refresh's cut-off day."""
    return clv_for_warehouse(settings.warehouse_path, ClvConfig(
        horizon_days=settings.clv.horizon_days, annual_discount_rate=settings.clv.annual_discount_rate,
        seed=settings.clv.seed), range_end, settings.warehouse.memory_limit)


def as_of_date(con: duckdb.DuckDBPyConnection, range_end: dt.date | None) -> dt.date:
    """The refresh's cut-off day: the last day of the run's range (D of `crmw refresh --to D`, which sets later
    deliveries aside), or the latest delivery day loaded when that is later (a re-run of an old range, or an
    old partition, leaves the later deliveries in the warehouse)."""
    latest = latest_landing_date(con)
    return max(range_end, latest) if range_end else latest


def clv_for_warehouse(warehouse: Path, config: ClvConfig, range_end: dt.date | None = None,
                      memory_limit: str = "") -> ClvResult:
    """CLV from the warehouse's history, held in temporary tables of the warehouse's own connection (under
    `memory_limit`, spilling beyond it): at 1M demo customers, copies through Arrow into a second database
    took more than the machine's 24 GB."""
    with DuckDBWarehouse(warehouse, memory_limit).connect() as con:
        as_of = as_of_date(con, range_end)
        cutoff = f"date '{as_of.isoformat()}'"  # a date object, so no quoting issue
        transactions = ("(select customer_key, occurred_date, amount from warehouse.fct_transactions "
                        f"where occurred_date <= {cutoff})")
        months = (f"(select {', '.join(MONTH_COLUMNS)} from warehouse.fct_customer_month "
                  f"where month_start <= {cutoff})")
        customers = """(select customer.customer_key, geography.geo_segment
               from warehouse.dim_customer as customer
               left join warehouse.dim_geography as geography on customer.postcode_key = geography.postcode_key
               where customer.is_current)"""
        result = customer_clv(transactions, months, as_of, config, customers, con=con)
        replace_tables(con, {CLV_TABLE: result.customer_clv, METRICS_TABLE: result.model_metrics})
    return result


def replace_tables(con: duckdb.DuckDBPyConnection, tables: dict[str, object]) -> None:
    """Create or replace each `marts.<name>` from its frame, all in one transaction."""
    con.begin()
    try:
        con.execute(f"create schema if not exists {SCHEMA}")
        for table, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create or replace table {SCHEMA}.{table} as select * from frame")
            con.unregister("frame")
    except BaseException:
        con.rollback()
        raise
    con.commit()
