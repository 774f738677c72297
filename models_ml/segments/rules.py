"""Deterministic segment rules: value tiers, RFM quintile scores and named RFM segments, treatments, profiles.

Every rule set is a small table users edit (`seeds/value_tiers.csv`, `seeds/rfm_segments.csv`,
`seeds/treatments.csv`); `load_*` read and check them, naming file, line and column of a bad value. The
functions that apply them run DuckDB SQL over the input frames (no per-customer Python).

- Value tiers: customers ranked by CLV (highest first; ties by trailing profit, then customer_key), a customer
  at rank r of n takes the first tier whose `cumulative_share` * n >= r; every customer with negative expected
  value (clv < 0) takes the tier marked `takes_negative_value` whatever its rank.
- RFM scores 1..5: score = ceil(5 c / n), c the number of customers whose measure is at most the customer's
  (recency: as recent or less), so tied values get the same score, the one of the tie's last position (bank
  customers with a purchase on the as-of day all score 5). A customer with no purchase is the least recent.
- RFM segment: the first rule (by `priority`) whose score ranges hold all three scores; the rules must cover
  every one of the 125 score combinations.
- Treatment: the first rule (by `priority`) matching tier and segment, `*` matching any; the rules must cover
  every tier x segment pair.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

SCORES = (1, 2, 3, 4, 5)
WILDCARD = "*"
TIER_COLUMNS = ("tier_rank", "value_tier", "cumulative_share", "takes_negative_value")
RFM_COLUMNS = ("priority", "rfm_segment", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max")
TREATMENT_COLUMNS = ("priority", "value_tier", "rfm_segment", "treatment")


class RuleError(ValueError):
    """A rule file with a bad value: the message names file, line and column."""


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RuleError(f"{path}: line 1: missing column(s) {missing}; the header has {list(frame.columns)}")
    if frame.empty:
        raise RuleError(f"{path}: no rules")
    return frame[list(columns)]


def _line(frame: pd.DataFrame, position: int) -> int:
    return position + 2  # header is line 1


def _numbers(path: Path, frame: pd.DataFrame, column: str, integer: bool) -> pd.Series:
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    bad = values.isna() | (integer & (values % 1 != 0))
    if bad.any():
        at = int(bad.to_numpy().argmax())
        raise RuleError(f"{path}: line {_line(frame, at)}: column {column!r}: "
                        f"{'an integer' if integer else 'a number'} is needed, got {frame[column].iloc[at]!r}")
    return values.astype("int64") if integer else values.astype(float)


def _unique(path: Path, frame: pd.DataFrame, column: str) -> None:
    dup = frame[column].duplicated()
    if dup.any():
        at = int(dup.to_numpy().argmax())
        raise RuleError(f"{path}: line {_line(frame, at)}: column {column!r}: "
                        f"{str(frame[column].iloc[at])!r} appears twice")


def _names(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    names = frame[column].str.strip()
    empty = names == ""
    if empty.any():
        at = int(empty.to_numpy().argmax())
        raise RuleError(f"{path}: line {_line(frame, at)}: column {column!r} is empty")
    return names


def load_value_tiers(path: Path) -> pd.DataFrame:
    """Tier cut rules, ordered by tier_rank: cumulative shares rising to exactly 1, one negative-value tier."""
    raw = _read(path, TIER_COLUMNS)
    rules = pd.DataFrame({
        "tier_rank": _numbers(path, raw, "tier_rank", True),
        "value_tier": _names(path, raw, "value_tier"),
        "cumulative_share": _numbers(path, raw, "cumulative_share", False),
        "takes_negative_value": raw["takes_negative_value"].str.strip().str.lower(),
    })
    _unique(path, rules, "tier_rank")
    _unique(path, rules, "value_tier")
    flags = rules["takes_negative_value"]
    bad = ~flags.isin(["true", "false"])
    if bad.any():
        at = int(bad.to_numpy().argmax())
        raise RuleError(f"{path}: line {_line(rules, at)}: column 'takes_negative_value': true or false is "
                        f"needed, got {raw['takes_negative_value'].iloc[at]!r}")
    rules["takes_negative_value"] = flags == "true"
    if rules["takes_negative_value"].sum() != 1:
        raise RuleError(f"{path}: column 'takes_negative_value': exactly one tier must be true, "
                        f"{int(rules['takes_negative_value'].sum())} are")
    order = rules.sort_values("tier_rank", kind="stable")
    shares = order["cumulative_share"].to_numpy()
    for pos in range(len(order)):
        low = shares[pos - 1] if pos else 0.0
        if not low < shares[pos] <= 1.0:
            line = _line(rules, rules.index.get_loc(order.index[pos]))
            raise RuleError(f"{path}: line {line}: column 'cumulative_share': {shares[pos]} must be above the "
                            f"previous tier's {low} and at most 1")
    if shares[-1] != 1.0:
        line = _line(rules, rules.index.get_loc(order.index[-1]))
        raise RuleError(f"{path}: line {line}: column 'cumulative_share': the last tier must reach 1, "
                        f"not {shares[-1]}")
    return order.reset_index(drop=True)


def load_rfm_segments(path: Path) -> pd.DataFrame:
    """RFM segment rules, ordered by priority; each score range within 1..5; all 125 combinations covered."""
    raw = _read(path, RFM_COLUMNS)
    rules = pd.DataFrame({"priority": _numbers(path, raw, "priority", True),
                          "rfm_segment": _names(path, raw, "rfm_segment")})
    _unique(path, rules, "priority")
    for letter in "rfm":
        low, high = (_numbers(path, raw, f"{letter}_{side}", True) for side in ("min", "max"))
        bad = (low < 1) | (high > 5) | (low > high)
        if bad.any():
            at = int(bad.to_numpy().argmax())
            raise RuleError(f"{path}: line {_line(raw, at)}: columns '{letter}_min'/'{letter}_max': "
                            f"{low.iloc[at]}..{high.iloc[at]} is not a range within 1..5")
        rules[f"{letter}_min"], rules[f"{letter}_max"] = low, high
    rules = rules.sort_values("priority", kind="stable").reset_index(drop=True)
    grid = pd.MultiIndex.from_product([SCORES] * 3, names=["r_score", "f_score", "m_score"]).to_frame(index=False)
    uncovered = grid[assign_rfm_segments(grid, rules)["rfm_segment"].isna()]
    if len(uncovered):
        r, f, m = uncovered.iloc[0]
        raise RuleError(f"{path}: no rule matches {len(uncovered)} score combination(s), e.g. R={r} F={f} M={m}; "
                        "add a rule (a last catch-all row 1..5 for every score covers them all)")
    return rules


def load_treatments(path: Path, tiers: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Treatment rules, ordered by priority; names must be known tiers/segments or `*`; every pair covered."""
    raw = _read(path, TREATMENT_COLUMNS)
    rules = pd.DataFrame({"priority": _numbers(path, raw, "priority", True),
                          **{c: _names(path, raw, c) for c in ("value_tier", "rfm_segment", "treatment")}})
    _unique(path, rules, "priority")
    for column, known in (("value_tier", tiers["value_tier"]), ("rfm_segment", segments["rfm_segment"])):
        bad = ~rules[column].isin([*known, WILDCARD])
        if bad.any():
            at = int(bad.to_numpy().argmax())
            raise RuleError(f"{path}: line {_line(rules, at)}: column {column!r}: {rules[column].iloc[at]!r} is "
                            f"not one of {sorted(set(known))} or {WILDCARD!r}")
    rules = rules.sort_values("priority", kind="stable").reset_index(drop=True)
    pairs = pd.MultiIndex.from_product([tiers["value_tier"].unique(), segments["rfm_segment"].unique()],
                                       names=["value_tier", "rfm_segment"]).to_frame(index=False)
    uncovered = pairs[assign_treatments(pairs, rules)["treatment"].isna()]
    if len(uncovered):
        tier, segment = uncovered.iloc[0]
        raise RuleError(f"{path}: no rule matches {len(uncovered)} tier x segment pair(s), e.g. "
                        f"{tier!r} x {segment!r}; add a rule (`*` matches any)")
    return rules


