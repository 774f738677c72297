"""Data-quality and identity figures: scores over time and by source, quarantine counts, duplicate clusters."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures.common import empty_figure, finish, floats, new_figure, require


def scores_over_time(scores: pd.DataFrame) -> go.Figure:
    """Mean score per area over delivery days (marts.data_quality_scores), all source systems together."""
    title = "Data-quality score by area over time"
    require(scores, ["delivery_date", "area", "score"], "scores_over_time")
    if scores.empty:
        return empty_figure(title)
    mean = (scores.assign(score=pd.to_numeric(scores["score"]).astype(float))
            .groupby(["area", "delivery_date"], as_index=False)["score"].mean().sort_values("delivery_date"))
    fig = new_figure([
        go.Scatter(x=pd.to_datetime(g["delivery_date"]).dt.strftime("%Y-%m-%d").tolist(), y=g["score"].tolist(),
                   mode="lines", name=str(area))
        for area, g in mean.groupby("area")
    ])
    return finish(fig, title, yaxis={"title": "score (0-100)"})


def scores_by_source(scores: pd.DataFrame) -> go.Figure:
    """Heatmap of the mean score per source system and area."""
    title = "Data-quality score by source system and area"
    require(scores, ["source_system", "area", "score"], "scores_by_source")
    if scores.empty:
        return empty_figure(title)
    grid = (scores.assign(score=pd.to_numeric(scores["score"]).astype(float))
            .pivot_table(index="source_system", columns="area", values="score", aggfunc="mean"))
    fig = new_figure(go.Heatmap(z=grid.to_numpy().tolist(), x=[str(c) for c in grid.columns],
                               y=[str(r) for r in grid.index], colorscale="RdYlGn", zmin=0, zmax=100,
                               hovertemplate="%{y} %{x}: %{z:.1f}<extra></extra>"))
    return finish(fig, title)


def quarantine_by_source(deliveries: pd.DataFrame) -> go.Figure:
    """Rows quarantined per source system and entity (meta.deliveries)."""
    title = "Quarantined rows by source system"
    require(deliveries, ["source_system", "entity", "rows_quarantined"], "quarantine_by_source")
    if deliveries.empty:
        return empty_figure(title)
    fig = new_figure([
        go.Bar(x=g["source_system"].tolist(), y=floats(g["rows_quarantined"]), name=str(entity))
        for entity, g in deliveries.groupby("entity")
    ])
    return finish(fig, title, barmode="stack", yaxis={"title": "rows"})


def cluster_sizes(sizes: pd.DataFrame) -> go.Figure:
    """How many customers are made of 1, 2, 3, ... source records (warehouse.dim_customer_xref)."""
    title = "Customers by number of source records (duplicate clusters)"
    require(sizes, ["records", "customers"], "cluster_sizes")
    if sizes.empty:
        return empty_figure(title)
    sizes = sizes.sort_values("records")
    fig = new_figure(go.Bar(x=[str(int(r)) for r in sizes["records"]], y=floats(sizes["customers"]),
                           name="Customers"))
    return finish(fig, title, xaxis={"title": "source records per customer", "type": "category"},
                  yaxis={"title": "customers", "type": "log"})
