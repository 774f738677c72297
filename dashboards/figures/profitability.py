"""Profitability figures: deciles, whale curve, products and channel mix by decile, decile migration, the
channel-shift what-if, profit by segment."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures.common import empty_figure, finish, floats, new_figure, require


def _deciles(frame: pd.DataFrame) -> list[str]:
    return [f"D{int(d)}" for d in frame["profit_decile"]]


def decile_profit(deciles: pd.DataFrame) -> go.Figure:
    """Profit per decile (1 = most profitable), bars coloured by sign, with the cumulative share."""
    title = "Profit by decile (1 = most profitable)"
    require(deciles, ["profit_decile", "profit", "cumulative_profit_share"], "decile_profit")
    if deciles.empty:
        return empty_figure(title)
    deciles = deciles.sort_values("profit_decile")
    profit = floats(deciles["profit"])
    fig = new_figure(go.Bar(x=_deciles(deciles), y=profit, name="Profit",
                           marker_color=["#2a9d8f" if p >= 0 else "#e76f51" for p in profit]))
    fig.add_trace(go.Scatter(x=_deciles(deciles), y=floats(deciles["cumulative_profit_share"]), yaxis="y2",
                             mode="lines+markers", name="Cumulative share of profit"))
    return finish(fig, title, yaxis={"title": "profit"},
                  yaxis2={"title": "cumulative share", "overlaying": "y", "side": "right", "tickformat": ".0%",
                          "showgrid": False})


def whale_curve(whale: pd.DataFrame) -> go.Figure:
    """Cumulative share of profit earned by the top p% of customers (marts.profitability_whale_curve)."""
    title = "Whale curve"
    require(whale, ["percentile", "cumulative_profit_share"], "whale_curve")
    if whale.empty:
        return empty_figure(title)
    whale = whale.sort_values("percentile")
    fig = new_figure(go.Scatter(x=floats(whale["percentile"]), y=floats(whale["cumulative_profit_share"]),
                               mode="lines", name="Cumulative profit share", fill="tozeroy"))
    fig.add_hline(y=1.0, line_dash="dot", annotation_text="100% of profit")
    return finish(fig, title, xaxis={"title": "top % of customers by profit"},
                  yaxis={"title": "share of total profit", "tickformat": ".0%"})


def products_by_decile(deciles: pd.DataFrame) -> go.Figure:
    """Average products held per decile: do the best and the worst tenth hold as many products?"""
    title = "Products held by decile"
    require(deciles, ["profit_decile", "avg_products_held"], "products_by_decile")
    if deciles.empty:
        return empty_figure(title)
    deciles = deciles.sort_values("profit_decile")
    fig = new_figure(go.Bar(x=_deciles(deciles), y=floats(deciles["avg_products_held"]), name="Products held"))
    return finish(fig, title, yaxis={"title": "average products held"})


def channel_mix_by_decile(deciles: pd.DataFrame) -> go.Figure:
    """Assisted vs self-service share of contacts per decile, with cost to serve per customer."""
    title = "Channel mix and cost to serve by decile"
    columns = ["profit_decile", "assisted_interaction_share", "self_service_interaction_share", "cost_to_serve",
               "customers"]
    require(deciles, columns, "channel_mix_by_decile")
    if deciles.empty:
        return empty_figure(title)
    deciles = deciles.sort_values("profit_decile")
    x = _deciles(deciles)
    fig = new_figure([
        go.Bar(x=x, y=floats(deciles["assisted_interaction_share"].fillna(0)), name="Assisted contacts"),
        go.Bar(x=x, y=floats(deciles["self_service_interaction_share"].fillna(0)), name="Self-service contacts"),
    ])
    per_customer = (pd.to_numeric(deciles["cost_to_serve"]).astype(float)
                    / deciles["customers"].where(deciles["customers"] > 0)).tolist()
    fig.add_trace(go.Scatter(x=x, y=per_customer, yaxis="y2", mode="lines+markers",
                             name="Cost to serve per customer"))
    return finish(fig, title, barmode="stack", yaxis={"title": "share of contacts", "tickformat": ".0%"},
                  yaxis2={"title": "cost to serve per customer", "overlaying": "y", "side": "right",
                          "showgrid": False})


def decile_migration(migration: pd.DataFrame) -> go.Figure:
    """Share of each decile's customers last month that sit in each decile now (0 = not ranked)."""
    title = "Decile migration (previous month -> as-of month)"
    require(migration, ["from_decile", "to_decile", "share_of_from_decile"], "decile_migration")
    if migration.empty:
        return empty_figure(title)
    grid = (migration.pivot_table(index="from_decile", columns="to_decile", values="share_of_from_decile",
                                  aggfunc="sum")
            .reindex(index=sorted(migration["from_decile"].unique()),
                     columns=sorted(migration["to_decile"].unique())).fillna(0.0))
    fig = new_figure(go.Heatmap(z=grid.to_numpy().tolist(), x=[f"to {int(c)}" for c in grid.columns],
                               y=[f"from {int(r)}" for r in grid.index], colorscale="Blues", zmin=0, zmax=1,
                               hovertemplate="%{y} %{x}: %{z:.1%}<extra></extra>"))
    return finish(fig, title, yaxis={"autorange": "reversed"})


def channel_shift_result(result: pd.DataFrame) -> go.Figure:
    """Profit per decile before and after the channel-shift what-if (models_ml.profitability.channel_shift)."""
    title = "Channel-shift what-if: profit per decile before and after"
    require(result, ["profit_before", "profit_after"], "channel_shift_result")
    if result.empty:
        return empty_figure(title)
    x = [f"D{int(d)}" for d in result.index]
    fig = new_figure([
        go.Bar(x=x, y=floats(result["profit_before"]), name="Profit now"),
        go.Bar(x=x, y=floats(result["profit_after"]), name="Profit after the shift"),
    ])
    return finish(fig, title, barmode="group", yaxis={"title": "profit"})


def segment_profit(segments: pd.DataFrame, dimension: str) -> go.Figure:
    """Profit and revenue per segment of one dimension (marts.profitability_by_segment)."""
    title = f"Revenue and profit by {dimension.replace('_', ' ')}"
    require(segments, ["dimension", "segment", "revenue", "profit"], "segment_profit")
    rows = segments[segments["dimension"] == dimension].sort_values("profit", ascending=False)
    if rows.empty:
        return empty_figure(title)
    fig = new_figure([
        go.Bar(x=rows["segment"].tolist(), y=floats(rows["revenue"]), name="Revenue"),
        go.Bar(x=rows["segment"].tolist(), y=floats(rows["profit"]), name="Profit"),
    ])
    return finish(fig, title, barmode="group")
