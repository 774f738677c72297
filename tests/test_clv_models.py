"""CLV models: the published CDNOW results, gradients, weights, determinism, RFM summaries and backtests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime
from scipy.special import hyp2f1
from sklearn.base import clone

from models_ml.clv import (
    BetaGeoNBD,
    GammaGamma,
    backtest_purchases,
    discounted_clv,
    forecast_metrics,
    rfm_summary,
    simulate_bgnbd,
)
from models_ml.clv.bgnbd_likelihood import neg_log_likelihood
from models_ml.clv.credibility import CredibilitySpend

NEG_LOG_LIKELIHOOD = {BetaGeoNBD: neg_log_likelihood, GammaGamma: GammaGamma._neg_ll_and_grad}
CALIBRATION_END = "1997-09-30"  # 39 weeks after CDNOW's first day, 1997-01-01


def cdnow_dir() -> Path:
    """The CDNOW files shipped in the `lifetimes` dev dependency, found without importing lifetimes."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the CDNOW files come with the dev dependency lifetimes==0.11.3: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


@pytest.fixture(scope="module")
def published_summary() -> pd.DataFrame:
    """Hardie's CDNOW sample summary (x, t_x, T in weeks; zbar rounded to cents), 2,357 customers."""
    frame = pd.read_csv(cdnow_dir() / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    return frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW sample's raw transactions, 1997-01-01 to 1998-06-30."""
    return pd.read_csv(
        cdnow_dir() / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "value"],
        dtype={"date": str},
    )


@pytest.fixture(scope="module")
def cdnow_rfm(cdnow_transactions) -> pd.DataFrame:
    return rfm_summary(cdnow_transactions, CALIBRATION_END, time_unit_days=7)


@pytest.fixture(scope="module")
def cdnow_bgnbd(published_summary) -> BetaGeoNBD:
    return BetaGeoNBD(horizon=39).fit(published_summary)


# -- Fader, Hardie & Lee (2005) -------------------------------------------------------------------------------
def test_bgnbd_reproduces_published_parameters(cdnow_bgnbd):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert {k: round(v, 3) for k, v in cdnow_bgnbd.params_.items()} == published
    for name, value in published.items():
        assert cdnow_bgnbd.params_[name] == pytest.approx(value, abs=1e-3)
    assert round(cdnow_bgnbd.log_likelihood_, 1) == -9582.4


def test_bgnbd_reproduces_published_conditional_expectation(cdnow_bgnbd):
    customer = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    assert round(cdnow_bgnbd.conditional_expected_purchases(customer, 39)[0], 3) == 1.226
    assert cdnow_bgnbd.predict(customer)[0] == pytest.approx(1.226, abs=1e-3)


def test_rfm_of_raw_cdnow_matches_published_summary(cdnow_rfm, published_summary):
    """Our summariser on the raw transactions gives Hardie's summary (to its rounding) and the same fit."""
    ours = cdnow_rfm.set_index(cdnow_rfm.index.astype(int)).sort_index()
    assert len(ours) == 2357 and (ours.index == published_summary.index).all()
    assert (ours["frequency"] == published_summary["frequency"]).all()
    for column in ("recency", "T", "monetary_value"):
        assert np.abs(ours[column] - published_summary[column]).max() <= 0.005 + 1e-9
    params = BetaGeoNBD().fit(ours).params_
    assert {k: round(v, 3) for k, v in params.items()} == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_gamma_gamma_reproduces_published_parameters(cdnow_rfm):
    """Fitted on the unrounded spend of the 946 repeat buyers (the summary file's cents shift gamma to 15.45)."""
    model = GammaGamma().fit(cdnow_rfm)
    assert model.n_repeat_buyers_ == 946
    assert {k: round(v, 2) for k, v in model.params_.items()} == {"p": 6.25, "q": 3.74, "gamma": 15.44}
    # Conditional mean shrinks each buyer's zbar towards the population mean p gamma / (q - 1).
    population = model.p_ * model.gamma_ / (model.q_ - 1)
    rows = pd.DataFrame({"frequency": [0, 1, 50], "monetary_value": [0.0, 200.0, 200.0]})
    expected = model.predict(rows)
    assert expected[0] == pytest.approx(population)
    assert population < expected[1] < expected[2] < 200.0


