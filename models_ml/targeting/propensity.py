"""Campaign response propensity, trained time-honestly on historic campaign contacts.

- Only contacts made enter training and evaluation: a control-group member was not contacted, so its
  response says nothing about what contact does (controls are kept aside to measure the baseline).
- A campaign is usable once its response window has closed (``end_date``, else ``start_date`` +
  ``response_window_days``, on or before the as-of date): responses to a campaign still running are not
  all in yet.
- The latest ``holdout`` usable campaigns are held out; the model is fitted on the earlier ones only (each
  contact described as of its own contact day) and scored on the held-out ones: gains and lift by score
  decile, ROC AUC.
- The model (``ScoreModel``) is a logistic regression on standardised features (median-imputed) and one-hot
  categories, so every score splits exactly into per-feature contributions: the largest positive ones are
  a customer's reason codes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models_ml.targeting.features import feature_label

CAMPAIGN_COLUMNS = ("campaign_key", "start_date", "end_date")


class ScoreModel(ClassifierMixin, BaseEstimator):
    """Logistic regression on standardised numeric columns and one-hot object columns of a DataFrame."""

    def __init__(self, C: float = 1.0, max_iter: int = 2000):
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y, sample_weight=None):
        y = np.asarray(y).astype(int)
        if len(np.unique(y)) < 2:
            raise ValueError("the training data need both outcomes (responders and non-responders)")
        self.categorical_ = [c for c in X.columns if X[c].dtype == object]
        self.numeric_ = [c for c in X.columns if c not in self.categorical_]
        self.pipeline_ = Pipeline([
            ("prepare", ColumnTransformer([
                ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                                      ("scale", StandardScaler())]), self.numeric_),
                ("category", OneHotEncoder(handle_unknown="ignore"), self.categorical_),
            ], sparse_threshold=0.0)),
            ("model", LogisticRegression(C=self.C, max_iter=self.max_iter)),
        ]).fit(X, y, model__sample_weight=sample_weight)
        prepared = self.pipeline_.named_steps["prepare"]
        self.feature_names_ = [name.split("__", 1)[1] for name in prepared.get_feature_names_out()]
        self.centre_ = prepared.transform(X).mean(axis=0)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    @property
    def coefficients(self) -> pd.Series:
        return pd.Series(self.pipeline_.named_steps["model"].coef_[0], index=self.feature_names_)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per row and feature, coefficient x (value - the training mean) on the model's scale: they sum to
        the row's log-odds minus the log-odds of the average training row."""
        values = self.pipeline_.named_steps["prepare"].transform(X) - self.centre_
        return pd.DataFrame(values * self.coefficients.to_numpy(), index=X.index, columns=self.feature_names_)

    def reasons(self, X: pd.DataFrame, top: int = 2) -> pd.Series:
        """The ``top`` largest positive contributions per row as text ("past campaign responses high; age
        low"); empty when nothing raises the score above the average."""
        values = self.pipeline_.named_steps["prepare"].transform(X) - self.centre_
        contributions = values * self.coefficients.to_numpy()  # as contributions(), without a second transform
        names = np.array(self.feature_names_)
        order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
        out = []
        for row, picks in enumerate(order):
            parts = []
            for j in picks:
                if contributions[row, j] <= 0:
                    break
                name = names[j]
                if name == "age_missing":
                    parts.append("age unknown" if values[row, j] > 0 else "age known")
                elif name.startswith("holds_"):
                    product = name[len("holds_"):]
                    parts.append(f"holds {product}" if values[row, j] > 0 else f"does not hold {product}")
                elif name.startswith("geo_segment_"):
                    parts.append(feature_label(name) if values[row, j] > 0 else f"not {feature_label(name)}")
                else:
                    parts.append(f"{feature_label(name)} {'high' if values[row, j] > 0 else 'low'}")
            out.append("; ".join(parts))
        return pd.Series(out, index=X.index, name="reason_codes")


