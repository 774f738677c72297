"""Pure figure functions on tiny frames: the traces carry exactly the numbers given, empty frames say so,
a missing column is named."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from dashboards import figures
from models_ml.profitability import channel_shift

DECILES = pd.DataFrame({
    "profit_decile": [2, 1, 3],
    "profit": [Decimal("50.00"), Decimal("120.50"), Decimal("-30.00")],
    "cumulative_profit_share": [1.1857, 0.8457, 1.0],
    "avg_products_held": [2.0, 3.5, 3.0],
    "assisted_interaction_share": [0.5, 0.25, None],
    "self_service_interaction_share": [0.5, 0.75, None],
    "cost_to_serve": [Decimal("40"), Decimal("10"), Decimal("90")],
    "customers": [2, 2, 0],
})


def test_decile_profit_sorts_deciles_and_colours_losses():
    fig = figures.decile_profit(DECILES)
    bars, cumulative = fig.data
    assert list(bars.x) == ["D1", "D2", "D3"]
    assert list(bars.y) == [120.5, 50.0, -30.0]
    assert list(bars.marker.color) == ["#2a9d8f", "#2a9d8f", "#e76f51"]
    assert list(cumulative.y) == [0.8457, 1.1857, 1.0]


def test_products_and_channel_mix_by_decile():
    assert list(figures.products_by_decile(DECILES).data[0].y) == [3.5, 2.0, 3.0]
    assisted, self_service, per_customer = figures.channel_mix_by_decile(DECILES).data
    assert list(assisted.y) == [0.25, 0.5, 0.0]  # a decile without contacts shows no share, not a gap
    assert list(self_service.y) == [0.75, 0.5, 0.0]
    assert per_customer.y[:2] == (5.0, 20.0) and pd.isna(per_customer.y[2])  # no customers: no per-customer cost


def test_whale_curve_and_migration():
    whale = pd.DataFrame({"percentile": [100, 0, 50], "cumulative_profit_share": [1.0, 0.0, 1.4]})
    fig = figures.whale_curve(whale)
    assert list(fig.data[0].x) == [0.0, 50.0, 100.0] and list(fig.data[0].y) == [0.0, 1.4, 1.0]
    migration = pd.DataFrame({"from_decile": [1, 1, 2], "to_decile": [1, 2, 0],
                              "share_of_from_decile": [0.75, 0.25, 1.0]})
    heat = figures.decile_migration(migration).data[0]
    assert list(heat.x) == ["to 0", "to 1", "to 2"] and list(heat.y) == ["from 1", "from 2"]
    assert [list(r) for r in heat.z] == [[0.0, 0.75, 0.25], [1.0, 0.0, 0.0]]


def test_channel_shift_result_draws_the_what_if():
    per_decile = pd.DataFrame({
        "profit_decile": [9, 10], "customers": [1, 1], "assisted_interactions": [10, 20],
        "self_service_interactions": [10, 0], "cost_to_serve_assisted": [100.0, 200.0],
        "cost_to_serve_self_service": [5.0, 0.0], "cost_to_serve": [105.0, 200.0], "profit": [50.0, -100.0],
    })
    result = channel_shift(per_decile, 0.5, [10])  # 10 contacts moved at 0.50 each, saving 100
    before, after = figures.channel_shift_result(result).data
    assert list(before.x) == ["D9", "D10"]
    assert list(before.y) == [50.0, -100.0]
    assert list(after.y) == [50.0, -5.0]


def test_trend_segments_spend_history():
    trend = pd.DataFrame({"month_start": [dt.date(2025, 2, 1), dt.date(2025, 1, 1)], "revenue": [20, 10],
                          "cost_to_serve": [4, 3], "profit": [16, 7], "active_customers": [5, 4]})
    revenue, cost, profit, active = figures.monthly_trend(trend).data
    assert list(revenue.x) == ["2025-01", "2025-02"] and list(profit.y) == [7.0, 16.0]
    assert list(active.y) == [4.0, 5.0]
    segments = pd.DataFrame({"dimension": ["region", "region", "geo_segment"], "segment": ["A", "B", "X"],
                             "revenue": [1, 2, 3], "profit": [-1, 5, 9]})
    fig = figures.segment_profit(segments, "region")
    assert list(fig.data[1].x) == ["B", "A"] and list(fig.data[1].y) == [5.0, -1.0]
    spend = pd.DataFrame({"month_start": [dt.date(2025, 1, 1)] * 2, "purpose": ["acquisition", "retention"],
                          "marketing_cost": [3.0, 4.0], "response_rate": [0.1, 0.2]})
    assert [t.name for t in figures.marketing_spend(spend).data] == [
        "acquisition spend", "acquisition response rate", "retention spend", "retention response rate"]
    months = pd.DataFrame({"month_start": [dt.date(2025, 1, 1)], "revenue": [10.0], "cost_to_serve": [4.0],
                           "profit": [6.0]})
    assert list(figures.customer_history(months).data[1].y) == [-4.0]


def test_quality_and_pipeline_figures():
    scores = pd.DataFrame({"source_system": ["a", "a", "b", "b"],
                           "delivery_date": [dt.date(2025, 1, 1), dt.date(2025, 1, 2)] * 2,
                           "area": ["validity"] * 4, "score": [Decimal("90"), Decimal("80"), 70.0, 60.0]})
    over_time = figures.scores_over_time(scores).data[0]
    assert list(over_time.x) == ["2025-01-01", "2025-01-02"] and list(over_time.y) == [80.0, 70.0]
    heat = figures.scores_by_source(scores).data[0]
    assert list(heat.y) == ["a", "b"] and [list(r) for r in heat.z] == [[85.0], [65.0]]
    deliveries = pd.DataFrame({"source_system": ["a", "a", "b"], "entity": ["customers", "accounts", "customers"],
                               "rows_quarantined": [3, 1, 0],
                               "last_delivery_date": [dt.date(2025, 1, 9), dt.date(2025, 1, 10),
                                                      dt.date(2025, 1, 3)]})
    quarantine = figures.quarantine_by_source(deliveries).data
    assert {t.name: list(t.y) for t in quarantine} == {"accounts": [1.0], "customers": [3.0, 0.0]}
    fresh = figures.freshness(deliveries).data[0]
    assert list(fresh.y) == ["a", "b"] and list(fresh.x) == [0, 7]
    sizes = pd.DataFrame({"records": [2, 1], "customers": [5, 100]})
    assert list(figures.cluster_sizes(sizes).data[0].x) == ["1", "2"]


@pytest.mark.parametrize("function", [figures.decile_profit, figures.whale_curve, figures.monthly_trend,
                                      figures.scores_over_time, figures.freshness, figures.cluster_sizes])
def test_empty_frames_say_no_data_and_missing_columns_are_named(function):
    with pytest.raises(ValueError, match=rf"{function.__name__}: missing column\(s\) "):
        function(pd.DataFrame({"unrelated": [1]}))
    columns = {
        figures.decile_profit: ["profit_decile", "profit", "cumulative_profit_share"],
        figures.whale_curve: ["percentile", "cumulative_profit_share"],
        figures.monthly_trend: ["month_start", "revenue", "cost_to_serve", "profit", "active_customers"],
        figures.scores_over_time: ["delivery_date", "area", "score"],
        figures.freshness: ["source_system", "last_delivery_date"],
        figures.cluster_sizes: ["records", "customers"],
    }[function]
    fig = function(pd.DataFrame(columns=columns))
    assert not fig.data and fig.layout.annotations[0].text == "no data"


def test_segment_sizes_and_clv_distribution_order_tiers_best_first():
    summary = pd.DataFrame({"value_tier": ["Lead", "Platinum"], "tier_rank": [4, 1], "customers": [30, 2],
                            "clv_total": [Decimal("-50.5"), Decimal("900")]})
    bars, clv = figures.segment_sizes(summary).data
    assert list(bars.x) == ["Platinum", "Lead"] and list(bars.y) == [2.0, 30.0] and list(clv.y) == [900.0, -50.5]
    histogram = pd.DataFrame({"value_tier": ["Lead", "Platinum", "Lead"], "tier_rank": [4, 1, 4], "bin": [1, 3, 0],
                              "bin_start": [10.0, 30.0, 0.0], "bin_end": [20.0, 40.0, 10.0],
                              "customers": [5, 1, 7]})
    platinum, lead = figures.clv_distribution(histogram).data
    assert (platinum.name, list(platinum.x), list(platinum.y)) == ("Platinum", [35.0], [1.0])
    assert list(lead.x) == [5.0, 15.0] and list(lead.y) == [7.0, 5.0] and list(lead.width) == [10.0, 10.0]
    stats = pd.DataFrame({"value_tier": ["Gold"], "tier_rank": [2], "p05": [1.0], "p25": [2.0], "p50": [3.0],
                          "p75": [4.0], "p95": [9.0], "mean": [3.5]})
    box = figures.clv_box_by_tier(stats).data[0]
    assert (list(box.lowerfence), list(box.q1), list(box.median), list(box.q3), list(box.upperfence),
            list(box.mean)) == ([1.0], [2.0], [3.0], [4.0], [9.0], [3.5])
    empty = figures.segment_sizes(summary.iloc[0:0])
    assert empty.layout.annotations[0].text == "no customer matches the filters"


LIFT = pd.DataFrame({"decile": [2, 1], "contacted": [100, 100], "responders": [10, 30], "response_rate": [0.1, 0.3],
                     "lift": [0.5, 1.5], "cumulative_response_share": [1.0, 0.75], "cumulative_lift": [1.0, 1.5],
                     "as_of_date": [dt.date(2025, 3, 31)] * 2})


def test_gains_lift_and_policy_comparison():
    targeted, random = figures.gains_curve(LIFT).data
    assert list(targeted.x) == [0.0, 0.1, 0.2] and list(targeted.y) == [0.0, 0.75, 1.0]
    assert list(random.x) == [0, 1] and list(random.y) == [0, 1]
    bars, cumulative = figures.lift_by_decile(LIFT).data
    assert list(bars.x) == ["D1", "D2"] and list(bars.y) == [1.5, 0.5] and list(cumulative.y) == [1.5, 1.0]
    policies = pd.DataFrame({"policy": ["random_1_in_12", "targeted_expected_value"], "budget": [1e3, 1e3],
                             "contacts": [500, 500], "responders": [25, 60], "response_rate": [0.05, 0.12],
                             "incremental_profit": [200.0, 1400.0], "roi": [0.2, 1.4],
                             "as_of_date": [dt.date(2025, 3, 31)] * 2})
    profit, responders = figures.policy_comparison(policies).data
    assert list(profit.x) == ["Random 1 in 12", "Targeted (expected value)"]
    assert list(profit.y) == [200.0, 1400.0] and list(profit.text) == ["ROI 20%", "ROI 140%"]
    assert list(responders.y) == [25.0, 60.0]
    segments = pd.DataFrame({"segment": ["Gold", "Lead"], "contacts": [6, 4], "response_rate": [0.5, None],
                             "control_response_rate": [None, 0.25]})
    contacted, control = figures.campaign_response_by_segment(segments, "value_tier").data
    assert list(contacted.y)[0] == 0.5 and pd.isna(list(contacted.y)[1]) and list(control.y)[1] == 0.25
    for function in (figures.gains_curve, figures.lift_by_decile):
        with pytest.raises(ValueError, match=f"{function.__name__}: missing column"):
            function(pd.DataFrame({"decile": [1]}))
        assert function(LIFT.iloc[0:0]).layout.annotations[0].text == "no data"


def test_stage_ladder_puts_the_overall_stage_last():
    assessment = pd.DataFrame({
        "scope": ["overall", "capability", "capability"], "capability": ["Overall", "Data store", "Analytics"],
        "stage": [2, 5, 2], "stage_name": ["Building", "Fully advanced CRM", "Building"],
        "next_stage_name": ["Partly developed CRM", None, "Partly developed CRM"]})
    (bars,) = figures.stage_ladder(assessment).data
    assert list(bars.x) == ["Data store", "Analytics", "Overall"] and list(bars.y) == [5.0, 2.0, 2.0]
    assert bars.marker.color[-1] != bars.marker.color[0]
    assert "the top stage" in bars.hovertext[0] and "next: Partly developed CRM" in bars.hovertext[2]
    assert figures.stage_ladder(assessment.iloc[0:0]).layout.annotations[0].text == "not assessed yet"


def test_sponsor_radar_closes_the_polygon_and_says_when_nothing_is_answered():
    sponsors = pd.DataFrame({"section": ["Leadership", "Data", "People", "Processes", "Readiness audit"],
                             "is_sponsor": [True, True, True, True, False], "score": [75.0, 50.0, None, 25.0, 90.0],
                             "answered": [5, 5, 0, 5, 5], "questions": [5] * 5})
    (radar,) = figures.sponsor_radar(sponsors).data
    assert list(radar.theta) == ["Leadership", "Data", "People", "Processes", "Leadership"]
    assert list(radar.r) == [75.0, 50.0, 0.0, 25.0, 75.0] and radar.hovertext[2] == "People: not answered"
    empty = figures.sponsor_radar(sponsors.assign(score=None))
    assert empty.layout.annotations[0].text == "no answers yet: run `crmw assess`"
    with pytest.raises(ValueError, match="sponsor_radar: missing column"):
        figures.sponsor_radar(sponsors.drop(columns="answered"))


def test_usage_over_time_counts_users_views_and_exports_per_day():
    events = pd.DataFrame({
        "event_time": pd.to_datetime(["2026-12-01 09:00", "2026-12-01 10:00", "2026-12-01 23:59",
                                      "2026-12-03 08:00"], utc=True),
        "user_name": ["ann", "ann", "bob", "ann"], "action": ["page_view", "export", "page_view", "page_view"]})
    users, views, exports = figures.usage_over_time(events).data
    assert list(users.x) == ["2026-12-01", "2026-12-03"] and list(users.y) == [2.0, 1.0]
    assert list(views.y) == [2.0, 1.0] and list(exports.y) == [1.0, 0.0]
    assert figures.usage_over_time(events.iloc[0:0]).layout.annotations[0].text.startswith("no page view")
