"""Executive figures: the trend of the success measures over months."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures.common import empty_figure, finish, floats, new_figure, require

TREND_SERIES = {"revenue": "Revenue", "cost_to_serve": "Cost to serve", "profit": "Profit"}


def monthly_trend(trend: pd.DataFrame) -> go.Figure:
    """Revenue, cost to serve and profit per month (marts.profitability_monthly_trend), active customers on a
    second axis."""
    title = "Revenue, cost to serve and profit by month"
    require(trend, ["month_start", *TREND_SERIES, "active_customers"], "monthly_trend")
    if trend.empty:
        return empty_figure(title)
    trend = trend.sort_values("month_start")
    months = pd.to_datetime(trend["month_start"]).dt.strftime("%Y-%m").tolist()
    fig = new_figure()
    for column, name in TREND_SERIES.items():
        fig.add_trace(go.Scatter(x=months, y=floats(trend[column]), mode="lines+markers", name=name))
    fig.add_trace(go.Bar(x=months, y=floats(trend["active_customers"]), name="Active customers", yaxis="y2",
                         opacity=0.25))
    return finish(fig, title, yaxis={"title": "amount"},
                  yaxis2={"title": "active customers", "overlaying": "y", "side": "right", "showgrid": False})