# -- likelihood machinery -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("estimator", "data", "point"),
    [
        (BetaGeoNBD, "published_summary", [0.0, 1.0, 0.0, 0.0]),
        (BetaGeoNBD, "published_summary", [-1.4, 1.5, -0.2, 0.9]),
        (BetaGeoNBD, "published_summary", [0.5, -1.0, 1.2, -0.7]),
        (GammaGamma, "cdnow_rfm", [1.8, 1.3, 2.7]),
        (GammaGamma, "cdnow_rfm", [0.0, 0.5, 1.0]),
        (GammaGamma, "cdnow_rfm", [2.5, 0.1, 4.0]),
    ],
)
def test_gradient_matches_finite_differences(request, estimator, data, point):
    prepared = estimator()._prepare(request.getfixturevalue(data), None)
    objective = NEG_LOG_LIKELIHOOD[estimator]
    point = np.array(point)
    analytic = objective(point, prepared)[1]
    numeric = approx_fprime(point, lambda v: objective(v, prepared)[0], 1e-7)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


def test_weights_equal_expanded_rows(published_summary):
    sample = published_summary.sample(300, random_state=7)
    weights = np.random.default_rng(7).integers(1, 5, len(sample))
    expanded = sample.loc[sample.index.repeat(weights)]
    for estimator in (BetaGeoNBD(), GammaGamma()):
        weighted = clone(estimator).fit(sample, sample_weight=weights)
        repeated = clone(estimator).fit(expanded)
        for name, value in weighted.params_.items():
            assert value == pytest.approx(repeated.params_[name], rel=1e-6)
        assert weighted.log_likelihood_ == pytest.approx(repeated.log_likelihood_, rel=1e-9)


def test_identical_rows_are_collapsed(published_summary):
    model = BetaGeoNBD().fit(published_summary)
    assert model.n_distinct_rows_ == len(published_summary[["frequency", "recency", "T"]].drop_duplicates())
    assert model.n_distinct_rows_ < len(published_summary)


def test_get_params_and_clone_follow_scikit_learn():
    model = BetaGeoNBD(horizon=12.0, tol=1e-8)
    assert model.get_params() == {"horizon": 12.0, "tol": 1e-8, "max_iter": 1000}
    assert clone(model).set_params(horizon=3.0).horizon == 3.0
    assert GammaGamma().get_params() == {"tol": 1e-10, "max_iter": 1000}


# -- predictions ----------------------------------------------------------------------------------------------
def test_unconditional_expectation_matches_the_closed_form(cdnow_bgnbd):
    """New customers (x = t_x = T = 0): E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r,b;a+b-1;t/(alpha+t))]."""
    r, alpha, a, b = cdnow_bgnbd.r_, cdnow_bgnbd.alpha_, cdnow_bgnbd.a_, cdnow_bgnbd.b_
    t = np.array([1.0, 39.0, 78.0, 520.0])
    closed = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    np.testing.assert_allclose(cdnow_bgnbd.expected_purchases(t), closed, rtol=1e-10)


def test_p_alive_is_one_without_repeats_and_falls_with_silence(cdnow_bgnbd):
    rows = pd.DataFrame({"frequency": [0, 5, 5, 5], "recency": [0.0, 38.0, 20.0, 5.0], "T": [38.0] * 4})
    alive = cdnow_bgnbd.p_alive(rows)
    assert alive[0] == 1.0
    assert 1.0 > alive[1] > alive[2] > alive[3] > 0.0


def test_fixed_seed_gives_identical_simulations_and_fits():
    T = np.linspace(20.0, 40.0, 5000)
    first = simulate_bgnbd(0.243, 4.414, 0.793, 2.426, T, holdout=39.0, seed=11)
    second = simulate_bgnbd(0.243, 4.414, 0.793, 2.426, T, holdout=39.0, seed=11)
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(simulate_bgnbd(0.243, 4.414, 0.793, 2.426, T, holdout=39.0, seed=12))
    assert BetaGeoNBD().fit(first).params_ == BetaGeoNBD().fit(second).params_


