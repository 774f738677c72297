"""Value tiers, RFM scores and segments, treatments and profiles on tiny hand-made frames."""

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models_ml.segments.insights import differentiators, segment_migration, undesirable_segments
from models_ml.segments.rules import (
    RuleError,
    assign_rfm_segments,
    assign_treatments,
    assign_value_tiers,
    customer_segments,
    load_rfm_segments,
    load_treatments,
    load_value_tiers,
    rfm_scores,
    segment_profiles,
)
from orchestration.segments import PROFILES_TABLE, SEGMENTS_TABLE, segments_for_warehouse

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.fixture(scope="module")
def rules():
    tiers = load_value_tiers(SEEDS / "value_tiers.csv")
    rfm = load_rfm_segments(SEEDS / "rfm_segments.csv")
    return tiers, rfm, load_treatments(SEEDS / "treatments.csv", tiers, rfm)


def test_default_tiers_exact_with_ties_and_negative_value(rules):
    tiers, _, _ = rules
    # ten customers: c03 and c04 tie on clv (profit breaks it), c07 and c08 tie on clv and profit (key breaks
    # it); c09 and c10 have negative clv and go to Lead whatever their rank.
    customers = pd.DataFrame({
        "customer_key": [f"c{i:02d}" for i in range(1, 11)],
        "clv": [900.0, 800.0, 500.0, 500.0, 400.0, 300.0, 100.0, 100.0, -5.0, -50.0],
        "profit": [10.0, 20.0, 1.0, 2.0, 0.0, 0.0, 3.0, 3.0, 100.0, 0.0],
    })
    out = assign_value_tiers(customers.sample(frac=1, random_state=3), tiers).set_index("customer_key")
    assert out["clv_rank"].to_dict() == {"c01": 1, "c02": 2, "c04": 3, "c03": 4, "c05": 5, "c06": 6,
                                         "c07": 7, "c08": 8, "c09": 9, "c10": 10}
    assert out["value_tier"].to_dict() == {
        "c01": "Platinum", "c02": "Platinum", "c04": "Gold", "c03": "Gold", "c05": "Gold",
        "c06": "Iron", "c07": "Iron", "c08": "Iron", "c09": "Lead", "c10": "Lead"}


def test_negative_value_goes_to_lead_even_when_ranked_high(rules):
    tiers, _, _ = rules
    customers = pd.DataFrame({"customer_key": list("abcde"), "clv": [-1.0, -2.0, -3.0, -4.0, -5.0],
                              "profit": [0.0] * 5})
    out = assign_value_tiers(customers, tiers)
    assert set(out["value_tier"]) == {"Lead"}
    assert out["is_negative_value"].all()


