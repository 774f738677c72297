"""One way for the Python models to read and write the warehouse, whichever engine holds it.

dbt builds the warehouse on DuckDB (one file) or on Spark (dbt-spark; README, "Scale-out: Spark, Kubernetes,
Postgres"). The Python steps between and after the dbt parts (identity resolution, segments) read whole
relations as Arrow tables and write tables back through a `Warehouse`:

- `DuckDBWarehouse`: the working DuckDB file (Arrow straight from DuckDB).
- `SparkWarehouse`: a Spark session's catalog; tables go Spark -> Arrow (`DataFrame.toArrow`) and back
  (`createDataFrame` from Arrow, cast to the warehouse's column types, saved as a Parquet table).

Each step then runs its own SQL over those Arrow tables in an in-memory DuckDB (or in Splink on the engine the
settings pick), so no step writes engine-specific SQL against the warehouse itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

_RELATION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")


def _check_relation(relation: str) -> str:
    if not _RELATION.fullmatch(relation):
        raise ValueError(f"{relation!r} is not a relation name of the form schema.table")
    return relation


class Warehouse(Protocol):
    """What the Python models need of a warehouse."""

    engine: str

    def read(self, relation: str, columns: Iterable[str] | None = None, where: str | None = None) -> pa.Table:
        """The rows of `relation` (schema.table or view) as an Arrow table; `where`, a predicate both engines
        read alike (comparisons with ISO date literals: `d > date '2025-01-31'`), filters them in the engine."""

    def exists(self, relation: str) -> bool:
        """True when `relation` exists."""

    def replace(self, relation: str, table: pa.Table) -> None:
        """Create or replace table `relation` with the rows of `table` (its schema created if missing)."""


class DuckDBWarehouse:
    """The working DuckDB warehouse at `path` (a connection per call, so no connection stays open)."""

    engine = "duckdb"

    def __init__(self, path: str | Path, memory_limit: str = "") -> None:
        self.path = Path(path)
        self.memory_limit = memory_limit

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        config = {"memory_limit": self.memory_limit} if self.memory_limit else {}
        return duckdb.connect(str(self.path), read_only=read_only, config=config)

    def read(self, relation: str, columns: Iterable[str] | None = None, where: str | None = None) -> pa.Table:
        select = ", ".join(columns) if columns else "*"
        with self.connect(read_only=True) as con:
            return con.sql(f"select {select} from {_check_relation(relation)} where {where or 'true'}").to_arrow_table()

    def exists(self, relation: str) -> bool:
        schema, name = _check_relation(relation).split(".")
        with self.connect(read_only=True) as con:
            return con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()[0][0] > 0

    def replace(self, relation: str, table: pa.Table) -> None:
        schema, _ = _check_relation(relation).split(".")
        with self.connect() as con:
            con.execute(f"create schema if not exists {schema}")
            con.register("incoming", table)
            con.execute(f"create or replace table {relation} as select * from incoming")


# DuckDB type -> Spark SQL type, for tables copied from DuckDB (the raw layer) or written from Arrow.
_SPARK_TYPES = {
    "VARCHAR": "string", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp", "TINYINT": "tinyint", "SMALLINT": "smallint", "INTEGER": "int",
    "BIGINT": "bigint", "HUGEINT": "decimal(38,0)", "DOUBLE": "double", "FLOAT": "float", "UUID": "string",
}


def spark_type(duckdb_type: str) -> str:
    """The Spark SQL type that holds values of a DuckDB column type."""
    duckdb_type = duckdb_type.upper()
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.lower()
    try:
        return _SPARK_TYPES[duckdb_type]
    except KeyError:
        raise ValueError(f"no Spark type for the DuckDB type {duckdb_type}") from None


def spark_conf(warehouse_dir: str | Path, metastore_dir: str | Path, cores: int = 2,
               driver_memory: str = "2g", shuffle_partitions: int = 2) -> dict[str, str]:
    """The local session's configuration: the same as the `spark` target's in dbt_project/profiles.yml, so
    dbt and the Python steps see one catalog; plus Splink's similarity UDF jar for identity resolution."""
    from splink.backends.spark import similarity_jar_location

    metastore_dir = Path(metastore_dir).absolute()
    return {
        "spark.jars": similarity_jar_location(),
        "spark.master": f"local[{cores}]",
        "spark.driver.memory": driver_memory,
        "spark.sql.warehouse.dir": str(Path(warehouse_dir).absolute()),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore_dir};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.stream.error.file={metastore_dir}.log",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # as dbt-spark sets it: Spark 4's ANSI mode off, so both sides run the same SQL semantics
        "spark.sql.ansi.enabled": "false",
    }