def test_simulated_holdout_matches_the_conditional_expectation():
    """On 60,000 customers drawn from known parameters, the true model's holdout forecast fits the draw."""
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    T = np.random.default_rng(5).uniform(27.0, 39.0, 60_000)
    drawn = simulate_bgnbd(**truth, T=T, holdout=39.0, seed=5)
    model = BetaGeoNBD(horizon=39.0)
    model.r_, model.alpha_, model.a_, model.b_ = truth.values()
    forecast = model.predict(drawn)
    assert forecast.sum() == pytest.approx(drawn["holdout_frequency"].sum(), rel=0.03)
    by_frequency = pd.DataFrame({"x": drawn["frequency"].clip(upper=4), "f": forecast, "y": drawn["holdout_frequency"]})
    means = by_frequency.groupby("x")[["f", "y"]].mean()
    np.testing.assert_allclose(means["f"], means["y"], rtol=0.08)
    fitted = BetaGeoNBD().fit(drawn)
    assert fitted.r_ == pytest.approx(truth["r"], rel=0.05)
    assert fitted.alpha_ == pytest.approx(truth["alpha"], rel=0.08)


def test_discounted_clv(cdnow_bgnbd, published_summary):
    rows = published_summary.head(50)
    weeks = 365 / 7
    undiscounted = cdnow_bgnbd.conditional_expected_purchases(rows, weeks) * 20.0
    np.testing.assert_allclose(discounted_clv(cdnow_bgnbd, rows, 20.0, 365, 0.0, time_unit_days=7), undiscounted)
    one_step = discounted_clv(cdnow_bgnbd, rows, 20.0, 365, 0.10, time_unit_days=7, step_days=365)
    np.testing.assert_allclose(one_step, undiscounted * 1.10 ** -(182.5 / 365.25))
    monthly = discounted_clv(cdnow_bgnbd, rows, 20.0, 365, 0.10, time_unit_days=7)
    daily = discounted_clv(cdnow_bgnbd, rows, 20.0, 365, 0.10, time_unit_days=7, step_days=1)
    assert (monthly < undiscounted).all() | (undiscounted == 0).all()
    np.testing.assert_allclose(monthly, daily, rtol=1e-3)


# -- input checks ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"frequency": [1, 1.5], "recency": [1.0, 1.0], "T": [2.0, 2.0]}, "frequency must be a whole number"),
        ({"frequency": [1, 2], "recency": [1.0, 3.0], "T": [2.0, 2.0]}, r"recency must lie in \[0, T\]"),
        ({"frequency": [0, 2], "recency": [1.0, 1.0], "T": [2.0, 2.0]}, "recency must be 0"),
        ({"frequency": [1, 2], "recency": [1.0, np.nan], "T": [2.0, 2.0]}, "'recency' has non-finite"),
        ({"frequency": [1, 2], "recency": [1.0, 1.0]}, r"missing column\(s\) \['T'\]"),
    ],
)
def test_bgnbd_rejects_bad_rows(rows, message):
    with pytest.raises(ValueError, match=message):
        BetaGeoNBD().fit(pd.DataFrame(rows, index=["c1", "c2"]))


def test_bad_rows_are_named_by_their_label():
    rows = pd.DataFrame({"frequency": [1, 2], "recency": [1.0, 3.0], "T": [2.0, 2.0]}, index=["c1", "c2"])
    with pytest.raises(ValueError, match="row 'c2'"):
        BetaGeoNBD().fit(rows)


def test_gamma_gamma_rejects_non_positive_spend_and_needs_repeat_buyers():
    with pytest.raises(ValueError, match="monetary_value must be > 0 .* row 'b'"):
        GammaGamma().fit(pd.DataFrame({"frequency": [1, 2], "monetary_value": [5.0, 0.0]}, index=["a", "b"]))
    with pytest.raises(ValueError, match="at least one repeat buyer"):
        GammaGamma().fit(pd.DataFrame({"frequency": [0, 0], "monetary_value": [0.0, 0.0]}))