def _sql(query: str, **frames: pd.DataFrame) -> pd.DataFrame:
    with duckdb.connect() as con:
        for name, frame in frames.items():
            con.register(name, frame)
        return con.sql(query).df()


def assign_value_tiers(customers: pd.DataFrame, tiers: pd.DataFrame) -> pd.DataFrame:
    """``customers`` (customer_key, clv, profit) -> customer_key, clv_rank, value_tier, tier_rank, is_negative_value.

    Ties in clv are broken by profit (higher first), then customer_key, so the result is deterministic."""
    missing = [c for c in ("customer_key", "clv", "profit") if c not in customers.columns]
    if missing:
        raise ValueError(f"customers are missing column(s) {missing}")
    bad = customers["clv"].isna()
    if bad.any():
        raise ValueError(f"column 'clv' is empty for customer {customers['customer_key'][bad].iloc[0]!r}")
    return _sql(
        """
        with ranked as (
            select customer_key,
                   row_number() over (order by clv desc, coalesce(profit, 0) desc, customer_key) as clv_rank,
                   count(*) over () as customers,
                   clv < 0 as is_negative_value
            from customers
        ),
        by_share as (
            select ranked.customer_key, ranked.clv_rank, ranked.is_negative_value,
                   min(tiers.tier_rank) as share_tier_rank
            from ranked
            join tiers on ranked.clv_rank <= tiers.cumulative_share * ranked.customers + 1e-9
            group by all
        )
        select by_share.customer_key, by_share.clv_rank, tiers.value_tier, tiers.tier_rank,
               by_share.is_negative_value
        from by_share
        join tiers
          on tiers.tier_rank = case when by_share.is_negative_value
                                    then (select tier_rank from tiers where takes_negative_value)
                                    else by_share.share_tier_rank end
        order by by_share.clv_rank
        """, customers=customers, tiers=tiers)


