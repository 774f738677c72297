"""Segments: revenue and profit by region and geodemographic segment today; value-based segments, their
profiles and the CLV distribution land here when their tables are published."""

from __future__ import annotations

from dash import html

from dashboards import figures
from dashboards.components import graph, not_built, section
from dashboards.data import ServingData

PATH = "/segments"
TITLE = "Segments"


def _future(data: ServingData) -> html.Div:
    notes = []
    if data.find("customer_segments") is None:
        notes.append(not_built("Value-based segments, profiles and migration",
                               "needs the published customer_segments table (segmentation model)"))
    if data.find("customer_clv") is None:
        notes.append(not_built("CLV distribution", "needs the published customer_clv table (CLV model)"))
    return html.Div(notes or [html.P("Segment and CLV tables are published; their views are still to be added.")])


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("By region", lambda: graph("seg-region", figures.segment_profit(data.segments(), "region"))),
        section("By geodemographic segment",
                lambda: graph("seg-geo", figures.segment_profit(data.segments(), "geo_segment"))),
        section("Value-based segments", lambda: _future(data)),
    ])


def register(app, data: ServingData) -> None:
    """No callbacks yet."""
