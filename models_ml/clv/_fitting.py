"""Shared maximum-likelihood plumbing for the CLV estimators: input checks, row collapsing, L-BFGS-B."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

# L-BFGS-B may stop its line search with "ABNORMAL" when it sits on the optimum and the objective is flat to
# rounding, or on a flat ridge running off to infinity (Gamma-Gamma's q and gamma growing together when spend
# does not differ between customers: the predictions have converged, the parameters have not). A gradient this
# small (mean per row, in log-parameters) is accepted as converged.
GRADIENT_ACCEPT = 1e-4
# Log-parameters stay inside [-LOG_BOUND, LOG_BOUND]: e^30 is far beyond any sensible rate or shape, and the
# bound keeps exp() finite while the optimiser explores.
LOG_BOUND = 30.0


def as_columns(X, names: Sequence[str]) -> list[np.ndarray]:
    """Read the named columns from a DataFrame (by name) or a 2-D array (by position) as float arrays."""
    if isinstance(X, pd.DataFrame):
        missing = [n for n in names if n not in X.columns]
        if missing:
            raise ValueError(f"input is missing column(s) {missing}; it has {list(X.columns)}")
        cols = [X[n].to_numpy(dtype=float) for n in names]
        labels = X.index
    else:
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise ValueError(f"input must have {len(names)} columns {list(names)}; got shape {arr.shape}")
        cols = [arr[:, j] for j in range(len(names))]
        labels = pd.RangeIndex(arr.shape[0])
    for name, col in zip(names, cols, strict=True):
        bad = ~np.isfinite(col)
        if bad.any():
            raise ValueError(f"column {name!r} has non-finite values, first at row {first_label(labels, bad)!r}")
    return cols


def first_label(labels: pd.Index, mask) -> object:
    """The label of the first row where mask is true, as a plain Python value for error messages."""
    label = labels[int(np.argmax(np.asarray(mask)))]
    return label.item() if isinstance(label, np.generic) else label


def first_bad_row(X, mask: np.ndarray) -> object:
    """The label of the first row of X (DataFrame label or array position) where mask is true."""
    return first_label(X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(mask)), mask)


def check_weights(sample_weight, n: int) -> np.ndarray:
    """Validate per-row weights (default: all ones)."""
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},); got {w.shape}")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    return w


def collapse_rows(cols: Sequence[np.ndarray], weights: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Merge identical rows, adding their weights: the likelihood only needs each distinct row once.

    A lexicographic sort and a scan for changes (np.unique(axis=0) is an order of magnitude slower).
    """
    keep = weights > 0
    if not keep.any():
        return [c[:0] for c in cols], weights[:0]
    cols = [c[keep] for c in cols]
    order = np.lexsort(cols[::-1])
    cols = [c[order] for c in cols]
    starts = np.flatnonzero(np.r_[True, np.logical_or.reduce([np.diff(c) != 0 for c in cols])])
    return [c[starts] for c in cols], np.add.reduceat(weights[keep][order], starts)


def fit_log_params(
    neg_ll_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    tol: float,
    max_iter: int,
) -> np.ndarray:
    """Minimise a negative log-likelihood over log-parameters with L-BFGS-B and its analytic gradient."""
    # The likelihoods are sums of long 1-D dot products; a multi-threaded BLAS spends more time waking its
    # threads for those than computing them (4x slower per evaluation on a busy 2-core machine, measured).
    def run(x0: np.ndarray):
        with threadpool_limits(limits=1, user_api="blas"):
            return minimize(neg_ll_and_grad, x0, jac=True, method="L-BFGS-B",
                            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(start),
                            options={"maxiter": max_iter, "ftol": tol, "gtol": tol})

    result = run(start)
    if result.success or np.max(np.abs(result.jac)) <= GRADIENT_ACCEPT:
        return result.x
    # A line search that found no decrease: restart from where it stopped (a fresh curvature estimate). If
    # the restart converges, or cannot lower the objective by more than `tol` relative, the first run sat on
    # the optimum or on a ridge where the likelihood no longer changes (BG/NBD's a and b growing together
    # when nobody seems to drop out) and its point is the answer.
    if result.status == 2:
        again = run(result.x)
        best = again if again.fun <= result.fun else result
        if again.success or result.fun - again.fun <= tol * max(1.0, abs(result.fun)):
            return best.x
        result = best
    raise RuntimeError(f"maximum likelihood did not converge: {result.message}")
