"""Segment figures: size and value of the selected customers per value tier, and their CLV distribution
(histogram and box plot per tier)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures.common import empty_figure, finish, floats, new_figure, require


def _tier_order(frame: pd.DataFrame) -> list[str]:
    """Tiers best first (tier_rank), then by name; a frame without tier_rank keeps its order."""
    if "tier_rank" in frame.columns:
        first = frame.groupby("value_tier", dropna=False)["tier_rank"].min().reset_index()
        return first.sort_values(["tier_rank", "value_tier"])["value_tier"].tolist()
    return list(dict.fromkeys(frame["value_tier"]))


def segment_sizes(summary: pd.DataFrame) -> go.Figure:
    """Selected customers per value tier (bars) and their total CLV (line, second axis)."""
    title = "Selected customers and CLV by value tier"
    require(summary, ["value_tier", "customers", "clv_total"], "segment_sizes")
    if summary.empty:
        return empty_figure(title, "no customer matches the filters")
    rows = summary.set_index("value_tier").loc[_tier_order(summary)]
    tiers = [str(t) for t in rows.index]
    fig = new_figure([
        go.Bar(x=tiers, y=floats(rows["customers"]), name="Customers"),
        go.Scatter(x=tiers, y=floats(rows["clv_total"]), yaxis="y2", mode="lines+markers", name="Total CLV"),
    ])
    return finish(fig, title, yaxis={"title": "customers"},
                  yaxis2={"title": "total CLV", "overlaying": "y", "side": "right", "showgrid": False})


def clv_distribution(histogram: pd.DataFrame) -> go.Figure:
    """Customers per CLV bin, stacked by value tier (ServingData.clv_histogram: value_tier, bin_start,
    bin_end, customers)."""
    title = "CLV distribution of the selected customers"
    require(histogram, ["value_tier", "bin_start", "bin_end", "customers"], "clv_distribution")
    if histogram.empty:
        return empty_figure(title, "no customer matches the filters")
    fig = new_figure()
    for tier in _tier_order(histogram):
        rows = histogram[histogram["value_tier"] == tier].sort_values("bin_start")
        start, end = floats(rows["bin_start"]), floats(rows["bin_end"])
        fig.add_trace(go.Bar(x=[(a + b) / 2 for a, b in zip(start, end, strict=True)], y=floats(rows["customers"]),
                             width=[b - a for a, b in zip(start, end, strict=True)], name=str(tier),
                             customdata=list(zip(start, end, strict=True)),
                             hovertemplate="CLV %{customdata[0]:,.0f} to %{customdata[1]:,.0f}: "
                                           "%{y} customers<extra>%{fullData.name}</extra>"))
    return finish(fig, title, barmode="stack", bargap=0, xaxis={"title": "CLV (ends include the tails)"},
                  yaxis={"title": "customers"})


def clv_box_by_tier(stats: pd.DataFrame) -> go.Figure:
    """CLV per value tier as box plots drawn from precomputed quantiles (whiskers at the 5th and 95th
    percentiles, box from the 25th to the 75th, line at the median, dashed mean)."""
    title = "CLV by value tier (whiskers: 5th and 95th percentiles)"
    require(stats, ["value_tier", "p05", "p25", "p50", "p75", "p95", "mean"], "clv_box_by_tier")
    if stats.empty:
        return empty_figure(title, "no customer matches the filters")
    fig = new_figure()
    rows = stats.set_index("value_tier").loc[_tier_order(stats)]
    for tier, row in rows.iterrows():  # one row per tier (a handful), not per customer
        fig.add_trace(go.Box(x=[str(tier)], q1=[float(row["p25"])], median=[float(row["p50"])],
                             q3=[float(row["p75"])], lowerfence=[float(row["p05"])],
                             upperfence=[float(row["p95"])], mean=[float(row["mean"])], name=str(tier),
                             boxpoints=False))
    return finish(fig, title, yaxis={"title": "CLV"}, showlegend=False)
