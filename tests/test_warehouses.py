"""The warehouse interface the Python models read through (DuckDB here; Spark in test_spark_equivalence.py),
the DuckDB-to-Spark type mapping, and Splink's Spark dialect fix (when pyspark is installed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from orchestration.settings import load_settings
from orchestration.warehouses import DuckDBWarehouse, open_warehouse, spark_type, spark_types


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema warehouse")
        con.execute("""create table warehouse.fct_transactions as select * from (values
            ('k1', date '2025-01-31', 10.50::decimal(18,2)),
            ('k1', date '2025-02-01', -2.00::decimal(18,2)),
            ('k2', date '2025-03-01', 7.25::decimal(18,2))) as t(customer_key, occurred_date, amount)""")
    return DuckDBWarehouse(path)


def test_read_selects_columns_and_filters_in_the_engine(warehouse: DuckDBWarehouse) -> None:
    table = warehouse.read("warehouse.fct_transactions", ["customer_key", "amount"],
                           where="occurred_date > date '2025-01-31'")
    assert table.column_names == ["customer_key", "amount"]
    assert sorted(table.to_pylist(), key=lambda r: r["customer_key"]) == [
        {"customer_key": "k1", "amount": Decimal("-2.00")}, {"customer_key": "k2", "amount": Decimal("7.25")}]
    assert warehouse.read("warehouse.fct_transactions").num_rows == 3


def test_replace_creates_the_schema_and_replaces_the_table(warehouse: DuckDBWarehouse) -> None:
    assert not warehouse.exists("identity.customer_xref")
    warehouse.replace("identity.customer_xref", pa.table({"customer_key": ["a", "b"]}))
    warehouse.replace("identity.customer_xref", pa.table({"customer_key": ["c"]}))
    assert warehouse.exists("identity.customer_xref")
    assert warehouse.read("identity.customer_xref").to_pylist() == [{"customer_key": "c"}]


@pytest.mark.parametrize("relation", ["fct_transactions", "warehouse.fct; drop table x", "a.b.c", ""])
def test_a_relation_must_be_schema_dot_table(warehouse: DuckDBWarehouse, relation: str) -> None:
    with pytest.raises(ValueError, match="schema.table"):
        warehouse.read(relation)


def test_duckdb_types_map_to_spark_types(tmp_path: Path) -> None:
    assert [spark_type(t) for t in ("VARCHAR", "DECIMAL(18,2)", "TIMESTAMP", "DATE", "BIGINT", "BOOLEAN", "DOUBLE")
            ] == ["string", "decimal(18,2)", "timestamp", "date", "bigint", "boolean", "double"]
    with pytest.raises(ValueError, match="no Spark type for the DuckDB type INTERVAL"):
        spark_type("INTERVAL")
    with duckdb.connect(str(tmp_path / "x.duckdb")) as con:
        con.execute("create schema raw")
        con.execute("create table raw.customers (customer_id varchar, _line bigint, _loaded_at timestamp, "
                    "date_of_birth date, balance decimal(18,2))")
        assert spark_types(con, "raw") == {"customers": {
            "customer_id": "string", "_line": "bigint", "_loaded_at": "timestamp", "date_of_birth": "date",
            "balance": "decimal(18,2)"}}


def test_settings_pick_the_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMW_HOME", str(tmp_path))
    monkeypatch.delenv("CRMW_CONFIG", raising=False)
    monkeypatch.delenv("CRMW_SPARK_REMOTE", raising=False)
    default = open_warehouse(load_settings())
    assert isinstance(default, DuckDBWarehouse) and default.path == tmp_path / "warehouse" / "crm.duckdb"
    (tmp_path / "crmw.toml").write_text('[dbt]\ntarget = "spark_cluster"\n', encoding="utf-8")
    settings = load_settings()
    assert settings.dbt.engine == "spark"
    with pytest.raises(ValueError, match="set CRMW_SPARK_REMOTE"):
        open_warehouse(settings)


def test_splink_spark_sql_keeps_double_literals_with_compiled_sqlglot() -> None:
    """Splink's own Spark dialect subclasses sqlglot's compiled generator, which sqlglotc forbids; ours rewrites
    the parsed statement instead (models_ml/identity/linkage.py)."""
    pytest.importorskip("pyspark")
    from models_ml.identity.linkage import _spark_api_class

    sql = _spark_api_class()._setup_for_execute_sql(
        None, "select cast(0.000000000000000000000000000000000000000001234 as double) as p, "
              "cast(x as double) as q, cast('1' as double) as r from t", "t")
    assert " ".join(sql.split()) == ("SELECT 0.000000000000000000000000000000000000000001234D AS p, "
                                     "CAST(x AS DOUBLE) AS q, CAST('1' AS DOUBLE) AS r FROM t")


def test_dates_and_money_round_trip_through_arrow(warehouse: DuckDBWarehouse) -> None:
    # read -> replace -> read: a model's output written back keeps its dates and decimals exactly
    table = warehouse.read("warehouse.fct_transactions", ["occurred_date", "amount"])
    warehouse.replace("marts.round_trip", table)
    with warehouse.connect(read_only=True) as con:
        types = dict(con.execute("select column_name, data_type from duckdb_columns() "
                                 "where table_name = 'round_trip'").fetchall())
    assert types == {"occurred_date": "DATE", "amount": "DECIMAL(18,2)"}
    rows = sorted(warehouse.read("marts.round_trip").to_pylist(), key=lambda r: r["occurred_date"])
    assert rows == [{"occurred_date": dt.date(2025, 1, 31), "amount": Decimal("10.50")},
                    {"occurred_date": dt.date(2025, 2, 1), "amount": Decimal("-2.00")},
                    {"occurred_date": dt.date(2025, 3, 1), "amount": Decimal("7.25")}]


def test_an_identity_registry_file_may_not_shadow_the_identity_schema(warehouse: DuckDBWarehouse,
                                                                       tmp_path: Path) -> None:
    from orchestration.identity import resolve_warehouse
    from orchestration.settings import IdentitySettings

    with pytest.raises(ValueError, match="shadows the schema 'identity'"):
        resolve_warehouse(warehouse, IdentitySettings(), registry=tmp_path / "identity.duckdb")
