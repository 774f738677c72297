"""Per-customer inputs of the CLV models, read with DuckDB SQL from the warehouse's transaction history and
customer P&L as of a cut-off day, so nothing after the cut-off can reach a feature.

Two relations are read (DataFrames or Arrow tables, or relations of a DuckDB connection named in SQL):

- ``transactions``: ``customer_key``, ``occurred_date``, ``amount`` (fct_transactions). A purchase is a
  customer-day whose amounts sum to more than zero: same-day transactions are one purchase, a day of refunds
  only is none.
- ``customer_months``: the customer P&L (fct_customer_month): ``customer_key``, ``month_start``, revenue,
  direct and indirect costs, profit and activity counts. Monthly figures enter only for complete months on
  or before the cut-off, so a cut-off in the middle of a month ignores that month's part.

An optional ``customers`` relation (``customer_key``, ``geo_segment``) adds geodemographics.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

TRANSACTION_COLUMNS = ("customer_key", "occurred_date", "amount")
MONTH_COLUMNS = (
    "customer_key", "month_start", "revenue", "direct_cost", "cost_to_serve", "servicing_cost", "marketing_cost",
    "profit", "transactions", "interactions", "assisted_interactions", "complaints", "products_held",
    "campaign_contacts", "campaign_responses",
)
CUSTOMER_COLUMNS = ("customer_key", "geo_segment")
# Per-month averages over the trailing window (up to LOOKBACK_MONTHS complete months).
MONTHLY_MEANS = (
    "revenue", "direct_cost", "cost_to_serve", "servicing_cost", "marketing_cost", "profit", "transactions",
    "interactions", "complaints", "campaign_contacts", "campaign_responses",
)
LOOKBACK_MONTHS = 12
# 18 digits (8 bytes a value, half of 38 digits: the history of 1M customers is held in memory) still sum
# exactly: DuckDB sums decimal(18, 6) into decimal(38, 6).
EXACT = "decimal(18, 6)"
RECENT_MONTHS = 3
INDIRECT_COSTS = ("cost_to_serve", "servicing_cost", "marketing_cost")


def register_history(transactions, customer_months, customers=None,
                     con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection holding typed copies of the inputs as the temporary tables ``transactions``,
    ``customer_months``, ``customers`` and ``purchase_days``: `con` (which may be the warehouse's own, so a
    large history never passes through Python and can spill to disk under its memory limit), else a new
    in-memory one. An input given as text is a relation `con` reads (a table name or a parenthesised
    query); missing columns raise an error naming the relation and column."""
    con = con or duckdb.connect()
    inputs = {"transactions": (transactions, TRANSACTION_COLUMNS), "customer_months": (customer_months, MONTH_COLUMNS),
              "customers": (customers, CUSTOMER_COLUMNS)}
    for name, (frame, columns) in inputs.items():
        if frame is None:
            frame = pd.DataFrame({"customer_key": pd.Series(dtype=str), "geo_segment": pd.Series(dtype=str)})
        if isinstance(frame, str):
            con.execute(f"create or replace temp view {name}_input as select * from {frame}")
        else:
            con.register(f"{name}_input", frame)
        have = [c for (c,) in con.execute(f"select column_name from (describe {name}_input)").fetchall()]
        missing = [c for c in columns if c not in have]
        if missing:
            raise ValueError(f"{name} is missing column(s) {missing}; it has {have}")
    # Money and counts as decimals: their sums are exact, so the features do not depend on the order in which
    # a parallel scan adds the rows (floating-point sums do, in the last bits, and a tree split can turn on them).
    con.execute(f"""
        create or replace temp table transactions as
        select cast(customer_key as varchar) as customer_key, cast(occurred_date as date) as occurred_date,
               cast(amount as {EXACT}) as amount
        from transactions_input""")
    casts = ", ".join(
        f"cast({c} as {'date' if c == 'month_start' else 'varchar' if c == 'customer_key' else EXACT}) as {c}"
        for c in MONTH_COLUMNS
    )
    con.execute(f"create or replace temp table customer_months as select {casts} from customer_months_input")
    con.execute("create or replace temp table customers as select cast(customer_key as varchar) as customer_key, "
                "cast(geo_segment as varchar) as geo_segment from customers_input")
    for name, column in (("transactions", "customer_key"), ("transactions", "occurred_date"),
                         ("transactions", "amount"), ("customer_months", "customer_key"),
                         ("customer_months", "month_start")):
        bad = con.execute(f"select count(*) from {name} where {column} is null").fetchall()[0][0]
        if bad:
            raise ValueError(f"{name}.{column} is empty in {bad} row(s)")
    con.execute("""
        create or replace temp table purchase_days as
        select customer_key, occurred_date as day, sum(amount) as value
        from transactions
        group by customer_key, occurred_date
        having sum(amount) > 0""")
    return con


