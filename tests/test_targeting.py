"""Campaign targeting: features as of a cut-off, held-out campaigns, gains and lift, the policy comparison's
arithmetic, target lists (budget, control share), lookalikes, on tiny hand-made data with exact values."""

import contextlib
import datetime as dt
import io
import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from models_ml.targeting.features import customer_features
from models_ml.targeting.lookalike import lookalikes
from models_ml.targeting.policy import RANDOM, TARGETED, compare_policies, expected_value, with_baseline
from models_ml.targeting.propensity import (
    ScoreModel,
    gains_table,
    score_deciles,
    split_campaigns,
    usable_campaigns,
)
from models_ml.targeting.selection import list_sizes, select_targets
from orchestration.audit import read_events
from orchestration.publish import publish
from orchestration.settings import TargetingSettings, load_settings
from orchestration.targeting import evaluate_targeting

D = dt.date


def test_score_deciles_rank_high_scores_first_and_break_ties_by_key():
    assert score_deciles(np.arange(20, 0, -1)).tolist() == [d for d in range(1, 11) for _ in range(2)]
    # 12 customers: sizes differ by at most one; a tie goes to the smaller key
    deciles = score_deciles([0.5, 0.5, 0.1] + [0.0] * 9, ["b", "a", "c"] + [f"z{i}" for i in range(9)])
    assert deciles[:3].tolist() == [1, 1, 2] and np.bincount(deciles)[1:].tolist() == [2, 1, 1, 1, 1, 2, 1, 1, 1, 1]


def test_gains_table_exact():
    # 20 contacts, scores falling; responders at positions 0, 1, 2 (decile 1, 2) and 10 (decile 6)
    responded = np.zeros(20, dtype=bool)
    responded[[0, 1, 2, 10]] = True
    table = gains_table(np.linspace(1, 0, 20), responded).set_index("decile")
    assert table["contacted"].tolist() == [2] * 10
    assert table["responders"].tolist() == [2, 1, 0, 0, 0, 1, 0, 0, 0, 0]
    # overall rate 4/20 = 0.2: decile 1 responds at 1.0 -> lift 5; cumulative after 2 deciles 3/4 of responders
    assert table.loc[1, "lift"] == pytest.approx(5.0) and table.loc[2, "lift"] == pytest.approx(2.5)
    assert table.loc[2, "cumulative_response_share"] == pytest.approx(0.75)
    assert table.loc[2, "cumulative_lift"] == pytest.approx((3 / 4) / 0.2)
    assert table.loc[10, "cumulative_response_share"] == pytest.approx(1.0)


def test_usable_campaigns_wait_for_the_response_window_and_the_latest_are_held_out():
    campaigns = pd.DataFrame({
        "campaign_key": ["m1", "m2", "m3", "m4", "m5", "m6"],
        "start_date": pd.to_datetime(["2025-01-05", "2025-02-05", "2025-03-05", "2025-04-05", "2025-05-05",
                                      "2025-06-05"]),
        "end_date": pd.to_datetime(["2025-02-15", None, "2025-04-15", "2025-05-15", "2025-06-15", "2025-07-15"]),
    })
    usable = usable_campaigns(campaigns, D(2025, 6, 30), response_window_days=42)
    # m2 has no end: 2025-02-05 + 42 days = 2025-03-19; m6's window is still open on 2025-06-30
    assert usable["campaign_key"].tolist() == ["m1", "m2", "m3", "m4", "m5"]
    split = split_campaigns(usable, holdout=2)
    assert (split.train, split.holdout, split.shortened) == (["m1", "m2", "m3"], ["m4", "m5"], False)
    shortened = split_campaigns(usable, holdout=6)
    assert (shortened.train, shortened.holdout, shortened.shortened) == (["m1", "m2", "m3"], ["m4", "m5"], True)
    with pytest.raises(ValueError, match="1 campaign"):
        split_campaigns(usable.head(1), holdout=6)


