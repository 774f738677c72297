"""From scored pairs to clusters of records (candidate customers), vectorised with SciPy.

Connected components over the pairs at or above the threshold chain records together; one wrong link can
then join two people whose other records plainly disagree (two namesakes sharing an email address). So a
cluster holding a pair whose fields contradict each other strongly (evidence of two different people) is split
again with a stricter threshold, step by step, until no such pair is left inside or the steps run out.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Stricter thresholds tried in a conflicted cluster: 1 - (1 - threshold) / 10**k.
SPLIT_STEPS = 6


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label (0..) of each of `n` nodes, given undirected edges left[i] - right[i]."""
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def split_conflicts(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    conflict: np.ndarray,
    threshold: float,
    steps: int = SPLIT_STEPS,
) -> tuple[np.ndarray, np.ndarray]:
    """Clusters of `n` records from scored pairs (every pair within the candidate clusters, low scores
    included) and a mask of the pairs that contradict each other (see linkage: `contradiction`).

    Returns (labels, kept): the cluster label of each record and a mask of the pairs kept as links. A pair
    links when its probability is at least the threshold its two records require; every record starts
    at `threshold`, and the records of a cluster that holds a conflicting pair require the next stricter
    threshold, until no cluster is conflicted or after `steps` steps."""
    required = np.full(n, threshold)
    for step in range(steps + 1):
        kept = probability >= np.maximum(required[left], required[right])
        labels = components(n, left[kept], right[kept])
        bad = conflict & (labels[left] == labels[right])
        if not bad.any() or step == steps:
            return labels, kept
        conflicted = np.zeros(labels.max() + 1, dtype=bool)
        conflicted[labels[left[bad]]] = True
        stricter = 1 - (1 - threshold) / 10 ** (step + 1)
        required = np.where(conflicted[labels], np.maximum(required, stricter), required)
    raise AssertionError("unreachable")
