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
from orchestration.settings import Settings

GROUP = "models"
CLV_KEY = dg.AssetKey([GROUP, CLV_TABLE])
METRICS_KEY = dg.AssetKey([GROUP, METRICS_TABLE])
CLV_INPUTS = [dg.AssetKey(["warehouse", name]) for name in
              ("fct_transactions", "fct_customer_month", "dim_customer", "dim_geography")]
STAGE = "customer value"


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


def build_model_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """Every asset of the `models` group."""
    return [build_customer_clv(settings)]