def test_features_see_only_what_was_known_before_the_cutoff():
    months = pd.DataFrame({
        "customer_key": ["a"] * 3 + ["b"],
        "month_start": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-02-01"]),
        "revenue": [120.0, 240.0, 9999.0, 0.0], "profit": [12.0, 24.0, 9999.0, -6.0],
        "cost_to_serve": [0.0, 0.0, 0.0, 6.0], "interactions": [2, 4, 99, 3], "assisted_interactions": [1, 2, 99, 3],
        "complaints": [0, 0, 9, 1], "products_held": [1, 2, 9, 1],
    })
    contacts = pd.DataFrame({
        "customer_key": ["a", "a", "a", "b"],
        "contacted_date": pd.to_datetime(["2025-01-10", "2025-02-10", "2025-03-10", "2025-02-10"]),
        "is_control": [False, True, False, False], "has_responded": [True, True, True, False],
        "responded_date": pd.to_datetime(["2025-01-20", "2025-03-20", "2025-03-12", None]),
    })
    holdings = pd.DataFrame({"customer_key": ["a", "a", "b"], "product_id": ["CUR", "MTG", "CUR"],
                             "opened_date": pd.to_datetime(["2024-01-01", "2025-03-07", "2024-06-01"]),
                             "closed_date": pd.to_datetime([None, None, "2025-03-01"])})
    customers = pd.DataFrame({"customer_key": ["a", "b"], "date_of_birth": pd.to_datetime(["1985-03-05", None]),
                              "geo_segment": ["urban", None]})
    points = pd.DataFrame({"point_id": [0, 1], "customer_key": ["a", "b"],
                           "cutoff": pd.to_datetime(["2025-03-05", "2025-03-05"])})
    out = customer_features(points, months, contacts, holdings, customers).set_index("customer_key")
    a, b = out.loc["a"], out.loc["b"]
    # March is not complete on 2025-03-05: January and February only, over a 12-month window
    assert a["revenue_per_month"] == pytest.approx(np.log1p(360 / 12))
    assert a["interactions_per_month"] == pytest.approx(np.log1p(6 / 12)) and a["assisted_share"] == 0.5
    assert a["products_held"] == 2 and a["active_month_share"] == pytest.approx(2 / 12)
    assert a["tenure_months"] == 2 and a["age"] == pytest.approx(40.0, abs=0.01) and a["age_missing"] == 0
    # the February selection was a control whose response came after the cut-off; March's not yet made
    assert (a["prior_contacts"], a["prior_responses"], a["prior_control_responses"]) == (1, 1, 0)
    assert a["holds_CUR"] == 1 and "holds_MTG" not in out.columns  # the mortgage opened after the cut-off
    assert b["profit_per_month"] == pytest.approx(-np.log1p(0.5)) and b["holds_CUR"] == 0  # closed before
    assert b["age_missing"] == 1 and b["geo_segment"] == "unknown"
    assert (b["prior_contacts"], b["prior_responses"]) == (1, 0)
    with pytest.raises(ValueError, match=r"months is missing column\(s\) \['profit'\]"):
        customer_features(points, months.drop(columns="profit"), contacts, holdings, customers)


def test_score_model_reason_codes_explain_the_score():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"prior_responses": rng.integers(0, 3, 400).astype(float), "age": rng.normal(45, 10, 400),
                      "geo_segment": rng.choice(["urban", "rural"], 400)})
    y = rng.random(400) < 0.05 + 0.25 * (X["prior_responses"] > 0) + 0.1 * (X["geo_segment"] == "urban")
    model = ScoreModel().fit(X, y)
    contributions = model.contributions(X)
    log_odds = np.log(model.predict_proba(X)[:, 1] / model.predict_proba(X)[:, 0])
    centre = model.pipeline_.named_steps["model"].intercept_[0] + model.centre_ @ model.coefficients.to_numpy()
    assert np.allclose(contributions.sum(axis=1) + centre, log_odds)
    reasons = model.reasons(pd.DataFrame({"prior_responses": [2.0, 0.0], "age": [45.0, 45.0],
                                          "geo_segment": ["urban", "rural"]}))
    assert reasons.iloc[0].startswith("past campaign responses high")
    assert "past campaign responses" not in reasons.iloc[1]
    with pytest.raises(ValueError, match="both outcomes"):
        ScoreModel().fit(X, np.zeros(400, dtype=bool))


