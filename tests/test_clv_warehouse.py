"""CLV on warehouse history: RFM and P&L features read with SQL, the customer_clv frame (same-day purchases,
horizon, discounting), the model-choice rule, no future data in features or predictions, fixed-seed outputs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from models_ml.clv import BetaGeoNBD, GammaGamma, rfm_summary
from models_ml.clv.credibility import CredibilitySpend
from models_ml.clv.customer_value import (
    BGNBD_GG,
    CLV_COLUMNS,
    DAYS_PER_MONTH,
    METRIC_COLUMNS,
    NAIVE,
    SUPERVISED,
    ClvConfig,
    choose_model,
    customer_clv,
    fit_supervised,
    predict_supervised,
    spend_per_purchase,
    supervised_features,
    uniform_discount,
)
from models_ml.clv.features import (
    MONTH_COLUMNS,
    customers_at,
    history_months,
    last_complete_month,
    monthly_features,
    purchases_between,
    register_history,
    rfm_at,
)

COUNTS = ("transactions", "interactions", "assisted_interactions", "complaints", "products_held",
          "campaign_contacts", "campaign_responses")


def months_frame(rows: list[dict]) -> pd.DataFrame:
    """fct_customer_month rows; unspecified money and counts are 0, profit = revenue - costs."""
    frame = pd.DataFrame(rows)
    for column in MONTH_COLUMNS:
        if column not in frame:
            frame[column] = 0.0
    frame["month_start"] = pd.to_datetime(frame["month_start"])
    costs = frame[["direct_cost", "cost_to_serve", "servicing_cost", "marketing_cost"]].sum(axis=1)
    frame["profit"] = frame["revenue"] - costs
    return frame[list(MONTH_COLUMNS)]


# -- hand-made history -------------------------------------------------------------------------------------
@pytest.fixture
def tiny():
    transactions = pd.DataFrame(
        {
            "customer_key": ["A", "A", "A", "A", "A", "B", "B", "C"],
            "occurred_date": ["2024-01-05", "2024-01-05", "2024-02-10", "2024-02-20", "2024-03-20",
                              "2024-02-01", "2024-02-03", "2024-04-02"],
            # A: 10 + 5 on one day is one purchase of 15; B's refund-only day is no purchase; C is after as-of
            "amount": [10.0, 5.0, 20.0, 40.0, 30.0, 7.0, -3.0, 9.0],
        }
    )
    months = months_frame([
        {"customer_key": "A", "month_start": "2024-01-01", "revenue": 15.0, "cost_to_serve": 3.0, "interactions": 1,
         "assisted_interactions": 1},
        {"customer_key": "A", "month_start": "2024-02-01", "revenue": 60.0, "direct_cost": 6.0, "interactions": 3,
         "products_held": 2},
        {"customer_key": "A", "month_start": "2024-03-01", "revenue": 30.0, "servicing_cost": 2.0},
        {"customer_key": "B", "month_start": "2024-02-01", "revenue": 4.0, "marketing_cost": 1.0},
        {"customer_key": "D", "month_start": "2024-03-01", "servicing_cost": 5.0, "products_held": 1},
    ])
    return transactions, months


def test_rfm_counts_same_day_purchases_once_and_skips_refund_only_days(tiny):
    con = register_history(*tiny)
    rfm = rfm_at(con, dt.date(2024, 3, 15))
    expected = pd.DataFrame(
        {"frequency": [2, 0], "recency": [46.0, 0.0], "T": [70.0, 43.0], "monetary_value": [30.0, 0.0],
         "monetary_variance": [200.0, 0.0], "days_since_last": [24.0, 43.0]},
        index=pd.Index(["A", "B"], name="customer_key"),
    )
    pd.testing.assert_frame_equal(rfm, expected, check_dtype=False)
    # The same summary as the pandas path (models_ml.clv.rfm) on positive days.
    days = tiny[0].groupby(["customer_key", "occurred_date"], as_index=False)["amount"].sum()
    pandas_rfm = rfm_summary(days[days["amount"] > 0], "2024-03-15", "customer_key", "occurred_date", "amount")
    pd.testing.assert_frame_equal(rfm[pandas_rfm.columns], pandas_rfm, check_dtype=False)
    assert purchases_between(con, dt.date(2024, 1, 31), dt.date(2024, 3, 31)).to_dict() == {"A": 3.0, "B": 1.0}
    assert purchases_between(con, dt.date(2024, 1, 1), dt.date(2024, 2, 29), repeat_only=True).to_dict() == {"A": 2.0}


def test_monthly_features_read_only_complete_months(tiny):
    con = register_history(*tiny)
    cutoff = dt.date(2024, 3, 15)  # March is incomplete: ignored
    assert last_complete_month(cutoff) == dt.date(2024, 2, 1) and history_months(con, cutoff) == 2
    assert last_complete_month(dt.date(2024, 3, 31)) == dt.date(2024, 3, 1)
    keys = customers_at(con, cutoff, include_registry=False)
    assert list(keys) == ["A", "B", "D"]  # D holds a product (P&L month March) but has no transaction
    features = monthly_features(con, cutoff, keys)
    assert features.loc["A", "profit_per_month"] == pytest.approx((12.0 + 54.0) / 2)
    assert features.loc["A", "revenue_per_month"] == pytest.approx(37.5)
    assert features.loc["A", "assisted_share"] == pytest.approx(0.25)
    assert features.loc["A", "products_held"] == 2 and features.loc["A", "tenure_months"] == 2
    assert features.loc["B", "profit_per_month"] == pytest.approx(1.5)
    assert features.loc["D"].drop(["assisted_share", "geo_segment"]).eq(0).all()


def test_short_history_falls_back_to_the_naive_model_with_reasons(tiny):
    """One complete month (as-of mid-February): no backtest, BG/NBD on two customers is degenerate (the
    hypergeometric guard raises), the supervised model has no history to train on; the naive baseline repeats
    January's profit over the horizon, and the refresh goes on."""
    result = customer_clv(*tiny, "2024-02-15", ClvConfig(horizon_days=30, annual_discount_rate=0.10))
    frame = result.customer_clv.set_index("customer_key")
    assert list(result.customer_clv.columns) == list(CLV_COLUMNS)
    assert list(result.model_metrics.columns) == list(METRIC_COLUMNS)
    assert result.chosen_model == NAIVE and list(frame.index) == ["A", "B"]
    assert set(result.reasons) == {BGNBD_GG, SUPERVISED}
    assert "degenerate fit" in result.reasons[BGNBD_GG] and "history" in result.reasons[SUPERVISED]
    # A's January profit 12 per month x (30 / 30.4375) months, discounted from day 15 at 10% a year.
    assert frame.loc["A", "expected_profit"] == pytest.approx(12.0 * 30 / DAYS_PER_MONTH)
    assert frame.loc["A", "clv"] == pytest.approx(12.0 * 30 / DAYS_PER_MONTH * 1.10 ** (-15 / 365.25))
    assert frame.loc["B", "expected_profit"] == 0.0
    assert frame["p_alive"].isna().all() and frame["expected_purchases"].isna().all()
    assert (frame["horizon_days"] == 30).all() and (frame["as_of_date"] == dt.date(2024, 2, 15)).all()
    metrics = result.model_metrics.set_index(["model_name", "metric"])["value"]
    assert metrics[("backtest", "holdout_months")] == 0
    assert metrics[(NAIVE, "published")] == 1 and metrics[(SUPERVISED, "published")] == 0
    failed = [m for m in metrics.index if m[1].startswith("failed: ")]
    assert {m[0] for m in failed} == {BGNBD_GG, SUPERVISED}


