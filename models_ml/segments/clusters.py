"""Behavioural clusters: k-means on standardised behaviour features, k chosen in a range by silhouette, cluster
identities kept across refreshes by matching to the previous run's centroids, names from the profiles.

- Features are standardised with the current run's mean and standard deviation (a constant column is
  centred and left unscaled).
- k: the k in ``k_range`` with the highest mean silhouette (on a fixed-seed sample of at most
  ``silhouette_sample`` customers); ties go to the smaller k. Above ``selection_sample`` customers the k-means
  fits that choose k run on a fixed-seed sample of that size, and the chosen k is then fitted once on every
  customer, started from the sample's centres: choosing k costs the same at 1M customers as at 50k.
- Identity: without previous centroids, ids 1..k by cluster size (largest first; ties by centroid order). With
  them (in feature units, as `centroids` returns), each new centroid is matched to a previous one by the
  assignment that minimises the total distance in the current standardised space (Hungarian method);
  matched clusters keep the previous id, unmatched ones take new ids after the largest previous id.
- Name: the two features whose centroid is furthest from the base (in standard deviations), e.g.
  "high assisted share, low products held".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score


@dataclass(frozen=True)
class ClusterResult:
    assignments: pd.Series  # cluster_id per customer (index of the features)
    centroids: pd.DataFrame  # index cluster_id, feature columns in feature units, plus cluster_name and customers
    k: int
    silhouettes: dict[int, float]


def _standardise(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = features.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise ValueError(f"feature {features.columns[col]!r} is missing or not finite for customer "
                         f"{features.index[row]!r}")
    mean, std = values.mean(axis=0), values.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (values - mean) / std, mean, std


def _name(z: np.ndarray, columns: list[str]) -> str:
    top = np.argsort(-np.abs(z), kind="stable")[:2]
    return ", ".join(f"{'high' if z[i] > 0 else 'low'} {columns[i].replace('_', ' ')}" for i in top)


def cluster_customers(features: pd.DataFrame, k_range: tuple[int, int] = (3, 8), seed: int = 42,
                      previous: pd.DataFrame | None = None, silhouette_sample: int = 5000,
                      selection_sample: int = 50_000) -> ClusterResult:
    """``features``: one row per customer (index), numeric behaviour columns. ``k_range`` is inclusive."""
    low, high = k_range
    if not 2 <= low <= high:
        raise ValueError(f"k_range {k_range} must be two integers 2 <= low <= high")
    if len(features) <= high:
        raise ValueError(f"{len(features)} customers are too few for up to {high} clusters")
    z, mean, std = _standardise(features)
    sampled = len(z) > selection_sample
    chooser = z[np.sort(np.random.default_rng(seed).choice(len(z), selection_sample, replace=False))] if sampled else z
    fits, silhouettes = {}, {}
    for k in range(low, high + 1):
        model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(chooser)
        fits[k] = model
        silhouettes[k] = float(silhouette_score(chooser, model.labels_,
                                                sample_size=min(len(chooser), silhouette_sample), random_state=seed))
    k = max(silhouettes, key=lambda n: (silhouettes[n], -n))
    model = fits[k]
    if sampled:
        model = KMeans(n_clusters=k, init=model.cluster_centers_, n_init=1, random_state=seed).fit(z)
    centres, labels = model.cluster_centers_, model.labels_
    sizes = np.bincount(labels, minlength=k)
    columns = list(features.columns)
    if previous is None or previous.empty:
        order = np.argsort(-sizes, kind="stable")
        ids = np.empty(k, dtype=int)
        ids[order] = np.arange(1, k + 1)
    else:
        missing = [c for c in columns if c not in previous.columns]
        if missing:
            raise ValueError(f"previous centroids lack feature(s) {missing}")
        before = (previous[columns].to_numpy(dtype=float) - mean) / std
        cost = np.linalg.norm(centres[:, None, :] - before[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(cost)
        ids = np.zeros(k, dtype=int)
        ids[rows] = previous.index.to_numpy()[cols]
        fresh = np.flatnonzero(ids == 0)
        ids[fresh] = int(previous.index.max()) + 1 + np.arange(len(fresh))
    centroids = pd.DataFrame(centres * std + mean, columns=columns, index=pd.Index(ids, name="cluster_id"))
    centroids["cluster_name"] = [_name(c, columns) for c in centres]
    centroids["customers"] = sizes
    return ClusterResult(pd.Series(ids[labels], index=features.index, name="cluster_id"),
                         centroids.sort_index(), k, silhouettes)
