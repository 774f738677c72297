"""Raw loads on small hand-made landing files: every bad-input case gets a clear error or a
quarantine row, and nothing else changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.landing import loader
from orchestration.landing.loader import load_landing

TX_HEADER = "transaction_id,customer_id,occurred_at,amount"


def write(landing: Path, rel: str, content: str | bytes) -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def con(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as connection:
        yield connection


def rows(con, sql: str, *params) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def snapshot(con) -> dict[str, list[tuple]]:
    """Every raw table's contents, to prove a rejected load changed nothing."""
    tables = ["customers", "transactions", "quarantine", "dq_issues", "load_log"]
    return {t: sorted(map(repr, rows(con, f"select * exclude (_loaded_at) from raw.{t}"))) for t in tables}


def test_good_file_loads_typed_values_with_lineage(con, landing):
    write(
        landing,
        "core/transactions/2024-01-02.csv",
        f"{TX_HEADER},cost,channel\nT1,C1,2024-01-01 10:00:00,10.50,1.25,branch\nT2,C2,2024-01-02,-3,,online\n",
    )
    report = load_landing(con, landing)
    assert (report.files_loaded, report.rows_loaded, report.rows_quarantined) == (1, 2, 0)
    assert rows(con, "select source_system, _delivery_date, _file, _line, transaction_id, occurred_at, amount, cost, "
                "channel, product_id from raw.transactions order by _line") == [
        ("core", dt.date(2024, 1, 2), "core/transactions/2024-01-02.csv", 2, "T1",
         dt.datetime(2024, 1, 1, 10), Decimal("10.50"), Decimal("1.25"), "branch", None),
        ("core", dt.date(2024, 1, 2), "core/transactions/2024-01-02.csv", 3, "T2",
         dt.datetime(2024, 1, 2), Decimal("-3.00"), None, "online", None),
    ]


def test_persian_text_survives_byte_exact_with_or_without_bom(con, landing):
    names = ["علی", "رضايي", "فاطمه\u200cزهرا", "كريم", " Bob  "]
    body = "customer_id,first_name\n" + "".join(f"C{i},{n}\n" for i, n in enumerate(names))
    write(landing, "core/customers/2024-01-01.csv", "\ufeff" + body)
    write(landing, "cards/customers/2024-01-01.csv", body)
    load_landing(con, landing)
    for system in ("core", "cards"):
        got = rows(con, "select first_name from raw.customers where source_system = ? order by _line", system)
        assert [g[0].encode() for g in got] == [n.encode() for n in names]


def test_loading_the_same_file_twice_changes_nothing(con, landing):
    write(landing, "core/transactions/2024-01-02.csv", f"{TX_HEADER}\nT1,C1,2024-01-01,1\nT2,C1,x,2\n")
    load_landing(con, landing)
    before = snapshot(con)
    report = load_landing(con, landing)
    assert (report.files_loaded, report.files_unchanged) == (0, 1)
    assert snapshot(con) == before


def test_a_changed_file_for_a_day_replaces_that_days_rows(con, landing):
    path = write(landing, "core/transactions/2024-01-02.csv", f"{TX_HEADER}\nT1,C1,2024-01-01,1\nT2,C1,bad,2\n")
    write(landing, "core/transactions/2024-01-03.csv", f"{TX_HEADER}\nT9,C9,2024-01-03,9\n")
    load_landing(con, landing)
    path.write_text(f"{TX_HEADER}\nT1,C1,2024-01-01,5\nT3,C1,2024-01-02,7\n", encoding="utf-8")
    report = load_landing(con, landing)
    assert (report.files_loaded, report.files_unchanged) == (1, 1)
    assert rows(con, "select transaction_id, amount from raw.transactions order by transaction_id") == [
        ("T1", Decimal("5.00")), ("T3", Decimal("7.00")), ("T9", Decimal("9.00"))]
    assert rows(con, "select count(*) from raw.quarantine") == [(0,)]  # the old bad row went with its day
    assert rows(con, "select is_current, rows_loaded, rows_quarantined from raw.load_log "
                "where _file like '%01-02%' order by _loaded_at") == [(False, 1, 1), (True, 2, 0)]