def test_uniform_discount_exact():
    assert uniform_discount(30, 0.10) == pytest.approx(1.10 ** (-15 / 365.25))
    assert uniform_discount(60, 0.10) == pytest.approx((1.10 ** (-15 / 365.25) + 1.10 ** (-45 / 365.25)) / 2)
    assert uniform_discount(365, 0.0) == 1.0


def test_bad_inputs_name_relation_and_column(tiny):
    transactions, months = tiny
    with pytest.raises(ValueError, match=r"transactions is missing column\(s\) \['amount'\]"):
        register_history(transactions.drop(columns="amount"), months)
    with pytest.raises(ValueError, match=r"customer_months is missing column\(s\) \['profit'\]"):
        register_history(transactions, months.drop(columns="profit"))
    with pytest.raises(ValueError, match=r"transactions.occurred_date is empty in 1 row"):
        register_history(transactions.assign(occurred_date=transactions["occurred_date"].where(
            transactions.index != 2)), months)


# -- model choice -------------------------------------------------------------------------------------------
def table(**rows) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=["mae", "total_error"])


def test_choice_prefers_total_within_tolerance_then_lowest_mae():
    chosen, reasons = choose_model(table(naive_last_period=(10.0, 0.0), bgnbd_gamma_gamma=(6.0, -0.12),
                                         hist_gradient_boosting=(7.0, 0.03)), {})
    assert chosen == SUPERVISED and "ranked below" in reasons[BGNBD_GG]
    chosen, _ = choose_model(table(naive_last_period=(10.0, 0.0), bgnbd_gamma_gamma=(6.0, -0.04),
                                   hist_gradient_boosting=(7.0, 0.03)), {})
    assert chosen == BGNBD_GG
    chosen, _ = choose_model(table(naive_last_period=(10.0, 0.0), bgnbd_gamma_gamma=(6.0, -0.2),
                                   hist_gradient_boosting=(7.0, 0.3)), {})
    assert chosen == BGNBD_GG  # neither within 5%: lower MAE


