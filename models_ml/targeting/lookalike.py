"""Lookalikes: profile the most profitable customers and find more like them.

The seed is the top ``seed_share`` of customers by trailing profit (ties by customer_key); a classifier
(``ScoreModel``: logistic regression) learns seed against the rest from what a customer *is and does*
(products held, channel use, activity, tenure, age, geodemographics, campaign history), never from the
money columns that define the seed. Every customer's score is out-of-fold (stratified k-fold): no customer is
scored by a model that saw them, so the cross-validated AUC is honest and a seed customer's own score says
how typical they are. Customers outside the seed fall in similarity bands by the percentile of their score
among the non-seed customers. The drivers are the final model's standardised coefficients beside the seed's
and the rest's mean of each feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from models_ml.targeting.features import feature_label
from models_ml.targeting.propensity import ScoreModel, auc

# Columns the seed is defined by (directly or nearly): left out of the lookalike's features.
MONEY_FEATURES = ("revenue_per_month", "profit_per_month", "cost_to_serve_per_month")
# Upper percentile (of non-seed scores, best first) of each band.
BANDS = ((0.05, "very similar"), (0.20, "similar"), (0.50, "somewhat similar"), (1.0, "not similar"))
SEED_BAND = "seed"


@dataclass(frozen=True)
class LookalikeResult:
    customers: pd.DataFrame  # customer_key, is_seed, lookalike_score, similarity_band, top_features
    drivers: pd.DataFrame  # feature, label, coefficient, seed_mean, rest_mean
    auc: float
    seed_size: int


def seed_customers(profit: pd.Series, seed_share: float) -> pd.Index:
    """The top ceil(seed_share x n) customers by profit (index customer_key; empty profit never counts)."""
    if not 0.0 < seed_share <= 1.0:
        raise ValueError(f"seed_share = {seed_share!r} must be in (0, 1]")
    known = profit.dropna()
    ranked = pd.DataFrame({"profit": known.to_numpy(), "key": known.index.astype(str)}, index=known.index)
    ranked = ranked.sort_values(["profit", "key"], ascending=[False, True], kind="stable")
    return ranked.index[:math.ceil(seed_share * len(profit))]


def similarity_bands(scores: pd.Series, is_seed: pd.Series) -> pd.Series:
    """Band of every non-seed customer by its score's rank among non-seed customers (best first)."""
    rest = scores[~is_seed]
    rank = rest.rank(ascending=False, method="first") / max(len(rest), 1)
    bands = pd.Series(SEED_BAND, index=scores.index, dtype=object)
    bands[rest.index] = [next(name for upper, name in BANDS if r <= upper + 1e-12) for r in rank]
    return bands


def lookalikes(features: pd.DataFrame, profit: pd.Series, seed_share: float = 0.10, C: float = 1.0,
               folds: int = 5, random_state: int = 42) -> LookalikeResult:
    """``features``: one row per customer (index customer_key), numeric columns and object categories;
    ``profit``: trailing profit per customer (same index). See the module docstring."""
    X = features.drop(columns=[c for c in MONEY_FEATURES if c in features.columns])
    seeds = seed_customers(profit.reindex(X.index), seed_share)
    y = pd.Series(X.index.isin(seeds), index=X.index)
    if y.sum() < folds or (~y).sum() < folds:
        raise ValueError(f"{int(y.sum())} seed and {int((~y).sum())} other customers: at least {folds} of each "
                         "are needed")
    scores = np.zeros(len(X))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=random_state).split(X, y):
        model = ScoreModel(C=C).fit(X.iloc[train], y.iloc[train])
        scores[test] = model.predict_proba(X.iloc[test])[:, 1]
    final = ScoreModel(C=C).fit(X, y)
    score = pd.Series(scores, index=X.index)
    coefficients = final.coefficients
    numeric = X[final.numeric_].astype(float)
    means = pd.DataFrame({"seed_mean": numeric[y].mean(), "rest_mean": numeric[~y].mean()})
    for column in final.categorical_:  # one-hot columns: the share of each group in the category
        for name in coefficients.index:
            if name.startswith(f"{column}_"):
                hit = X[column].astype(str) == name[len(column) + 1:]
                means.loc[name] = [hit[y].mean(), hit[~y].mean()]
    drivers = pd.DataFrame({"feature": coefficients.index, "coefficient": coefficients.to_numpy()})
    drivers["label"] = drivers["feature"].map(feature_label)
    drivers = drivers.join(means, on="feature")
    drivers = drivers.reindex(drivers["coefficient"].abs().sort_values(ascending=False, kind="stable").index)
    customers = pd.DataFrame({
        "customer_key": X.index, "is_seed": y.to_numpy(), "lookalike_score": scores,
        "similarity_band": similarity_bands(score, y).to_numpy(), "top_features": final.reasons(X, top=3).to_numpy(),
    })
    return LookalikeResult(customers, drivers[["feature", "label", "coefficient", "seed_mean", "rest_mean"]]
                           .reset_index(drop=True), auc(scores, y), int(y.sum()))
