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

SCHEMA = "marts"  # published (orchestration/publish.py PUBLISHED_SCHEMAS)
CLV_TABLE, METRICS_TABLE = "customer_clv", "model_metrics"


def latest_landing_date(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The latest delivery day loaded (the refresh's cut-off when it was not given)."""
    has_log = con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                          "and table_name = 'load_log'").fetchone()[0]
    day = None
    if has_log:
        day = con.execute("select max(_delivery_date) from raw.load_log where is_current").fetchone()[0]
    if day is None:
        raise ValueError("no landing file has been loaded: nothing to forecast customer value from")
    return day


def run_clv(settings: Settings, as_of: dt.date | None = None) -> ClvResult:
    """Forecast and write customer_clv and model_metrics as of ``as_of`` (default: the latest landing date)."""
    return clv_for_warehouse(settings.warehouse_path, ClvConfig(
        horizon_days=settings.clv.horizon_days, annual_discount_rate=settings.clv.annual_discount_rate,
        seed=settings.clv.seed), as_of)


def clv_for_warehouse(warehouse: Path, config: ClvConfig, as_of: dt.date | None = None) -> ClvResult:
    with duckdb.connect(str(warehouse)) as con:
        as_of = as_of or latest_landing_date(con)
        transactions = con.execute(
            "select customer_key, occurred_date, amount from warehouse.fct_transactions where occurred_date <= ?",
            [as_of]).to_arrow_table()
        months = con.execute(
            f"select {', '.join(MONTH_COLUMNS)} from warehouse.fct_customer_month where month_start <= ?",
            [as_of]).to_arrow_table()
        customers = con.execute(
            """select customer.customer_key, geography.geo_segment
               from warehouse.dim_customer as customer
               left join warehouse.dim_geography as geography on customer.postcode_key = geography.postcode_key
               where customer.is_current""").to_arrow_table()
        result = customer_clv(transactions, months, as_of, config, customers)
        con.begin()
        try:
            con.execute(f"create schema if not exists {SCHEMA}")
            for table, frame in ((CLV_TABLE, result.customer_clv), (METRICS_TABLE, result.model_metrics)):
                con.register("frame", frame)
                con.execute(f"create or replace table {SCHEMA}.{table} as select * from frame")
                con.unregister("frame")
        except BaseException:
            con.rollback()
            raise
        con.commit()
    return result
