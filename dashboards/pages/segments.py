"""Segments: revenue and profit by region and geodemographic segment; profiles of the value tiers, RFM
segments and treatments once segment_profiles is published; the CLV distribution still to come."""

from __future__ import annotations

from dash import html

from dashboards import figures
from dashboards.components import graph, not_built, section, table
from dashboards.data import ServingData

PATH = "/segments"
TITLE = "Segments"


SEGMENT_TYPES = (("value_tier", "Value tiers (customer pyramid)"), ("rfm_segment", "RFM segments"),
                 ("treatment", "Treatments"), ("behaviour_segment", "Behavioural segments"))
SHARES = ("customer_share", "clv_share", "profit_share", "unprofitable_share", "assisted_interaction_share")


def _future(data: ServingData) -> html.Div:
    notes = []
    if data.find("customer_segments") is None:
        notes.append(not_built("Value-based segments, profiles and migration",
                               "needs the published customer_segments table (segmentation model)"))
    else:
        for segment_type, title in SEGMENT_TYPES:
            profiles = data.segment_profiles(segment_type)
            if profiles is not None and not profiles.empty:
                notes += [html.H4(title), table(profiles, f"seg-{segment_type}",
                                                {c: "share" for c in SHARES})]
    if data.find("customer_clv") is None:
        notes.append(not_built("CLV distribution", "needs the published customer_clv table (CLV model)"))
    return html.Div(notes)


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
