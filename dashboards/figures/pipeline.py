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


def usage_over_time(events: pd.DataFrame) -> go.Figure:
    """Dashboard use per day from the audit log: distinct users (bars), page views and exports (lines)."""
    title = "Dashboard use per day"
    require(events, ["event_time", "user_name", "action"], "usage_over_time")
    if events.empty:
        return empty_figure(title, "no page view or export recorded yet")
    day = pd.to_datetime(events["event_time"], utc=True).dt.strftime("%Y-%m-%d")
    daily = events.assign(day=day).groupby("day").agg(
        users=("user_name", "nunique"),
        page_views=("action", lambda a: int((a == "page_view").sum())),
        exports=("action", lambda a: int((a == "export").sum())),
    ).sort_index()
    days = daily.index.tolist()
    fig = new_figure([
        go.Bar(x=days, y=daily["users"].astype(float).tolist(), name="users"),
        go.Scatter(x=days, y=daily["page_views"].astype(float).tolist(), name="page views", yaxis="y2",
                   mode="lines+markers"),
        go.Scatter(x=days, y=daily["exports"].astype(float).tolist(), name="exports", yaxis="y2",
                   mode="lines+markers"),
    ])
    return finish(fig, title, xaxis={"type": "category", "title": "day (UTC)"},
                  yaxis={"title": "distinct users", "rangemode": "tozero"},
                  yaxis2={"title": "events", "overlaying": "y", "side": "right", "showgrid": False,
                          "rangemode": "tozero"})