def spark_env(warehouse_dir: str | Path, metastore_dir: str | Path) -> dict[str, str]:
    """Environment for dbt's `spark` target to use the same warehouse and metastore as spark_conf."""
    return {"CRMW_SPARK_WAREHOUSE_DIR": str(Path(warehouse_dir).absolute()),
            "CRMW_SPARK_METASTORE_DIR": str(Path(metastore_dir).absolute())}


def local_spark_session(conf: dict[str, str]):
    """The process's Spark session with Hive support (dbt-spark's `method: session` gets this same session,
    as a second session would not open the embedded metastore)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("crm-warehouse").enableHiveSupport()
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SparkWarehouse:
    """A warehouse in a Spark session's catalog (local, or a cluster's through Spark Connect)."""

    engine = "spark"

    def __init__(self, session) -> None:
        self.spark = session

    def read(self, relation: str, columns: Iterable[str] | None = None, where: str | None = None) -> pa.Table:
        frame = self.spark.table(_check_relation(relation))
        if where:
            frame = frame.where(where)
        if columns:
            frame = frame.select(*columns)
        return frame.toArrow()

    def exists(self, relation: str) -> bool:
        return self.spark.catalog.tableExists(_check_relation(relation))

    def replace(self, relation: str, table: pa.Table, types: dict[str, str] | None = None) -> None:
        """Write `table` as a Parquet table; `types` (column -> Spark type) casts columns whose Arrow type
        does not say the warehouse's type (a DuckDB TIMESTAMP arrives as a zone-less timestamp)."""
        schema, _ = _check_relation(relation).split(".")
        types = types or {}
        frame = self.spark.createDataFrame(table).selectExpr(*[
            f"cast(`{c}` as {types[c]}) as `{c}`" if c in types else f"`{c}`" for c in table.column_names
        ])
        self.spark.sql(f"create database if not exists {schema}")
        frame.write.mode("overwrite").format("parquet").saveAsTable(relation)


def spark_types(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, dict[str, str]]:
    """Table -> column -> Spark type for every table of `schema` in a DuckDB database."""
    columns = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position", [schema]).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table_name, column, data_type in columns:
        tables.setdefault(table_name, {})[column] = spark_type(data_type)
    return tables


def copy_to_spark(con: duckdb.DuckDBPyConnection, target: SparkWarehouse, schema: str,
                  tables: Iterable[str] | None = None) -> list[str]:
    """Copy tables of `schema` (all when `tables` is None) from a DuckDB connection to Spark with the same
    column types: the raw layer the DuckDB loader wrote, the identity tables. Returns the tables copied."""
    types = spark_types(con, schema)
    names = sorted(types) if tables is None else list(tables)
    for name in names:
        if name not in types:
            raise ValueError(f"{schema}.{name} is not a table of the DuckDB database")
        relation = f"{schema}.{name}"
        target.replace(relation, con.sql(f"select * from {relation}").to_arrow_table(), types[name])
    return names


def open_warehouse(settings) -> Warehouse:
    """The working warehouse of `settings` ([dbt] target): the DuckDB file, the local Spark session's catalog
    (target spark), or a Spark cluster through Spark Connect at $CRMW_SPARK_REMOTE (target spark_cluster)."""
    if settings.dbt.engine == "duckdb":
        return DuckDBWarehouse(settings.warehouse_path, settings.warehouse.memory_limit)
    if settings.dbt.target == "spark":
        conf = spark_conf(settings.spark_dir / "warehouse", settings.spark_dir / "metastore")
        return SparkWarehouse(local_spark_session(conf))
    remote = os.environ.get("CRMW_SPARK_REMOTE", "")
    if not remote:
        raise ValueError(f"[dbt] target = {settings.dbt.target!r}: the Python steps reach the cluster through Spark "
                         "Connect; set CRMW_SPARK_REMOTE (sc://host:15002)")
    from pyspark.sql import SparkSession

    return SparkWarehouse(SparkSession.builder.remote(remote).getOrCreate())
