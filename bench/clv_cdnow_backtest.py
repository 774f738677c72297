"""CDNOW sample, 39 + 39 weeks: BG/NBD, a supervised count model and the naive baseline on the held-out weeks.

Not part of the test suite (a few seconds). The 2,357 customers of Hardie's CDNOW sample (files shipped in the
lifetimes dev dependency) are calibrated on 1997-01-01 .. 1997-09-30 and scored on the next 273 days: total
error, per-customer MAE, RMSE, Pearson and Spearman of purchase days. The supervised model is scikit-learn's
HistGradientBoostingRegressor trained time-honestly inside the calibration period, as the refresh trains its
profit model: features as of week 39 - h, label = purchase days in (39 - h, 39], h = half the calibration
(136 days), applied to features as of week 39 and scaled to the 273-day horizon. Features: frequency, recency,
T, days since the last purchase, purchases in the last 4, 13 and 26 weeks, and BG/NBD's P(alive) and expected
purchases over h (BG/NBD fitted on the data up to the feature cut-off). The choice rule of the refresh
(models_ml.clv.customer_value.choose_model, on purchase counts here) picks among them.

    .venv/bin/python bench/clv_cdnow_backtest.py [--label-days 136]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from clv_fit import cdnow_file  # bench/ is on the path of a bench script
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from models_ml.clv import BetaGeoNBD, forecast_metrics
from models_ml.clv.customer_value import BGNBD_GG, NAIVE, SUPERVISED, choose_model
from models_ml.clv.rfm import purchase_days, purchases_in_window, summarise_days

CALIBRATION_END = pd.Timestamp("1997-09-30")  # 39 weeks after 1997-01-01
HOLDOUT_DAYS = 273
WEEK = 7.0
SEED = 42


def cdnow_days() -> pd.DataFrame:
    frame = pd.read_csv(cdnow_file("CDNOW_sample.txt"), sep=r"\s+", header=None,
                        names=["master_id", "customer_id", "date", "cds", "value"], dtype={"date": str})
    return purchase_days(frame, "customer_id", "date", value_col=None)


def counts(days: pd.DataFrame, start, end, index: pd.Index) -> pd.Series:
    """Purchase days per customer in (start, end], first purchases included."""
    window = purchases_in_window(days, start, end, repeat_only=False)["purchases"]
    return window.reindex(index, fill_value=0).astype(float)


def features(days: pd.DataFrame, cutoff: pd.Timestamp, label_days: float) -> pd.DataFrame:
    """Per customer acquired by the cut-off, from purchase days on or before it only."""
    known = days[days["day"] <= cutoff]
    rfm = summarise_days(known, cutoff, WEEK).drop(columns="monetary_value")
    bgnbd = BetaGeoNBD(horizon=label_days / WEEK).fit(rfm)
    out = rfm.assign(since_last=rfm["T"] - rfm["recency"])
    for weeks in (4, 13, 26):
        out[f"purchases_{weeks}w"] = counts(known, cutoff - pd.Timedelta(weeks=weeks), cutoff, rfm.index)
    out["p_alive"] = bgnbd.p_alive(rfm)
    out["bgnbd_purchases"] = bgnbd.predict(rfm)
    return out


def supervised(days: pd.DataFrame, label_days: int, loss: str) -> tuple[pd.Series, float]:
    """Train on features at CALIBRATION_END - label_days, labels over the label_days after; apply at the end."""
    train_cutoff = CALIBRATION_END - pd.Timedelta(days=label_days)
    X = features(days, train_cutoff, label_days)
    y = counts(days, train_cutoff, CALIBRATION_END, X.index)
    started = time.perf_counter()
    model = HistGradientBoostingRegressor(loss=loss, max_iter=100, learning_rate=0.1, early_stopping=False,
                                          random_state=SEED)
    applied = features(days, CALIBRATION_END, label_days)
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(X, y)
        predicted = model.predict(applied[X.columns]) * HOLDOUT_DAYS / label_days
    return pd.Series(predicted, applied.index), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label-days", type=int, default=HOLDOUT_DAYS // 2)
    args = parser.parse_args()
    days = cdnow_days()
    calibration = days[days["day"] <= CALIBRATION_END]
    rfm = summarise_days(calibration, CALIBRATION_END, WEEK).drop(columns="monetary_value")
    actual = counts(days, CALIBRATION_END, CALIBRATION_END + pd.Timedelta(days=HOLDOUT_DAYS), rfm.index)
    holdout_start = CALIBRATION_END - pd.Timedelta(days=HOLDOUT_DAYS)
    predictions = {
        "bgnbd": pd.Series(BetaGeoNBD(horizon=HOLDOUT_DAYS / WEEK).fit(rfm).predict(rfm), rfm.index),
        NAIVE: purchases_in_window(calibration, holdout_start, CALIBRATION_END)["purchases"]
        .reindex(rfm.index, fill_value=0).astype(float),
    }
    for loss in ("squared_error", "poisson"):
        predictions[f"hgb_{loss}"], seconds = supervised(days, args.label_days, loss)
        print(f"hgb_{loss}: fit + predict {seconds:.2f} s (shared machine: noisy)")
    table = pd.DataFrame({name: forecast_metrics(actual, p.reindex(rfm.index)) for name, p in predictions.items()}).T
    print(f"CDNOW sample: {len(rfm):,} customers, {int(actual.sum()):,} purchase days in the 39 held-out weeks; "
          f"supervised labels over {args.label_days} days")
    print(table[["total_predicted", "total_error", "mae", "rmse", "pearson", "spearman"]].round(4).to_string())
    for loss in ("squared_error", "poisson"):
        rule = table.loc[["bgnbd", f"hgb_{loss}", NAIVE]].set_axis([BGNBD_GG, SUPERVISED, NAIVE])
        chosen, reasons = choose_model(rule, {})
        print(f"choice rule with hgb_{loss} as the supervised model: {chosen}; {reasons}")


if __name__ == "__main__":
    main()
