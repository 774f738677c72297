"""Python model assets (group `models`): thin wrappers around the pure functions of `models_ml/`.

The place in the graph between the warehouse and publishing: CLV (and later deciles, segments, propensity
and lookalike models) read warehouse tables and write their results into the published `marts` schema.
Each is an asset here that calls into `models_ml` (no modelling code in this package), takes its settings
from `crmw.toml`, uses a fixed seed, logs its metrics as metadata and runs in the warehouse pool.
`publish` depends on every asset in this group.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from orchestration import progress
from orchestration.assets.landing import RANGE_END_TAG, WAREHOUSE_POOL
from orchestration.clv import CLV_TABLE, METRICS_TABLE, SCHEMA, run_clv
from orchestration.segments import CENTROIDS_TABLE, PROFILES_TABLE, SEGMENTS_TABLE, segments_for_warehouse
from orchestration.settings import Settings
from orchestration.targeting import (
    DRIVERS_TABLE,
    LIFT_TABLE,
    LOOKALIKE_TABLE,
    POLICY_TABLE,
    SCORES_TABLE,
    run_lookalikes,
    run_targeting,
)
from orchestration.targeting import (
    METRICS_TABLE as TARGETING_METRICS_TABLE,
)

GROUP = "models"
CLV_KEY = dg.AssetKey([GROUP, CLV_TABLE])
METRICS_KEY = dg.AssetKey([GROUP, METRICS_TABLE])
CLV_INPUTS = [dg.AssetKey(["warehouse", name]) for name in
              ("fct_transactions", "fct_customer_month", "dim_customer", "dim_geography")]
STAGE = "customer value"
SEGMENTS_KEY = dg.AssetKey([GROUP, SEGMENTS_TABLE])
PROFILES_KEY = dg.AssetKey([GROUP, PROFILES_TABLE])
SEGMENT_INPUTS = [CLV_KEY, dg.AssetKey(["marts", "customer_profitability"]),
                  dg.AssetKey(["warehouse", "fct_transactions"])]
SEGMENTS_STAGE = "segments"
TARGETING_KEY = dg.AssetKey([GROUP, "campaign_targeting"])
LOOKALIKES_KEY = dg.AssetKey([GROUP, "lookalikes"])
TARGETING_INPUTS = [dg.AssetKey(["warehouse", name]) for name in
                    ("fct_campaign_contacts", "dim_campaign", "fct_customer_month", "fct_holdings", "dim_customer",
                     "dim_geography")]
LOOKALIKE_INPUTS = [*TARGETING_INPUTS, dg.AssetKey(["marts", "customer_profitability"])]
TARGETING_STAGE = "targeting"


def range_end_of_run(context: dg.AssetExecutionContext) -> dt.date | None:
    """The last delivery day of the run's range (`crmw refresh --to D` gives D), or None; orchestration.clv
    takes the later of it and the latest delivery day loaded as the as-of date."""
    tags = context.run.tags
    end = tags.get(RANGE_END_TAG) or tags.get("dagster/partition")
    return dt.date.fromisoformat(end) if end else None


def _markdown(table: pd.DataFrame) -> str:
    columns = ["model_name", *table.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for name, row in table.iterrows():
        lines.append("| " + " | ".join([str(name), *(f"{v:.4g}" for v in row)]) + " |")
    return "\n".join(lines)


def build_customer_clv(settings: Settings) -> dg.AssetsDefinition:
    @dg.multi_asset(
        specs=[
            dg.AssetSpec(CLV_KEY, group_name=GROUP, deps=CLV_INPUTS, kinds={"python", "duckdb", "scikit-learn"},
                         description=f"{SCHEMA}.{CLV_TABLE}: each customer's expected profit over the next "
                         f"{settings.clv.horizon_days} days, discounted (clv), from the model the backtest chose."),
            dg.AssetSpec(METRICS_KEY, group_name=GROUP, deps=CLV_INPUTS, kinds={"python", "duckdb"},
                         description=f"{SCHEMA}.{METRICS_TABLE}: backtest metrics of every CLV model and the "
                         "naive baseline, the model choice, failures with their reasons."),
        ],
        name="customer_value_models",
        pool=WAREHOUSE_POOL,
    )
    def customer_value_models(context: dg.AssetExecutionContext):
        progress.report(STAGE, 0, 1, "backtesting and fitting CLV models")
        result = run_clv(settings, range_end_of_run(context))
        frame = result.customer_clv
        as_of = frame["as_of_date"].iloc[0].isoformat() if len(frame) else None
        table = result.backtest_table
        backtest = _markdown(table[["total_error", "mae", "rmse", "pearson", "spearman"]]) if table is not None else ""
        note = f"{len(frame):,} customers as of {as_of}, published model {result.chosen_model}"
        context.log.info(note + ("; " + "; ".join(f"{m}: {r}" for m, r in result.reasons.items())
                                 if result.reasons else ""))
        progress.report(STAGE, 1, 1, note)
        yield dg.MaterializeResult(asset_key=CLV_KEY, metadata={
            "dagster/row_count": len(frame),
            "as_of_date": as_of,
            "chosen_model": result.chosen_model,
            "model_reasons": dict(result.reasons),
            "backtest_profit": dg.MetadataValue.md(backtest or "no backtest: too little history"),
            "total_expected_profit": float(frame["expected_profit"].sum()),
            "total_clv": float(frame["clv"].sum()),
        })
        metrics = result.model_metrics
        yield dg.MaterializeResult(asset_key=METRICS_KEY, metadata={
            "dagster/row_count": len(metrics),
            "chosen_model": result.chosen_model,
            "backtest": {f"{m}/{k}": round(v, 6) for m, k, v in
                         metrics[["model_name", "metric", "value"]].itertuples(index=False)
                         if not k.startswith("failed: ") and pd.notna(v)},
        })

    return customer_value_models


def build_customer_segments(settings: Settings) -> dg.AssetsDefinition:
    descriptions = {
        SEGMENTS_KEY: f"{SCHEMA}.{SEGMENTS_TABLE}: each customer's value tier, RFM scores and segment and "
        "treatment, by the rules in seeds/value_tiers.csv, rfm_segments.csv and treatments.csv, and behavioural "
        f"cluster (centroids in {SCHEMA}.{CENTROIDS_TABLE}, matched to the previous run's).",
        PROFILES_KEY: f"{SCHEMA}.{PROFILES_TABLE}: size, value, profit, CLV, channel mix and products of every "
        "tier, RFM segment and treatment.",
    }

    @dg.multi_asset(
        specs=[dg.AssetSpec(key, group_name=GROUP, deps=SEGMENT_INPUTS, kinds={"python", "duckdb"}, description=text)
               for key, text in descriptions.items()],
        name="customer_segment_rules",
        pool=WAREHOUSE_POOL,
    )
    def customer_segment_rules(context: dg.AssetExecutionContext):
        progress.report(SEGMENTS_STAGE, 0, 1, "value tiers, RFM segments, treatments")
        result = segments_for_warehouse(settings.warehouse_path)
        tiers = result.profiles[result.profiles["segment_type"] == "value_tier"]
        sizes = {row.segment: int(row.customers) for row in tiers.itertuples()}
        note = f"{len(result.segments):,} customers: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
        context.log.info(note)
        progress.report(SEGMENTS_STAGE, 1, 1, note)
        yield dg.MaterializeResult(asset_key=SEGMENTS_KEY, metadata={
            "dagster/row_count": len(result.segments),
            "tier_sizes": sizes,
            "tier_clv_shares": {row.segment: round(float(row.clv_share), 6) for row in tiers.itertuples()
                                if pd.notna(row.clv_share)},
        })
        yield dg.MaterializeResult(asset_key=PROFILES_KEY, metadata={"dagster/row_count": len(result.profiles)})

    return customer_segment_rules


def build_campaign_targeting(settings: Settings) -> dg.AssetsDefinition:
    config = settings.targeting

    @dg.asset(
        key=TARGETING_KEY, group_name=GROUP, deps=TARGETING_INPUTS, kinds={"python", "duckdb", "scikit-learn"},
        pool=WAREHOUSE_POOL,
        description=f"{SCHEMA}.{LIFT_TABLE}, {SCHEMA}.{POLICY_TABLE}, {SCHEMA}.{SCORES_TABLE} and "
        f"{SCHEMA}.{TARGETING_METRICS_TABLE}: campaign response propensity trained on earlier campaigns and "
        f"measured on the latest {config.holdout_campaigns} (gains and lift by score decile), the random 1-in-12 "
        f"mailing vs targeting by expected value at {config.budget_share:.0%} of their cost, and every customer's "
        "score with reason codes.",
    )
    def campaign_targeting(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        progress.report(TARGETING_STAGE, 0, 1, "campaign response propensity, lift, policy comparison")
        result = run_targeting(settings, range_end_of_run(context))
        metrics = {k: round(v, 6) for k, v in result.metrics.items() if pd.notna(v)}
        note = (f"top-decile lift {metrics['top_decile_lift']:.2f} (AUC {metrics['auc']:.3f}) on "
                f"{int(metrics['holdout_campaigns'])} held-out campaigns" if "top_decile_lift" in metrics
                else "not validated: " + "; ".join(result.notes))
        context.log.info(note)
        progress.report(TARGETING_STAGE, 1, 1, note)
        metadata = {"as_of_date": result.as_of_date.isoformat(), "metrics": metrics, "notes": result.notes,
                    "dagster/row_count": 0 if result.scores is None else len(result.scores)}
        if result.policies is not None:
            metadata["policy_comparison"] = dg.MetadataValue.md(result.policies.round(3).to_markdown(index=False))
            metadata["campaign_lift"] = dg.MetadataValue.md(result.lift.round(4).to_markdown(index=False))
        return dg.MaterializeResult(metadata=metadata)

    return campaign_targeting


def build_lookalikes(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=LOOKALIKES_KEY, group_name=GROUP, deps=LOOKALIKE_INPUTS, kinds={"python", "duckdb", "scikit-learn"},
        pool=WAREHOUSE_POOL,
        description=f"{SCHEMA}.{LOOKALIKE_TABLE} and {SCHEMA}.{DRIVERS_TABLE}: how much every customer looks like "
        f"the top {settings.targeting.lookalike_seed_share:.0%} by trailing profit (out-of-fold classifier score, "
        "similarity band, the features behind it).",
    )
    def lookalikes(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        progress.report(TARGETING_STAGE, 0, 1, "lookalikes of the most profitable customers")
        result = run_lookalikes(settings, range_end_of_run(context))
        note = ("too few customers with a P&L for lookalikes" if result is None else
                f"{result.seed_size:,} seed customers, cross-validated AUC {result.auc:.3f}")
        context.log.info(note)
        progress.report(TARGETING_STAGE, 1, 1, note)
        if result is None:
            return dg.MaterializeResult(metadata={"dagster/row_count": 0, "note": note})
        bands = result.customers["similarity_band"].value_counts()
        return dg.MaterializeResult(metadata={
            "dagster/row_count": len(result.customers), "auc": round(result.auc, 6), "seed_customers": result.seed_size,
            "bands": {str(k): int(v) for k, v in bands.items()},
            "drivers": dg.MetadataValue.md(result.drivers.head(10).round(4).to_markdown(index=False)),
        })

    return lookalikes


def build_model_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """Every asset of the `models` group."""
    return [build_customer_clv(settings), build_customer_segments(settings), build_campaign_targeting(settings),
            build_lookalikes(settings)]
