"""Campaign figures: marketing spend and responses by purpose (acquisition vs retention)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures.common import empty_figure, finish, floats, new_figure, require


def marketing_spend(spend: pd.DataFrame) -> go.Figure:
    """Campaign spend per month by purpose, with the response rate (marts.marketing_spend_by_purpose)."""
    title = "Campaign spend and response rate by purpose"
    require(spend, ["month_start", "purpose", "marketing_cost", "response_rate"], "marketing_spend")
    if spend.empty:
        return empty_figure(title)
    fig = new_figure()
    for purpose, g in spend.sort_values("month_start").groupby("purpose"):
        months = pd.to_datetime(g["month_start"]).dt.strftime("%Y-%m").tolist()
        fig.add_trace(go.Bar(x=months, y=floats(g["marketing_cost"]), name=f"{purpose} spend"))
        fig.add_trace(go.Scatter(x=months, y=floats(g["response_rate"]), yaxis="y2", mode="lines+markers",
                                 name=f"{purpose} response rate"))
    return finish(fig, title, barmode="stack", yaxis={"title": "spend"},
                  yaxis2={"title": "response rate", "overlaying": "y", "side": "right", "tickformat": ".1%",
                          "showgrid": False})
