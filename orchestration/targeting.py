"""Campaign targeting in the refresh: read campaigns, contacts and customer history from the working
warehouse, fit and validate the response propensity (models_ml.targeting.propensity), compare the random
1-in-12 mailing with targeting by expected value (models_ml.targeting.policy), score every customer, and
write the published tables:

- ``marts.campaign_lift``: gains and lift by score decile on the held-out campaigns;
- ``marts.policy_comparison``: both policies at the same budget on the held-out campaigns;
- ``marts.campaign_scores``: every current customer's p(response) for the next campaign (the model refitted
  on every campaign whose responses are in), expected response value, score decile, reason codes;
- ``marts.targeting_metrics``: what was held out, AUC, lift, value per response.

With fewer than two campaigns whose response window has closed, or without responders among the training
contacts, there is nothing to validate on: campaign_lift, policy_comparison and campaign_scores are dropped
(the dashboard says "not computed yet"), the refresh goes on, and targeting_metrics says why
(`not validated: <reason>`).

Lookalikes (models_ml.targeting.lookalike) are their own step: ``marts.customer_lookalikes`` (every current
customer's out-of-fold lookalike score, similarity band and the features that raise it) and
``marts.lookalike_drivers`` (coefficients, seed and rest means), seeded by the most profitable customers of
``marts.customer_profitability``. No prospects entity is landed, so only customers are scored.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from models_ml.targeting.features import customer_features
from models_ml.targeting.lookalike import LookalikeResult, lookalikes
from models_ml.targeting.policy import compare_policies, expected_value
from models_ml.targeting.propensity import (
    ScoreModel,
    auc,
    gains_table,
    score_deciles,
    split_campaigns,
    usable_campaigns,
)
from orchestration.clv import SCHEMA, as_of_date, replace_tables
from orchestration.settings import Settings, TargetingSettings

LIFT_TABLE, POLICY_TABLE, SCORES_TABLE, METRICS_TABLE = (
    "campaign_lift", "policy_comparison", "campaign_scores", "targeting_metrics")
LOOKALIKE_TABLE, DRIVERS_TABLE = "customer_lookalikes", "lookalike_drivers"
SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"


@dataclass
class TargetingResult:
    as_of_date: dt.date
    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    lift: pd.DataFrame | None = None
    policies: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None


def channel_contact_costs(seeds: Path = SEEDS_DIR) -> dict[str, float]:
    """Default cost of one campaign contact per channel (seeds/channels.csv)."""
    with (seeds / "channels.csv").open(encoding="utf-8", newline="") as fh:
        return {row["channel_id"]: float(row["cost_per_contact"] or 0) for row in csv.DictReader(fh)}


def read_history(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict[str, object]:
    """Campaigns, selections and the customer history the features read, up to ``as_of``."""
    day = f"date '{as_of.isoformat()}'"
    costs = pd.DataFrame(list(channel_contact_costs().items()), columns=["channel_id", "default_cost"])
    con.register("channel_costs", costs)
    campaigns = con.sql("""
        select d.campaign_key, d.campaign_name, d.offer, d.channel_id, d.start_date, d.end_date,
               cast(coalesce(d.cost_per_contact, c.default_cost, 0) as double) as cost_per_contact
        from warehouse.dim_campaign as d left join channel_costs as c on c.channel_id = d.channel_id""").df()
    con.unregister("channel_costs")
    contacts = con.sql(f"""
        select campaign_key, customer_key, contacted_date, is_control,
               has_responded and cast(responded_at as date) <= {day} as has_responded,
               case when cast(responded_at as date) <= {day} then cast(responded_at as date) end as responded_date,
               case when cast(responded_at as date) <= {day} then cast(response_value as double) end as response_value
        from warehouse.fct_campaign_contacts where contacted_date <= {day}""").df()
    return {
        "campaigns": campaigns,
        "contacts": contacts,
        # doubles and 32-bit counts, not decimal128 and int64: at 1M customers (24.6M months) the Arrow
        # table is 1.8 GiB instead of 2.8
        "months": con.sql(f"""select customer_key, month_start, cast(revenue as double) as revenue,
                                     cast(profit as double) as profit, cast(cost_to_serve as double) as cost_to_serve,
                                     cast(interactions as integer) as interactions,
                                     cast(assisted_interactions as integer) as assisted_interactions,
                                     cast(complaints as integer) as complaints,
                                     cast(products_held as integer) as products_held
                              from warehouse.fct_customer_month where month_start <= {day}""").to_arrow_table(),
        "holdings": con.sql(f"""select customer_key, product_id, opened_date, closed_date from warehouse.fct_holdings
                                where opened_date <= {day}""").to_arrow_table(),
        "customers": con.sql("""
            select customer.customer_key, customer.date_of_birth, geography.geo_segment
            from warehouse.dim_customer as customer
            left join warehouse.dim_geography as geography on customer.postcode_key = geography.postcode_key
            where customer.is_current""").df(),
    }


def current_features(history: dict, as_of: dt.date) -> pd.DataFrame:
    """Features of every current customer as of the day after ``as_of`` (index point_id, in key order)."""
    keys = history["customers"]["customer_key"].drop_duplicates().sort_values().reset_index(drop=True)
    points = pd.DataFrame({"point_id": np.arange(len(keys)), "customer_key": keys,
                           "cutoff": as_of + dt.timedelta(days=1)})
    return _features(history, points)


def _features(history: dict, points: pd.DataFrame) -> pd.DataFrame:
    return customer_features(points, history["months"], history["contacts"], history["holdings"],
                             history["customers"])


def _model_inputs(features: pd.DataFrame) -> pd.DataFrame:
    return features.drop(columns=["customer_key"])


def value_per_response(selections: pd.DataFrame, campaigns: pd.DataFrame) -> pd.Series:
    """Mean response value of the contacted responders per offer (index offer; '' for the overall mean)."""
    responders = selections[~selections["is_control"] & selections["has_responded"]].merge(
        campaigns[["campaign_key", "offer"]], on="campaign_key")
    by_offer = responders.groupby(responders["offer"].fillna(""))["response_value"].mean()
    overall = responders["response_value"].mean() if len(responders) else 0.0
    return pd.concat([by_offer.drop("", errors="ignore"), pd.Series({"": overall})])


def run_targeting(settings: Settings, range_end: dt.date | None = None) -> TargetingResult:
    return targeting_for_warehouse(settings.warehouse_path, settings.targeting, range_end)


def targeting_for_warehouse(warehouse: Path, config: TargetingSettings,
                            range_end: dt.date | None = None) -> TargetingResult:
    """Validate, compare and score, and write the targeting tables (see the module docstring). The warehouse
    is closed while the models fit, so its page cache does not stay in memory beside them."""
    with duckdb.connect(str(warehouse)) as con:
        as_of = as_of_date(con, range_end)
        history = read_history(con, as_of)
    result = evaluate_targeting(history, as_of, config)
    del history
    with duckdb.connect(str(warehouse)) as con:
        metrics = {**result.metrics, **{f"not validated: {note}": 1.0 for note in result.notes}}
        tables = {METRICS_TABLE: pd.DataFrame({"metric": list(metrics), "value": list(metrics.values()),
                                               "as_of_date": as_of})}
        for name, frame in ((LIFT_TABLE, result.lift), (POLICY_TABLE, result.policies), (SCORES_TABLE, result.scores)):
            if frame is not None:
                tables[name] = frame.assign(as_of_date=as_of)
            else:
                con.execute(f"drop table if exists {SCHEMA}.{name}")
        replace_tables(con, tables)
    return result


def evaluate_targeting(history: dict, as_of: dt.date, config: TargetingSettings) -> TargetingResult:
    """The pure part of ``targeting_for_warehouse``: validation on held-out campaigns, policy comparison and
    the scores of every current customer."""
    result = TargetingResult(as_of)
    campaigns, contacts = history["campaigns"], history["contacts"]
    usable = usable_campaigns(campaigns, as_of, config.response_window_days)
    result.metrics["usable_campaigns"] = float(len(usable))
    selections = contacts[contacts["campaign_key"].isin(usable["campaign_key"])].reset_index(drop=True)
    try:
        split = split_campaigns(usable, config.holdout_campaigns)
        _validate(result, history, selections, split, campaigns, config)
    except ValueError as exc:  # too little history: the refresh goes on without targeting tables
        result.notes.append(str(exc))
        result.lift = result.policies = None
    return result


def _validate(result: TargetingResult, history: dict, selections: pd.DataFrame, split, campaigns: pd.DataFrame,
              config: TargetingSettings) -> None:
    as_of = result.as_of_date
    selections = selections.assign(point_id=np.arange(len(selections)), cutoff=selections["contacted_date"])
    features = _features(history, selections[["point_id", "customer_key", "cutoff"]])
    is_train = selections["campaign_key"].isin(split.train).to_numpy()
    contacted = ~selections["is_control"].to_numpy()
    responded = selections["has_responded"].to_numpy(dtype=bool)
    X = _model_inputs(features)
    model = ScoreModel(C=config.regularisation).fit(X[is_train & contacted], responded[is_train & contacted])
    held = ~is_train
    scores = model.predict_proba(X[held])[:, 1]
    held_sel = selections[held].reset_index(drop=True)
    keys = held_sel["customer_key"] + "|" + held_sel["campaign_key"]
    on_contacted = ~held_sel["is_control"].to_numpy()
    lift = gains_table(scores[on_contacted], held_sel["has_responded"][on_contacted], keys[on_contacted])
    result.lift = lift
    values = value_per_response(selections[is_train], campaigns)
    offers = held_sel.merge(campaigns[["campaign_key", "offer", "cost_per_contact"]], on="campaign_key", how="left")
    value = offers["offer"].fillna("").map(values).fillna(values[""]).to_numpy()
    result.policies = compare_policies(pd.DataFrame({
        "campaign_key": held_sel["campaign_key"], "customer_key": held_sel["customer_key"],
        "is_control": held_sel["is_control"].astype(bool), "responded": held_sel["has_responded"].astype(bool),
        "response_value": held_sel["response_value"], "cost_per_contact": offers["cost_per_contact"].to_numpy(),
        "p_response": scores, "value_per_response": value}), config.budget_share)
    top = lift.iloc[0]
    result.metrics.update({
        "train_campaigns": float(len(split.train)), "holdout_campaigns": float(len(split.holdout)),
        "holdout_shortened": float(split.shortened),
        "train_contacts": float((is_train & contacted).sum()),
        "train_responders": float(responded[is_train & contacted].sum()),
        "holdout_contacts": float(on_contacted.sum()),
        "holdout_responders": float(held_sel["has_responded"][on_contacted].sum()),
        "holdout_controls": float((~on_contacted).sum()),
        "auc": auc(scores[on_contacted], held_sel["has_responded"][on_contacted]),
        "top_decile_lift": float(top["lift"]), "top_decile_response_rate": float(top["response_rate"]),
        "holdout_response_rate": float(held_sel["has_responded"][on_contacted].mean()),
        "budget_share": config.budget_share,
    })
    result.scores = score_customers(history, as_of, config, X[contacted], responded[contacted], selections, campaigns)
    result.metrics["value_per_response"] = float(result.scores["value_per_response"].iloc[0]) if len(
        result.scores) else float("nan")


def score_customers(history: dict, as_of: dt.date, config: TargetingSettings, X: pd.DataFrame, y: np.ndarray,
                    selections: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """Refit on every usable campaign's contacts and score every current customer as of the day after
    ``as_of``: p_response, value_per_response (the contacted responders' mean response value),
    expected_response_value = p_response x value_per_response (a list subtracts its channel's contact cost),
    score decile and reason codes."""
    model = ScoreModel(C=config.regularisation).fit(X, y)
    features = current_features(history, as_of)
    keys = features["customer_key"].reset_index(drop=True)
    # a product nobody held at any training contact is unknown to the model; one nobody holds now is 0
    inputs = _model_inputs(features).reindex(columns=X.columns, fill_value=0.0)
    p = model.predict_proba(inputs)[:, 1]
    value = float(value_per_response(selections, campaigns)[""])
    return pd.DataFrame({
        "customer_key": keys, "as_of_date": as_of, "p_response": p, "value_per_response": value,
        "expected_response_value": expected_value(p, value, 0.0), "score_decile": score_deciles(p, keys),
        "reason_codes": model.reasons(inputs).to_numpy(),
    })


def run_lookalikes(settings: Settings, range_end: dt.date | None = None) -> LookalikeResult | None:
    return lookalikes_for_warehouse(settings.warehouse_path, settings.targeting, range_end)


def lookalikes_for_warehouse(warehouse: Path, config: TargetingSettings,
                             range_end: dt.date | None = None) -> LookalikeResult | None:
    """Score every current customer's likeness to the most profitable ones and write customer_lookalikes and
    lookalike_drivers; None (and both tables dropped) when there are too few customers with a P&L. The
    warehouse is closed while the model fits."""
    with duckdb.connect(str(warehouse)) as con:
        as_of = as_of_date(con, range_end)
        history = read_history(con, as_of)
        profit = con.sql(f"select customer_key, cast(profit as double) as profit from {SCHEMA}.customer_profitability"
                         ).df().set_index("customer_key")["profit"]
    features = current_features(history, as_of).set_index("customer_key")
    del history
    try:
        result = lookalikes(features, profit.reindex(features.index), config.lookalike_seed_share,
                            config.regularisation, random_state=config.seed)
    except ValueError:
        result = None
    with duckdb.connect(str(warehouse)) as con:
        if result is None:
            for name in (LOOKALIKE_TABLE, DRIVERS_TABLE):
                con.execute(f"drop table if exists {SCHEMA}.{name}")
            return None
        replace_tables(con, {LOOKALIKE_TABLE: result.customers.assign(as_of_date=as_of),
                             DRIVERS_TABLE: result.drivers.assign(as_of_date=as_of)})
    return result


@dataclass(frozen=True)
class TargetExport:
    path: Path
    rows: int
    contacts: int
    controls: int
    cost: float
    cost_per_contact: float
    as_of_date: dt.date


def file_slug(text: str) -> str:
    """A campaign name as a file-name part: lowercase letters and digits joined by single dashes."""
    slug = "".join(c if c.isalnum() else "-" for c in text.strip().lower()).strip("-")
    return "-".join(part for part in slug.split("-") if part) or "campaign"


def scores_sql(tables: set[str]) -> str:
    """The query of the published scores with each customer's treatment (``unsegmented`` without segments);
    ``tables``: the names of the published marts tables."""
    if SCORES_TABLE not in tables:
        raise FileNotFoundError(f"{SCHEMA}.{SCORES_TABLE} is not published (too few campaigns to score?)")
    segmented = "customer_segments" in tables
    treatment = "coalesce(segments.treatment, 'unsegmented')" if segmented else "'unsegmented'"
    join = (f"left join {SCHEMA}.customer_segments as segments on segments.customer_key = scores.customer_key"
            if segmented else "")
    return f"""select scores.customer_key, scores.as_of_date, scores.p_response, scores.value_per_response,
                      scores.reason_codes, {treatment} as treatment
               from {SCHEMA}.{SCORES_TABLE} as scores {join}"""


def contact_cost(config: TargetingSettings, channel: str | None = None, cost_per_contact: float | None = None) -> float:
    """The cost of one contact: ``cost_per_contact`` when given, else the channel's (default [targeting] channel)
    in seeds/channels.csv."""
    if cost_per_contact is not None:
        return cost_per_contact
    costs = channel_contact_costs()
    channel = channel or config.channel
    if channel not in costs:
        raise ValueError(f"channel {channel!r} is not in seeds/channels.csv ({', '.join(sorted(costs))})")
    return costs[channel]


def target_list(scores: pd.DataFrame, config: TargetingSettings, campaign: str, budget: float, cost: float,
                value_per_response: float | None = None, control_share: float | None = None) -> pd.DataFrame:
    """models_ml.targeting.selection.select_targets on the published scores with the [targeting] settings."""
    from models_ml.targeting.selection import select_targets

    if not campaign.strip():
        raise ValueError("the campaign needs a name")
    if value_per_response is not None:
        scores = scores.assign(value_per_response=value_per_response)
    share = config.control_share if control_share is None else control_share
    return select_targets(scores, campaign, budget, cost, share, config.seed, config.exclude_treatments)


def export_targets(settings: Settings, campaign: str, budget: float, *, channel: str | None = None,
                   cost_per_contact: float | None = None, value_per_response: float | None = None,
                   control_share: float | None = None, out: Path | None = None, user: str = "?") -> TargetExport:
    """Write the target list of ``campaign`` (models_ml.targeting.selection) from the published scores and
    segments as CSV: customer_key, score, expected_value, reason_codes, treatment, is_control (no personal
    data), and record who exported it in the audit log."""
    from orchestration.audit import record_event
    from orchestration.publish import connect_serving, list_tables

    cost_per_contact = contact_cost(settings.targeting, channel, cost_per_contact)
    with connect_serving(settings) as con:  # FileNotFoundError when nothing is published
        tables = {name.split(".", 1)[1] for name in list_tables(con, ["marts"])}
        scores = con.sql(scores_sql(tables)).df()
    listed = target_list(scores, settings.targeting, campaign, budget, cost_per_contact, value_per_response,
                         control_share)
    as_of = scores["as_of_date"].max()
    as_of = as_of.date() if hasattr(as_of, "date") else as_of
    path = out or settings.home / "exports" / f"targets-{file_slug(campaign)}-{as_of}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    listed.to_csv(path, index=False, float_format="%.6f")
    contacts = int((~listed["is_control"]).sum())
    export = TargetExport(path, len(listed), contacts, int(listed["is_control"].sum()), contacts * cost_per_contact,
                          cost_per_contact, as_of)
    record_event(settings, user=user, role="cli", action="export", page="crmw export-targets", detail={
        "campaign": campaign, "budget": budget, "cost_per_contact": cost_per_contact, "file": str(path),
        "rows": export.rows, "contacts": export.contacts, "controls": export.controls, "as_of_date": str(as_of),
        "columns": list(listed.columns)})
    return export
