"""Data quality on a small hand-made raw layer: sentinel detection without a list of bad values, the ODS
blanking what was detected (raw keeps it), the profiler's issues, per-load scores kept as history and
consistency across systems after identity resolution.

Two source systems deliver customers on day 1: `branch` (30 customers; 8 "born" on 1970-01-01, a
placeholder that is not 1911-11-11; 13 phones ending 555 5555 under two area codes; one twin pair sharing a
real birth date) and `web` (20 customers; 8 born on 1 January of eight different years, one lone
1911-11-11). Day 2 brings one more `web` customer and a `cards` system with three of those customers
again, each disagreeing on a field (cross-system consistency). Each day builds as `crmw build` does.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import duckdb
import pytest
from test_dbt_models import build, load_raw, query, table

from orchestration.landing.raw_tables import RAW_SCHEMA, create_raw_tables

D1, D2 = dt.date(2025, 3, 1), dt.date(2025, 3, 2)
PLACEHOLDER = "1970-01-01"


def spread_dates(n: int, first: dt.date, step_days: int) -> list[str]:
    """Ordinary birth dates: far apart, none on 1 January, none near the placeholder."""
    days = [first + dt.timedelta(days=k * step_days) for k in range(n)]
    assert all((d.month, d.day) != (1, 1) and abs((d - dt.date(1970, 1, 1)).days) > 15 for d in days)
    assert len({(d.month, d.day) for d in days}) == n
    return [d.isoformat() for d in days]


def branch_customers_dobs() -> list[str]:
    ordinary = spread_dates(22, dt.date(1950, 3, 10), 700)
    ordinary[1] = ordinary[0]  # twins: a real date held twice is no sentinel
    return [PLACEHOLDER] * 8 + ordinary


def branch_customers() -> list[dict]:
    dobs = branch_customers_dobs()
    phones = ["020 555 5555"] * 7 + ["0161 555 5555"] * 6 + [f"07700 900{i:03d}" for i in range(17)]
    rows = []
    for i, (dob, phone) in enumerate(zip(dobs, phones, strict=True), start=1):
        email = "x at y" if i == 30 else f"b{i}@example.com"
        updated = "2020-01-01 00:00:00" if i == 29 else "2024-06-01 00:00:00"  # i = 29: an address 5 years old
        rows.append((f"B{i:02d}", f"First{i}", f"Last{i}", dob, email, phone, f"AB{i:06d}C", "1 High St",
                     "SW1A 1AA", updated))
    return table("customer_id first_name last_name date_of_birth email phone national_id address_line1 "
                 "postcode updated_at", *rows)


def web_customer_dobs() -> list[str]:
    return [f"{1960 + k}-01-01" for k in range(8)] + ["1911-11-11"] + spread_dates(11, dt.date(1981, 2, 3), 450)


def web_customers() -> list[dict]:
    dobs = web_customer_dobs()
    rows = []
    for i, dob in enumerate(dobs, start=1):
        email = None if i == 20 else f"w{i}@example.org"  # one missing email
        rows.append((f"W{i:02d}", f"Web{i}", f"User{i}", dob, email, f"07800 100{i:03d}"))
    return table("customer_id first_name last_name date_of_birth email phone", *rows)


DAY_1 = {
    ("branch", D1, "customers"): branch_customers(),
    ("web", D1, "customers"): web_customers(),
    ("mosaic", D1, "geodemographics"): table("postcode geo_segment", ("SW1A 1AA", "Urban elite")),
}
BRANCH_DOB = {i: dob for i, dob in enumerate(branch_customers_dobs(), start=1)}
WEB_DOB = {i: dob for i, dob in enumerate(web_customer_dobs(), start=1)}
DAY_2 = {
    ("web", D2, "customers"): table(
        "customer_id first_name last_name date_of_birth email phone",
        ("W21", "Web21", "User21", "1985-06-15", "w21@example.org", "07800 100021"),
    ),
    # A cards system knows three of them again, each disagreeing with the first system on something:
    # K1 is B20 with another birth date, K2 is B21 with another phone and postcode, K3 is W12 with another
    # first name.
    ("cards", D2, "customers"): table(
        "customer_id first_name last_name date_of_birth email phone national_id postcode",
        ("K1", "First20", "Last20", "1930-05-05", "b20@example.com", "07700 900006", "AB000020C", "SW1A 1AA"),
        ("K2", "First21", "Last21", BRANCH_DOB[21], "b21@example.com", "07911 123456", "AB000021C", "M1 1AE"),
        ("K3", "Webster", "User12", WEB_DOB[12], "w12@example.org", "07800 100012", None, None),
    ),
}
# Rows the loader quarantined in each file (the file had that many more lines).
QUARANTINED = {("web", D1, "customers"): 1}


def load_with_log(con: duckdb.DuckDBPyConnection, deliveries: dict) -> None:
    """Raw rows as the loader writes them, with their load_log rows (and a dq_issues row for branch)."""
    load_raw(con, deliveries)
    for (system, day, entity), rows in deliveries.items():
        file = f"landing/{system}/{entity}/{day.isoformat()}.csv"
        quarantined = QUARANTINED.get((system, day, entity), 0)
        con.execute(
            f"insert into {RAW_SCHEMA}.load_log values (?, ?, ?, ?, 'sha', ?, ?, ?, 0, ?, true)",
            [file, system, entity, day, len(rows) + quarantined, len(rows), quarantined,
             dt.datetime.combine(day, dt.time(6, 0))],
        )
    if ("branch", D1, "customers") in deliveries:
        # A 31st branch customer whose birth date did not parse: loaded with a null date, the issue recorded.
        con.execute(
            f"insert into {RAW_SCHEMA}.customers (source_system, _delivery_date, _file, _line, _loaded_at, "
            "customer_id, first_name, last_name) values ('branch', ?, 'landing/branch/customers/2025-03-01.csv', "
            "32, ?, 'B31', 'First31', 'Last31')",
            [D1, dt.datetime.combine(D1, dt.time(6, 0))],
        )
        con.execute(
            f"insert into {RAW_SCHEMA}.dq_issues values ('branch', 'customers', ?, "
            "'landing/branch/customers/2025-03-01.csv', 32, 'date_of_birth', '31/02/1980', "
            "'unparsable date; loaded as null', ?)",
            [D1, dt.datetime.combine(D1, dt.time(6, 0))],
        )
        con.execute(
            f"update {RAW_SCHEMA}.load_log set rows_in_file = rows_in_file + 1, rows_loaded = rows_loaded + 1 "
            "where source_system = 'branch' and entity = 'customers'"
        )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("dq")
    db = work / "crm.duckdb"
    with duckdb.connect(str(db)) as con:
        create_raw_tables(con)
        load_with_log(con, DAY_1)
    build(db, work)  # as `crmw build` does: dbt part 1, identity resolution, dbt part 2
    day_1 = work / "crm_day1.duckdb"
    shutil.copyfile(db, day_1)
    with duckdb.connect(str(db)) as con:
        load_with_log(con, DAY_2)
    build(db, work)
    return {"day_1": day_1, "day_2": db}


def z(n: int, expected: float) -> float:
    return round(2 * (math.sqrt(n) - math.sqrt(expected)), 2)


def test_sentinels_are_detected_from_frequencies_alone(warehouse: dict[str, Path]) -> None:
    rows = query(
        warehouse["day_1"],
        """
        select source_system, field_name, pattern, sentinel_value, records_with_value, records_in_field,
               expected_records, z_score
        from quality.dq_sentinel_values order by 1, 2, 3, 4
        """,
    )
    assert rows == [
        # 8 of 30 on one day with no births in the 15 days either side: expected 0. (Its month and day,
        # 01-01, is then tested only on the other 22 records: none.)
        ("branch", "date_of_birth", "value", PLACEHOLDER, 8, 30, 0.0, z(8, 0)),
        # 7 + 6 phones share the subscriber number under two area codes; each other one is held once.
        ("branch", "phone", "last_7_digits", "5555555", 13, 30, 1.0, z(13, 1)),
        # Eight different dates, all on 1 January: only the birthday without the year stands out.
        ("web", "date_of_birth", "month_day", "01-01", 8, 20, round(20 * 4 / 1461, 3), z(8, 20 * 4 / 1461)),
    ]
    (reason,) = query(
        warehouse["day_1"],
        "select reason from quality.dq_sentinel_values where source_system = 'branch' and pattern = 'value'",
    )[0]
    assert reason == "date_of_birth 1970-01-01 on 8 of 30 records; the field's distribution predicts 0.0 (z = 5.7)"


def test_ods_blanks_sentinels_and_raw_keeps_them(warehouse: dict[str, Path]) -> None:
    # Per source record (int_customers_conformed), before identity resolution folds records into customers.
    path = warehouse["day_1"]
    assert query(
        path,
        """
        select source_system, count(*), sum(case when has_sentinel_birth_date then 1 else 0 end),
               count(date_of_birth), count(phone)
        from ods.int_customers_conformed where source_system <> 'mosaic' group by 1 order by 1
        """,
    ) == [("branch", 31, 8, 22, 17), ("web", 20, 8, 12, 20)]
    # The twins' shared date and web's lone 1911-11-11 survive.
    assert query(
        path,
        "select customer_id, date_of_birth from ods.int_customers_conformed "
        "where customer_id in ('B09', 'B10', 'W09') order by 1",
    ) == [("B09", dt.date(1950, 3, 10)), ("B10", dt.date(1950, 3, 10)), ("W09", dt.date(1911, 11, 11))]
    assert query(
        path, f"select count(*) from raw.customers where date_of_birth = date '{PLACEHOLDER}'"
    ) == [(8,)]
    assert query(path, "select count(*) from raw.customers where phone like '%555 5555'") == [(13,)]
    assert query(
        path,
        """
        select customer_id, is_sentinel_birth_date, is_sentinel_phone, sentinel_reason
        from ods.int_customers_deduplicated where customer_id in ('B01', 'B20', 'W03') order by 1
        """,
    ) == [
        ("B01", True, True,
         "date_of_birth 1970-01-01 on 8 of 30 records; the field's distribution predicts 0.0 (z = 5.7); "
         "phone (last_7_digits) 5555555 on 13 of 30 records; the field's distribution predicts 1.0 (z = 5.2)"),
        ("B20", False, False, None),
        ("W03", True, False,
         "date_of_birth (month_day) 01-01 on 8 of 20 records; the field's distribution predicts 0.05 (z = 5.2)"),
    ]


def test_issues_count_rows_and_mask_personal_values(warehouse: dict[str, Path]) -> None:
    rows = query(
        warehouse["day_1"],
        """
        select source_system, field_name, rule_name, area, rows_checked, rows_affected, example_values
        from marts.data_quality_issues order by 1, 2, 3
        """,
    )
    # B31 (the unparsable birth date) has only names: one missing value in every other field branch
    # delivers; branch never delivers country, so its completeness is not counted.
    assert rows == [
        ("branch", "address_line1", "address_updated_within_1095_days", "timeliness", 30, 1, "2020-01-01"),
        ("branch", "address_line1", "is_present", "completeness", 31, 1, None),
        ("branch", "date_of_birth", "is_present", "completeness", 31, 1, None),
        ("branch", "date_of_birth", "parsable", "validity", 31, 1, "<10 characters>"),
        ("branch", "date_of_birth", "sentinel_value", "validity", 30, 8, PLACEHOLDER),
        ("branch", "email", "email_format", "validity", 30, 1, "x***"),
        ("branch", "email", "is_present", "completeness", 31, 1, None),
        ("branch", "national_id", "is_present", "completeness", 31, 1, None),
        ("branch", "phone", "is_present", "completeness", 31, 1, None),
        ("branch", "phone", "sentinel_value", "validity", 30, 13, "01615555555, 0205555555"),
        ("branch", "postcode", "is_present", "completeness", 31, 1, None),
        ("branch", "updated_at", "is_present", "completeness", 31, 1, None),
        ("web", "(row)", "loadable", "validity", 21, 1, None),
        ("web", "date_of_birth", "sentinel_value", "validity", 20, 8, "1960-01-01, 1967-01-01"),
        ("web", "email", "is_present", "completeness", 20, 1, None),
    ]


def test_scores_per_source_area_and_load_are_kept_as_history(warehouse: dict[str, Path]) -> None:
    sql = """select source_system, delivery_date, area, score, rules_checked, rules_failed
             from marts.data_quality_scores where source_system = 'web' and area <> 'cross_system_consistency'
             order by 1, 2, 3"""
    day_1 = query(warehouse["day_1"], sql)
    # Completeness over the five fields web delivers (one email missing of 20). Validity: email, phone and
    # birth-date formats pass, 8 of 20 birth dates are sentinels, 1 of 21 rows was quarantined; phone and
    # email sentinels pass.
    assert day_1 == [
        ("web", D1, "completeness", round(100 * (4 + 19 / 20) / 5, 2), 5, 1),
        ("web", D1, "uniqueness", 100.0, 1, 0),
        ("web", D1, "validity", round(100 * (5 + 12 / 20 + 20 / 21) / 7, 2), 7, 2),
    ]
    day_2 = query(warehouse["day_2"], sql)
    assert day_2[:3] == day_1  # day 1 keeps the scores it got when it arrived
    assert day_2[3:] == [
        ("web", D2, "completeness", 100.0, 5, 0),
        ("web", D2, "uniqueness", 100.0, 1, 0),
        ("web", D2, "validity", 100.0, 7, 0),
    ]
    areas = query(warehouse["day_1"], "select distinct area from marts.data_quality_scores order by 1")
    assert areas == [("completeness",), ("consistency",), ("timeliness",), ("uniqueness",), ("validity",)]


def test_rule_results_profile_only_the_new_load_and_keep_earlier_ones(warehouse: dict[str, Path]) -> None:
    # The day-2 build compiled dq_rule_results incrementally (against the loads already profiled) ...
    compiled = (warehouse["day_2"].parent / "target" / "compiled" / "crm_warehouse" / "models" / "quality"
                / "profile" / "dq_rule_results.sql").read_text()
    assert "as profiled" in compiled
    sql = ("select * from quality.dq_rule_results where delivery_date = '{day}' "
           "order by all")
    # ... so day 1 keeps the rows it got when it arrived, and day 2 has its own.
    day_1_rows = query(warehouse["day_1"], sql.format(day=D1))
    assert day_1_rows and query(warehouse["day_2"], sql.format(day=D1)) == day_1_rows
    systems = query(warehouse["day_2"], f"select distinct source_system from quality.dq_rule_results "
                                        f"where delivery_date = '{D2}' order by 1")
    assert ("web",) in systems


def test_cross_system_consistency_scores_and_issues(warehouse: dict[str, Path]) -> None:
    # Day 1: no customer is in two systems, so nothing is compared and no load has the area.
    assert query(warehouse["day_1"], "select count(*) from quality.dq_cross_system_results") == [(0,)]
    keys = dict(query(warehouse["day_2"], "select customer_source_key, customer_key from ods.ods_customer_xref"))
    assert (keys["cards|K1"], keys["cards|K2"], keys["cards|K3"]) == (
        keys["branch|B20"], keys["branch|B21"], keys["web|W12"])
    # Day 2's cards load: K1..K3 each compared with the other system's record of the same customer.
    rows = query(warehouse["day_2"], """
        select field_name, rows_checked, rows_failed, example_values from quality.dq_cross_system_results
        where source_system = 'cards' order by 1""")
    b20 = BRANCH_DOB[20][:4]
    assert rows == [
        ("date_of_birth", 3, 1, f"1930-**-** / {b20}-**-**"),
        ("email", 3, 0, None),
        ("first_name", 3, 1, "w*** / w***"),
        ("last_name", 3, 0, None),
        ("phone", 3, 1, "***56 / ***07"),
        ("postcode", 2, 1, "M11AE / SW1A1AA"),  # web holds no postcode: K3 is not checked
    ]
    scores = query(warehouse["day_2"], """
        select source_system, delivery_date, score, rules_checked, rules_failed from marts.data_quality_scores
        where area = 'cross_system_consistency' order by 1, 2""")
    # A load is scored in the first build that compares its rows with another system, and keeps that
    # score: branch's and web's day-1 loads on day 2 (B20 and B21 against K1 and K2, W12 against K3).
    assert scores == [
        ("branch", D1, round(100 * (1 + 1 + 1 / 2 + 1 + 1 / 2 + 1 / 2) / 6, 2), 6, 3),
        ("cards", D2, round(100 * (2 / 3 + 1 + 2 / 3 + 1 + 2 / 3 + 1 / 2) / 6, 2), 6, 4),
        ("web", D1, round(100 * (0 + 1 + 1 + 1 + 1) / 5, 2), 5, 1),
    ]
    # The issues hold the current data: branch's and web's records disagree with cards' too.
    issues = query(warehouse["day_2"], """
        select source_system, field_name, rows_checked, rows_affected, example_values from marts.data_quality_issues
        where area = 'cross_system_consistency' order by 1, 2""")
    assert issues == [
        ("branch", "date_of_birth", 2, 1, f"{b20}-**-** / 1930-**-**"),
        ("branch", "phone", 2, 1, "***07 / ***56"),
        ("branch", "postcode", 2, 1, "SW1A1AA / M11AE"),
        ("cards", "date_of_birth", 3, 1, f"1930-**-** / {b20}-**-**"),
        ("cards", "first_name", 3, 1, "w*** / w***"),
        ("cards", "phone", 3, 1, "***56 / ***07"),
        ("cards", "postcode", 2, 1, "M11AE / SW1A1AA"),
        ("web", "first_name", 1, 1, "w*** / w***"),
    ]
