"""Draw customers from the BG/NBD process, for parameter-recovery tests and fit benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_bgnbd(r: float, alpha: float, a: float, b: float, T, holdout: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Simulate each customer's repeat purchases over (0, T] and (T, T + holdout].

    Every customer draws lambda ~ Gamma(r, rate alpha) and p ~ Beta(a, b), buys at Poisson rate lambda and
    after each repeat purchase drops out with probability p. The loop runs over purchase number (each round
    advances every still-active customer by one purchase), never over customers. Returns frequency,
    recency, T and holdout_frequency.
    """
    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=float)
    n = len(T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    end = T + holdout
    clock = np.zeros(n)
    frequency = np.zeros(n, dtype=np.int64)
    recency = np.zeros(n)
    holdout_frequency = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1.0, active.size) / lam[active]
        active = active[clock[active] <= end[active]]
        in_calibration = clock[active] <= T[active]
        calibration_ids = active[in_calibration]
        frequency[calibration_ids] += 1
        recency[calibration_ids] = clock[calibration_ids]
        holdout_frequency[active[~in_calibration]] += 1
        active = active[rng.random(active.size) >= p[active]]
    return pd.DataFrame({"frequency": frequency, "recency": recency, "T": T, "holdout_frequency": holdout_frequency})
