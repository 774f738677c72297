"""From scored pairs to clusters of records (candidate customers), vectorised with SciPy.

Connected components over the pairs at or above the threshold chain records together; one wrong link can
then join two people whose other records plainly disagree (two namesakes sharing an email address). So a
cluster holding a pair whose fields contradict each other strongly (evidence of two different people) is split
again with a stricter threshold, step by step, until no such pair is left inside or the steps run out.

The stricter threshold applies to the whole conflicted cluster, so it also cuts good links far from the
conflict: a person's two records linked at 0.99 fall apart because a namesake chained onto one of them.
`rejoin` then puts back the strong ones (at or above the first stricter threshold), strongest first, where
every scored pair between the two pieces they join is at or above the threshold and none contradicts, so
no cluster ends up holding a contradiction.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Stricter thresholds tried in a conflicted cluster: 1 - (1 - threshold) / 10**k.
SPLIT_STEPS = 6
# Rounds of `rejoin` at most; each round merges at least one pair of pieces while any link can come back.
REJOIN_ROUNDS = 50


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
            return rejoin(n, left, right, probability, conflict, threshold, kept)
        conflicted = np.zeros(labels.max() + 1, dtype=bool)
        conflicted[labels[left[bad]]] = True
        stricter = 1 - (1 - threshold) / 10 ** (step + 1)
        required = np.where(conflicted[labels], np.maximum(required, stricter), required)
    raise AssertionError("unreachable")


def rejoin(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    conflict: np.ndarray,
    threshold: float,
    kept: np.ndarray,
    rounds: int = REJOIN_ROUNDS,
) -> tuple[np.ndarray, np.ndarray]:
    """Put back links at or above the first stricter threshold that the split dropped, where they join two
    pieces whose scored pairs between them all reach `threshold` and none contradicts (on the demo, links
    at `threshold` itself or pieces with a weak pair between them cost more precision than they gained
    recall). Returns (labels, kept) as `split_conflicts` does.

    Each round every piece proposes its strongest candidate link; the proposals' merged groups that hold
    no contradiction are accepted whole, and a group that does is cut back to its single strongest link
    (two pieces without a contradiction between them). A piece never takes in a record that contradicts
    one of its own, because candidates between pieces with a contradicting or weak pair are never proposed."""
    kept = kept.copy()
    labels = components(n, left[kept], right[kept])
    for _ in range(rounds):
        la, lb = labels[left], labels[right]
        pieces = int(labels.max()) + 1
        code = np.minimum(la, lb).astype(np.int64) * pieces + np.maximum(la, lb)
        blocked = np.unique(code[(conflict | (probability < threshold)) & (la != lb)])
        strong = probability >= 1 - (1 - threshold) / 10
        candidate = ~kept & ~conflict & strong & (la != lb) & ~np.isin(code, blocked)
        if not candidate.any():
            break
        edges = np.flatnonzero(candidate)
        edges = edges[np.argsort(-probability[edges], kind="stable")]
        # the strongest candidate of each piece (either end), then the distinct proposals
        ends = np.concatenate([la[edges], lb[edges]])
        rank = np.concatenate([np.arange(edges.size), np.arange(edges.size)])
        order = np.lexsort((rank, ends))
        first = np.r_[True, ends[order][1:] != ends[order][:-1]]
        proposed = np.unique(edges[rank[order][first]])
        group = components(pieces, la[proposed], lb[proposed])
        merged = group[labels]
        bad_group = np.zeros(pieces, dtype=bool)
        inside = conflict & (merged[left] == merged[right])
        bad_group[merged[left[inside]]] = True
        accepted = proposed[~bad_group[group[la[proposed]]]]
        # a conflicted group keeps only its strongest proposal
        cut = proposed[bad_group[group[la[proposed]]]]
        if cut.size:
            cut = cut[np.argsort(-probability[cut], kind="stable")]
            _, best = np.unique(group[la[cut]], return_index=True)
            accepted = np.concatenate([accepted, cut[best]])
        kept[accepted] = True
        labels = components(n, left[kept], right[kept])
    return labels, kept