def drop_history(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what register_history made on `con`."""
    for name in ("transactions", "customer_months", "customers", "purchase_days"):
        con.execute(f"drop table if exists temp.{name}")
        con.unregister(f"{name}_input")  # an input registered from Python (nothing when there is none)
        con.execute(f"drop view if exists temp.{name}_input")  # an input named in SQL


def last_complete_month(cutoff: dt.date) -> dt.date:
    """First day of the last calendar month that ends on or before ``cutoff``."""
    following = cutoff + dt.timedelta(days=1)
    return (pd.Timestamp(following.year, following.month, 1) - pd.DateOffset(months=1)).date()


def month_end(month_start: dt.date) -> dt.date:
    return (pd.Timestamp(month_start) + pd.offsets.MonthEnd(0)).date()


def add_months(month_start: dt.date, months: int) -> dt.date:
    return (pd.Timestamp(month_start) + pd.DateOffset(months=months)).date()


def history_months(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> int:
    """Complete months from the first month of history to the cut-off (0 without history)."""
    first = con.execute(
        """select least(
               (select min(date_trunc('month', occurred_date)) from transactions where occurred_date <= $c),
               (select min(month_start) from customer_months where month_start <= $c))""",
        {"c": cutoff},
    ).fetchall()[0][0]
    if first is None:
        return 0
    last = last_complete_month(cutoff)
    return max(0, (last.year - first.year) * 12 + last.month - first.month + 1)


def rfm_at(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> pd.DataFrame:
    """Per customer with a purchase on or before the cut-off: frequency, recency, T (days), monetary_value
    (mean value of the repeat purchase days, 0 without repeats), monetary_variance (their sample variance, 0
    with under two repeats) and days_since_last."""
    return con.execute(
        """
        select
            customer_key,
            count(*) - 1 as frequency,
            cast(datediff('day', min(day), max(day)) as double) as recency,
            cast(datediff('day', min(day), $c) as double) as "T",
            case when count(*) > 1 then (sum(value) - arg_min(value, day)) / (count(*) - 1) else 0.0 end
                as monetary_value,
            coalesce(var_samp(case when day > first_day then cast(value as double) end), 0.0) as monetary_variance,
            cast(datediff('day', max(day), $c) as double) as days_since_last
        from (select *, min(day) over (partition by customer_key) as first_day from purchase_days where day <= $c)
        group by customer_key
        order by customer_key
        """,
        {"c": cutoff},
    ).df().set_index("customer_key")


def purchases_between(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date,
                      repeat_only: bool = False) -> pd.Series:
    """Purchase days per customer in (start, end]; ``repeat_only`` leaves out each customer's first purchase."""
    frame = con.execute(
        """
        select customer_key, count(*) as purchases
        from (select *, day > min(day) over (partition by customer_key) as is_repeat from purchase_days)
        where day > $s and day <= $e and (is_repeat or not $r)
        group by customer_key
        """,
        {"s": start, "e": end, "r": repeat_only},
    ).df()
    return frame.set_index("customer_key")["purchases"].astype(float)


def profit_between(con: duckdb.DuckDBPyConnection, first_month: dt.date, last_month: dt.date) -> pd.DataFrame:
    """Profit, revenue, direct and indirect cost per customer summed over months first_month..last_month."""
    indirect = " + ".join(INDIRECT_COSTS)
    frame = con.execute(
        f"""select customer_key, sum(profit) as profit, sum(revenue) as revenue, sum(direct_cost) as direct_cost,
                   sum({indirect}) as indirect_cost
            from customer_months where month_start >= $f and month_start <= $l group by customer_key""",
        {"f": first_month, "l": last_month},
    ).df()
    return frame.set_index("customer_key")


def customers_at(con: duckdb.DuckDBPyConnection, cutoff: dt.date, include_registry: bool) -> pd.Index:
    """Customers known by the cut-off: a transaction or a P&L month on or before it (and, when
    ``include_registry``, every customer of the ``customers`` relation)."""
    registry = "union select customer_key from customers" if include_registry else ""
    keys = con.execute(
        f"""select customer_key from transactions where occurred_date <= $c
            union select customer_key from customer_months where month_start <= date_trunc('month', $c)
            {registry}
            order by customer_key""",
        {"c": cutoff},
    ).df()["customer_key"]
    return pd.Index(keys, name="customer_key")


def monthly_features(con: duckdb.DuckDBPyConnection, cutoff: dt.date, customers: pd.Index) -> pd.DataFrame:
    """Features from the complete months on or before the cut-off: per-month means over the trailing window,
    recent profit, products held, activity, assisted-channel share, tenure, geodemographic segment."""
    last = last_complete_month(cutoff)
    months = min(LOOKBACK_MONTHS, history_months(con, cutoff))
    window_start = add_months(last, 1 - max(months, 1))
    recent_start = add_months(last, 1 - min(RECENT_MONTHS, max(months, 1)))
    means = ",\n".join(f"sum(case when in_window then {c} else 0 end) / $n as {c}_per_month" for c in MONTHLY_MEANS)
    frame = con.execute(
        f"""
        with scoped as (
            select *, month_start >= $w as in_window
            from customer_months
            where month_start <= $l
        )
        select
            customer_key,
            {means},
            sum(case when month_start >= $r then profit else 0 end) / $nr as recent_profit_per_month,
            sum(case when in_window and revenue <> 0 then 1 else 0 end) / $n as revenue_month_share,
            sum(case when in_window then assisted_interactions else 0 end)
                / nullif(sum(case when in_window then interactions else 0 end), 0) as assisted_share,
            max(case when month_start = $l then products_held else 0 end) as products_held,
            cast(datediff('month', min(month_start), $l) + 1 as double) as tenure_months
        from scoped
        group by customer_key
        """,
        {"l": last, "w": window_start, "r": recent_start, "n": float(max(months, 1)),
         "nr": float(min(RECENT_MONTHS, max(months, 1)))},
    ).df().set_index("customer_key")
    geo = con.execute("select customer_key, any_value(geo_segment) as geo_segment from customers "
                      "group by customer_key").df().set_index("customer_key")
    out = frame.reindex(customers)
    filled = [c for c in out.columns if c not in ("assisted_share",)]
    out[filled] = out[filled].fillna(0.0)
    out["geo_segment"] = geo["geo_segment"].reindex(customers)
    return out