def usable_campaigns(campaigns: pd.DataFrame, as_of: dt.date, response_window_days: int) -> pd.DataFrame:
    """Campaigns whose response window closed on or before ``as_of``, oldest first (start_date, then key)."""
    missing = [c for c in CAMPAIGN_COLUMNS if c not in campaigns.columns]
    if missing:
        raise ValueError(f"campaigns are missing column(s) {missing}")
    start = pd.to_datetime(campaigns["start_date"])
    closes = pd.to_datetime(campaigns["end_date"]).fillna(start + pd.Timedelta(days=response_window_days))
    usable = campaigns.assign(closes=closes)[start.notna() & (closes <= pd.Timestamp(as_of))]
    return usable.sort_values(["start_date", "campaign_key"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class CampaignSplit:
    train: list
    holdout: list
    shortened: bool  # fewer campaigns held out than asked (too little history)


def split_campaigns(usable: pd.DataFrame, holdout: int) -> CampaignSplit:
    """Hold out the latest ``holdout`` usable campaigns, or half of them (rounded down) when there are fewer
    than 2 x ``holdout``; at least one campaign on each side, else an error."""
    keys = list(usable["campaign_key"])
    if len(keys) < 2:
        raise ValueError(f"{len(keys)} campaign(s) with a closed response window: at least 2 are needed "
                         "(one to train on, one to hold out)")
    held = min(holdout, len(keys) // 2)
    return CampaignSplit(keys[:-held], keys[-held:], held < holdout)


def score_deciles(scores: pd.Series, keys: pd.Series | None = None) -> np.ndarray:
    """Decile 1..10 by score, 1 = highest: rank r of n (ties by ``keys``, then position) is decile
    floor((r - 1) x 10 / n) + 1, so decile sizes differ by at most one."""
    order = pd.DataFrame({"score": np.asarray(scores, dtype=float),
                          "key": np.arange(len(scores)) if keys is None else np.asarray(keys)})
    order["position"] = np.arange(len(order))
    ranked = order.sort_values(["score", "key", "position"], ascending=[False, True, True], kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[ranked["position"].to_numpy()] = np.arange(1, len(order) + 1)
    return (rank - 1) * 10 // max(len(order), 1) + 1


def gains_table(scores, responded, keys=None) -> pd.DataFrame:
    """Gains and lift by score decile of contacted customers: contacted, responders, response rate, lift (the
    decile's rate over the overall rate), cumulative share of responders and cumulative lift from decile 1,
    lowest and highest score."""
    frame = pd.DataFrame({"score": np.asarray(scores, dtype=float), "responded": np.asarray(responded, dtype=bool)})
    if frame.empty:
        raise ValueError("no contacted customers to build gains from")
    frame["decile"] = score_deciles(frame["score"], keys)
    table = frame.groupby("decile").agg(contacted=("responded", "size"), responders=("responded", "sum"),
                                        score_min=("score", "min"), score_max=("score", "max")).reset_index()
    overall = table["responders"].sum() / table["contacted"].sum()
    table["response_rate"] = table["responders"] / table["contacted"]
    table["lift"] = table["response_rate"] / overall if overall > 0 else np.nan
    cumulative = table["responders"].cumsum()
    table["cumulative_response_share"] = cumulative / table["responders"].sum() if overall > 0 else np.nan
    table["cumulative_lift"] = (cumulative / table["contacted"].cumsum()) / overall if overall > 0 else np.nan
    return table[["decile", "contacted", "responders", "response_rate", "lift", "cumulative_response_share",
                  "cumulative_lift", "score_min", "score_max"]]


def auc(scores, responded) -> float:
    """ROC AUC of the scores against the responses (NaN when only one outcome occurs)."""
    responded = np.asarray(responded, dtype=bool)
    if responded.all() or not responded.any():
        return float("nan")
    return float(roc_auc_score(responded, np.asarray(scores, dtype=float)))
