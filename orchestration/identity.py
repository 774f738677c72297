"""Identity resolution in the refresh: link the conformed customer records of the working warehouse
into customers (models_ml/identity), and measure the result against the demo bank's planted truth.

Reads `ods.int_customers_conformed` (built by the first dbt part) through the warehouse interface
(orchestration/warehouses.py: the DuckDB file or Spark), resolves in DuckDB against the key registry (schema
`identity`: in the warehouse file on DuckDB, in $CRMW_HOME/identity/registry.duckdb when the warehouse is on
Spark), with Splink on the backend `[identity] backend` picks, and leaves `identity.customer_xref` and
`identity.golden_customers` in the warehouse, which the second dbt part reads as the source
`customer_identity`. One DuckDB transaction: a run killed half-way leaves the registry as the previous run
left it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from models_ml.identity.evaluate import PairwiseAccuracy, pairwise_accuracy
from models_ml.identity.linkage import REGISTRY_MEMORY_SHARE, capped_duckdb
from models_ml.identity.resolve import SCHEMA, ResolveReport, resolve
from orchestration.settings import IdentitySettings, Settings
from orchestration.warehouses import DuckDBWarehouse, SparkWarehouse, Warehouse, copy_to_spark, open_warehouse

INPUT_RELATION = "ods.int_customers_conformed"
INPUT_TABLE = "identity_input"  # a temp copy of INPUT_RELATION for the run
PUBLISHED = ("customer_xref", "golden_customers")  # what dbt reads (source customer_identity)
TRUTH_FILE = "identity_map.parquet"


@dataclass
class IdentityRun:
    report: ResolveReport
    accuracy: PairwiseAccuracy | None  # None when there is no demo truth to compare with


def run_identity(settings: Settings, now: dt.datetime | None = None) -> IdentityRun:
    """Resolve the working warehouse's customer records (new and changed ones against the linked ones)."""
    warehouse = open_warehouse(settings)
    registry = settings.identity_registry_path if warehouse.engine == "spark" else None
    return resolve_warehouse(warehouse, settings.identity, settings.demo_truth_dir / TRUTH_FILE, now, registry)


def resolve_warehouse(
    warehouse: Path | Warehouse, identity: IdentitySettings, truth: Path | None = None,
    now: dt.datetime | None = None, registry: Path | None = None,
) -> IdentityRun:
    """Resolve the customer records of `warehouse` (a DuckDB file's path, or a Warehouse) in one transaction
    on the registry (default: the DuckDB warehouse itself; a DuckDB file of its own for a Spark warehouse);
    measure against `truth` (a demo identity map) when that file exists."""
    if not isinstance(warehouse, DuckDBWarehouse | SparkWarehouse):
        warehouse = DuckDBWarehouse(warehouse)
    if registry is None:
        if not isinstance(warehouse, DuckDBWarehouse):
            raise ValueError("a Spark warehouse needs a DuckDB file for the identity registry (registry=...)")
        registry = warehouse.path
    if registry.stem == SCHEMA:
        raise ValueError(f"{registry}: a DuckDB file named {SCHEMA!r} shadows the schema {SCHEMA!r}; name it otherwise")
    # Read the view once: it unions every event's customer id, and resolve reads its input twice. When the
    # registry is the warehouse file itself the copy stays inside DuckDB (no detour through Arrow).
    in_warehouse = isinstance(warehouse, DuckDBWarehouse) and registry == warehouse.path
    records = None if in_warehouse else warehouse.read(INPUT_RELATION)
    registry.parent.mkdir(parents=True, exist_ok=True)
    with capped_duckdb(REGISTRY_MEMORY_SHARE, str(registry)) as con:
        if records is None:
            con.execute(f"create temp table {INPUT_TABLE} as select * from {INPUT_RELATION}")
        else:
            con.register("identity_records", records)
            con.execute(f"create temp table {INPUT_TABLE} as select * from identity_records")
            con.unregister("identity_records")
        con.begin()
        try:
            report = resolve(con, INPUT_TABLE, identity.config(), now=now)
        except BaseException:
            con.rollback()
            raise
        con.commit()
        if isinstance(warehouse, SparkWarehouse):
            copy_to_spark(con, warehouse, SCHEMA, PUBLISHED)
        accuracy = demo_accuracy(con, truth) if truth is not None and truth.exists() else None
    return IdentityRun(report, accuracy)


def demo_accuracy(con: duckdb.DuckDBPyConnection, truth_path: Path) -> PairwiseAccuracy:
    """Pairwise precision and recall of the current keys over the records that came in a customers file
    (id-only records carry nothing to link on and stay single by design). Reads the run's copy of the
    input, so only on the connection resolve_warehouse used."""
    predicted = con.sql(f"""
        select x.customer_source_key as record_id, x.customer_key as cluster_id
        from {SCHEMA}.customer_xref as x
        inner join {INPUT_TABLE} as r
            on r.source_system = x.source_system and r.customer_id = x.source_customer_id
        where not r.is_id_only""").to_arrow_table()
    truth = pq.read_table(truth_path, columns=["source_system", "customer_id", "person_id"])
    tcon = duckdb.connect()
    tcon.register("truth", truth)
    truth = tcon.sql("select source_system || '|' || customer_id as record_id, cast(person_id as varchar) "
                     "as entity_id from truth").to_arrow_table()
    tcon.close()
    return pairwise_accuracy(predicted, truth)
