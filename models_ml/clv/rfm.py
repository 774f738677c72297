"""RFM summaries from a transactions frame, as of a cut-off day, in the form the CLV models take.

A purchase is a customer-day: several transactions on one day count as one purchase whose value is their sum
(the models count purchase occasions, and timestamps within a day are too coarse to order). Only transactions
on or before the cut-off are read, so nothing after it can leak into the summary.
"""

from __future__ import annotations

import pandas as pd

from models_ml.clv._fitting import first_label


def purchase_days(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = "value",
) -> pd.DataFrame:
    """One row per (customer, day) with the day's total value, sorted; bad rows raise naming row and column.

    Dates are ISO 8601 strings (``2024-01-31``, ``2024-01-31 09:30``, ``19970131``) or datetimes.
    """
    needed = [customer_col, date_col] + ([value_col] if value_col else [])
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions are missing column(s) {missing}; they have {list(transactions.columns)}")
    customers = transactions[customer_col]
    if customers.isna().any():
        raise ValueError(f"column {customer_col!r} is empty at row {first_label(customers.index, customers.isna())!r}")
    days = pd.to_datetime(transactions[date_col], errors="coerce", format="ISO8601")
    bad = days.isna()
    if bad.any():
        row = first_label(days.index, bad)
        raise ValueError(
            f"column {date_col!r} has a missing or unparsable date at row {row!r}: {transactions[date_col][row]!r}"
        )
    frame = pd.DataFrame({"customer": customers.to_numpy(), "day": days.dt.normalize().to_numpy()})
    if value_col:
        values = pd.to_numeric(transactions[value_col], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = first_label(values.index, bad)
            raise ValueError(
                f"column {value_col!r} has a missing or non-numeric value at row {row!r}: "
                f"{transactions[value_col][row]!r}"
            )
        frame["value"] = values.to_numpy(dtype=float)
    else:
        frame["value"] = 0.0
    return frame.groupby(["customer", "day"], sort=True, as_index=False)["value"].sum()


def rfm_summary(
    transactions: pd.DataFrame,
    cutoff,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = "value",
    time_unit_days: float = 1.0,
) -> pd.DataFrame:
    """Per customer acquired by ``cutoff`` (inclusive): frequency, recency, T and monetary_value.

    frequency = purchase days after the first; recency = last minus first purchase day; T = cutoff minus first
    purchase day (both in units of ``time_unit_days``); monetary_value = mean value of the repeat purchase days
    (0 when there are none), the Gamma-Gamma convention that leaves the acquisition purchase out;
    monetary_variance = their sample variance (0 with fewer than two), for the credibility spend model.
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    days = purchase_days(transactions, customer_col, date_col, value_col)
    return summarise_days(days[days["day"] <= cutoff], cutoff, time_unit_days).rename_axis(customer_col)


def summarise_days(days: pd.DataFrame, cutoff: pd.Timestamp, time_unit_days: float) -> pd.DataFrame:
    """RFM columns from sorted purchase days that all lie on or before ``cutoff``."""
    by_customer = days.groupby("customer", sort=True)
    first = by_customer["day"].first()
    n_days = by_customer.size()
    repeat_value = by_customer["value"].sum() - by_customer["value"].first()
    frequency = n_days - 1
    repeats = days[days["day"] > first.reindex(days["customer"]).to_numpy()]
    unit = pd.Timedelta(days=time_unit_days)
    return pd.DataFrame(
        {
            "frequency": frequency.astype(int),
            "recency": (by_customer["day"].last() - first) / unit,
            "T": (cutoff - first) / unit,
            "monetary_value": (repeat_value / frequency.where(frequency > 0)).fillna(0.0),
            "monetary_variance": repeats.groupby("customer")["value"].var(ddof=1).reindex(first.index).fillna(0.0),
        }
    )


def purchases_in_window(days: pd.DataFrame, start, end, repeat_only: bool = True) -> pd.DataFrame:
    """Per customer: purchase days and their value in (start, end]; ``repeat_only`` skips first purchases."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    in_window = (days["day"] > start) & (days["day"] <= end)
    if repeat_only:
        in_window &= days["day"] > days.groupby("customer")["day"].transform("min")
    window = days[in_window].groupby("customer", sort=True)["value"]
    return pd.DataFrame({"purchases": window.size(), "value": window.sum()})