def test_missing_required_column_rejects_the_whole_file_and_nothing_else_changes(con, landing):
    write(landing, "core/transactions/2024-01-02.csv", f"{TX_HEADER}\nT1,C1,2024-01-01,1\n")
    load_landing(con, landing)
    before = snapshot(con)
    write(landing, "core/transactions/2024-01-03.csv", "transaction_id,customer_id,amount\nT2,C1,3\n")
    report = load_landing(con, landing)
    assert report.rejected == [(
        "core/transactions/2024-01-03.csv",
        "core/transactions/2024-01-03.csv: line 1: missing required column 'occurred_at'; "
        "transactions requires transaction_id, customer_id, occurred_at, amount",
    )]
    assert snapshot(con) == before
    assert rows(con, "select _file, reason like '%occurred_at%' from raw.rejected_files") == [
        ("core/transactions/2024-01-03.csv", True)]


def test_missing_and_unparsable_required_values_are_quarantined_with_line_and_reason(con, landing):
    write(
        landing,
        "core/transactions/2024-01-02.csv",
        f"{TX_HEADER}\nT1,C1,2024-01-01,1\n,C1,2024-01-01,2\nT3,C1,2024-01-01,n/a\nT4,  ,yesterday,4\n",
    )
    report = load_landing(con, landing)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 3)
    assert rows(con, "select _file, _line, reason from raw.quarantine order by _line") == [
        ("core/transactions/2024-01-02.csv", 3, "missing required value in column transaction_id"),
        ("core/transactions/2024-01-02.csv", 4, "unparsable money in column amount: n/a"),
        ("core/transactions/2024-01-02.csv", 5,
         "missing required value in column customer_id; unparsable timestamp in column occurred_at: yesterday"),
    ]
    record = rows(con, "select record from raw.quarantine where _line = 4")[0][0]
    assert '"amount":"n/a"' in record


def test_unparsable_optional_value_loads_as_null_and_is_recorded(con, landing):
    write(
        landing,
        "core/customers/2024-01-01.csv",
        "customer_id,date_of_birth,created_at\nC1,31/02/1980,2023-05-01\nC2,1911-11-11,unknown\n",
    )
    report = load_landing(con, landing)
    assert (report.rows_loaded, report.rows_quarantined, report.dq_issues) == (2, 0, 2)
    assert rows(con, "select customer_id, date_of_birth, created_at from raw.customers order by 1") == [
        ("C1", None, dt.datetime(2023, 5, 1)), ("C2", dt.date(1911, 11, 11), None)]
    assert rows(con, "select _line, column_name, value, issue from raw.dq_issues order by _line") == [
        (2, "date_of_birth", "31/02/1980", "unparsable date; loaded as null"),
        (3, "created_at", "unknown", "unparsable timestamp; loaded as null"),
    ]


def test_malformed_rows_are_quarantined_and_later_lines_keep_their_numbers(con, landing):
    write(
        landing,
        "core/transactions/2024-01-02.csv",
        f"{TX_HEADER}\nT1,C1,2024-01-01,1\nT2,C1,2024-01-01\nT3,C1,2024-01-01,3,extra,fields\nT4,C1,2024-01-01,4\n",
    )
    report = load_landing(con, landing)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 2)
    assert rows(con, "select transaction_id, _line from raw.transactions order by 1") == [("T1", 2), ("T4", 5)]
    quarantined = rows(con, "select _line, reason, record from raw.quarantine order by _line")
    assert [(q[0], q[2]) for q in quarantined] == [
        (3, "T2,C1,2024-01-01"), (4, "T3,C1,2024-01-01,3,extra,fields")]
    assert "MISSING COLUMNS" in quarantined[0][1] and "TOO MANY COLUMNS" in quarantined[1][1]


