"""The same dbt project and identity resolution on DuckDB and on Spark give the same marts, row for row.

The tiny hand-made bank of tests/test_profitability_models.py (twelve customers, worked out by hand there) is
loaded once into a DuckDB raw layer, copied to a local Spark (orchestration/warehouses.py), and built on both
as `crmw build` builds: dbt's first part, identity resolution (Splink on DuckDB, resp. on Spark), dbt's second
part; every seed, model, snapshot and dbt test runs on both, so a build that fails a dbt test fails here. Then
the customer P&L (fct_customer_month), the profitability marts and the segments' inputs must be equal row for
row (money and shares within 1e-9).

Needs the `spark` extra (`make test-spark` installs it) and Java 17; skipped otherwise. Slow: Spark runs each of
a few hundred small statements as jobs (minutes on two cores).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import sys
import time
from decimal import Decimal

import duckdb
import pytest

pytest.importorskip("pyspark")
pytest.importorskip("dbt.adapters.spark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17) on PATH", allow_module_level=True)

from test_dbt_models import DBT_PROJECT_DIR, build, load_raw  # noqa: E402
from test_profitability_models import RAW  # noqa: E402

from orchestration.assets.dbt import UPSTREAM_SELECT  # noqa: E402
from orchestration.identity import resolve_warehouse  # noqa: E402
from orchestration.landing.raw_tables import RAW_SCHEMA, create_raw_tables  # noqa: E402
from orchestration.settings import IdentitySettings  # noqa: E402
from orchestration.warehouses import (  # noqa: E402
    DuckDBWarehouse,
    SparkWarehouse,
    copy_to_spark,
    local_spark_session,
    spark_conf,
    spark_env,
)

TOLERANCE = 1e-9
# relation -> columns that order its rows (a unique key); every column is compared.
MARTS = {
    "warehouse.fct_customer_month": ["customer_key", "month_start"],
    "warehouse.fct_customer_month_channel": ["customer_key", "month_start", "channel_id"],
    "marts.customer_profitability": ["customer_key"],
    "marts.profitability_deciles": ["profit_decile"],
    "marts.profitability_whale_curve": ["percentile"],
    "marts.profitability_concentration": ["as_of_month"],
    "marts.profitability_by_segment": ["dimension", "segment"],
    "marts.profitability_monthly_trend": ["month_start"],
    "marts.profitability_decile_migration": ["from_decile", "to_decile"],
    "marts.marketing_spend_by_purpose": ["month_start", "purpose"],
}
# What the segments step reads from dbt's tables besides customer_profitability (orchestration/segments.py).
SEGMENT_INPUTS = {"warehouse.fct_transactions": ["customer_key", "occurred_date", "amount"]}


def _dbt_in_process(*args: str) -> None:
    """dbt on the `spark` target in this process: dbt-spark's `method: session` then uses this process's Spark
    session (one embedded metastore, which a second process could not open)."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                 str(DBT_PROJECT_DIR), "--target", "spark", "--quiet"])
    assert result.success, f"dbt {' '.join(args)} failed on Spark: {result.exception or result.result}"


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("spark_equivalence")
    db = work / "crm.duckdb"
    with duckdb.connect(str(db)) as con:
        create_raw_tables(con)
        load_raw(con, RAW)
    started = time.perf_counter()
    build(db, work / "duckdb")
    duckdb_seconds = time.perf_counter() - started

    spark_dir = work / "spark"
    env = {**spark_env(spark_dir / "warehouse", spark_dir / "metastore"), "DBT_TARGET_PATH": str(spark_dir / "target"),
           "DBT_LOG_PATH": str(spark_dir / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "CRMW_DBT_THREADS": "2"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        session = local_spark_session(spark_conf(spark_dir / "warehouse", spark_dir / "metastore"))
        session.sparkContext.setLogLevel("ERROR")
        spark = SparkWarehouse(session)
        with duckdb.connect(str(db), read_only=True) as con:
            copy_to_spark(con, spark, RAW_SCHEMA)
        started = time.perf_counter()
        _dbt_in_process("build", "--select", UPSTREAM_SELECT, "--indirect-selection", "buildable")
        resolve_warehouse(spark, IdentitySettings(backend="spark"), registry=spark_dir / "registry.duckdb")
        _dbt_in_process("build", "--exclude", UPSTREAM_SELECT, "--indirect-selection", "buildable")
        spark_seconds = time.perf_counter() - started
        print(f"\nbuild of the hand-made bank: DuckDB {duckdb_seconds:.0f} s, Spark {spark_seconds:.0f} s "
              f"(load {os.getloadavg()[0]:.1f})", file=sys.stderr)
        yield DuckDBWarehouse(db), spark
        session.stop()


def _normalised(value):
    """A value as comparable across engines: Decimal and float as float, aware timestamps as naive UTC."""
    if isinstance(value, Decimal | float):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _rows(warehouse, relation: str, key: list[str], columns: list[str] | None = None) -> tuple[list[str], list]:
    table = warehouse.read(relation, columns)
    names = sorted(table.column_names)
    rows = [tuple(_normalised(row[c]) for c in names) for row in table.to_pylist()]
    order = [names.index(c) for c in key] + list(range(len(names)))
    return names, sorted(rows, key=lambda r: tuple((r[i] is None, str(r[i])) for i in order))


def _equal(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE) or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.parametrize(("relation", "key"), [*MARTS.items(), *SEGMENT_INPUTS.items()])
def test_marts_are_equal_row_for_row(warehouses, relation: str, key: list[str]) -> None:
    duck, spark = warehouses
    columns = SEGMENT_INPUTS.get(relation)
    duck_columns, duck_rows = _rows(duck, relation, key, columns)
    spark_columns, spark_rows = _rows(spark, relation, key, columns)
    assert spark_columns == duck_columns
    assert len(spark_rows) == len(duck_rows) and duck_rows, relation
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        differing = [(name, d, s) for name, d, s in zip(duck_columns, duck_row, spark_row, strict=True)
                     if not _equal(d, s)]
        assert not differing, f"{relation} row {dict(zip(duck_columns, duck_row, strict=True))}: {differing}"


def test_spark_marts_hold_the_hand_worked_profits(warehouses) -> None:
    """Not only equal: the Spark build's profit per customer is the one tests/test_profitability_models.py
    worked out by hand."""
    from test_profitability_models import PROFIT, key

    _, spark = warehouses
    rows = spark.read("marts.customer_profitability", ["customer_key", "profit"]).to_pylist()
    assert {r["customer_key"]: r["profit"] for r in rows} == {key(c): p for c, p in PROFIT.items()}


def test_a_second_snapshot_closes_changed_and_deleted_customers_alike(warehouses) -> None:
    """The Spark snapshot materialization's second run (the rebuild, not the first create): one customer
    renamed and one gone from the ODS give the same SCD2 versions on both engines. Runs last: it changes
    the ODS of both builds."""
    from test_dbt_models import run_dbt
    from test_profitability_models import key

    duck, spark = warehouses
    renamed, gone = key("C01"), key("C02")
    with duck.connect() as con:
        con.execute("update ods.ods_customers set last_name = 'Renamed' where customer_key = ?", [renamed])
        con.execute("delete from ods.ods_customers where customer_key = ?", [gone])
    result = run_dbt(["snapshot"], duck.path, duck.path.parent / "duckdb")
    assert result.returncode == 0, result.stdout[-4000:]
    session = spark.spark
    columns = [f"case when customer_key = '{renamed}' then 'Renamed' else last_name end as last_name"
               if c == "last_name" else f"`{c}`" for c in session.table("ods.ods_customers").columns]
    session.sql(f"create table ods.ods_customers_next using parquet as select {', '.join(columns)} "
                f"from ods.ods_customers where customer_key <> '{gone}'")
    session.sql("insert overwrite table ods.ods_customers select * from ods.ods_customers_next")
    session.sql("drop table ods.ods_customers_next")
    _dbt_in_process("snapshot")

    def versions(warehouse) -> list[tuple]:
        rows = warehouse.read("snapshots.customers_snapshot", ["customer_key", "last_name", "dbt_valid_to"])
        return sorted((r["customer_key"], r["last_name"], r["dbt_valid_to"] is None) for r in rows.to_pylist())

    assert versions(spark) == versions(duck)
    mine = [v for v in versions(spark) if v[0] in (renamed, gone)]
    assert sorted(mine) == sorted([(renamed, "Customer C01", False), (renamed, "Renamed", True),
                                   (gone, "Customer C02", False)])
    assert len(versions(spark)) == 13
