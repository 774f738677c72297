"""Was a campaign targeted, or mailed to a random share of the base? Judged from who it contacted.

A blanket mailing (the literature's 1/12 of the base every month regardless of fit) contacts every profit
decile at about the same rate; a targeted one does not. A campaign counts as targeted when its contact rates
across deciles differ both beyond chance (chi-square test of independence, p below MAX_P_VALUE) and by a
margin that matters (the highest decile rate at least MIN_RATE_RATIO times the lowest), so that a large
random mailing, whose small differences are "significant", is not taken for a targeted one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

MAX_P_VALUE = 0.01
MIN_RATE_RATIO = 2.0
COLUMNS = ["campaign", "contacted", "base", "min_rate", "max_rate", "rate_ratio", "p_value", "is_targeted"]


def classify_campaigns(counts: pd.DataFrame, max_p: float = MAX_P_VALUE, min_ratio: float = MIN_RATE_RATIO
                       ) -> pd.DataFrame:
    """`counts`: one row per campaign and decile with `base` (customers of the decile who could be contacted)
    and `contacted` (those the campaign contacted, control group excluded). One row per campaign out."""
    rows = []
    for campaign, group in counts.groupby("campaign", sort=True):
        group = group[group["base"] > 0]
        contacted = group["contacted"].to_numpy(dtype=float)
        base = group["base"].to_numpy(dtype=float)
        if (contacted > base).any():
            raise ValueError(f"campaign {campaign}: more contacts than customers in a decile")
        rates = contacted / base if len(base) else np.array([])
        p_value, ratio = 1.0, 1.0
        if len(base) >= 2 and 0 < contacted.sum() < base.sum():
            _, p_value, _, _ = chi2_contingency(np.vstack([contacted, base - contacted]), correction=False)
            ratio = float(rates.max() / rates.min()) if rates.min() > 0 else float("inf")
        rows.append({"campaign": campaign, "contacted": int(contacted.sum()), "base": int(base.sum()),
                     "min_rate": float(rates.min()) if len(rates) else None,
                     "max_rate": float(rates.max()) if len(rates) else None, "rate_ratio": ratio,
                     "p_value": float(p_value), "is_targeted": bool(p_value < max_p and ratio >= min_ratio)})
    return pd.DataFrame(rows, columns=COLUMNS)