def rfm_scores(purchases: pd.DataFrame) -> pd.DataFrame:
    """``purchases`` (customer_key, recency_days, frequency, monetary; recency_days empty when the customer has
    no purchase) -> the same with r_score, f_score, m_score in 1..5 (5 best: most recent, most, largest)."""
    missing = [c for c in ("customer_key", "recency_days", "frequency", "monetary") if c not in purchases.columns]
    if missing:
        raise ValueError(f"purchases are missing column(s) {missing}")
    return _sql(
        """
        select customer_key, recency_days, frequency, monetary,
               (5 * count(*) over (order by recency_days desc nulls first) + n - 1) // n as r_score,
               (5 * count(*) over (order by coalesce(frequency, 0)) + n - 1) // n as f_score,
               (5 * count(*) over (order by coalesce(monetary, 0)) + n - 1) // n as m_score
        from purchases, (select count(*) as n from purchases) as base
        order by customer_key
        """, purchases=purchases)


def assign_rfm_segments(scores: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """``scores`` (r_score, f_score, m_score, ...) -> the same rows, in order, with rfm_segment of the first
    matching rule (empty when none matches)."""
    frame = scores.reset_index(drop=True).assign(_row=lambda f: range(len(f)))
    matched = _sql(
        """
        select frame._row, arg_min(rules.rfm_segment, rules.priority) as rfm_segment
        from frame join rules
          on frame.r_score between rules.r_min and rules.r_max
         and frame.f_score between rules.f_min and rules.f_max
         and frame.m_score between rules.m_min and rules.m_max
        group by frame._row
        """, frame=frame[["_row", "r_score", "f_score", "m_score"]], rules=rules)
    out = frame.merge(matched, on="_row", how="left").sort_values("_row")
    return out.drop(columns="_row").reset_index(drop=True)


def assign_treatments(frame: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (value_tier, rfm_segment, ...) -> the same rows, in order, with the first matching treatment."""
    rows = frame.reset_index(drop=True).assign(_row=lambda f: range(len(f)))
    matched = _sql(
        f"""
        select rows._row, arg_min(rules.treatment, rules.priority) as treatment
        from rows join rules
          on rules.value_tier in (rows.value_tier, '{WILDCARD}')
         and rules.rfm_segment in (rows.rfm_segment, '{WILDCARD}')
        group by rows._row
        """, rows=rows[["_row", "value_tier", "rfm_segment"]], rules=rules)
    out = rows.merge(matched, on="_row", how="left").sort_values("_row")
    return out.drop(columns="_row").reset_index(drop=True)


def customer_segments(customers: pd.DataFrame, tiers: pd.DataFrame, rfm_rules: pd.DataFrame,
                      treatments: pd.DataFrame) -> pd.DataFrame:
    """``customers`` (customer_key, clv, profit, recency_days, frequency, monetary, plus any profile columns)
    -> one row per customer with value tier, RFM scores and segment, and treatment."""
    tiered = assign_value_tiers(customers, tiers)
    scored = rfm_scores(customers[["customer_key", "recency_days", "frequency", "monetary"]])
    segmented = assign_rfm_segments(scored, rfm_rules)
    extra = [c for c in customers.columns if c not in ("recency_days", "frequency", "monetary")]
    out = (customers[extra].merge(tiered, on="customer_key", validate="one_to_one")
           .merge(segmented, on="customer_key", validate="one_to_one"))
    return assign_treatments(out, treatments).sort_values("clv_rank").reset_index(drop=True)


PROFILE_DIMENSIONS = ("value_tier", "rfm_segment", "treatment")


def segment_profiles(segments: pd.DataFrame, dimensions: tuple[str, ...] = PROFILE_DIMENSIONS) -> pd.DataFrame:
    """One row per (segment_type, segment) for each of ``dimensions`` (columns of ``segments``): size and
    shares of the base (customers, CLV, profit), averages, channel mix (assisted share of interactions) and
    products held.

    Shares are of the base's total (a negative total gives a negative share; a zero total an empty share)."""
    parts = []
    for dimension in dimensions:
        parts.append(f"""
            select '{dimension}' as segment_type, {dimension} as segment,
                   count(*) as customers,
                   count(*) / (select count(*) from segments) as customer_share,
                   sum(clv) as clv_total,
                   sum(clv) / nullif((select sum(clv) from segments), 0) as clv_share,
                   avg(clv) as clv_mean,
                   sum(coalesce(profit, 0)) as profit_total,
                   sum(coalesce(profit, 0)) / nullif((select sum(coalesce(profit, 0)) from segments), 0)
                       as profit_share,
                   avg(coalesce(profit, 0)) as profit_mean,
                   avg(case when coalesce(profit, 0) < 0 then 1.0 else 0.0 end) as unprofitable_share,
                   sum(coalesce(assisted_interactions, 0))
                       / nullif(sum(coalesce(assisted_interactions, 0) + coalesce(self_service_interactions, 0)), 0)
                       as assisted_interaction_share,
                   avg(coalesce(products_held, 0)) as products_held_mean,
                   avg(coalesce(monetary, 0)) as monetary_mean
            from segments group by all""")
    return _sql(" union all ".join(parts) + " order by segment_type, clv_total desc, segment",
                segments=segments)