def test_sample_weight_must_match_rows(published_summary):
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        BetaGeoNBD().fit(published_summary, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        BetaGeoNBD().fit(published_summary, sample_weight=-np.ones(len(published_summary)))


# -- RFM summary ----------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_transactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "A", "A", "A", "B", "C"],
            "date": [
                "2024-01-01",
                "2024-01-01",  # same day: one purchase worth 15
                "2024-01-03",
                "2024-01-10 09:00",
                "2024-01-10 17:30",  # same day: one purchase worth 70
                "2024-02-01",  # after the cut-off
                "2024-01-05",
                "2024-01-20",  # C is acquired after the cut-off
            ],
            "value": [10.0, 5.0, 20.0, 30.0, 40.0, 100.0, 7.0, 9.0],
        }
    )


def test_rfm_summary_exact_values(tiny_transactions):
    summary = rfm_summary(tiny_transactions, "2024-01-15")
    expected = pd.DataFrame(
        {"frequency": [2, 0], "recency": [9.0, 0.0], "T": [14.0, 10.0], "monetary_value": [45.0, 0.0],
         "monetary_variance": [1250.0, 0.0]},  # A's repeat days: 20 and 70
        index=pd.Index(["A", "B"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(summary, expected)
    weekly = rfm_summary(tiny_transactions, "2024-01-15", time_unit_days=7)
    np.testing.assert_allclose(weekly[["recency", "T"]].to_numpy(), [[9 / 7, 2.0], [0.0, 10 / 7]])
    counts_only = rfm_summary(tiny_transactions.drop(columns="value"), "2024-01-15", value_col=None)
    pd.testing.assert_series_equal(counts_only["frequency"], expected["frequency"])


def test_rfm_summary_reads_nothing_after_the_cutoff(tiny_transactions):
    before = rfm_summary(tiny_transactions, "2024-01-15")
    moved = tiny_transactions.copy()
    moved.loc[5, ["date", "value"]] = ["2024-01-16", 1e6]  # A's future purchase, moved and changed
    moved.loc[7, "date"] = "2024-01-15 23:59"  # C arrives on the cut-off day itself: now counted
    after = rfm_summary(moved, "2024-01-15")
    pd.testing.assert_frame_equal(after.loc[["A", "B"]], before)
    assert after.loc["C"].tolist() == [0, 0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="date"), r"missing column\(s\) \['date'\]"),
        (lambda f: f.assign(customer_id=f["customer_id"].where(f.index != 3)), "'customer_id' is empty at row 3"),
        (lambda f: f.assign(date=f["date"].where(f.index != 2, "2024-13-45")), "'date' .* at row 2: '2024-13-45'"),
        (lambda f: f.assign(value=f["value"].astype(object).where(f.index != 4, "n/a")), "'value' .* row 4: 'n/a'"),
    ],
)
def test_rfm_summary_rejects_bad_rows(tiny_transactions, change, message):
    with pytest.raises(ValueError, match=message):
        rfm_summary(change(tiny_transactions), "2024-01-15")


# -- backtest -------------------------------------------------------------------------------------------------
def test_forecast_metrics_exact():
    metrics = forecast_metrics([0, 1, 2, 5], [1, 1, 1, 3])
    assert metrics["total_error"] == pytest.approx(6 / 8 - 1)
    assert metrics["mae"] == pytest.approx(1.0)
    assert metrics["rmse"] == pytest.approx(np.sqrt(6 / 4))
    assert metrics["spearman"] == pytest.approx(np.corrcoef([1, 2, 3, 4], [2, 2, 2, 4])[0, 1])


def test_backtest_counts_on_tiny_frame(tiny_transactions):
    """Holdout (01-15, 02-14]: A has 1 purchase; naive repeats A's repeat purchases in (2023-12-16, 01-15]."""
    result = backtest_purchases(tiny_transactions, "2024-01-15", horizon_days=30, model=BetaGeoNBD(tol=1e-6))
    assert result.predictions["actual"].to_dict() == {"A": 1, "B": 0}
    assert result.predictions["naive_last_period"].to_dict() == {"A": 2, "B": 0}
    assert result.model.horizon == 30.0


