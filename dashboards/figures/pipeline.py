"""Pipeline figures: freshness per source system."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures.common import empty_figure, finish, new_figure, require


def freshness(deliveries: pd.DataFrame) -> go.Figure:
    """Days each source system's last delivery lags the newest delivery of any system (meta.deliveries)."""
    title = "Freshness: days behind the newest delivery"
    require(deliveries, ["source_system", "last_delivery_date"], "freshness")
    if deliveries.empty:
        return empty_figure(title)
    last = pd.to_datetime(deliveries.groupby("source_system")["last_delivery_date"].max())
    lag = (last.max() - last).dt.days.sort_values()
    fig = new_figure(go.Bar(y=lag.index.tolist(), x=lag.tolist(), orientation="h", name="days behind",
                           text=last.loc[lag.index].dt.strftime("%Y-%m-%d").tolist(), textposition="auto"))
    return finish(fig, title, xaxis={"title": "days behind"})
