"""Pure figure functions: a DataFrame in, a plotly Figure out. The Dash app and the report pack share them,
so a chart looks the same on screen and in the pack. No I/O here: the data-access module feeds them."""

from dashboards.figures.campaigns import (
    campaign_response_by_segment,
    gains_curve,
    lift_by_decile,
    marketing_spend,
    policy_comparison,
)
from dashboards.figures.common import empty_figure
from dashboards.figures.customer import customer_history
from dashboards.figures.executive import monthly_trend
from dashboards.figures.maturity import sponsor_radar, stage_ladder
from dashboards.figures.pipeline import freshness, usage_over_time
from dashboards.figures.profitability import (
    channel_mix_by_decile,
    channel_shift_result,
    decile_migration,
    decile_profit,
    products_by_decile,
    segment_profit,
    whale_curve,
)
from dashboards.figures.quality import cluster_sizes, quarantine_by_source, scores_by_source, scores_over_time
from dashboards.figures.segments import clv_box_by_tier, clv_distribution, segment_sizes

__all__ = [
    "campaign_response_by_segment", "clv_box_by_tier", "clv_distribution", "gains_curve", "lift_by_decile",
    "policy_comparison", "segment_sizes",
    "channel_mix_by_decile", "channel_shift_result", "cluster_sizes", "customer_history", "decile_migration",
    "decile_profit", "empty_figure", "freshness", "marketing_spend", "monthly_trend", "products_by_decile",
    "quarantine_by_source", "scores_by_source", "scores_over_time", "segment_profit", "whale_curve",
    "sponsor_radar", "stage_ladder", "usage_over_time",
]