def test_backtest_cdnow_39_plus_39_weeks(cdnow_transactions):
    result = backtest_purchases(cdnow_transactions, CALIBRATION_END, horizon_days=273, time_unit_days=7)
    table = result.table()
    bgnbd = table.loc["BetaGeoNBD"]
    assert bgnbd["total_actual"] == 1882
    assert bgnbd["pearson"] == pytest.approx(0.626, abs=1e-3)
    assert bgnbd["mae"] == pytest.approx(0.786, abs=1e-3)
    assert round(bgnbd["total_error"], 2) == -0.12
    naive = table.loc["naive_last_period"]
    assert bgnbd["mae"] < naive["mae"] and bgnbd["pearson"] > naive["pearson"]


def test_backtest_is_blind_to_holdout_changes(cdnow_transactions):
    """Moving holdout purchases changes the actuals, never the calibration summary or the fitted model."""
    base = backtest_purchases(cdnow_transactions, CALIBRATION_END, horizon_days=273, time_unit_days=7)
    moved = cdnow_transactions.copy()
    future = moved["date"] > "19970930"
    moved.loc[future, "date"] = "19980630"
    shifted = backtest_purchases(moved, CALIBRATION_END, horizon_days=273, time_unit_days=7)
    pd.testing.assert_frame_equal(base.calibration, shifted.calibration)
    assert base.model.params_ == shifted.model.params_
    assert (shifted.predictions["actual"] <= base.predictions["actual"]).all()


def test_gamma_gamma_without_heterogeneity_predicts_the_population_mean():
    """Spend drawn from one distribution for everyone: q and gamma run off together and every customer gets
    the population mean, the limit of the model (no shrinkage target differs between customers)."""
    rng = np.random.default_rng(3)
    frequency = rng.integers(1, 10, 3000)
    spend = pd.DataFrame(
        {"frequency": frequency, "monetary_value": rng.gamma(2.0 * frequency, 20.0) / frequency},
    )
    model = GammaGamma().fit(spend)
    assert model.q_ > 20 * model.p_ * spend["frequency"].max()  # weight on own spend < 5%
    predicted = model.predict(spend)
    np.testing.assert_allclose(predicted, 40.0, rtol=0.05)
    assert predicted.std() < 0.05 * spend["monetary_value"].std()


# -- credibility spend (the fallback when Gamma-Gamma's q <= 1) -------------------------------------------------
CREDIBILITY_ROWS = pd.DataFrame(  # A: 10, 20; B: 30, 30, 60; C: 100; D: no repeat purchase
    {"frequency": [2, 3, 1, 0], "monetary_value": [15.0, 40.0, 100.0, 0.0], "monetary_variance": [50.0, 300.0, 0, 0]},
    index=list("ABCD"),
)


def test_credibility_spend_exact_values():
    """sigma2 = (50 + 2 x 300) / 3; zw = 250 / 6; tau2 = (4,833.3 - 2 sigma2) / (6 - 14/6) = 1,200;
    k = sigma2 / tau2 = 13/72; w = x / (x + k); mu = sum w zbar / sum w."""
    model = CredibilitySpend().fit(CREDIBILITY_ROWS)
    assert model.sigma2_ == pytest.approx(650 / 3, rel=1e-12)
    assert model.tau2_ == pytest.approx(1200.0, rel=1e-12)
    assert model.k_ == pytest.approx(13 / 72, rel=1e-12)
    w = np.array([144 / 157, 216 / 229, 72 / 85])
    mu = w @ [15.0, 40.0, 100.0] / w.sum()
    assert model.mu_ == pytest.approx(mu, rel=1e-12)
    np.testing.assert_allclose(model.predict(CREDIBILITY_ROWS), [*(w * [15.0, 40.0, 100.0] + (1 - w) * mu), mu],
                               rtol=1e-12)
    np.testing.assert_allclose(model.predict(CREDIBILITY_ROWS[["frequency", "monetary_value"]].to_numpy()),
                               model.predict(CREDIBILITY_ROWS))