def test_policy_arithmetic_exact():
    # one held-out campaign: four contacts at 1.00 each and four controls; two score bands
    sel = pd.DataFrame({
        "campaign_key": ["c"] * 8,
        "customer_key": ["k1", "k2", "k3", "k4", "x1", "x2", "x3", "x4"],
        "is_control": [False] * 4 + [True] * 4,
        "responded": [True, True, False, False, True, False, False, False],
        "response_value": [100.0, 60.0, None, None, 40.0, None, None, None],
        "cost_per_contact": [1.0] * 4 + [0.0] * 4,
        "p_response": [0.9, 0.5, 0.4, 0.1, 0.8, 0.6, 0.3, 0.2],
        "value_per_response": [50.0] * 8,
    })
    assert expected_value([0.9, 0.1], 50.0, 1.0).tolist() == pytest.approx([44.0, 4.0])
    base = with_baseline(sel).set_index("customer_key")
    # 8 selections, ranks 1..8 by score -> deciles 1,2,3,4,6,7,8,9; each control alone in its decile
    assert base["score_decile"].to_dict() == {"k1": 1, "x1": 2, "x2": 3, "k2": 4, "k3": 6, "x3": 7, "x4": 8,
                                              "k4": 9}
    # no control shares a decile with a contact: every contact gets the overall control rate 1/4; the campaign's
    # mean response value (contacted and control responders) is (100 + 60 + 40) / 3
    assert base.loc["k1", "baseline_rate"] == 0.25
    assert base.loc["k1", "baseline_value"] == pytest.approx(0.25 * 200 / 3)
    policies = compare_policies(sel, budget_share=0.5).set_index("policy")
    random, targeted = policies.loc[RANDOM], policies.loc[TARGETED]
    assert random["budget"] == targeted["budget"] == 2.0
    # random: half of every contact -> 2 contacts, 1 responder, value 80, baseline 0.5 responders
    assert (random["contacts"], random["responders"], random["response_value"]) == (2.0, 1.0, 80.0)
    assert random["incremental_responders"] == pytest.approx(0.5)
    assert random["incremental_profit"] == pytest.approx(80 - 0.5 * 4 * 0.25 * 200 / 3 - 2.0)
    # targeted: the two best expected values (k1, k2) -> both respond, value 160
    assert (targeted["contacts"], targeted["responders"], targeted["response_value"]) == (2.0, 2.0, 160.0)
    assert targeted["incremental_profit"] == pytest.approx(160 - 2 * 0.25 * 200 / 3 - 2.0)
    assert targeted["roi"] == pytest.approx(targeted["incremental_profit"] / 2.0)
    with pytest.raises(ValueError, match="budget_share"):
        compare_policies(sel, budget_share=0.0)


def test_policy_baseline_uses_the_control_rate_of_the_same_score_decile():
    # 20 selections: contact and control alternate down the scores, so each decile holds one of each
    n = 20
    sel = pd.DataFrame({
        "campaign_key": ["c"] * n, "customer_key": [f"k{i:02d}" for i in range(n)],
        "is_control": [i % 2 == 1 for i in range(n)],
        "responded": [i in (0, 1, 2) for i in range(n)],  # deciles 1 (contact and control) and 2 (contact)
        "response_value": [10.0 if i < 3 else None for i in range(n)],
        "cost_per_contact": [0.0 if i % 2 else 1.0 for i in range(n)],
        "p_response": np.linspace(0.9, 0.1, n), "value_per_response": [10.0] * n,
    })
    base = with_baseline(sel).set_index("customer_key")
    assert base.loc["k00", "baseline_rate"] == 1.0 and base.loc["k02", "baseline_rate"] == 0.0
    # targeting the best contact alone: 1 responder, value 10, baseline 1 x 10 -> incremental profit -1
    one = compare_policies(sel, budget_share=0.1).set_index("policy").loc[TARGETED]
    assert (one["contacts"], one["incremental_responders"], one["incremental_profit"]) == (1.0, 0.0, -1.0)


