"""Value-based segments in the refresh: read customer value (marts.customer_clv), trailing profit
(marts.customer_profitability) and purchases (warehouse.fct_transactions) from the working warehouse, apply the
rules of `seeds/value_tiers.csv`, `seeds/rfm_segments.csv` and `seeds/treatments.csv`
(models_ml.segments.rules), write `marts.customer_segments` and `marts.segment_profiles`, which publish copies
to the serving database.

The base is every customer of customer_clv, as of its as_of_date; RFM reads the purchases of the
`profitability_window_months` months (12) up to that day: recency in days since the last purchase day,
frequency in purchase days, monetary the sum of amounts (refunds negative). No customer value yet gives
empty tables (the refresh goes on). Behavioural clusters (models_ml.segments.clusters) are matched to the
previous run's centroids in `marts.behaviour_centroids`, which this run then replaces.

Each profile also says what sets the segment apart from the base (differentiators) and whether it loses
money persistently (negative summed profit in each 3-month block of the trailing 12 months: is_undesirable,
with its cost drivers) (models_ml.segments.insights). `marts.segment_migration` counts customers by previous
and current value tier and behavioural segment: the previous one is the last run with an earlier as-of date,
kept in `marts.customer_segments_previous` (a re-run of the same day compares with the same previous run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from models_ml.segments.clusters import cluster_customers
from models_ml.segments.insights import PERIODS, differentiators, segment_migration, undesirable_segments
from models_ml.segments.rules import (
    PROFILE_DIMENSIONS,
    customer_segments,
    load_rfm_segments,
    load_treatments,
    load_value_tiers,
    segment_profiles,
)
from orchestration.clv import CLV_TABLE, SCHEMA, replace_tables
from orchestration.warehouses import DuckDBWarehouse, Warehouse

SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"
SEGMENTS_TABLE, PROFILES_TABLE, CENTROIDS_TABLE = "customer_segments", "segment_profiles", "behaviour_centroids"
MIGRATION_TABLE, PREVIOUS_TABLE = "segment_migration", "customer_segments_previous"
MIGRATION_DIMENSIONS = ("value_tier", "behaviour_segment")
# Behavioural clusters: k in this range (inclusive) by silhouette, fixed seed; below MIN_CLUSTERED customers
# there are no clusters (behaviour_segment stays empty and the previous centroids are kept).
CLUSTER_K_RANGE, CLUSTER_SEED, MIN_CLUSTERED = (3, 8), 42, 100
WINDOW_MONTHS = 12  # as dbt var profitability_window_months
SEGMENT_COLUMNS = (
    "customer_key", "as_of_date", "value_tier", "tier_rank", "clv_rank", "clv", "profit", "is_negative_value",
    "is_unprofitable", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment",
    "treatment", "behaviour_segment_id", "behaviour_segment", "products_held", "assisted_interactions",
    "self_service_interactions", "region", "geo_segment",
)


@dataclass(frozen=True)
class SegmentsResult:
    segments: pd.DataFrame
    profiles: pd.DataFrame


def read_base(warehouse: Warehouse) -> pd.DataFrame:
    """One row per customer of customer_clv with profit, channel use and purchases over the trailing window,
    in customer_key order (k-means starts depend on the row order). Reads through the warehouse interface
    (DuckDB or Spark: orchestration/warehouses.py), the purchases of the window only, and joins in DuckDB."""
    con = duckdb.connect()
    con.register("value", warehouse.read(f"{SCHEMA}.{CLV_TABLE}", ["customer_key", "as_of_date", "clv"]))
    con.register("profit", warehouse.read(f"{SCHEMA}.customer_profitability", [
        "customer_key", "profit", "is_unprofitable", "products_held", "assisted_interactions",
        "self_service_interactions", "region", "geo_segment"]))
    ((as_of,),) = con.execute("select max(as_of_date) from value").fetchall()
    where = None
    if as_of is not None:
        start = (pd.Timestamp(as_of) - pd.DateOffset(months=WINDOW_MONTHS)).date()
        where = f"occurred_date > date '{start.isoformat()}' and occurred_date <= date '{as_of.isoformat()}'"
    con.register("transactions", warehouse.read(
        "warehouse.fct_transactions", ["customer_key", "occurred_date", "amount"], where=where or "false"))
    base = con.sql(
        """
        with purchases as (
            select transactions.customer_key,
                   max(transactions.occurred_date) as last_day,
                   count(distinct transactions.occurred_date) as frequency,
                   sum(transactions.amount) as monetary
            from transactions
            group by transactions.customer_key
        )
        select value.customer_key, value.as_of_date, value.clv,
               cast(profit.profit as double) as profit,
               coalesce(profit.is_unprofitable, false) as is_unprofitable,
               cast(value.as_of_date - purchases.last_day as double) as recency_days,
               coalesce(purchases.frequency, 0) as frequency,
               cast(coalesce(purchases.monetary, 0) as double) as monetary,
               coalesce(profit.products_held, 0) as products_held,
               coalesce(profit.assisted_interactions, 0) as assisted_interactions,
               coalesce(profit.self_service_interactions, 0) as self_service_interactions,
               coalesce(profit.region, 'unknown') as region,
               coalesce(profit.geo_segment, 'unknown') as geo_segment
        from value
        left join profit on value.customer_key = profit.customer_key
        left join purchases on value.customer_key = purchases.customer_key
        where value.clv is not null
        order by value.customer_key
        """).df()
    con.close()
    return base


def behaviour_features(base: pd.DataFrame) -> pd.DataFrame:
    """Features the clusters see, per customer: assisted share of interactions, products held, and on a
    signed log scale (log(1 + |x|) with x's sign) purchase days, spend, profit and interactions."""
    interactions = base["assisted_interactions"] + base["self_service_interactions"]

    def signed_log(x: pd.Series) -> np.ndarray:
        values = x.to_numpy(dtype=float)
        return np.sign(values) * np.log1p(np.abs(values))

    return pd.DataFrame({
        "assisted_share": np.where(interactions > 0, base["assisted_interactions"] / interactions.where(
            interactions > 0, 1), 0.0),
        "products_held": base["products_held"].astype(float),
        "purchase_days": signed_log(base["frequency"]),
        "spend": signed_log(base["monetary"]),
        "profit": signed_log(base["profit"].fillna(0.0)),
        "interactions": signed_log(interactions),
    }).set_axis(base["customer_key"].to_numpy())


def read_costs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per customer of customer_profitability: the trailing window's revenue, cost components and profit in each
    3-month block of the window (profit_q1 oldest .. profit_q4 latest)."""
    blocks = ", ".join(
        f"sum(case when datediff('month', profit.window_start_month, month.month_start) // 3 = {i} "
        f"then cast(month.profit as double) else 0 end) as {name}" for i, name in enumerate(PERIODS))
    query = f"""
        select profit.customer_key,
               any_value(cast(profit.revenue as double)) as revenue,
               any_value(cast(profit.direct_cost as double)) as direct_cost,
               any_value(cast(profit.cost_to_serve_assisted as double)) as cost_to_serve_assisted,
               any_value(cast(profit.cost_to_serve_self_service as double)) as cost_to_serve_self_service,
               any_value(cast(profit.servicing_cost as double)) as servicing_cost,
               any_value(cast(profit.marketing_cost as double)) as marketing_cost,
               {blocks}
        from {SCHEMA}.customer_profitability as profit
        left join warehouse.fct_customer_month as month
          on month.customer_key = profit.customer_key
         and month.month_start >= profit.window_start_month and month.month_start <= profit.as_of_month
        group by profit.customer_key"""
    try:
        return con.sql(query).df()
    except (duckdb.CatalogException, duckdb.BinderException):  # a warehouse without the P&L: no insights
        return pd.DataFrame({"customer_key": pd.Series(dtype=str)})


def profile_insights(segments: pd.DataFrame, costs: pd.DataFrame, dimensions: tuple[str, ...]) -> pd.DataFrame:
    """Per (segment_type, segment): differentiators, negative_periods, is_undesirable, cost_drivers."""
    frame = segments.merge(costs, on="customer_key", how="left")
    parts = []
    for dimension in dimensions:
        if frame.empty:
            break
        part = undesirable_segments(frame, dimension).join(differentiators(frame, dimension))
        parts.append(part.rename_axis("segment").reset_index().assign(segment_type=dimension))
    columns = ["segment_type", "segment", "differentiators", "negative_periods", "is_undesirable", "cost_drivers"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def _previous_segments(con: duckdb.DuckDBPyConnection, as_of) -> pd.DataFrame | None:
    """The last run's segments with an as-of date before ``as_of``: the current table when it is older, else
    the one kept as previous (when older)."""
    for table in (SEGMENTS_TABLE, PREVIOUS_TABLE):
        columns = {c for (c,) in con.execute("select column_name from information_schema.columns where "
                                             "table_schema = ? and table_name = ?", [SCHEMA, table]).fetchall()}
        if not {"customer_key", "as_of_date", *MIGRATION_DIMENSIONS} <= columns:
            continue
        frame = con.sql(f"select customer_key, as_of_date, {', '.join(MIGRATION_DIMENSIONS)} "
                        f"from {SCHEMA}.{table}").df()
        if len(frame) and pd.Timestamp(frame["as_of_date"].max()) < pd.Timestamp(as_of):
            return frame
    return None


def _previous_centroids(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    try:
        return con.sql(f"select * from {SCHEMA}.{CENTROIDS_TABLE}").df().set_index("cluster_id")
    except duckdb.CatalogException:
        return None


def segments_for_warehouse(warehouse: Path, seeds: Path = SEEDS_DIR) -> SegmentsResult:
    """Segment the working warehouse's customers and write customer_segments and segment_profiles."""
    tiers = load_value_tiers(seeds / "value_tiers.csv")
    rfm = load_rfm_segments(seeds / "rfm_segments.csv")
    treatments = load_treatments(seeds / "treatments.csv", tiers, rfm)
    base = read_base(DuckDBWarehouse(warehouse))
    with duckdb.connect(str(warehouse)) as con:
        segments = customer_segments(base, tiers, rfm, treatments)
        tables, dimensions = {}, PROFILE_DIMENSIONS
        if len(base) >= MIN_CLUSTERED:
            clusters = cluster_customers(behaviour_features(base), CLUSTER_K_RANGE, CLUSTER_SEED,
                                         _previous_centroids(con))
            ids = clusters.assignments.reindex(segments["customer_key"].to_numpy()).to_numpy()
            labels = clusters.centroids.index.astype(str) + ": " + clusters.centroids["cluster_name"]
            segments["behaviour_segment_id"] = ids
            segments["behaviour_segment"] = pd.Series(labels.to_numpy(), index=clusters.centroids.index)[ids].to_numpy()
            dimensions = (*PROFILE_DIMENSIONS, "behaviour_segment")
            tables[CENTROIDS_TABLE] = clusters.centroids.reset_index().assign(
                as_of_date=segments["as_of_date"].max())
        segments = segments.reindex(columns=list(SEGMENT_COLUMNS))
        as_of = segments["as_of_date"].max()  # NaT when there is no customer
        profiles = segment_profiles(segments, dimensions).merge(
            profile_insights(segments, read_costs(con), dimensions), on=["segment_type", "segment"], how="left")
        profiles.insert(0, "as_of_date", as_of)
        previous = _previous_segments(con, as_of) if len(segments) else None
        if previous is not None:
            migration = segment_migration(previous[["customer_key", *MIGRATION_DIMENSIONS]],
                                          segments[["customer_key", *MIGRATION_DIMENSIONS]], MIGRATION_DIMENSIONS)
            tables[MIGRATION_TABLE] = migration.assign(
                previous_as_of_date=pd.Timestamp(previous["as_of_date"].max()).date(),
                as_of_date=pd.Timestamp(as_of).date())
            tables[PREVIOUS_TABLE] = previous
        replace_tables(con, {SEGMENTS_TABLE: segments, PROFILES_TABLE: profiles, **tables})
    return SegmentsResult(segments, profiles)