def test_rfm_quintiles_ties_share_a_score_and_no_purchase_scores_one():
    purchases = pd.DataFrame({
        "customer_key": [f"k{i}" for i in range(10)],
        "recency_days": [1, 2, 3, 4, 5, 6, 7, 8, 9, None],
        "frequency": [10, 9, 8, 7, 6, 5, 4, 4, 1, 0],
        "monetary": [100.0, 90, 80, 70, 60, 50, 40, 30, 20, 0],
    })
    out = rfm_scores(purchases).set_index("customer_key")
    assert out["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # frequency 4 twice at ascending positions 3 and 4: both count 4 customers at or below -> ceil(2.0) = 2
    assert out["f_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert out.loc["k6", "f_score"] == out.loc["k7", "f_score"] == 2
    assert out["m_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # a big tie at the top takes the top score; at the bottom the bottom one
    tied = rfm_scores(purchases.assign(recency_days=[0, 0, 0, 0, 0, 0, 0, 3, 5, None],
                                       frequency=[0, 0, 0, 0, 0, 0, 1, 2, 3, 4]))
    assert tied["r_score"].tolist() == [5, 5, 5, 5, 5, 5, 5, 2, 1, 1]
    assert tied["f_score"].tolist() == [3, 3, 3, 3, 3, 3, 4, 4, 5, 5]


def test_rfm_first_match_wins(rules):
    _, rfm, _ = rules
    scores = pd.DataFrame({"r_score": [5, 1, 1, 5, 4, 3, 2, 1, 5],
                           "f_score": [5, 5, 5, 3, 1, 2, 1, 2, 1],
                           "m_score": [5, 5, 1, 1, 1, 5, 1, 1, 1]})
    out = assign_rfm_segments(scores, rfm)["rfm_segment"].tolist()
    # R5 F5 M5 matches Champions and Loyal: Champions comes first; R1 F5 M5 matches Can't Lose Them before At Risk
    assert out == ["Champions", "Can't Lose Them", "At Risk", "Loyal", "Potential Loyalist", "Need Attention",
                   "Hibernating", "Lost", "New"]


def test_rfm_precedence_follows_priority_not_file_order(tmp_path):
    path = tmp_path / "rfm.csv"
    path.write_text("priority,rfm_segment,r_min,r_max,f_min,f_max,m_min,m_max\n"
                    "2,Anyone,1,5,1,5,1,5\n1,Recent,5,5,1,5,1,5\n")
    rules = load_rfm_segments(path)
    out = assign_rfm_segments(pd.DataFrame({"r_score": [5, 4], "f_score": [1, 1], "m_score": [1, 1]}), rules)
    assert out["rfm_segment"].tolist() == ["Recent", "Anyone"]


def test_treatments_join_with_wildcards(rules):
    _, _, treatments = rules
    frame = pd.DataFrame({"value_tier": ["Platinum", "Platinum", "Gold", "Iron", "Lead", "Lead", "Iron"],
                          "rfm_segment": ["At Risk", "Champions", "Loyal", "Loyal", "Lost", "New", "Lost"]})
    assert assign_treatments(frame, treatments)["treatment"].tolist() == [
        "win back", "retain and reward", "grow/cross-sell", "migrate to self-service", "do not target",
        "reprice or remove costly services", "do not target"]


@pytest.mark.parametrize(("name", "text", "message"), [
    ("value_tiers.csv", "tier_rank,value_tier,cumulative_share,takes_negative_value\n1,A,0.5,false\n2,B,0.4,true\n",
     "line 3: column 'cumulative_share'"),
    ("value_tiers.csv", "tier_rank,value_tier,cumulative_share,takes_negative_value\n1,A,0.5,false\n2,B,0.9,true\n",
     "the last tier must reach 1"),
    ("value_tiers.csv", "tier_rank,value_tier,cumulative_share,takes_negative_value\n1,A,0.5,maybe\n2,B,1,true\n",
     "line 2: column 'takes_negative_value'"),
    ("value_tiers.csv", "tier_rank,value_tier,cumulative_share,takes_negative_value\n1,A,x,false\n2,B,1,true\n",
     "line 2: column 'cumulative_share': a number is needed, got 'x'"),
    ("value_tiers.csv", "tier_rank,value_tier,share\n1,A,1\n", "line 1: missing column(s)"),
    ("rfm_segments.csv", "priority,rfm_segment,r_min,r_max,f_min,f_max,m_min,m_max\n1,All,1,5,1,5,0,5\n",
     "line 2: columns 'm_min'/'m_max'"),
    ("rfm_segments.csv", "priority,rfm_segment,r_min,r_max,f_min,f_max,m_min,m_max\n1,Some,2,5,1,5,1,5\n",
     "no rule matches 25 score combination(s), e.g. R=1 F=1 M=1"),
    ("rfm_segments.csv", "priority,rfm_segment,r_min,r_max,f_min,f_max,m_min,m_max\n1,A,1,5,1,5,1,5\n"
     "1,B,1,5,1,5,1,5\n", "line 3: column 'priority': '1' appears twice"),
])
def test_bad_rule_files_name_file_line_and_column(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    loader = load_value_tiers if name == "value_tiers.csv" else load_rfm_segments
    with pytest.raises(RuleError, match=str(path).replace(".", r"\.") + ".*") as info:
        loader(path)
    assert message in str(info.value)


def test_bad_treatments_unknown_name_and_uncovered_pair(tmp_path, rules):
    tiers, rfm, _ = rules
    path = tmp_path / "treatments.csv"
    path.write_text("priority,value_tier,rfm_segment,treatment\n1,*,*,x\n2,Diamond,*,y\n")
    with pytest.raises(RuleError, match="line 3: column 'value_tier': 'Diamond' is not one of"):
        load_treatments(path, tiers, rfm)
    path.write_text("priority,value_tier,rfm_segment,treatment\n1,Gold,*,x\n")
    with pytest.raises(RuleError, match="no rule matches 27 tier x segment pair"):
        load_treatments(path, tiers, rfm)


def test_customer_segments_and_profiles_sum_to_the_base(rules):
    tiers, rfm, treatments = rules
    n = 40
    keys = [f"c{i:03d}" for i in range(n)]
    customers = pd.DataFrame({
        "customer_key": keys,
        "clv": [float((i * 37) % 101 - 20) for i in range(n)],
        "profit": [float((i * 13) % 29 - 5) for i in range(n)],
        "recency_days": [None if i % 9 == 0 else float((i * 7) % 60) for i in range(n)],
        "frequency": [0 if i % 9 == 0 else (i * 11) % 17 + 1 for i in range(n)],
        "monetary": [0.0 if i % 9 == 0 else float((i * 5) % 23) for i in range(n)],
        "assisted_interactions": [i % 4 for i in range(n)],
        "self_service_interactions": [i % 3 for i in range(n)],
        "products_held": [1 + i % 3 for i in range(n)],
    })
    out = customer_segments(customers, tiers, rfm, treatments)
    assert sorted(out["customer_key"]) == keys
    assert out[["value_tier", "rfm_segment", "treatment"]].notna().all().all()
    assert (out.loc[out["clv"] < 0, "value_tier"] == "Lead").all()
    non_negative = out[out["clv"] >= 0]
    assert (non_negative.loc[non_negative["clv_rank"] <= 8, "value_tier"] == "Platinum").all()  # 20% of 40
    profiles = segment_profiles(out)
    assert set(profiles["segment_type"]) == {"value_tier", "rfm_segment", "treatment"}
    for _, group in profiles.groupby("segment_type"):
        assert group["customers"].sum() == n
        assert group["clv_total"].sum() == pytest.approx(customers["clv"].sum())
        assert group["profit_total"].sum() == pytest.approx(customers["profit"].sum())
        assert group["customer_share"].sum() == pytest.approx(1.0)
        assert group["clv_share"].sum() == pytest.approx(1.0)
    gold = profiles[(profiles["segment_type"] == "value_tier") & (profiles["segment"] == "Gold")].iloc[0]
    members = out[out["value_tier"] == "Gold"]
    assert gold["customers"] == len(members)
    assisted = members["assisted_interactions"].sum()
    assert gold["assisted_interaction_share"] == pytest.approx(
        assisted / (assisted + members["self_service_interactions"].sum()))


def clv_table(con: duckdb.DuckDBPyConnection, day: str, clv: dict[str, float]) -> None:
    rows = ", ".join(f"('{key}', date '{day}', {value})" for key, value in clv.items())
    con.execute("create schema if not exists marts; create schema if not exists warehouse")
    con.execute(f"create or replace table marts.customer_clv as select * from (values {rows}) "
                "t(customer_key, as_of_date, clv)")


def test_segments_for_warehouse_reads_the_window_and_writes_both_tables(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        clv_table(con, "2025-12-31", {"A": 500.0, "B": 100.0, "C": -10.0, "D": 50.0, "E": 20.0})
        con.execute("""create table marts.customer_profitability as select * from (values
            ('A', 120.00::decimal(18,2), false, 3, 4, 1, 'north', 'urban'),
            ('B', -30.00::decimal(18,2), true, 1, 0, 2, 'south', 'rural'),
            ('C', 5.00::decimal(18,2), false, 2, 1, 1, 'north', 'urban'))
            t(customer_key, profit, is_unprofitable, products_held, assisted_interactions,
              self_service_interactions, region, geo_segment)""")
        # A: two purchases on one day and one 13 months back (outside the window); B: one, 300 days ago;
        # D: one after the as-of date (ignored); E: none.
        con.execute("""create table warehouse.fct_transactions as select * from (values
            ('A', date '2025-12-20', 10.00::decimal(18,2)), ('A', date '2025-12-20', 5.00::decimal(18,2)),
            ('A', date '2024-11-30', 99.00::decimal(18,2)), ('B', date '2025-03-06', 40.00::decimal(18,2)),
            ('C', date '2025-06-01', -3.00::decimal(18,2)), ('D', date '2026-01-02', 7.00::decimal(18,2)))
            t(customer_key, occurred_date, amount)""")
    result = segments_for_warehouse(path)
    with duckdb.connect(str(path), read_only=True) as con:
        segments = con.sql(f"select * from marts.{SEGMENTS_TABLE}").df().set_index("customer_key")
        profiles = con.sql(f"select * from marts.{PROFILES_TABLE}").df()
    assert len(segments) == 5 and len(profiles) == len(result.profiles)
    assert segments.loc["A", ["frequency", "monetary", "recency_days"]].tolist() == [1, 15.0, 11.0]
    assert segments.loc["B", "recency_days"] == 300.0
    assert segments.loc["D", "frequency"] == 0 and pd.isna(segments.loc["D", "recency_days"])
    assert pd.isna(segments.loc["E", "profit"]) and segments.loc["E", "region"] == "unknown"
    # ranks by clv: A, B, D, E, C(negative); 20% of 5 = 1 Platinum, 50% = 2.5 -> B Gold, 80% = 4 -> D, E Iron
    assert segments["value_tier"].to_dict() == {"A": "Platinum", "B": "Gold", "D": "Iron", "E": "Iron",
                                                "C": "Lead"}
    assert segments["treatment"].notna().all()
    tiers = profiles[profiles["segment_type"] == "value_tier"].set_index("segment")
    assert tiers["customers"].sum() == 5 and tiers.loc["Platinum", "clv_share"] == pytest.approx(500 / 660)
    assert tiers.loc["Gold", "profit_total"] == pytest.approx(-30.0)


def test_no_customer_value_yet_writes_empty_tables_rather_than_failing_the_refresh(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema warehouse")
        con.execute("create table marts.customer_clv (customer_key varchar, as_of_date date, clv double)")
        con.execute("""create table marts.customer_profitability (customer_key varchar, profit decimal(18,2),
            is_unprofitable boolean, products_held int, assisted_interactions int, self_service_interactions int,
            region varchar, geo_segment varchar)""")
        con.execute("create table warehouse.fct_transactions (customer_key varchar, occurred_date date, "
                    "amount decimal(18,2))")
    segments_for_warehouse(path)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.sql(f"select count(*) from marts.{SEGMENTS_TABLE}").fetchall() == [(0,)]
        assert con.sql(f"select count(*) from marts.{PROFILES_TABLE}").fetchall() == [(0,)]
        columns = {r[0] for r in con.sql(f"describe marts.{SEGMENTS_TABLE}").fetchall()}
    assert {"value_tier", "rfm_segment", "treatment"} <= columns


def test_behaviour_clusters_keep_their_ids_when_the_warehouse_is_segmented_again(tmp_path):
    # 150 customers in three behaviours: branch-heavy one-product, digital many-product, big spenders
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema warehouse")
        con.execute("""create table marts.customer_clv as
            select 'c' || lpad(i::varchar, 3, '0') as customer_key, date '2025-12-31' as as_of_date,
                   (i * 37 % 101)::double as clv from range(150) t(i)""")
        con.execute("""create table marts.customer_profitability as
            select 'c' || lpad(i::varchar, 3, '0') as customer_key, (i % 3 * 100 - 50 + i % 7)::decimal(18,2)
                       as profit, false as is_unprofitable, (1 + 3 * (i % 3 = 1)::int + i % 2)::int as products_held,
                   (case i % 3 when 0 then 20 else 1 end + i % 4)::int as assisted_interactions,
                   (case i % 3 when 1 then 30 else 2 end + i % 5)::int as self_service_interactions,
                   'north' as region, 'urban' as geo_segment
            from range(150) t(i)""")
        con.execute("""create table warehouse.fct_transactions as
            select 'c' || lpad(i::varchar, 3, '0') as customer_key, date '2025-12-31' - (j * 11)::int as occurred_date,
                   (case i % 3 when 2 then 900 else 20 end + i % 13)::decimal(18,2) as amount
            from range(150) t(i), range(1 + i % 3 * 4) s(j)""")
    first = segments_for_warehouse(path).segments.set_index("customer_key")
    with duckdb.connect(str(path), read_only=True) as con:
        centroids = con.sql("select * from marts.behaviour_centroids").df()
    second = segments_for_warehouse(path).segments.set_index("customer_key")
    assert first["behaviour_segment_id"].notna().all() and len(centroids) >= 3
    assert second["behaviour_segment_id"].equals(first["behaviour_segment_id"])
    assert second["behaviour_segment"].equals(first["behaviour_segment"])
    # each planted behaviour is one cluster (or split), never mixed with another
    planted = pd.Series([int(k[1:]) % 3 for k in first.index], index=first.index)
    assert (pd.crosstab(first["behaviour_segment_id"], planted) > 0).sum(axis=1).max() == 1
    profiles = segment_profiles(first.reset_index(), ("behaviour_segment",))
    assert profiles["customers"].sum() == 150


def test_migration_counts_moves_new_and_gone_customers():
    previous = pd.DataFrame({"customer_key": ["a", "b", "c", "d"], "value_tier": ["Gold", "Gold", "Lead", "Iron"],
                             "behaviour_segment": ["1: x", "1: x", "2: y", None]})
    current = pd.DataFrame({"customer_key": ["a", "b", "c", "e"], "value_tier": ["Gold", "Platinum", "Lead", "Iron"],
                            "behaviour_segment": ["1: x", "2: y", "2: y", "1: x"]})
    out = segment_migration(previous, current, ("value_tier", "behaviour_segment"))
    assert [tuple(r) for r in out.itertuples(index=False)] == [
        ("behaviour_segment", "(new)", "1: x", 1), ("behaviour_segment", "(none)", "(gone)", 1),
        ("behaviour_segment", "1: x", "1: x", 1), ("behaviour_segment", "1: x", "2: y", 1),
        ("behaviour_segment", "2: y", "2: y", 1),
        ("value_tier", "(new)", "Iron", 1), ("value_tier", "Gold", "Gold", 1), ("value_tier", "Gold", "Platinum", 1),
        ("value_tier", "Iron", "(gone)", 1), ("value_tier", "Lead", "Lead", 1)]


def test_undesirable_segments_lose_money_in_every_period_and_name_their_cost_drivers():
    # segment B loses money in all four quarters with assisted cost to serve 3x and servicing 1.5x the base's
    # mean; C loses money in three of four (not persistent); D in all four, with no cost above the base
    segments = pd.DataFrame({
        "customer_key": list("abcdefgh"), "tier": list("AABBCCDD"),
        "profit_q1": [10.0, 10, -5, -5, -1, -1, -1, -1], "profit_q2": [10.0, 10, -5, -5, -1, -1, -1, -1],
        "profit_q3": [10.0, 10, -5, -5, -1, -1, -1, -1], "profit_q4": [10.0, 10, -5, -5, 9, 9, -1, -1],
        "revenue": [100.0, 100, 30, 30, 50, 50, 4, 4],
        "direct_cost": [2.0] * 8,
        "cost_to_serve_assisted": [10.0, 10, 60, 60, 10, 10, 0, 0],  # base mean 20
        "servicing_cost": [4.0, 4, 9, 9, 8, 8, 3, 3],  # base mean 6
    })
    out = undesirable_segments(segments, "tier")
    assert out["negative_periods"].to_dict() == {"A": 0, "B": 4, "C": 3, "D": 4}
    assert out["is_undesirable"].to_dict() == {"A": False, "B": True, "C": False, "D": True}
    assert out.loc["B", "cost_drivers"] == "assisted cost to serve 3.0x the base; servicing cost 1.5x the base"
    assert out.loc["D", "cost_drivers"] == "no cost 1.1x the base or more; revenue 0.1x the base"
    assert out.loc["A", "cost_drivers"] == out.loc["C", "cost_drivers"] == ""


def test_differentiators_are_the_features_furthest_from_the_base():
    segments = pd.DataFrame({"customer_key": list("abcd"), "tier": ["A", "A", "B", "B"],
                             "clv": [10.0, 10, 0, 0], "products_held": [1.0, 3, 1, 3], "profit": [5.0, 5, 5, 5],
                             "assisted_interactions": [0, 0, 3, 3], "self_service_interactions": [4, 4, 1, 1]})
    out = differentiators(segments, "tier")
    # clv: base mean 5, sd 5 -> A +1.0; assisted share 0 vs 0.75 -> A -1.0; service contacts equal; products equal
    assert out.to_dict() == {"A": "CLV +1.0 sd; assisted share -1.0 sd", "B": "CLV -1.0 sd; assisted share +1.0 sd"}


def test_segment_migration_between_two_refreshes_is_published(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        clv_table(con, "2025-11-30", {"A": 500.0, "B": 100.0, "C": -10.0, "D": 50.0, "E": 20.0})
        con.execute("""create table marts.customer_profitability (customer_key varchar, profit decimal(18,2),
            is_unprofitable boolean, products_held int, assisted_interactions int, self_service_interactions int,
            region varchar, geo_segment varchar)""")
        con.execute("create table warehouse.fct_transactions (customer_key varchar, occurred_date date, "
                    "amount decimal(18,2))")
    segments_for_warehouse(path)  # 2025-11-30: A Platinum, B Gold, D and E Iron, C Lead
    with duckdb.connect(str(path)) as con:
        # a month later C's value turned positive and large (Platinum), B's negative (Lead), A ranks second
        # (Gold), D stays Iron, E is gone and F new (Iron)
        clv_table(con, "2025-12-31", {"A": 500.0, "B": -1.0, "C": 900.0, "D": 50.0, "F": 20.0})
    for _ in range(2):  # a re-run of the same day compares with the same previous run
        segments_for_warehouse(path)
        with duckdb.connect(str(path), read_only=True) as con:
            moves = con.sql("select from_segment, to_segment, customers, previous_as_of_date from "
                            "marts.segment_migration where segment_type = 'value_tier' order by all").fetchall()
        assert moves == [("(new)", "Iron", 1, dt.date(2025, 11, 30)), ("Gold", "Lead", 1, dt.date(2025, 11, 30)),
                         ("Iron", "(gone)", 1, dt.date(2025, 11, 30)), ("Iron", "Iron", 1, dt.date(2025, 11, 30)),
                         ("Lead", "Platinum", 1, dt.date(2025, 11, 30)),
                         ("Platinum", "Gold", 1, dt.date(2025, 11, 30))]
