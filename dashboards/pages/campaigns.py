"""Campaigns: spend and responses by purpose today; gains/lift and the random-1/12 vs targeted comparison
land here with the campaign targeting model."""

from __future__ import annotations

from dash import html

from dashboards import figures
from dashboards.components import graph, not_built, section
from dashboards.data import ServingData

PATH = "/campaigns"
TITLE = "Campaigns"


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("Spend by purpose", lambda: graph("camp-spend", figures.marketing_spend(data.marketing_spend()))),
        section("Targeting", lambda: not_built(
            "Gains, lift and random vs targeted", "needs the campaign response model's published scores")),
    ])


def register(app, data: ServingData) -> None:
    """No callbacks yet."""