def test_invalid_utf8_row_is_quarantined_and_a_non_utf8_header_rejects_the_file(con, landing):
    write(landing, "core/customers/2024-01-01.csv",
          b"customer_id,first_name\nC1,ok\nC2,\xff\xfebad\nC3,fine\n")
    write(landing, "core/customers/2024-01-02.csv", "customer_id,first_name\nC4,x\n".encode("utf-16"))
    report = load_landing(con, landing)
    assert rows(con, "select customer_id, _line from raw.customers order by 1") == [("C1", 2), ("C3", 4)]
    assert rows(con, "select _line, reason like 'INVALID ENCODING%' from raw.quarantine") == [(3, True)]
    assert len(report.rejected) == 1
    rel, message = report.rejected[0]
    assert rel == "core/customers/2024-01-02.csv" and "line 1, column 1" in message and "not UTF-8" in message


def test_file_with_only_required_columns_and_an_unknown_column(con, landing):
    write(landing, "web/customers/2024-01-01.csv", "customer_id,favourite_colour\nW1,blue\n")
    load_landing(con, landing)
    assert rows(con, "select customer_id, first_name, email from raw.customers") == [("W1", None, None)]
    assert rows(con, "select column_name, issue from raw.dq_issues") == [
        ("favourite_colour", "column not in the landing contract; ignored")]


def test_parquet_files_load_and_are_checked_like_csv(con, landing):
    (landing / "cards/transactions").mkdir(parents=True)
    table = pa.table({
        "transaction_id": ["P1", "P2"], "customer_id": ["K1", None],
        "occurred_at": [dt.datetime(2024, 1, 5, 9), dt.datetime(2024, 1, 5, 10)],
        "amount": pa.array([Decimal("2.50"), Decimal("1.00")], pa.decimal128(10, 2)),
    })
    pq.write_table(table, landing / "cards/transactions/2024-01-05.parquet")
    pq.write_table(table.drop(["amount"]), landing / "cards/transactions/2024-01-06.parquet")
    report = load_landing(con, landing)
    assert rows(con, "select transaction_id, amount, _line from raw.transactions") == [("P1", Decimal("2.50"), 1)]
    assert rows(con, "select _line, reason from raw.quarantine") == [
        (2, "missing required value in column customer_id")]
    assert [r[0] for r in report.rejected] == ["cards/transactions/2024-01-06.parquet"]
    assert "missing required column 'amount'" in report.rejected[0][1]


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("core/orders/2024-01-01.csv", "unknown entity 'orders'"),
        ("core/transactions/2024-02-30.csv", "'2024-02-30' is not a calendar date"),
        ("core/transactions/jan.csv", "file name must be YYYY-MM-DD"),
        ("core/transactions/2024-01-01.xlsx", "file name must be YYYY-MM-DD"),
        ("Core Banking/transactions/2024-01-01.csv", "source system name"),
        ("transactions/2024-01-01.csv", "path must be <source_system>/<entity>/<YYYY-MM-DD>"),
    ],
)
def test_paths_that_break_the_contract_are_rejected(con, landing, rel, reason):
    write(landing, rel, f"{TX_HEADER}\nT1,C1,2024-01-01,1\n")
    report = load_landing(con, landing)
    assert report.files_loaded == 0 and len(report.rejected) == 1
    assert report.rejected[0][0] == rel and reason in report.rejected[0][1]


def test_two_files_for_one_day_are_both_refused(con, landing):
    write(landing, "core/transactions/2024-01-01.csv", f"{TX_HEADER}\nT1,C1,2024-01-01,1\n")
    pq.write_table(pa.table({"transaction_id": ["T1"]}), landing / "core/transactions/2024-01-01.parquet")
    report = load_landing(con, landing)
    assert report.files_loaded == 0 and len(report.rejected) == 2


def test_date_window_limits_what_is_loaded(con, landing):
    for day in ("2024-01-01", "2024-01-02", "2024-01-03"):
        write(landing, f"core/transactions/{day}.csv", f"{TX_HEADER}\nT{day},C1,{day},1\n")
    load_landing(con, landing, date_to=dt.date(2024, 1, 2))
    assert rows(con, "select count(*) from raw.transactions") == [(2,)]
    load_landing(con, landing, date_from=dt.date(2024, 1, 3))
    assert rows(con, "select count(*) from raw.transactions") == [(3,)]


