"""One customer's history for the lookup page."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures.common import empty_figure, finish, floats, new_figure, require


def customer_history(months: pd.DataFrame) -> go.Figure:
    """Revenue, cost to serve and profit of one customer per month (warehouse.fct_customer_month)."""
    title = "Monthly P&L"
    require(months, ["month_start", "revenue", "cost_to_serve", "profit"], "customer_history")
    if months.empty:
        return empty_figure(title, "no P&L months")
    x = pd.to_datetime(months["month_start"]).dt.strftime("%Y-%m").tolist()
    fig = new_figure([
        go.Bar(x=x, y=floats(months["revenue"]), name="Revenue"),
        go.Bar(x=x, y=[-v for v in floats(months["cost_to_serve"])], name="Cost to serve"),
        go.Scatter(x=x, y=floats(months["profit"]), mode="lines+markers", name="Profit"),
    ])
    return finish(fig, title, barmode="relative")
