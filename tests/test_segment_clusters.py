"""Behavioural clusters on small hand-made blobs: k by silhouette, ids stable across refreshes, names."""

import numpy as np
import pandas as pd
import pytest

from models_ml.segments.clusters import cluster_customers


@pytest.fixture(scope="module")
def blobs():
    # three planted groups of 60, 40 and 20 customers, far apart in (assisted_share, products_held, spend)
    rng = np.random.default_rng(7)
    centres = np.array([[0.8, 1.0, 100.0], [0.1, 4.0, 900.0], [0.5, 2.0, 3000.0]])
    rows = np.vstack([c + rng.normal(0, [0.03, 0.2, 40.0], size=(n, 3)) for c, n in zip(centres, (60, 40, 20),
                                                                                         strict=True)])
    keys = [f"c{i:03d}" for i in range(len(rows))]
    return pd.DataFrame(rows, index=keys, columns=["assisted_share", "products_held", "spend"])


@pytest.fixture(scope="module")
def first(blobs):
    return cluster_customers(blobs, k_range=(2, 5), seed=1)


def test_k_is_the_planted_three_and_ids_go_by_size(blobs, first):
    assert first.k == 3 and max(first.silhouettes, key=first.silhouettes.get) == 3
    assert first.assignments.value_counts().to_dict() == {1: 60, 2: 40, 3: 20}
    assert (first.assignments.iloc[:60] == 1).all() and (first.assignments.iloc[100:] == 3).all()
    assert first.centroids.loc[3, "cluster_name"].startswith("high spend")
    assert first.centroids["customers"].to_dict() == {1: 60, 2: 40, 3: 20}


def test_ids_survive_a_refresh_with_shuffled_rows_and_another_seed(blobs, first):
    shuffled = blobs.sample(frac=1, random_state=5)
    again = cluster_customers(shuffled, k_range=(2, 5), seed=9, previous=first.centroids)
    assert again.assignments.reindex(blobs.index).equals(first.assignments)
    # a previous run whose ids were 7, 3, 12 hands those ids on
    renamed = first.centroids.rename(index={1: 7, 2: 3, 3: 12})
    third = cluster_customers(blobs, k_range=(2, 5), seed=1, previous=renamed)
    assert third.assignments.map({7: 1, 3: 2, 12: 3}).equals(first.assignments)
    # a cluster the previous run did not have takes the next id after the largest previous one
    fewer = cluster_customers(blobs, k_range=(2, 5), seed=1, previous=renamed.loc[[7, 3]])
    assert fewer.assignments.map({7: 1, 3: 2, 8: 3}).equals(first.assignments)


def test_bad_features_name_column_and_customer(blobs):
    bad = blobs.copy()
    bad.loc["c007", "spend"] = np.nan
    with pytest.raises(ValueError, match="feature 'spend' is missing or not finite for customer 'c007'"):
        cluster_customers(bad, k_range=(2, 3))
    with pytest.raises(ValueError, match="too few"):
        cluster_customers(blobs.head(4), k_range=(2, 5))


def test_k_chosen_on_a_sample_then_fitted_on_everyone(blobs, first):
    # a 30-customer selection sample still finds the planted three; the final fit covers all 120 customers
    # and lands on the same partition as the fit on everyone
    sampled = cluster_customers(blobs, k_range=(2, 5), seed=1, selection_sample=30)
    assert sampled.k == 3
    assert sampled.assignments.equals(first.assignments)
    assert sampled.centroids["customers"].to_dict() == {1: 60, 2: 40, 3: 20}
    # the centroids are the means of their customers (a converged fit on every customer, not the sample's)
    means = blobs.groupby(sampled.assignments).mean()
    np.testing.assert_allclose(sampled.centroids[blobs.columns].to_numpy(), means.to_numpy(), rtol=1e-9)
