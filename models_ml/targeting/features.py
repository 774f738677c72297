"""Per-customer features as of a cut-off day, for the propensity and lookalike models.

A *point* is (point_id, customer_key, cutoff): one customer seen on one day (a campaign contact on its
contact day, or every customer on the day after the as-of date). Only what was known before the cut-off
day enters: P&L months that ended before the cut-off's month began (complete months), holdings open on the
day before it, campaign selections made and responses given before it. Inputs are DataFrames or Arrow
tables, read with DuckDB SQL:

- ``months``: the customer P&L (fct_customer_month): customer_key, month_start, revenue, profit,
  cost_to_serve, interactions, assisted_interactions, complaints, products_held;
- ``contacts``: campaign selections (fct_campaign_contacts): customer_key, contacted_date, is_control,
  has_responded, responded_date;
- ``holdings``: customer_key, product_id, opened_date, closed_date (fct_holdings);
- ``customers``: customer_key, date_of_birth, geo_segment (current dim_customer with its geography).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

WINDOW_MONTHS = 12
MONTH_COLUMNS = ("customer_key", "month_start", "revenue", "profit", "cost_to_serve", "interactions",
                 "assisted_interactions", "complaints", "products_held")
CONTACT_COLUMNS = ("customer_key", "contacted_date", "is_control", "has_responded", "responded_date")
HOLDING_COLUMNS = ("customer_key", "product_id", "opened_date", "closed_date")
CUSTOMER_COLUMNS = ("customer_key", "date_of_birth", "geo_segment")
POINT_COLUMNS = ("point_id", "customer_key", "cutoff")
# Readable names for reason codes and driver tables.
LABELS = {
    "revenue_per_month": "revenue", "profit_per_month": "profit", "cost_to_serve_per_month": "cost to serve",
    "interactions_per_month": "service contacts", "assisted_share": "assisted share of contacts",
    "complaints_per_month": "complaints", "products_held": "products held", "active_month_share": "months active",
    "tenure_months": "tenure", "age": "age", "age_missing": "age unknown", "prior_contacts": "past campaign contacts",
    "prior_responses": "past campaign responses", "prior_control_responses": "responses while in a control group",
}


def _require(name: str, frame, columns: tuple[str, ...], con: duckdb.DuckDBPyConnection) -> None:
    con.register(f"{name}_input", frame)
    have = [c for (c,) in con.execute(f"select column_name from (describe {name}_input)").fetchall()]
    missing = [c for c in columns if c not in have]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; it has {have}")


def _signed_log(values: pd.Series) -> pd.Series:
    x = values.astype(float)
    return np.sign(x) * np.log1p(np.abs(x))


def customer_features(points, months, contacts, holdings, customers) -> pd.DataFrame:
    """One row per point (index point_id): numeric features and ``geo_segment``; see the module docstring."""
    with duckdb.connect() as con:
        for name, frame, columns in (("points", points, POINT_COLUMNS), ("months", months, MONTH_COLUMNS),
                                     ("contacts", contacts, CONTACT_COLUMNS), ("holdings", holdings, HOLDING_COLUMNS),
                                     ("customers", customers, CUSTOMER_COLUMNS)):
            _require(name, frame, columns, con)
        bad = con.execute("select count(*) from points_input where cutoff is null or customer_key is null"
                          ).fetchall()[0][0]
        if bad:
            raise ValueError(f"points: {bad} row(s) without a customer_key or cutoff")
        con.execute("""create table points as
                       select point_id, cast(customer_key as varchar) as customer_key, cast(cutoff as date) as cutoff,
                              cast(date_trunc('month', cast(cutoff as date)) as date) as cut_month
                       from points_input""")
        frame = con.execute(f"""
            with monthly as (
                select p.point_id,
                       count(*) as months_known,
                       min(m.month_start) as first_month,
                       sum(case when m.month_start >= p.cut_month - interval {WINDOW_MONTHS} month
                                then cast(m.revenue as double) else 0 end) / {WINDOW_MONTHS} as revenue_per_month,
                       sum(case when m.month_start >= p.cut_month - interval {WINDOW_MONTHS} month
                                then cast(m.profit as double) else 0 end) / {WINDOW_MONTHS} as profit_per_month,
                       sum(case when m.month_start >= p.cut_month - interval {WINDOW_MONTHS} month
                                then cast(m.cost_to_serve as double) else 0 end) / {WINDOW_MONTHS}
                           as cost_to_serve_per_month,
                       sum(case when m.month_start >= p.cut_month - interval {WINDOW_MONTHS} month
                                then m.interactions else 0 end) / {WINDOW_MONTHS} as interactions_per_month,
                       sum(case when m.month_start >= p.cut_month - interval {WINDOW_MONTHS} month
                                then m.assisted_interactions else 0 end)
                         / nullif(sum(case when m.month_start >= p.cut_month - interval {WINDOW_MONTHS} month
                                           then m.interactions else 0 end), 0) as assisted_share,
                       sum(case when m.month_start >= p.cut_month - interval {WINDOW_MONTHS} month
                                then m.complaints else 0 end) / {WINDOW_MONTHS} as complaints_per_month,
                       sum(case when m.month_start >= p.cut_month - interval {WINDOW_MONTHS} month
                                 and m.revenue <> 0 then 1 else 0 end) / {WINDOW_MONTHS} as active_month_share,
                       max(case when m.month_start = p.cut_month - interval 1 month then m.products_held else 0 end)
                           as products_held
                from points as p
                join months_input as m
                  on m.customer_key = p.customer_key and m.month_start < p.cut_month
                group by p.point_id
            ),
            campaigns as (
                select p.point_id,
                       sum(case when not c.is_control then 1 else 0 end) as prior_contacts,
                       sum(case when not c.is_control and c.has_responded and c.responded_date < p.cutoff
                                then 1 else 0 end) as prior_responses,
                       sum(case when c.is_control and c.has_responded and c.responded_date < p.cutoff
                                then 1 else 0 end) as prior_control_responses
                from points as p
                join contacts_input as c on c.customer_key = p.customer_key and c.contacted_date < p.cutoff
                group by p.point_id
            ),
            profile as (
                select customer_key, any_value(date_of_birth) as date_of_birth, any_value(geo_segment) as geo_segment
                from customers_input group by customer_key
            )
            select p.point_id, p.customer_key,
                   coalesce(monthly.revenue_per_month, 0) as revenue_per_month,
                   coalesce(monthly.profit_per_month, 0) as profit_per_month,
                   coalesce(monthly.cost_to_serve_per_month, 0) as cost_to_serve_per_month,
                   coalesce(monthly.interactions_per_month, 0) as interactions_per_month,
                   coalesce(monthly.assisted_share, 0) as assisted_share,
                   coalesce(monthly.complaints_per_month, 0) as complaints_per_month,
                   coalesce(monthly.products_held, 0) as products_held,
                   coalesce(monthly.active_month_share, 0) as active_month_share,
                   coalesce(datediff('month', monthly.first_month, p.cut_month), 0) as tenure_months,
                   datediff('day', profile.date_of_birth, p.cutoff) / 365.25 as age,
                   coalesce(campaigns.prior_contacts, 0) as prior_contacts,
                   coalesce(campaigns.prior_responses, 0) as prior_responses,
                   coalesce(campaigns.prior_control_responses, 0) as prior_control_responses,
                   coalesce(profile.geo_segment, 'unknown') as geo_segment
            from points as p
            left join monthly on monthly.point_id = p.point_id
            left join campaigns on campaigns.point_id = p.point_id
            left join profile on profile.customer_key = p.customer_key
            order by p.point_id
            """).df()
        products = con.execute("""
            select p.point_id, h.product_id
            from points as p
            join holdings_input as h
              on h.customer_key = p.customer_key and h.opened_date < p.cutoff
             and (h.closed_date is null or h.closed_date >= p.cutoff)
            where h.product_id is not null
            group by all""").df()
    frame = frame.set_index("point_id")
    for column in ("revenue_per_month", "profit_per_month", "cost_to_serve_per_month", "interactions_per_month"):
        frame[column] = _signed_log(frame[column])
    frame["age_missing"] = frame["age"].isna().astype(float)
    frame["age"] = frame["age"].astype(float)
    held = pd.crosstab(products["point_id"], "holds_" + products["product_id"].astype(str)).clip(upper=1)
    held = held.reindex(frame.index, fill_value=0).astype(float)
    held.columns.name = None
    numeric = frame.drop(columns=["customer_key", "geo_segment"]).astype(float)
    return pd.concat([frame[["customer_key"]], numeric, held, frame[["geo_segment"]]], axis=1)


def feature_label(name: str) -> str:
    """A readable name for a feature column (``holds_MTG`` -> ``holds MTG``)."""
    if name.startswith("holds_"):
        return f"holds {name[len('holds_'):]}"
    if name.startswith("geo_segment_"):
        return f"geodemographic segment {name[len('geo_segment_'):]}"
    return LABELS.get(name, name.replace("_", " "))