def test_rows_in_file_always_equal_loaded_plus_quarantined(con, landing):
    write(landing, "core/transactions/2024-01-02.csv",
          f"{TX_HEADER}\nT1,C1,2024-01-01,1\nbroken\n,C1,2024-01-01,2\nT4,C1,2024-01-01,4\n")
    write(landing, "core/customers/2024-01-01.csv", "customer_id\nC1\n\n")
    load_landing(con, landing)
    assert rows(con, "select _file, rows_in_file, rows_loaded, rows_quarantined from raw.load_log order by 1") == [
        ("core/customers/2024-01-01.csv", 1, 1, 0),
        ("core/transactions/2024-01-02.csv", 4, 2, 2),
    ]


def test_a_failure_mid_batch_rolls_everything_back(con, landing, monkeypatch):
    write(landing, "core/transactions/2024-01-02.csv", f"{TX_HEADER}\nT1,C1,2024-01-01,1\n,x,2024-01-01,1\n")

    def explode(self, loaded_at):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader._Batch, "_log_and_reconcile", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        load_landing(con, landing)
    assert rows(con, "select (select count(*) from raw.transactions) + (select count(*) from raw.quarantine)"
                " + (select count(*) from raw.load_log)") == [(0,)]
    monkeypatch.undo()
    report = load_landing(con, landing)  # and the file loads cleanly once the fault is gone
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)


def test_lines_are_physical_despite_blank_lines_and_quoted_line_breaks(con, landing):
    write(
        landing,
        "s/transactions/2024-01-01.csv",
        f'{TX_HEADER}\nT1,C1,2024-01-01,1\n\n"T\n2",C1,2024-01-01,2\nbad\n\nT3,"C\n""1""",2024-01-01,x\nT4,C1,2024-01-01,4\n',
    )
    load_landing(con, landing)
    assert rows(con, "select transaction_id, _line from raw.transactions order by _line") == [
        ("T1", 2), ("T\n2", 4), ("T4", 10)]
    assert rows(con, "select _line, reason like 'MISSING COLUMNS%', record from raw.quarantine order by 1") == [
        (6, True, "bad"),
        (8, False, '{"transaction_id":"T3","customer_id":"C\\n\\"1\\"","occurred_at":"2024-01-01","amount":"x"}'),
    ]
    assert rows(con, "select rows_in_file, rows_loaded, rows_quarantined from raw.load_log") == [(5, 3, 2)]


def test_batches_of_any_size_load_the_same_rows(tmp_path, landing):
    # Three days of two systems, with a refused line, a quarantined row and an unparsable optional value.
    for day in (1, 2, 3):
        write(landing, f"core/transactions/2024-01-0{day}.csv",
              f"{TX_HEADER},cost\nT{day}a,C1,2024-01-0{day},1.5,0.5\nT{day}b,C2,2024-01-0{day},x,\n"
              f"T{day}c,C3,2024-01-0{day},2,oops\nbroken line\n")
        write(landing, f"cards/transactions/2024-01-0{day}.csv", f"{TX_HEADER}\nK{day},C9,2024-01-0{day},7\n")
    snapshots, messages = [], []
    for name, batch_bytes in (("whole", loader.BATCH_BYTES), ("one-file", 1)):
        with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as con:
            report = load_landing(con, landing, progress=messages.append, batch_bytes=batch_bytes)
            assert (report.files_loaded, report.rows_loaded, report.rows_quarantined, report.dq_issues) == (
                6, 9, 6, 3)
            tables = snapshot(con)
            # DuckDB's wording of a refused line's column count varies between scans; its kind does not.
            tables["quarantine"] = rows(con, "select _file, _line, split_part(reason, ':', 1), record "
                                        "from raw.quarantine order by all")
            snapshots.append(tables)
    assert snapshots[0] == snapshots[1]
    # One progress line per batch: one batch per system and entity, then one per file.
    assert len(messages) == 2 + 6 and messages[-1].endswith("(batch 3/3)")
