"""The `customer_clv` and `model_metrics` tables: each customer's expected profit over the horizon after the
as-of date, discounted, from the model a backtest chose.

Three models forecast next-horizon profit:

- ``bgnbd_gamma_gamma``: BG/NBD purchases x Gamma-Gamma value per purchase x the gross margin (1 - direct
  cost / revenue over the trailing year, all customers), minus the customer's indirect costs (cost to serve,
  servicing, marketing) continuing at their trailing monthly rate. When Gamma-Gamma has no finite mean spend
  (q <= 1), the value per purchase is the credibility mean spend (models_ml.clv.credibility).
- ``hist_gradient_boosting``: scikit-learn's HistGradientBoostingRegressor trained time-honestly: features as
  of T-k, label = profit per month over the k complete months (T-k, T], applied to features as of T; the
  BG/NBD and Gamma-Gamma outputs are among the features.
- ``naive_last_period``: the profit of the last period, repeated.

The backtest holds out the last full horizon of complete months the history allows (shorter when the history
is under two horizons, and says so), fits on what came before and scores total error, MAE, RMSE, Pearson and
Spearman of profit per customer. Model choice (``choose_model``): a model must have run and beaten the naive
baseline's per-customer MAE; among those, the ones whose total error is within +-5% come first, then the
lowest MAE wins; when none qualifies, the naive baseline is published.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from models_ml.clv.backtest import forecast_metrics
from models_ml.clv.bgnbd import BetaGeoNBD
from models_ml.clv.credibility import CredibilitySpend
from models_ml.clv.features import (
    INDIRECT_COSTS,
    add_months,
    customers_at,
    drop_history,
    history_months,
    last_complete_month,
    month_end,
    monthly_features,
    profit_between,
    purchases_between,
    register_history,
    rfm_at,
)
from models_ml.clv.gamma_gamma import GammaGamma
from models_ml.clv.value import DAYS_PER_YEAR, discounted_clv

BGNBD_GG = "bgnbd_gamma_gamma"
SUPERVISED = "hist_gradient_boosting"
NAIVE = "naive_last_period"
GAMMA_GAMMA, CREDIBILITY = "gamma_gamma", "credibility"  # the spend models of bgnbd_gamma_gamma
BACKTEST = "backtest"  # model_name of the rows describing the backtest itself
MODELS = (BGNBD_GG, SUPERVISED)
TOTAL_ERROR_TOLERANCE = 0.05
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
CLV_COLUMNS = (
    "customer_key", "as_of_date", "horizon_days", "p_alive", "expected_purchases", "expected_avg_value",
    "expected_revenue", "expected_profit", "clv", "model_name",
)
METRIC_COLUMNS = ("model_name", "as_of_date", "metric", "value")
# Failures of a model that fall back to the next one instead of failing the refresh: degenerate or
# non-converging fits, too little data.
MODEL_ERRORS = (ValueError, RuntimeError, FloatingPointError, np.linalg.LinAlgError)


@dataclass(frozen=True)
class ClvConfig:
    horizon_days: int = 365
    annual_discount_rate: float = 0.10
    seed: int = 42
    max_iter: int = 100  # boosting rounds of the supervised model
    learning_rate: float = 0.1
    step_days: float = 30.0  # discounting step


@dataclass
class ClvResult:
    customer_clv: pd.DataFrame
    model_metrics: pd.DataFrame
    chosen_model: str
    reasons: dict[str, str] = field(default_factory=dict)  # model -> why it failed or was not chosen
    backtest_table: pd.DataFrame | None = None  # one row per model, profit metrics as columns


def horizon_months(horizon_days: int) -> int:
    """Whole calendar months closest to the horizon (at least one): the grain of the P&L labels."""
    return max(1, int(round(horizon_days / DAYS_PER_MONTH)))


def uniform_discount(days: float, rate: float, step_days: float = 30.0) -> float:
    """Present value of one unit of profit spread evenly over ``days``, discounted from each step's midpoint
    (the steps of value.discounted_clv); 1 at rate 0."""
    if days <= 0:
        return 1.0
    edges = np.append(np.arange(0.0, days, step_days), days)
    midpoints = (edges[:-1] + edges[1:]) / 2 / DAYS_PER_YEAR
    return float(np.diff(edges) @ (1.0 + rate) ** -midpoints / days)


# -- BG/NBD + Gamma-Gamma -----------------------------------------------------------------------------------
def gross_margin(con, cutoff: dt.date) -> float:
    """1 - direct cost / revenue over the trailing year of complete months, all customers (1 without revenue)."""
    last = last_complete_month(cutoff)
    totals = profit_between(con, add_months(last, -11), last)
    revenue = totals["revenue"].sum()
    return float(1.0 - totals["direct_cost"].sum() / revenue) if revenue > 0 else 1.0


def bgnbd_forecast(con, cutoff: dt.date, days: float, rate: float, customers: pd.Index,
                   monthly: pd.DataFrame, step_days: float = 30.0) -> pd.DataFrame:
    """BG/NBD + Gamma-Gamma fitted on purchases up to the cut-off, forecasting the next ``days``.

    Customers without a purchase by the cut-off have no purchase history for the models: p_alive and
    expected_avg_value stay empty, expected purchases and revenue are 0. Raises when BG/NBD is degenerate.
    When Gamma-Gamma has no finite mean spend (q <= 1) or cannot be fitted, the value per purchase is the
    credibility-weighted mean spend (``spend_per_purchase``); ``attrs["spend_model"]`` says which and why.
    When that fails too (no repeat buyer), p_alive and expected_purchases are kept, the value and profit
    columns are empty and ``attrs["value_error"]`` says why.
    """
    rfm = rfm_at(con, cutoff)
    if rfm.empty:
        raise ValueError(f"no purchases on or before {cutoff}")
    out = pd.DataFrame(index=customers)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # a degenerate fit raises below
        purchases = BetaGeoNBD(horizon=days).fit(rfm)
        out["p_alive"] = pd.Series(purchases.p_alive(rfm), rfm.index)
        out["expected_purchases"] = pd.Series(purchases.predict(rfm), rfm.index).reindex(customers).fillna(0.0)
        out.attrs["params"] = dict(purchases.params_)
        try:
            value, spend_params, spend_model = spend_per_purchase(rfm)
        except MODEL_ERRORS as exc:
            out.attrs["value_error"] = str(exc)
            for column in ("expected_avg_value", "expected_revenue", "expected_profit", "clv"):
                out[column] = np.nan
            return out
        margin = gross_margin(con, cutoff)
        clv = discounted_clv(purchases, rfm, value * margin, days, rate, step_days=step_days)
    out["expected_avg_value"] = pd.Series(value, rfm.index)
    out["expected_revenue"] = out["expected_purchases"] * out["expected_avg_value"].fillna(0.0)
    indirect = sum(monthly[f"{c}_per_month"] for c in INDIRECT_COSTS).reindex(customers).fillna(0.0)
    months = days / DAYS_PER_MONTH
    out["expected_profit"] = out["expected_revenue"] * margin - indirect * months
    gross = pd.Series(clv, rfm.index)
    out["clv"] = gross.reindex(customers).fillna(0.0) - indirect * months * uniform_discount(days, rate, step_days)
    out.attrs["params"].update({**spend_params, "gross_margin": margin})
    out.attrs["spend_model"] = spend_model
    return out


def spend_per_purchase(rfm: pd.DataFrame) -> tuple[np.ndarray, dict[str, float], str]:
    """Expected value per purchase of each customer: Gamma-Gamma, or, when it has no finite mean spend (q <= 1)
    or cannot be fitted, the credibility-weighted mean spend. Returns the values, the fitted parameters
    (``gg_*`` for Gamma-Gamma also when it was set aside, ``credibility_*``) and the spend model used:
    ``gamma_gamma`` or ``credibility (Gamma-Gamma: <why not>)``. Raises when neither can be fitted."""
    params: dict[str, float] = {}
    try:
        spend = GammaGamma().fit(rfm)
        params.update({f"gg_{name}": value for name, value in spend.params_.items()})
        return spend.predict(rfm), params, GAMMA_GAMMA
    except MODEL_ERRORS as exc:
        reason = f"Gamma-Gamma: {exc}"
    try:
        fallback = CredibilitySpend().fit(rfm)
    except MODEL_ERRORS as exc:
        raise ValueError(f"{reason}; credibility spend: {exc}") from exc
    params.update({f"credibility_{name}": value for name, value in fallback.params_.items()})
    return fallback.predict(rfm), params, f"{CREDIBILITY} ({reason})"


# -- supervised -----------------------------------------------------------------------------------------------
def supervised_features(con, cutoff: dt.date, customers: pd.Index, label_days: float) -> pd.DataFrame:
    """RFM, monthly P&L features and the BG/NBD + Gamma-Gamma outputs (over ``label_days``) as of the cut-off.
    When the purchase models cannot be fitted their columns stay empty (the trees route missing values)."""
    monthly = monthly_features(con, cutoff, customers)
    rfm = rfm_at(con, cutoff).reindex(customers)
    features = monthly.join(rfm[["frequency", "recency", "T", "monetary_value", "days_since_last"]])
    try:
        probabilistic = bgnbd_forecast(con, cutoff, label_days, 0.0, customers, monthly)
        features["p_alive"] = probabilistic["p_alive"]
        features["bgnbd_purchases"] = probabilistic["expected_purchases"]
        features["gg_value"] = probabilistic["expected_avg_value"]
        features["bgnbd_profit"] = probabilistic["expected_profit"]
    except MODEL_ERRORS:
        for column in ("p_alive", "bgnbd_purchases", "gg_value", "bgnbd_profit"):
            features[column] = np.nan
    features["geo_segment"] = features["geo_segment"].astype("category")
    return features


def training_window(con, cutoff: dt.date, horizon: int) -> tuple[dt.date, int]:
    """(feature cut-off, label months k) for a model applied at ``cutoff``: k = min(horizon, history / 2)
    complete months, so at least as many months feed the features as the labels."""
    k = min(horizon, history_months(con, cutoff) // 2)
    if k < 1:
        raise ValueError(f"too little history before {cutoff} to train: {history_months(con, cutoff)} complete months")
    last = last_complete_month(cutoff)
    return add_months(last, 1 - k) - dt.timedelta(days=1), k


def fit_supervised(con, cutoff: dt.date, horizon: int, config: ClvConfig) -> tuple[HistGradientBoostingRegressor, int]:
    """Train on features as of (end of the last complete month - k months), label = profit per month over the
    k months after; returns the model and k."""
    train_cutoff, k = training_window(con, cutoff, horizon)
    customers = customers_at(con, train_cutoff, include_registry=False)
    if len(customers) < 2:
        raise ValueError(f"too few customers ({len(customers)}) known by {train_cutoff} to train")
    features = supervised_features(con, train_cutoff, customers, k * DAYS_PER_MONTH)
    label_first = add_months(last_complete_month(train_cutoff), 1)
    labels = profit_between(con, label_first, add_months(label_first, k - 1))["profit"]
    y = labels.reindex(customers).fillna(0.0).to_numpy() / k
    model = HistGradientBoostingRegressor(
        max_iter=config.max_iter, learning_rate=config.learning_rate, categorical_features="from_dtype",
        early_stopping=False, random_state=config.seed,
    )
    # One OpenMP thread: on a busy 2-core machine the threads of small fits wait for each other (20x slower
    # on 2,000 customers, measured), and one thread keeps the fit bit-for-bit reproducible.
    # A column with no value at all (the purchase models' outputs when they failed) cannot be binned.
    features = features.loc[:, features.notna().any()]
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(features, y)
    model.feature_names_ = list(features.columns)
    return model, k


def predict_supervised(model, con, cutoff: dt.date, customers: pd.Index, k: int) -> pd.Series:
    """Predicted profit per month for the customers, from features as of the cut-off."""
    features = supervised_features(con, cutoff, customers, k * DAYS_PER_MONTH)
    with threadpool_limits(limits=1, user_api="openmp"):
        return pd.Series(model.predict(features[model.feature_names_]), customers)


# -- backtest and choice ----------------------------------------------------------------------------------
def choose_model(table: pd.DataFrame, failed: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The published model by the documented rule, and why each other model was not chosen.

    ``table`` has one row per model (index model_name, with NAIVE) and columns ``mae`` and ``total_error``
    of profit per customer over the holdout. Eligible: ran, and per-customer MAE below the naive baseline's.
    Among eligible models, those with |total error| <= 5% come first, then the lowest MAE (name breaks ties).
    """
    reasons = dict(failed)
    naive_mae = table.loc[NAIVE, "mae"] if NAIVE in table.index else np.inf
    eligible = []
    for name in MODELS:
        if name in failed:
            continue
        if name not in table.index or not np.isfinite(table.loc[name, "mae"]):
            reasons[name] = "no backtest score"
        elif not table.loc[name, "mae"] < naive_mae:
            reasons[name] = f"per-customer MAE {table.loc[name, 'mae']:.4g} does not beat the naive {naive_mae:.4g}"
        else:
            total = table.loc[name, "total_error"]
            outside = not (np.isfinite(total) and abs(total) <= TOTAL_ERROR_TOLERANCE)
            eligible.append((outside, table.loc[name, "mae"], name))
    if not eligible:
        return NAIVE, reasons
    ranked = sorted(eligible)
    for _, _, name in ranked[1:]:
        reasons[name] = f"ranked below {ranked[0][2]} (total error within 5% first, then lower MAE)"
    return ranked[0][2], reasons