def scores_frame(n: int = 10) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_key": [f"c{i:02d}" for i in range(n)],
        "p_response": [round(0.30 - 0.02 * i, 2) for i in range(n)],  # c00 best
        "value_per_response": [10.0] * n,
        "reason_codes": ["past campaign responses high"] * n,
        "treatment": ["grow/cross-sell"] * (n - 2) + ["do not target", "win back"],
    })


def test_list_sizes_honour_budget_and_control_share():
    assert list_sizes(1000, budget=85.0, cost_per_contact=0.85, control_share=0.10) == (100, 11)
    assert list_sizes(1000, budget=84.99, cost_per_contact=0.85, control_share=0.10) == (99, 11)
    assert list_sizes(1000, budget=50.0, cost_per_contact=1.0, control_share=0.0) == (50, 0)
    # not enough qualifying customers: all of them, 20% of them controls
    assert list_sizes(10, budget=100.0, cost_per_contact=1.0, control_share=0.20) == (8, 2)
    with pytest.raises(ValueError, match="cost per contact"):
        list_sizes(10, budget=1.0, cost_per_contact=0.0, control_share=0.1)
    with pytest.raises(ValueError, match="control share"):
        list_sizes(10, budget=1.0, cost_per_contact=1.0, control_share=1.0)


def test_target_list_ranks_by_expected_value_skips_excluded_and_draws_controls():
    scores = scores_frame()
    # expected value = p x 10 - 2.00: c00 1.0, c01 0.8, ..., c05 0.0 and below never listed
    out = select_targets(scores, "spring saver", budget=6.0, cost_per_contact=2.0, control_share=0.25)
    assert out["customer_key"].tolist() == ["c00", "c01", "c02", "c03"]  # 3 contacts + round(3 x 1/3) = 1 control
    assert out["expected_value"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.4])
    assert out["is_control"].sum() == 1 and list(out.columns) == ["customer_key", "score", "expected_value",
                                                                   "reason_codes", "treatment", "is_control"]
    again = select_targets(scores, "spring saver", budget=6.0, cost_per_contact=2.0, control_share=0.25)
    assert again.equals(out)  # the same campaign draws the same controls
    # c08 (do not target) is never listed, even with money to spare; c05..c09 have no positive expected value
    wide = select_targets(scores, "x", budget=100.0, cost_per_contact=2.0, control_share=0.0)
    assert wide["customer_key"].tolist() == ["c00", "c01", "c02", "c03", "c04"]
    cheap = select_targets(scores, "x", budget=100.0, cost_per_contact=0.05, control_share=0.0)
    assert "c08" not in set(cheap["customer_key"]) and "c09" in set(cheap["customer_key"])
    controls = [select_targets(scores_frame(200).assign(p_response=0.5), name, budget=90.0, cost_per_contact=1.0,
                               control_share=0.10) for name in ("a", "b")]
    assert [len(c) for c in controls] == [100, 100] and [int(c["is_control"].sum()) for c in controls] == [10, 10]
    assert set(controls[0].loc[controls[0]["is_control"], "customer_key"]) != set(
        controls[1].loc[controls[1]["is_control"], "customer_key"])


def test_lookalikes_find_the_planted_profile_with_out_of_fold_scores():
    rng = np.random.default_rng(3)
    n = 400
    products = rng.integers(1, 6, n).astype(float)
    features = pd.DataFrame({
        "products_held": products, "complaints_per_month": rng.random(n),
        "profit_per_month": rng.normal(0, 1, n),  # money: must not be used
        "geo_segment": rng.choice(["a", "b"], n),
    }, index=pd.Index([f"k{i:03d}" for i in range(n)], name="customer_key"))
    profit = pd.Series(100 * products + rng.normal(0, 30, n), index=features.index)
    result = lookalikes(features, profit, seed_share=0.10, folds=4, random_state=1)
    assert result.seed_size == 40 and "profit_per_month" not in set(result.drivers["feature"])
    assert result.drivers["feature"].iloc[0] == "products_held" and result.drivers["coefficient"].iloc[0] > 0
    assert result.auc > 0.8
    bands = result.customers.set_index("customer_key")["similarity_band"]
    assert bands.value_counts().to_dict() == {"not similar": 180, "somewhat similar": 108, "similar": 54,
                                              "seed": 40, "very similar": 18}
    assert set(bands[bands == "seed"].index) == set(profit.nlargest(40).index)  # the top tenth by profit
    with pytest.raises(ValueError, match="at least 4"):
        lookalikes(features.head(20), profit.head(20), seed_share=0.10, folds=4)