def test_choice_needs_to_beat_naive_and_skips_failed_models():
    chosen, reasons = choose_model(table(naive_last_period=(5.0, 0.0), bgnbd_gamma_gamma=(6.0, 0.0),
                                         hist_gradient_boosting=(5.0, 0.0)), {})
    assert chosen == NAIVE and "does not beat the naive" in reasons[SUPERVISED]
    chosen, reasons = choose_model(table(naive_last_period=(10.0, 0.0), hist_gradient_boosting=(7.0, 0.5)),
                                   {BGNBD_GG: "the hypergeometric function failed"})
    assert chosen == SUPERVISED and reasons == {BGNBD_GG: "the hypergeometric function failed"}


# -- a simulated bank: two years of purchases and monthly P&L ------------------------------------------------
def simulated_history(n: int = 600, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers buying at Poisson rates until they leave; monthly P&L from those purchases and fixed costs."""
    rng = np.random.default_rng(seed)
    keys = np.array([f"c{i:04d}" for i in range(n)])
    first = rng.integers(0, 400, n)
    last = np.minimum(first + rng.exponential(500, n), 730)
    counts = rng.poisson(rng.gamma(0.8, 1 / 15, n) * (last - first)) + 1
    owner = np.repeat(np.arange(n), counts)
    offset = rng.random(len(owner)) * (last - first)[owner]
    offset[np.r_[0, np.cumsum(counts)[:-1]]] = 0.0  # each customer's first purchase on their first day
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(first[owner] + offset), "D")
    transactions = pd.DataFrame({"customer_key": keys[owner], "occurred_date": days,
                                 "amount": np.round(rng.gamma(3, 10 * (1 + owner % 3)), 2)})
    month = transactions["occurred_date"].dt.to_period("M").dt.start_time
    months = transactions.assign(month_start=month).groupby(["customer_key", "month_start"], as_index=False).agg(
        revenue=("amount", "sum"), transactions=("amount", "size"))
    months["direct_cost"] = np.round(months["revenue"] * 0.25, 2)
    months["cost_to_serve"] = np.where(months["customer_key"].str[-1].isin(list("02468")), 6.0, 1.0)
    months["interactions"] = months["cost_to_serve"] / 2
    return transactions, months_frame(months.to_dict("records"))


@pytest.fixture(scope="module")
def bank():
    return simulated_history()


@pytest.fixture(scope="module")
def bank_result(bank):
    return customer_clv(*bank, "2025-12-31", ClvConfig(horizon_days=365))


def test_full_history_backtests_a_full_horizon_and_publishes_a_model(bank_result):
    metrics = bank_result.model_metrics.set_index(["model_name", "metric"])["value"]
    assert metrics[("backtest", "holdout_months")] == 12 and metrics[("backtest", "holdout_shortened")] == 0
    assert metrics[("backtest", "holdout_days")] == 365
    table = bank_result.backtest_table
    assert set(table.index) == {NAIVE, BGNBD_GG, SUPERVISED}
    assert table["total_actual"].nunique() == 1  # every model scored on the same actuals
    assert metrics[(SUPERVISED, "train_label_months")] == 6
    assert bank_result.chosen_model in (BGNBD_GG, SUPERVISED, NAIVE)
    assert metrics[(bank_result.chosen_model, "published")] == 1
    frame = bank_result.customer_clv
    assert (frame["model_name"] == bank_result.chosen_model).all()
    assert frame["customer_key"].is_unique and frame[["expected_profit", "clv"]].notna().all().all()
    assert frame["p_alive"].between(0, 1).all()


def test_purchase_columns_are_bgnbd_on_same_day_collapsed_purchases(bank, bank_result):
    """expected_purchases = BG/NBD fitted on customer-days (pandas path) predicting 365 days ahead;
    expected_revenue = purchases x Gamma-Gamma value."""
    transactions = bank[0]
    rfm = rfm_summary(transactions, "2025-12-31", "customer_key", "occurred_date", "amount")
    model = BetaGeoNBD(horizon=365).fit(rfm)
    frame = bank_result.customer_clv.set_index("customer_key").loc[rfm.index]
    np.testing.assert_allclose(frame["expected_purchases"], model.predict(rfm), rtol=1e-6)
    np.testing.assert_allclose(frame["p_alive"], model.p_alive(rfm), rtol=1e-6)
    np.testing.assert_allclose(frame["expected_revenue"], frame["expected_purchases"] * frame["expected_avg_value"])
    # Same-day transactions: doubling a purchase into two halves on one day changes nothing.
    first = transactions.iloc[[0]].assign(amount=transactions["amount"].iloc[0] / 2)
    split = pd.concat([transactions.iloc[1:], first, first], ignore_index=True)
    np.testing.assert_allclose(rfm_summary(split, "2025-12-31", "customer_key", "occurred_date", "amount")
                               .loc[rfm.index].to_numpy(), rfm.to_numpy())


def test_fixed_seed_gives_identical_outputs(bank, bank_result):
    again = customer_clv(*bank, "2025-12-31", ClvConfig(horizon_days=365))
    pd.testing.assert_frame_equal(again.customer_clv, bank_result.customer_clv)
    stable = ~bank_result.model_metrics["metric"].eq("fit_seconds")
    pd.testing.assert_frame_equal(again.model_metrics[stable.to_numpy()].reset_index(drop=True),
                                  bank_result.model_metrics[stable].reset_index(drop=True))


def test_moving_a_future_transaction_changes_no_feature_or_prediction(bank):
    """Features as of the cut-off and the model trained for it read nothing after the cut-off."""
    transactions, months = bank
    cutoff = dt.date(2025, 6, 30)
    config = ClvConfig()

    def run(tx, pnl):
        con = register_history(pa.Table.from_pandas(tx), pnl)
        keys = customers_at(con, cutoff, include_registry=False)
        model, k = fit_supervised(con, cutoff, 12, config)
        features = supervised_features(con, cutoff, keys, k * DAYS_PER_MONTH)
        return features, predict_supervised(model, con, cutoff, keys, k)

    features, predicted = run(transactions, months)
    moved = transactions.copy()
    future = moved.index[moved["occurred_date"] > pd.Timestamp(cutoff)][:50]
    moved.loc[future, "occurred_date"] = pd.Timestamp("2025-07-01")  # right after the cut-off
    moved.loc[future, "amount"] = 1e5
    pnl = months.copy()
    pnl.loc[pnl["month_start"] == pd.Timestamp("2025-07-01"), "profit"] += 1e5
    moved_features, moved_predicted = run(moved, pnl)
    pd.testing.assert_frame_equal(moved_features, features)
    pd.testing.assert_series_equal(moved_predicted, predicted)
    # The same move before the cut-off does change them (the test can fail).
    moved.loc[future, "occurred_date"] = pd.Timestamp("2025-06-30")
    assert not run(moved, pnl)[0].equals(features)


def test_heavy_tailed_spend_forces_q_below_one_and_falls_back_to_credibility_spend():
    """Mean spends 15 .. 2,000 per customer (hand-made): Gamma-Gamma's fitted q <= 1 (no finite mean spend), so
    the value per purchase is the Buhlmann-Straub credibility mean, here worked out by hand. Repeat purchases:
    A 10, 20 (mean 15, variance 50); B 30, 30, 60 (40, 300); C 100; D 1000, 3000 (2000, 2,000,000); E none.
    sigma2 = (1 x 50 + 2 x 300 + 1 x 2,000,000) / 4 = 500,162.5; X = 8, zw = 4,250 / 8 = 531.25;
    tau2 = (sum x (zbar - zw)^2 - 3 sigma2) / (8 - 18/8) = 17,027,800 / 23; k = sigma2 / tau2."""
    first, day = pd.Timestamp("2024-01-01"), pd.Timedelta(days=1)
    rows = [(key, first, 5.0) for key in "ABCDE"]  # the acquisition purchases, left out of spend
    for key, values in {"A": [10, 20], "B": [30, 30, 60], "C": [100], "D": [1000, 3000]}.items():
        rows += [(key, first + (i + 1) * day, float(v)) for i, v in enumerate(values)]
    rows += [("B", first + 2 * day, -10.0), ("B", first + 2 * day, 10.0)]  # same day: one purchase of 30
    transactions = pd.DataFrame(rows, columns=["customer_key", "occurred_date", "amount"])
    rfm = rfm_at(register_history(transactions, months_frame([{"customer_key": "A", "month_start": "2024-01-01"}])),
                 dt.date(2024, 1, 31))
    assert GammaGamma().fit(rfm).q_ <= 1
    values, params, spend_model = spend_per_purchase(rfm)
    assert spend_model.startswith("credibility (Gamma-Gamma: q = ") and spend_model.endswith(
        "<= 1: the population mean spend is infinite)")
    assert params["gg_q"] <= 1
    sigma2, tau2 = 500_162.5, 17_027_800 / 23
    assert params["credibility_sigma2"] == pytest.approx(sigma2, rel=1e-12)
    assert params["credibility_tau2"] == pytest.approx(tau2, rel=1e-12)
    x, zbar = np.array([2, 3, 1, 2]), np.array([15.0, 40.0, 100.0, 2000.0])
    w = x / (x + sigma2 / tau2)
    mu = w @ zbar / w.sum()
    assert params["credibility_mu"] == pytest.approx(mu, rel=1e-12)
    np.testing.assert_allclose(values, np.append(w * zbar + (1 - w) * mu, mu), rtol=1e-12)


def test_a_spend_fallback_fills_value_and_revenue_and_says_which_model(bank, monkeypatch):
    """Gamma-Gamma fitted with q <= 1 (the default demo's case): bgnbd_gamma_gamma runs on the credibility
    spend, expected_revenue = expected_purchases x expected_avg_value is filled, model_metrics says so."""
    import models_ml.clv.customer_value as customer_value

    def q_below_one(self, X, y=None, sample_weight=None):
        self.p_, self.q_, self.gamma_ = 2.0, 0.7, 10.0
        self.params_ = {"p": self.p_, "q": self.q_, "gamma": self.gamma_}
        return self

    monkeypatch.setattr(customer_value.GammaGamma, "fit", q_below_one)
    result = customer_clv(*bank, "2025-12-31", ClvConfig(horizon_days=365))
    assert BGNBD_GG in result.backtest_table.index and BGNBD_GG not in dict(result.reasons)
    note = "credibility (Gamma-Gamma: q = 0.7 <= 1: the population mean spend is infinite)"
    metrics = result.model_metrics.set_index(["model_name", "metric"])["value"]
    assert metrics[(BGNBD_GG, f"spend_model: {note}")] == 1
    assert metrics[(BGNBD_GG, f"backtest_spend_model: {note}")] == 1
    assert metrics[(BGNBD_GG, "param_gg_q")] == 0.7
    frame = result.customer_clv.set_index("customer_key")
    rfm = rfm_at(register_history(*bank), dt.date(2025, 12, 31))
    expected = CredibilitySpend().fit(rfm).predict(rfm)
    np.testing.assert_allclose(frame.loc[rfm.index, "expected_avg_value"], expected, rtol=1e-9)
    np.testing.assert_allclose(frame["expected_revenue"], frame["expected_purchases"] * frame["expected_avg_value"])
    assert frame.loc[rfm.index, "expected_revenue"].notna().all()


def test_no_spend_model_keeps_the_purchase_columns_and_the_refresh_goes_on(bank, monkeypatch):
    """Neither spend model fits (no repeat buyer, say): bgnbd_gamma_gamma fails with both reasons, BG/NBD's
    p_alive and expected_purchases are kept, and the supervised model trains without the all-empty spend
    features."""
    import models_ml.clv.customer_value as customer_value

    def no_spend_model(self, X, y=None, sample_weight=None):
        raise ValueError("no repeat buyer")

    monkeypatch.setattr(customer_value.GammaGamma, "fit", no_spend_model)
    monkeypatch.setattr(customer_value.CredibilitySpend, "fit", no_spend_model)
    result = customer_clv(*bank, "2025-12-31", ClvConfig(horizon_days=365))
    reason = "Gamma-Gamma: no repeat buyer; credibility spend: no repeat buyer"
    assert result.reasons[BGNBD_GG] == reason
    assert BGNBD_GG not in result.backtest_table.index
    assert result.chosen_model in (SUPERVISED, NAIVE)
    frame = result.customer_clv
    assert frame["expected_purchases"].notna().all() and frame["p_alive"].notna().any()
    assert frame["expected_avg_value"].isna().all() and frame["expected_revenue"].isna().all()
    metrics = result.model_metrics.set_index(["model_name", "metric"])["value"]
    assert metrics[(BGNBD_GG, f"failed: {reason}")] == 1
    assert "purchases_mae" in metrics[BGNBD_GG]
    con = register_history(*bank)
    model, _ = fit_supervised(con, dt.date(2025, 12, 31), 12, ClvConfig())
    assert "p_alive" in model.feature_names_ and "gg_value" not in model.feature_names_


def test_clv_on_a_given_connection_reads_relations_there_and_leaves_nothing_behind(tiny):
    import duckdb

    con = duckdb.connect()
    con.register("tx", tiny[0])
    con.execute("create table history as select * from tx")
    con.unregister("tx")
    con.register("pnl", tiny[1])
    config = ClvConfig(horizon_days=30)
    result = customer_clv("(select * from history)", "pnl", "2024-03-31", config, con=con)
    expected = customer_clv(*tiny, "2024-03-31", config)
    pd.testing.assert_frame_equal(result.customer_clv, expected.customer_clv)
    timed = result.model_metrics["metric"] == "fit_seconds"  # a measured time, not a result
    pd.testing.assert_frame_equal(result.model_metrics[~timed], expected.model_metrics[~timed])
    tables = con.execute("select table_name from duckdb_tables() order by 1").fetchall()
    views = con.execute("select view_name from duckdb_views() where not internal order by 1").fetchall()
    assert tables == [("history",)] and views == [("pnl",)]  # only what was there before


# -- the refresh's edge: read the warehouse, write marts ------------------------------------------------------
def test_clv_for_warehouse_writes_published_tables_as_of_the_cutoff(tmp_path, tiny):
    import duckdb

    from orchestration.clv import as_of_date, clv_for_warehouse

    transactions, months = tiny
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute("create schema warehouse")
        con.execute("create table raw.load_log as select * from (values (date '2024-03-30', true), "
                    "(date '2024-04-05', false)) as t(_delivery_date, is_current)")
        con.register("tx", transactions)
        con.register("pnl", months)
        con.execute("create table warehouse.fct_transactions as select customer_key, "
                    "cast(occurred_date as date) as occurred_date, cast(amount as decimal(18, 2)) as amount from tx")
        con.execute("create table warehouse.fct_customer_month as select * from pnl")
        con.execute("create table warehouse.dim_customer as select * from (values ('A', 'P1', true), "
                    "('A', 'P0', false), ('E', null, true)) as t(customer_key, postcode_key, is_current)")
        con.execute("create table warehouse.dim_geography as select 'P1' as postcode_key, 'Urban' as geo_segment")
        assert as_of_date(con, None) == dt.date(2024, 3, 30)  # the latest current delivery
        assert as_of_date(con, dt.date(2024, 3, 1)) == dt.date(2024, 3, 30)  # an old range re-run
        assert as_of_date(con, dt.date(2024, 3, 31)) == dt.date(2024, 3, 31)  # crmw refresh --to D
    result = clv_for_warehouse(path, ClvConfig(horizon_days=30), dt.date(2024, 3, 31))
    with duckdb.connect(str(path), read_only=True) as con:
        clv = con.sql("select * from marts.customer_clv order by customer_key").df()
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_name = 'model_metrics'").fetchall())
    assert list(clv.columns) == list(CLV_COLUMNS)
    # E is a customer of the dimension without any event: forecast too. C's transaction is after the as-of date.
    assert list(clv["customer_key"]) == ["A", "B", "D", "E"]
    assert (clv["as_of_date"] == pd.Timestamp("2024-03-31")).all()
    assert len(clv) == len(result.customer_clv)
    assert types == {"model_name": "VARCHAR", "as_of_date": "DATE", "metric": "VARCHAR", "value": "DOUBLE"}


def test_a_chosen_model_failing_at_the_as_of_date_falls_back_by_the_rule(bank, bank_result, monkeypatch):
    """The backtest chose BG/NBD + Gamma-Gamma; its fit at the as-of date fails: the rule is applied again
    without it (here: the boosting model does not beat the naive baseline, so the baseline), reason recorded."""
    import models_ml.clv.customer_value as customer_value

    assert bank_result.chosen_model == BGNBD_GG
    real = customer_value.bgnbd_forecast

    def fails_for_the_published_forecast(con, cutoff, days, rate, *args, **kwargs):
        if cutoff == dt.date(2025, 12, 31) and rate > 0:
            raise ValueError("the hypergeometric function failed (degenerate fit)")
        return real(con, cutoff, days, rate, *args, **kwargs)

    monkeypatch.setattr(customer_value, "bgnbd_forecast", fails_for_the_published_forecast)
    result = customer_clv(*bank, "2025-12-31", ClvConfig(horizon_days=365))
    pd.testing.assert_frame_equal(result.backtest_table, bank_result.backtest_table)
    assert result.reasons[BGNBD_GG] == "at the as-of date: the hypergeometric function failed (degenerate fit)"
    expected, _ = choose_model(bank_result.backtest_table, {BGNBD_GG: "failed"})
    assert result.chosen_model == expected == NAIVE
    assert (result.customer_clv["model_name"] == NAIVE).all() and result.customer_clv["p_alive"].isna().all()
