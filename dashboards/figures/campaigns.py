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


POLICY_LABELS = {"random_1_in_12": "Random 1 in 12", "targeted_expected_value": "Targeted (expected value)"}


def campaign_response_by_segment(segments: pd.DataFrame, dimension: str) -> go.Figure:
    """Response rate of the contacted customers per segment over all past campaigns, with the control
    group's rate beside it (ServingData.campaign_segments)."""
    title = f"Past campaigns: response rate by {dimension.replace('_', ' ')}"
    require(segments, ["segment", "contacts", "response_rate", "control_response_rate"],
            "campaign_response_by_segment")
    if segments.empty:
        return empty_figure(title, "no campaign contacts")
    names = [str(s) for s in segments["segment"]]
    fig = new_figure([
        go.Bar(x=names, y=floats(segments["response_rate"]), name="Contacted",
               customdata=floats(segments["contacts"]),
               hovertemplate="%{x}: %{y:.2%} of %{customdata:,.0f} contacts<extra></extra>"),
        go.Scatter(x=names, y=floats(segments["control_response_rate"]), mode="markers", name="Control group",
                   marker={"size": 10, "symbol": "line-ew-open"}),
    ])
    return finish(fig, title, yaxis={"title": "response rate", "tickformat": ".1%"})


def gains_curve(lift: pd.DataFrame) -> go.Figure:
    """Cumulative share of responders reached when contacting the best-scored deciles first, against
    contacting at random (the diagonal); marts.campaign_lift, decile 1 = highest score."""
    title = "Gains: share of responders reached by the top-scored customers"
    require(lift, ["decile", "cumulative_response_share"], "gains_curve")
    if lift.empty:
        return empty_figure(title)
    lift = lift.sort_values("decile")
    x = [0.0] + [int(d) / 10 for d in lift["decile"]]
    fig = new_figure([
        go.Scatter(x=x, y=[0.0] + floats(lift["cumulative_response_share"]), mode="lines+markers",
                   name="Targeted by score"),
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="Random", line={"dash": "dot"}),
    ])
    return finish(fig, title, xaxis={"title": "share of customers contacted (best scores first)",
                                     "tickformat": ".0%"},
                  yaxis={"title": "share of responders", "tickformat": ".0%"})


def lift_by_decile(lift: pd.DataFrame) -> go.Figure:
    """Lift per score decile (response rate over the average) and cumulative lift; 1 = no better than random."""
    title = "Lift by score decile (1 = highest score)"
    require(lift, ["decile", "lift", "cumulative_lift"], "lift_by_decile")
    if lift.empty:
        return empty_figure(title)
    lift = lift.sort_values("decile")
    x = [f"D{int(d)}" for d in lift["decile"]]
    fig = new_figure([
        go.Bar(x=x, y=floats(lift["lift"]), name="Lift"),
        go.Scatter(x=x, y=floats(lift["cumulative_lift"]), mode="lines+markers", name="Cumulative lift"),
    ])
    fig.add_hline(y=1.0, line_dash="dot", annotation_text="random")
    return finish(fig, title, yaxis={"title": "lift"})


def policy_comparison(policies: pd.DataFrame) -> go.Figure:
    """Random 1-in-12 mailing vs targeting by expected value at the same budget: incremental profit (bars)
    and responders (second axis); marts.policy_comparison."""
    title = "Random 1 in 12 vs targeted, same budget"
    require(policies, ["policy", "responders", "incremental_profit", "roi"], "policy_comparison")
    if policies.empty:
        return empty_figure(title)
    names = [POLICY_LABELS.get(p, str(p)) for p in policies["policy"]]
    roi = floats(policies["roi"])
    fig = new_figure([
        go.Bar(x=names, y=floats(policies["incremental_profit"]), name="Incremental profit",
               text=[f"ROI {r:.0%}" for r in roi], textposition="auto"),
        go.Scatter(x=names, y=floats(policies["responders"]), yaxis="y2", mode="markers", name="Responders",
                   marker={"size": 12}),
    ])
    return finish(fig, title, yaxis={"title": "incremental profit"},
                  yaxis2={"title": "responders", "overlaying": "y", "side": "right", "showgrid": False,
                          "rangemode": "tozero"})