def test_export_targets_writes_the_list_within_budget_and_audits_it(tmp_path, monkeypatch):
    monkeypatch.delenv("CRMW_CONFIG", raising=False)
    settings = load_settings(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema marts")
        scores = scores_frame(40).assign(p_response=[0.9 - 0.01 * i for i in range(40)], as_of_date=D(2025, 12, 31))
        con.register("scores", scores.drop(columns="treatment"))
        con.execute("create table marts.campaign_scores as select * from scores")
        con.execute("""create table marts.customer_segments as
                       select customer_key, case when customer_key = 'c00' then 'do not target' else 'grow' end
                              as treatment, 'Alice' as first_name from scores""")
    publish(settings, "test")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main_with(settings, ["export-targets", "--campaign", "Spring saver", "--budget", "17",
                                    "--channel", "mail"])
    assert code == 0, out.getvalue()
    path = settings.home / "exports" / "targets-spring-saver-2025-12-31.csv"
    listed = pd.read_csv(path)
    # mail costs 0.85: 17 / 0.85 = 20 contacts and round(20 x 0.1 / 0.9) = 2 controls; c00 is "do not target"
    assert list(listed.columns) == ["customer_key", "score", "expected_value", "reason_codes", "treatment",
                                    "is_control"]
    assert len(listed) == 22 and listed["is_control"].sum() == 2 and "c00" not in set(listed["customer_key"])
    assert listed["customer_key"].tolist() == [f"c{i:02d}" for i in range(1, 23)]
    assert "20 customers to contact (17.00 of the budget 17.00 at 0.85 a contact) and 2 held out" in out.getvalue()
    events = read_events(settings)
    assert len(events) == 1 and events["action"].iloc[0] == "export"
    detail = json.loads(events["detail"].iloc[0])
    assert (detail["campaign"], detail["rows"], detail["controls"], detail["file"]) == ("Spring saver", 22, 2,
                                                                                         str(path))
    with contextlib.redirect_stdout(io.StringIO()) as err:
        assert main_with(settings, ["export-targets", "--campaign", "x", "--budget", "5", "--channel", "pigeon"]) == 2
    assert "channel 'pigeon' is not in seeds/channels.csv" in err.getvalue()


def main_with(settings, argv):
    from orchestration import cli

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMW_HOME", str(settings.home))
        return cli.main(argv)


def test_the_campaigns_page_exports_an_audited_target_list(tmp_path, monkeypatch):
    from dashboard_db import build_serving

    from dashboards.app import create_app
    from dashboards.auth import add_user, users_path
    from dashboards.client import post_callback, sign_in

    monkeypatch.delenv("CRMW_CONFIG", raising=False)
    # 20 customers K01..K20 scored 0.50, 0.49, ...; the dashboard database's segments treat them all as targets
    settings = build_serving(tmp_path, extra_sql="""
        create table marts.campaign_scores as
        select 'K' || lpad(i::varchar, 2, '0') as customer_key, date '2025-03-31' as as_of_date,
               0.51 - 0.01 * i as p_response, 100.0 as value_per_response, 'past campaign responses high'
                   as reason_codes
        from range(1, 21) as t(i)""")
    users = users_path(settings.home)
    add_user(users, "ann", "analyst", "ann-password")
    client = create_app(settings, "s" * 32, users).server.test_client()
    sign_in(client, "ann", "ann-password")
    outputs = [("camp-list-download", "data"), ("camp-list-note", "children")]
    state = [("camp-list-name", "value", "Spring saver"), ("camp-list-budget", "value", 8.5),
             ("camp-list-channel", "value", "mail")]
    _, body = post_callback(client, outputs, [("camp-list-button", "n_clicks", 1)], state)
    data = body["response"]["camp-list-download"]["data"]
    lines = data["content"].splitlines()
    # 8.5 / 0.85 = 10 contacts + round(10 x 0.1 / 0.9) = 1 control, best scores first; no personal data
    assert data["filename"] == "targets-spring-saver.csv" and len(lines) == 12
    assert lines[0] == "customer_key,score,expected_value,reason_codes,treatment,is_control"
    assert [line.split(",")[0] for line in lines[1:]] == [f"K{i:02d}" for i in range(1, 12)]
    assert sum(line.endswith("True") for line in lines[1:]) == 1
    event = read_events(settings).iloc[-1]
    assert (event["user_name"], event["page"]) == ("ann", "/campaigns")
    assert json.loads(event["detail"])["contacts"] == 10
    _, body = post_callback(client, outputs, [("camp-list-button", "n_clicks", 2)],
                            [("camp-list-name", "value", " "), *state[1:]])
    assert body["response"]["camp-list-note"]["children"] == "No list: the campaign needs a name."
    assert len(read_events(settings).query("action == 'export'")) == 1


def tiny_history(responded: bool) -> dict:
    """Four monthly campaigns to 12 customers (k00..k11, k11 a control); ``responded``: k00..k02 respond to each."""
    starts = pd.to_datetime(["2025-01-05", "2025-02-05", "2025-03-05", "2025-04-05"])
    campaigns = pd.DataFrame({"campaign_key": [f"m{i}" for i in range(4)], "campaign_name": list("abcd"),
                              "offer": ["saver"] * 4, "channel_id": ["mail"] * 4, "start_date": starts,
                              "end_date": starts + pd.Timedelta(days=30), "cost_per_contact": [0.85] * 4})
    rows = [(f"m{c}", f"k{i:02d}", starts[c], i == 11, responded and i < 3) for c in range(4) for i in range(12)]
    contacts = pd.DataFrame(rows, columns=["campaign_key", "customer_key", "contacted_date", "is_control",
                                           "has_responded"])
    contacts["responded_date"] = (contacts["contacted_date"] + pd.Timedelta(days=3)).where(contacts["has_responded"])
    contacts["response_value"] = np.where(contacts["has_responded"], 80.0, np.nan)
    keys = [f"k{i:02d}" for i in range(12)]
    months = pd.DataFrame({"customer_key": keys, "month_start": pd.Timestamp("2024-12-01"),
                           "revenue": [10.0 * i for i in range(12)], "profit": 1.0, "cost_to_serve": 0.0,
                           "interactions": 1, "assisted_interactions": 0, "complaints": 0, "products_held": 1})
    holdings = pd.DataFrame({"customer_key": ["k00"], "product_id": ["SAV"],
                             "opened_date": pd.to_datetime(["2025-04-20"]), "closed_date": pd.NaT})
    customers = pd.DataFrame({"customer_key": keys, "date_of_birth": pd.NaT, "geo_segment": "urban"})
    return {"campaigns": campaigns, "contacts": contacts, "months": months, "holdings": holdings,
            "customers": customers}


def test_targeting_without_responders_to_learn_from_says_why_and_publishes_no_scores():
    result = evaluate_targeting(tiny_history(responded=False), D(2025, 6, 30), TargetingSettings(holdout_campaigns=2))
    assert result.metrics["usable_campaigns"] == 4
    assert result.lift is None and result.policies is None and result.scores is None
    assert result.notes == ["the training data need both outcomes (responders and non-responders)"]


def test_targeting_on_a_tiny_history_holds_out_the_latest_campaigns_and_scores_everyone():
    result = evaluate_targeting(tiny_history(responded=True), D(2025, 6, 30), TargetingSettings(holdout_campaigns=2))
    assert result.notes == [] and result.metrics["train_campaigns"] == result.metrics["holdout_campaigns"] == 2
    # 11 contacted per campaign (k11 is the control), 3 of them respond
    assert (result.metrics["holdout_contacts"], result.metrics["holdout_responders"]) == (22, 6)
    assert result.lift["contacted"].sum() == 22 and result.metrics["value_per_response"] == 80.0
    # the SAV holding opened after every training contact: unknown to the model, yet k00 is scored
    assert len(result.scores) == 12 and result.scores["p_response"].between(0, 1).all()
