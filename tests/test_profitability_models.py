"""Customer P&L and profitability marts on a tiny hand-made bank: exact profit per customer, deciles,
whale points, concentration, segments, marketing purpose and decile migration.

Twelve customers of one source system, each delivered on 2025-03-31 (so the as-of month is 2025-03
and the trailing window 2024-04..2025-03). Costs come from the repository seeds: branch 1.20/min,
call centre 0.80/min, online 0.02/min, app 0.01/min; branch visit 15 min, call 8, complaint 45, app
session 3, online session 5; CUR 1.50/month, SAV 0.50, MTG 5.00; email contacts 0.05 by default.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from test_dbt_models import build, load_raw, query, table

from orchestration.landing.raw_tables import create_raw_tables

DAY = dt.date(2025, 3, 31)
S = "bank"

REGION = {f"C{i:02d}": ("London" if i <= 6 else "North West") for i in range(1, 13)}

RAW = {
    (S, DAY, "customers"): table(
        "customer_id last_name postcode region",
        *[(c, f"Customer {c}", "E1 6AN" if c == "C01" else None, r) for c, r in REGION.items()],
    ),
    (S, DAY, "accounts"): table(
        "account_id customer_id product_id opened_at closed_at",
        # Open since before the history starts: costed from 2024-02, the first month of events.
        ("A01", "C01", "CUR", "2023-06-01 00:00:00", None),
        # Opened and closed the same day: one month of servicing.
        ("A02", "C02", "SAV", "2025-01-15 10:00:00", "2025-01-15 16:00:00"),
        # Closed on 1 March: open in January and February only.
        ("A03", "C06", "MTG", "2025-01-20 00:00:00", "2025-03-01 00:00:00"),
    ),
    (S, DAY, "transactions"): table(
        "transaction_id customer_id occurred_at amount cost",
        ("T01", "C01", "2025-02-10 12:00:00", "1000.00", "100.00"),
        ("T02", "C01", "2025-03-05 12:00:00", "-20.00", None),  # a refund
        ("T03", "C02", "2025-01-15 12:00:00", "500.00", None),
        ("T04", "C03", "2025-02-01 12:00:00", "300.00", None),
        ("T05", "C03", "2025-06-01 12:00:00", "7.00", None),  # future-dated: its own month, not ranked
        ("T06", "C04", "2025-02-02 12:00:00", "200.00", None),
        ("T07", "C05", "2025-01-20 12:00:00", "150.00", None),
        ("T08", "C06", "2025-02-05 12:00:00", "100.00", None),
        ("T09", "C07", "2025-02-06 12:00:00", "85.00", None),
        ("T10", "C08", "2025-02-07 12:00:00", "80.00", None),
        ("T11", "C09", "2025-02-08 12:00:00", "80.00", None),
        ("T12", "C11", "2025-03-01 12:00:00", "5.00", None),
        ("T13", "C12", "2024-02-10 12:00:00", "999.00", None),  # before the trailing window
    ),
    (S, DAY, "interactions"): table(
        "interaction_id customer_id occurred_at channel interaction_type is_complaint",
        ("I01", "C02", "2025-01-15 09:00:00", "branch", "branch_visit", None),  # 18.00
        ("I02", "C02", "2025-02-15 09:00:00", "branch", "branch_visit", None),  # 18.00
        ("I03", "C02", "2025-02-20 09:00:00", "call_centre", "complaint", True),  # 36.00
        ("I04", "C03", "2025-02-02 09:00:00", "mobile_app", "app_session", None),  # 0.03
        ("I05", "C03", "2025-02-03 09:00:00", "mobile_app", "app_session", None),
        ("I06", "C03", "2025-02-04 09:00:00", "mobile_app", "app_session", None),
        ("I07", "C03", "2025-02-05 09:00:00", "online", "online_session", None),  # 0.10
        ("I08", "C09", "2025-02-08 09:00:00", "kiosk", "chat", None),  # no rate: unpriced, costs 0
        ("I09", "C10", "2025-02-10 09:00:00", "call_centre", "call", None),  # 6.40
        ("I10", "C11", "2025-03-01 09:00:00", "branch", "branch_visit", None),  # 18.00
        ("I11", "C12", "2025-03-10 09:00:00", "branch", "complaint", True),  # 54.00
    ),
    (S, DAY, "campaigns"): table(
        "campaign_id name channel start_date cost_per_contact",
        ("K1", "Saver by post", "mail", "2025-02-03", "0.85"),
        ("K2", "Card by email", "email", "2025-03-03", None),  # no cost: the email default 0.05
    ),
    (S, DAY, "campaign_contacts"): table(
        "campaign_id customer_id contacted_at is_control responded_at",
        ("K1", "C04", "2025-02-03 09:00:00", False, "2025-02-10 10:00:00"),
        ("K2", "C04", "2025-03-03 09:00:00", False, None),
        ("K1", "C05", "2025-02-03 09:00:00", True, None),  # control: not contacted, costs nothing
        ("K2", "C01", "2025-03-03 09:00:00", False, None),  # holds a product: retention
    ),
    ("geo", DAY, "geodemographics"): table("postcode geo_segment", ("E1 6AN", "City living")),
}

# Trailing-window profit per customer, worked out by hand from the rows above.
PROFIT = {
    "C01": Decimal("861.95"),  # 1000 - 20 - 100 - 12 x 1.50 - 0.05
    "C02": Decimal("427.50"),  # 500 - 18 - 18 - 36 - 0.50
    "C03": Decimal("299.81"),  # 300 - 3 x 0.03 - 0.10
    "C04": Decimal("199.10"),  # 200 - 0.85 - 0.05
    "C05": Decimal("150.00"),
    "C06": Decimal("90.00"),  # 100 - 2 x 5.00
    "C07": Decimal("85.00"),
    "C08": Decimal("80.00"),
    "C09": Decimal("80.00"),  # ties with C08: the customer key decides
    "C10": Decimal("-6.40"),
    "C11": Decimal("-13.00"),  # 5 - 18
    "C12": Decimal("-54.00"),
}
TOTAL = Decimal("2199.96")


def key(customer_id: str) -> str:
    return hashlib.md5(f"{S}|{customer_id}".encode()).hexdigest()


# C08 and C09 earn the same: the smaller customer key ranks first (rank 8, decile 6; the other 9, decile 7).
FIRST_TIED, SECOND_TIED = sorted(["C08", "C09"], key=key)
RANKED = ["C01", "C02", "C03", "C04", "C05", "C06", "C07", FIRST_TIED, SECOND_TIED, "C10", "C11", "C12"]
# Twelve customers: rank r goes to decile floor((r - 1) * 10 / 12) + 1.
DECILE = dict(zip(RANKED, [1, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10], strict=True))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("profitability")
    path = work / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        create_raw_tables(con)
        load_raw(con, RAW)
    build(path, work)  # as `crmw build` does: dbt part 1, identity resolution, dbt part 2
    return path


def by_customer(path: Path, sql: str) -> dict[str, tuple]:
    ids = {key(c): c for c in REGION}
    return {ids[row[0]]: row[1:] for row in query(path, sql)}


def test_customer_month_pnl_is_exact(db: Path) -> None:
    rows = query(db, f"""
        select month_start, revenue, direct_cost, cost_to_serve, servicing_cost, marketing_cost, profit,
               products_held, is_future_month
        from warehouse.fct_customer_month where customer_key = '{key("C01")}' order by month_start""")
    # CUR open since 2023 is costed from 2024-02 (first month of events) to 2025-03 (as-of): 14 months.
    assert len(rows) == 14 and rows[0][0] == dt.date(2024, 2, 1) and rows[-1][0] == dt.date(2025, 3, 1)
    assert all(r[4] == Decimal("1.50") and r[7] == 1 for r in rows)
    assert rows[-2][1:7] == (Decimal("1000.00"), Decimal("100.00"), 0, Decimal("1.50"), 0, Decimal("898.50"))
    assert rows[-1][1:7] == (Decimal("-20.00"), 0, 0, Decimal("1.50"), Decimal("0.05"), Decimal("-21.55"))
    totals = by_customer(db, """
        select customer_key, sum(revenue), sum(cost_to_serve), sum(cost_to_serve_assisted),
               sum(cost_to_serve_self_service), sum(servicing_cost), sum(marketing_cost), sum(profit),
               sum(interactions), sum(complaints), sum(unpriced_interactions), count(*)
        from warehouse.fct_customer_month group by customer_key""")
    assert totals["C02"] == (Decimal("500.00"), Decimal("72.00"), Decimal("72.00"), 0, Decimal("0.50"), 0,
                             Decimal("427.50"), 3, 1, 0, 2)
    assert totals["C03"][:7] == (Decimal("307.00"), Decimal("0.19"), 0, Decimal("0.19"), 0, 0, Decimal("306.81"))
    assert totals["C06"][4] == Decimal("10.00")  # MTG in January and February
    assert totals["C09"][7:10] == (1, 0, 1)  # the kiosk chat: counted, unpriced, costs nothing
    assert totals["C12"][0] == Decimal("999.00") and totals["C12"][-1] == 2
    (future,) = query(db, "select customer_key, month_start, revenue from warehouse.fct_customer_month "
                          "where is_future_month")
    assert future == (key("C03"), dt.date(2025, 6, 1), Decimal("7.00"))
    # Everything: the trailing window, plus C01's CUR in 2024-02/03, C12's old revenue, C03's future one.
    assert query(db, "select sum(profit) from warehouse.fct_customer_month") == [
        (TOTAL - Decimal("3.00") + Decimal("999.00") + Decimal("7.00"),)
    ]
    channels = query(db, f"""
        select month_start, channel_id, is_assisted, interactions, standard_minutes, cost_to_serve
        from warehouse.fct_customer_month_channel where customer_key = '{key("C02")}' order by 1, 2""")
    assert channels == [
        (dt.date(2025, 1, 1), "branch", True, 1, 15.0, Decimal("18.00")),
        (dt.date(2025, 2, 1), "branch", True, 1, 15.0, Decimal("18.00")),
        (dt.date(2025, 2, 1), "call_centre", True, 1, 45.0, Decimal("36.00")),
    ]


def test_customer_profitability_ranks_the_trailing_window(db: Path) -> None:
    rows = by_customer(db, """
        select customer_key, profit, profit_rank, profit_decile, is_unprofitable, as_of_month,
               window_start_month, products_held, region, geo_segment
        from marts.customer_profitability""")
    assert {c: r[0] for c, r in rows.items()} == PROFIT
    assert {c: r[1] for c, r in rows.items()} == {c: i + 1 for i, c in enumerate(RANKED)}
    assert {c: r[2] for c, r in rows.items()} == DECILE
    assert {c for c, r in rows.items() if r[3]} == {"C10", "C11", "C12"}
    assert {(r[4], r[5]) for r in rows.values()} == {(dt.date(2025, 3, 1), dt.date(2024, 4, 1))}
    assert (rows["C01"][6], rows["C06"][6], rows["C07"][6]) == (1, 1, 0)
    assert (rows["C01"][7:], rows["C07"][7:]) == (("London", "City living"), ("North West", "unknown"))


def test_deciles_whale_curve_and_concentration(db: Path) -> None:
    deciles = query(db, "select profit_decile, customers, profit, profit_share, cumulative_profit_share, "
                        "avg_products_held from marts.profitability_deciles order by 1")
    assert [d[1] for d in deciles] == [2, 1, 1, 1, 1, 2, 1, 1, 1, 1]
    assert deciles[0][2] == PROFIT["C01"] + PROFIT["C02"] and deciles[0][5] == 1.0
    assert deciles[5][2] == PROFIT["C07"] + PROFIT[FIRST_TIED]
    assert deciles[9][2] == Decimal("-54.00")
    assert deciles[0][3] == pytest.approx(float(Decimal("1289.45") / TOTAL), abs=1e-12)
    assert deciles[9][4] == pytest.approx(1.0, abs=1e-12)

    whale = dict(query(db, "select percentile, customers from marts.profitability_whale_curve"))
    assert (whale[0], whale[10], whale[20], whale[50], whale[100]) == (0, 2, 3, 6, 12)
    share = dict(query(db, "select percentile, cumulative_profit from marts.profitability_whale_curve"))
    assert share[0] == 0 and share[20] == Decimal("1589.26") and share[50] == Decimal("2028.36")
    assert share[100] == TOTAL

    ((customers, total, top20, top20_share, unprofitable, unprofitable_share, destroyed, bottom, destroyed_bottom,
      peak),) = query(db, """
        select customers, total_profit, top_20_customers, top_20_profit_share, unprofitable_customers,
               unprofitable_customer_share, profit_destroyed_by_unprofitable, bottom_decile_profit,
               profit_destroyed_by_bottom_decile, peak_cumulative_profit_share
        from marts.profitability_concentration""")
    assert (customers, total, top20, unprofitable, unprofitable_share) == (12, TOTAL, 3, 3, 0.25)
    assert top20_share == pytest.approx(float(Decimal("1589.26") / TOTAL), abs=1e-12)
    assert (destroyed, bottom, destroyed_bottom) == (Decimal("73.40"), Decimal("-54.00"), Decimal("54.00"))
    assert peak == pytest.approx(float(Decimal("2273.36") / TOTAL), abs=1e-12)


def test_segments_marketing_trend_and_migration(db: Path) -> None:
    segments = {(d, s): (n, p) for d, s, n, p in query(
        db, "select dimension, segment, customers, profit from marts.profitability_by_segment")}
    assert segments == {
        ("region", "London"): (6, Decimal("2028.36")),
        ("region", "North West"): (6, Decimal("171.60")),
        ("geo_segment", "City living"): (1, PROFIT["C01"]),
        ("geo_segment", "unknown"): (11, TOTAL - PROFIT["C01"]),
    }
    spend = query(db, "select month_start, purpose, campaign_contacts, campaign_responses, marketing_cost "
                      "from marts.marketing_spend_by_purpose order by 1, 2")
    assert spend == [
        (dt.date(2025, 2, 1), "acquisition", 1, 1, Decimal("0.85")),
        (dt.date(2025, 3, 1), "acquisition", 1, 0, Decimal("0.05")),
        (dt.date(2025, 3, 1), "retention", 1, 0, Decimal("0.05")),
    ]
    trend = {r[0]: r[1:] for r in query(db, "select month_start, products_sold, interactions, campaign_contacts, "
                                            "contacts_per_product_sold from marts.profitability_monthly_trend")}
    assert trend[dt.date(2025, 1, 1)] == (2, 1, 0, 0.5)
    assert trend[dt.date(2025, 2, 1)][:3] == (0, 8, 1) and trend[dt.date(2025, 2, 1)][3] is None
    assert dt.date(2025, 6, 1) not in trend  # the future-dated month is not a trend month

    migration = {(f, t): n for f, t, n in query(
        db, "select from_decile, to_decile, customers from marts.profitability_decile_migration")}
    # 2025-02 window (2024-03..2025-02) ranks C01..C10, one per decile; C11 and C12 are new in 2025-03.
    assert migration == {(1, 1): 1, (2, 1): 1, (3, 2): 1, (4, 3): 1, (5, 4): 1, (6, 5): 1, (7, 6): 1,
                         (8, 6): 1, (9, 7): 1, (10, 8): 1, (0, 9): 1, (0, 10): 1}