def _metric_rows(name: str, metrics: dict[str, float], prefix: str = "") -> list[tuple[str, str, float]]:
    return [(name, prefix + metric, float(value)) for metric, value in metrics.items()]


def backtest(con, as_of: dt.date, config: ClvConfig) -> tuple[list, dict[str, str], pd.DataFrame | None]:
    """Hold out the last full horizon of complete months (or half the history when shorter), forecast it from
    what came before, score profit (all models) and purchases (BG/NBD, naive). Returns metric rows, failed
    models with reasons, and the profit table (None when the history is too short for any backtest)."""
    horizon = horizon_months(config.horizon_days)
    available = history_months(con, as_of)
    holdout = min(horizon, available // 2)
    rows: list[tuple[str, str, float]] = [
        (BACKTEST, "horizon_months", horizon), (BACKTEST, "history_months", available),
        (BACKTEST, "holdout_months", holdout), (BACKTEST, "holdout_shortened", float(holdout < horizon)),
    ]
    if holdout < 1:
        return rows, {}, None
    last = last_complete_month(as_of)
    holdout_first = add_months(last, 1 - holdout)
    cutoff = holdout_first - dt.timedelta(days=1)
    holdout_end = month_end(last)
    days = float((holdout_end - cutoff).days)
    customers = customers_at(con, cutoff, include_registry=False)
    rows += [(BACKTEST, "holdout_days", days), (BACKTEST, "customers", float(len(customers)))]
    actual = profit_between(con, holdout_first, last)["profit"].reindex(customers).fillna(0.0)
    naive_first = add_months(holdout_first, -holdout)
    predictions = {NAIVE: profit_between(con, naive_first, add_months(holdout_first, -1))["profit"]
                   .reindex(customers).fillna(0.0)}
    failed: dict[str, str] = {}

    started = time.perf_counter()
    try:
        monthly = monthly_features(con, cutoff, customers)
        probabilistic = bgnbd_forecast(con, cutoff, days, 0.0, customers, monthly, config.step_days)
        rows.append((BGNBD_GG, "fit_seconds", time.perf_counter() - started))
        if "value_error" in probabilistic.attrs:
            failed[BGNBD_GG] = probabilistic.attrs["value_error"]
        else:
            predictions[BGNBD_GG] = probabilistic["expected_profit"]
            rows.append((BGNBD_GG, f"backtest_spend_model: {probabilistic.attrs['spend_model']}", 1.0))
        rfm = rfm_at(con, cutoff)
        bought = purchases_between(con, cutoff, holdout_end).reindex(rfm.index).fillna(0.0)
        repeat = purchases_between(con, cutoff - dt.timedelta(days=days), cutoff, repeat_only=True)
        rows += _metric_rows(BGNBD_GG, forecast_metrics(bought, probabilistic["expected_purchases"][rfm.index]),
                             "purchases_")
        rows += _metric_rows(NAIVE, forecast_metrics(bought, repeat.reindex(rfm.index).fillna(0.0)), "purchases_")
    except MODEL_ERRORS as exc:
        failed[BGNBD_GG] = str(exc)

    started = time.perf_counter()
    try:
        model, k = fit_supervised(con, cutoff, horizon, config)
        rows += [(SUPERVISED, "fit_seconds", time.perf_counter() - started), (SUPERVISED, "train_label_months", k)]
        predictions[SUPERVISED] = predict_supervised(model, con, cutoff, customers, k) * holdout
    except MODEL_ERRORS as exc:
        failed[SUPERVISED] = str(exc)

    table = pd.DataFrame({name: forecast_metrics(actual, p.reindex(customers)) for name, p in predictions.items()}).T
    for name in (NAIVE, *MODELS):
        if name in table.index:
            rows += _metric_rows(name, table.loc[name].to_dict(), "profit_")
    return rows, failed, table.rename_axis("model_name")


# -- the published frame ----------------------------------------------------------------------------------
def customer_clv(transactions, customer_months, as_of_date, config: ClvConfig | None = None,
                 customers=None, con: duckdb.DuckDBPyConnection | None = None) -> ClvResult:
    """Backtest, choose a model, and forecast every customer's profit over the horizon after ``as_of_date``.

    ``transactions`` (customer_key, occurred_date, amount), ``customer_months`` (fct_customer_month columns,
    see features.MONTH_COLUMNS) and the optional ``customers`` (customer_key, geo_segment) are DataFrames or
    Arrow tables; rows after ``as_of_date`` are ignored. ``clv`` is expected profit discounted at the annual
    rate; the purchase columns always come from BG/NBD + Gamma-Gamma (empty when it failed), expected_profit
    and clv from ``model_name``. With ``con`` the history is held in temporary tables of that connection and
    inputs given as text are relations it reads (features.register_history); they are dropped at the end.
    """
    config = config or ClvConfig()
    as_of = pd.Timestamp(as_of_date).date()
    own = con is None
    con = register_history(transactions, customer_months, customers, con)
    try:
        return _customer_clv(con, as_of, config)
    finally:
        if own:
            con.close()
        else:
            drop_history(con)


def _customer_clv(con: duckdb.DuckDBPyConnection, as_of: dt.date, config: ClvConfig) -> ClvResult:
    con.execute("delete from transactions where occurred_date > $d", {"d": as_of})
    con.execute("delete from purchase_days where day > $d", {"d": as_of})
    con.execute("delete from customer_months where month_start > date_trunc('month', $d)", {"d": as_of})

    rows, failed, table = backtest(con, as_of, config)
    chosen, reasons = choose_model(table, failed) if table is not None else (None, {})

    horizon = horizon_months(config.horizon_days)
    days, rate = float(config.horizon_days), config.annual_discount_rate
    keys = customers_at(con, as_of, include_registry=True)
    monthly = monthly_features(con, as_of, keys)
    out = pd.DataFrame(index=keys)
    forecasts: dict[str, pd.Series] = {}
    try:
        probabilistic = bgnbd_forecast(con, as_of, days, rate, keys, monthly, config.step_days)
        for column in ("p_alive", "expected_purchases", "expected_avg_value", "expected_revenue"):
            out[column] = probabilistic[column]
        rows += _metric_rows(BGNBD_GG, probabilistic.attrs["params"], "param_")
        clv_of = {}
        if "value_error" in probabilistic.attrs:
            reasons[BGNBD_GG] = failed.setdefault(BGNBD_GG, f"at the as-of date: {probabilistic.attrs['value_error']}")
        else:
            forecasts[BGNBD_GG] = probabilistic["expected_profit"]
            clv_of[BGNBD_GG] = probabilistic["clv"]
            rows.append((BGNBD_GG, f"spend_model: {probabilistic.attrs['spend_model']}", 1.0))
    except MODEL_ERRORS as exc:
        reasons[BGNBD_GG] = failed.setdefault(BGNBD_GG, f"at the as-of date: {exc}")
        clv_of = {}
    try:  # fitted whatever the choice: it is the fallback when the chosen model fails at the as-of date
        model, k = fit_supervised(con, as_of, horizon, config)
        forecasts[SUPERVISED] = predict_supervised(model, con, as_of, keys, k) * (days / DAYS_PER_MONTH)
    except MODEL_ERRORS as exc:
        reasons[SUPERVISED] = failed.setdefault(SUPERVISED, f"at the as-of date: {exc}")
    months = min(horizon, history_months(con, as_of))
    last = last_complete_month(as_of)
    if months >= 1:
        trailing = profit_between(con, add_months(last, 1 - months), last)["profit"].reindex(keys).fillna(0.0)
        forecasts[NAIVE] = trailing * (days / DAYS_PER_MONTH) / months
    else:
        forecasts[NAIVE] = pd.Series(0.0, keys)

    if chosen is not None and chosen not in forecasts:  # the chosen model failed at the as-of date: the rule
        chosen, reasons = choose_model(table, failed)    # again without it (failed holds that failure now)
    if chosen is None:  # no backtest: the first model that fits, in the documented order
        fallback = [m for m in (BGNBD_GG, SUPERVISED, NAIVE) if m in forecasts]
        note = f"no backtest ({history_months(con, as_of)} complete month(s) of history, 2 needed)"
        for name in fallback[1:]:
            reasons.setdefault(name, f"{note}: fallback order {', '.join((BGNBD_GG, SUPERVISED, NAIVE))}")
        chosen = fallback[0]
    out["expected_profit"] = forecasts[chosen]
    out["clv"] = clv_of.get(chosen, forecasts[chosen] * uniform_discount(days, rate, config.step_days))
    out["model_name"] = chosen
    out["as_of_date"] = as_of
    out["horizon_days"] = int(config.horizon_days)
    frame = out.reset_index().reindex(columns=list(CLV_COLUMNS))
    for column in ("p_alive", "expected_purchases", "expected_avg_value", "expected_revenue"):
        frame[column] = frame[column].astype(float)

    for name in (BGNBD_GG, SUPERVISED, NAIVE):
        rows.append((name, "published", float(name == chosen)))
    for name, reason in failed.items():
        rows.append((name, f"failed: {reason}", 1.0))
    metrics = pd.DataFrame(rows, columns=["model_name", "metric", "value"])
    metrics.insert(1, "as_of_date", as_of)
    metrics["value"] = metrics["value"].astype(float)
    return ClvResult(frame, metrics[list(METRIC_COLUMNS)], chosen, reasons, table)
