"""Honest backtests of purchase forecasts: fit on a calibration period, score on the held-out horizon."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr
from sklearn.base import clone

from models_ml.clv.bgnbd import BetaGeoNBD
from models_ml.clv.rfm import purchase_days, purchases_in_window, summarise_days

NAIVE = "naive_last_period"


def forecast_metrics(actual, predicted) -> dict[str, float]:
    """Total error (relative, signed), per-customer MAE and RMSE, Pearson and Spearman correlation."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    error = predicted - actual
    constant = np.ptp(actual) == 0 or np.ptp(predicted) == 0
    return {
        "total_actual": actual.sum(),
        "total_predicted": predicted.sum(),
        "total_error": predicted.sum() / actual.sum() - 1.0 if actual.sum() else np.nan,
        "mae": np.abs(error).mean(),
        "rmse": np.sqrt((error**2).mean()),
        "pearson": np.nan if constant else pearsonr(actual, predicted).statistic,
        "spearman": np.nan if constant else spearmanr(actual, predicted).statistic,
    }


@dataclass
class Backtest:
    """The fitted model, per-customer actuals and forecasts, and the metrics (long: model_name, metric, value)."""

    model: BetaGeoNBD
    calibration: pd.DataFrame
    predictions: pd.DataFrame
    metrics: pd.DataFrame

    def table(self) -> pd.DataFrame:
        """Metrics as one row per model."""
        return self.metrics.pivot(index="model_name", columns="metric", values="value")


def backtest_purchases(
    transactions: pd.DataFrame,
    calibration_end,
    horizon_days: int,
    customer_col: str = "customer_id",
    date_col: str = "date",
    time_unit_days: float = 1.0,
    model: BetaGeoNBD | None = None,
) -> Backtest:
    """Fit on purchases up to ``calibration_end``; forecast repeat purchases in the next ``horizon_days``.

    Customers are those acquired by ``calibration_end``; a purchase is a customer-day. The naive baseline
    repeats each customer's repeat purchases of the last ``horizon_days`` of the calibration period. Data after
    ``calibration_end`` is read only to count the holdout actuals.
    """
    calibration_end = pd.Timestamp(calibration_end).normalize()
    holdout_end = calibration_end + pd.Timedelta(days=horizon_days)
    days = purchase_days(transactions, customer_col, date_col, value_col=None)
    days = days[days["day"] <= holdout_end]
    calibration_days = days[days["day"] <= calibration_end]
    if calibration_days.empty:
        raise ValueError(f"no purchases on or before the calibration end {calibration_end.date()}")
    rfm = summarise_days(calibration_days, calibration_end, time_unit_days).drop(columns="monetary_value")
    model = clone(model) if model is not None else BetaGeoNBD()
    model.set_params(horizon=horizon_days / time_unit_days).fit(rfm)

    def counts(frame, start, end):
        return purchases_in_window(frame, start, end)["purchases"].reindex(rfm.index, fill_value=0)

    predictions = pd.DataFrame(
        {
            "actual": counts(days, calibration_end, holdout_end),
            type(model).__name__: model.predict(rfm),
            NAIVE: counts(calibration_days, calibration_end - pd.Timedelta(days=horizon_days), calibration_end),
        }
    ).rename_axis(customer_col)
    metrics = pd.DataFrame(
        [
            {"model_name": name, "metric": metric, "value": value}
            for name in predictions.columns[1:]
            for metric, value in forecast_metrics(predictions["actual"], predictions[name]).items()
        ]
    )
    return Backtest(model=model, calibration=rfm, predictions=predictions, metrics=metrics)