def test_credibility_spend_weights_equal_expanded_rows():
    weights = np.array([3, 1, 2, 5])
    expanded = CREDIBILITY_ROWS.loc[CREDIBILITY_ROWS.index.repeat(weights)]
    weighted = CredibilitySpend().fit(CREDIBILITY_ROWS, sample_weight=weights)
    assert weighted.params_ == pytest.approx(CredibilitySpend().fit(expanded).params_, rel=1e-12)


def test_credibility_spend_without_heterogeneity_gives_everyone_the_mean():
    """Customer means closer together than the within-customer noise explains: tau2 is 0, weight 0."""
    rows = pd.DataFrame({"frequency": [2, 2], "monetary_value": [10.0, 12.0], "monetary_variance": [50.0, 50.0]})
    model = CredibilitySpend().fit(rows)
    assert model.tau2_ == 0 and model.k_ == np.inf
    np.testing.assert_allclose(model.predict(rows), 11.0)
    # No spread within customers (k = 0): each repeat buyer keeps their own mean, the others get mu.
    model = CredibilitySpend().fit(CREDIBILITY_ROWS.assign(monetary_variance=0.0))
    assert model.k_ == 0 and model.mu_ == pytest.approx(155 / 3)
    np.testing.assert_allclose(model.predict(CREDIBILITY_ROWS), [15.0, 40.0, 100.0, 155 / 3])


def test_credibility_spend_rejects_bad_rows_and_needs_repeat_buyers():
    with pytest.raises(ValueError, match="monetary_variance must be >= 0; first offending row 'B'"):
        CredibilitySpend().fit(CREDIBILITY_ROWS.assign(monetary_variance=[50.0, -1.0, 0, 0]))
    with pytest.raises(ValueError, match="monetary_value must be > 0 .* row 'C'"):
        CredibilitySpend().fit(CREDIBILITY_ROWS.assign(monetary_value=[15.0, 40.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="at least one repeat buyer"):
        CredibilitySpend().fit(CREDIBILITY_ROWS.assign(frequency=0))
    with pytest.raises(ValueError, match="two or more repeat purchases"):
        CredibilitySpend().fit(CREDIBILITY_ROWS.assign(frequency=[1, 1, 1, 0]))


def test_credibility_spend_agrees_with_gamma_gamma_where_that_has_a_mean(cdnow_rfm):
    """CDNOW's 946 repeat buyers (q = 3.74): both shrink towards about the same population mean (35.17 and
    36.58) and rank the buyers alike."""
    gamma_gamma, credibility = GammaGamma().fit(cdnow_rfm), CredibilitySpend().fit(cdnow_rfm)
    population = gamma_gamma.p_ * gamma_gamma.gamma_ / (gamma_gamma.q_ - 1)
    assert credibility.mu_ == pytest.approx(population, rel=0.05)
    repeat = cdnow_rfm["frequency"] > 0
    assert np.corrcoef(gamma_gamma.predict(cdnow_rfm)[repeat], credibility.predict(cdnow_rfm)[repeat])[0, 1] > 0.9


def test_bgnbd_fit_ends_on_the_no_dropout_ridge():
    # Nearly everyone's dropout probability is the same 3.2% (Beta with a and b in the millions): the
    # likelihood's optimum lies far out on a ridge where a and b grow together. L-BFGS-B's line search stops
    # there ("ABNORMAL") with a gradient above the acceptance bar; the restart cannot lower the objective,
    # so the point is the answer (this raised before; the 100k bench demo looks like this).
    rng = np.random.default_rng(0)
    X = simulate_bgnbd(9.0, 200.0, 8e6, 2.4e8, rng.uniform(280, 1000, 5000), seed=0)
    model = BetaGeoNBD().fit(X)
    assert model.a_ > 1e4 and model.b_ > 1e5  # far out on the ridge
    assert model.a_ / (model.a_ + model.b_) == pytest.approx(8e6 / 2.48e8, rel=0.25)
    assert model.r_ / model.alpha_ == pytest.approx(9.0 / 200.0, rel=0.1)
    # a maximum: no worse than the parameters the data were drawn from
    truth = BetaGeoNBD()
    truth.r_, truth.alpha_, truth.a_, truth.b_ = 9.0, 200.0, 8e6, 2.4e8
    assert model.log_likelihood(X) >= truth.log_likelihood(X)
