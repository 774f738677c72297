"""Raw loads: landing files -> typed raw tables, with quarantine, data-quality issues and a load log.

Guarantees (DESIGN.md §4):
- idempotent: a file already loaded with the same content is skipped; a changed file for a day
  replaces that day's rows for its source system and entity;
- nothing is lost: every data row of a file is either loaded or quarantined with its line and reason,
  and rows_in_file = rows_loaded + rows_quarantined is checked before commit;
- nothing is half-written: a file missing a required column is refused whole, and each batch of
  files commits in one transaction or not at all.

Files of one entity that share a header are read in one DuckDB scan, so a year of daily files costs
one query per entity rather than one per file.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from orchestration.landing.contract import ENTITIES, FILE_FORMATS, Entity
from orchestration.landing.parsing import clean_text_expr, parse_expr
from orchestration.landing.raw_tables import RAW_SCHEMA, create_raw_tables

Progress = Callable[[str], None]

_SYSTEM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DAY_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(csv|parquet)$")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    rel: str  # path relative to the landing folder, '/'-separated: the file's name in every table
    source_system: str
    entity: str
    delivery_date: dt.date
    fmt: str

    @property
    def day_key(self) -> tuple[str, str, dt.date]:
        return (self.source_system, self.entity, self.delivery_date)


@dataclass
class LoadReport:
    files_loaded: int = 0
    files_unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    rows_loaded: int = 0
    rows_quarantined: int = 0
    dq_issues: int = 0
    seconds: float = 0.0


# Files read and committed together at most: a few copies of the batch's text sit in memory while it
# is parsed, so this bounds the loader's memory whatever the size of the landing folder.
BATCH_BYTES = 256 * 2**20


class ReconciliationError(RuntimeError):
    """Rows in a file did not equal rows loaded + rows quarantined; the batch was rolled back."""


def discover(
    landing_dir: Path, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> tuple[list[LandingFile], list[tuple[str, str]]]:
    """Landing files within the date range, and the files whose path breaks the contract."""
    files: list[LandingFile] = []
    bad: list[tuple[str, str]] = []
    if not landing_dir.exists():
        return files, bad
    for path in sorted(p for p in landing_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(landing_dir).as_posix()
        parts = rel.split("/")
        if any(part.startswith((".", "_")) for part in parts):
            continue  # hidden or in-progress uploads (e.g. _tmp, .part) are not deliveries yet
        if len(parts) != 3:
            bad.append((rel, "path must be <source_system>/<entity>/<YYYY-MM-DD>.csv|parquet"))
            continue
        system, entity, name = parts
        match = _DAY_NAME.match(name)
        if not _SYSTEM_NAME.match(system):
            bad.append((rel, f"source system name {system!r} must be lowercase letters, digits, _"))
        elif entity not in ENTITIES:
            bad.append((rel, f"unknown entity {entity!r}; expected one of: {', '.join(ENTITIES)}"))
        elif not match:
            bad.append((rel, f"file name must be YYYY-MM-DD.{{{','.join(FILE_FORMATS)}}}"))
        else:
            try:
                day = dt.date.fromisoformat(match.group(1))
            except ValueError:
                bad.append((rel, f"{match.group(1)!r} is not a calendar date"))
                continue
            if (date_from and day < date_from) or (date_to and day > date_to):
                continue
            files.append(LandingFile(path, rel, system, entity, day, match.group(2)))
    # Two files for the same delivery day (say .csv and .parquet) are ambiguous: refuse both.
    by_day: dict[tuple, list[LandingFile]] = defaultdict(list)
    for f in files:
        by_day[f.day_key].append(f)
    for group in by_day.values():
        if len(group) > 1:
            names = ", ".join(f.rel for f in group)
            bad.extend((f.rel, f"more than one file for one delivery day: {names}") for f in group)
    ambiguous = {f.rel for group in by_day.values() if len(group) > 1 for f in group}
    return [f for f in files if f.rel not in ambiguous], bad


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_header(con: duckdb.DuckDBPyConnection, f: LandingFile) -> list[str]:
    """The file's column names, lowercased; raises ValueError with a message naming the file."""
    if f.fmt == "parquet":
        try:
            rows = con.execute("describe select * from read_parquet(?)", [str(f.path)]).fetchall()
        except duckdb.Error as exc:
            raise ValueError(f"{f.rel}: not a readable Parquet file ({exc})") from exc
        return [r[0].strip().lower() for r in rows]
    with f.path.open("rb") as fh:
        first = fh.readline()
    if not first.strip():
        raise ValueError(f"{f.rel}: line 1: empty file, expected a header row")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{f.rel}: line 1, column {exc.start + 1}: header is not UTF-8 text (files must be UTF-8)"
        ) from exc
    return [name.strip().lower() for name in next(csv.reader([text]))]


def _check_header(f: LandingFile, header: list[str]) -> list[str]:
    """Validate a header against the contract; returns the unknown columns (ignored, reported)."""
    entity = ENTITIES[f.entity]
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        if name in seen:
            raise ValueError(f"{f.rel}: line 1, column {i}: column {name!r} appears twice")
        seen.add(name)
    missing = [c for c in entity.required if c not in seen]
    if missing:
        raise ValueError(
            f"{f.rel}: line 1: missing required column {missing[0]!r}"
            + (f" (and {', '.join(map(repr, missing[1:]))})" if missing[1:] else "")
            + f"; {f.entity} requires {', '.join(entity.required)}"
        )
    return [name for name in header if name not in entity.column_names]


def _csv_records(path: Path) -> tuple[np.ndarray, np.ndarray, bool]:
    """Physical start line of every CSV record (header included), which records are blank, and
    whether the file is plain (one record per line, no blank lines).

    A newline ends a record only outside quotes, i.e. after an even number of quote characters
    (an escaped quote "" adds two, so parity still holds).
    """
    data = np.fromfile(path, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    quotes = np.flatnonzero(data == 34)
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [data.size]))
    keep = starts < data.size  # a final newline opens no record
    starts, stops = starts[keep], stops[keep]
    length = stops - starts
    blank = (length == 0) | ((length == 1) & (data[np.minimum(starts, data.size - 1)] == 13))
    lines = np.searchsorted(newlines, starts) + 1
    plain = ends.size == newlines.size and not blank.any()
    return lines, blank, plain


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Batch:
    """Files of one entity and format sharing one header: read, parsed and committed together."""

    def __init__(self, con: duckdb.DuckDBPyConnection, entity: Entity, fmt: str, header: tuple[str, ...]):
        self.con, self.entity, self.fmt, self.header = con, entity, fmt, header
        self.files: list[tuple[LandingFile, str, list[str]]] = []  # (file, sha256, unknown columns)

    def split(self, max_bytes: int) -> list[_Batch]:
        """This batch cut into consecutive batches of at most `max_bytes` of files each.

        Reading, parsing and typing hold a few copies of a batch's text in memory, so an unbounded
        batch (two years of a million customers' transactions) outgrows the machine.
        """
        parts: list[_Batch] = []
        size = 0
        for item in self.files:
            n = item[0].path.stat().st_size
            if not parts or (parts[-1].files and size + n > max_bytes):
                parts.append(_Batch(self.con, self.entity, self.fmt, self.header))
                size = 0
            parts[-1].files.append(item)
            size += n
        return parts

    # -- reading ---------------------------------------------------------------------------------
    def _read(self) -> None:
        con = self.con
        paths = [str(f.path) for f, _, _ in self.files]
        if self.fmt == "csv":
            columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in self.header) + "}"
            select = ", ".join(f"{_quote(c)} as c{i}" for i, c in enumerate(self.header))
            con.execute("drop table if exists _crmw_rejects; drop table if exists _crmw_reject_scans")
            con.execute(
                f"""
                create or replace temp table _crmw_read as
                select filename as _path, {select}, row_number() over () as _rn
                from read_csv(?, header = true, auto_detect = false, delim = ',', quote = '"',
                              escape = '"', columns = {columns}, filename = true, encoding = 'utf-8',
                              store_rejects = true, rejects_table = '_crmw_rejects',
                              rejects_scan = '_crmw_reject_scans')
                """,
                [paths],
            )
            # Rows the CSV parser refused (wrong field count, invalid UTF-8): one per line.
            con.execute(
                """
                create or replace temp table _crmw_parse_rejects as
                select s.file_path as _path, e.line as _line,
                       string_agg(distinct cast(e.error_type as varchar) || ': ' || e.error_message, '; ')
                           as reason,
                       max(e.csv_line) as record
                from _crmw_rejects as e
                join _crmw_reject_scans as s on s.scan_id = e.scan_id and s.file_id = e.file_id
                group by all
                """
            )
            # A row's ordinal within its file; its line is ordinal + 1 (header) unless rejected
            # lines sit before it, which the line map below accounts for.
            con.execute(
                """
                create or replace temp table _crmw_read as
                select *, _rn - min(_rn) over (partition by _path) + 1 as _ordinal,
                       _rn - min(_rn) over (partition by _path) + 2 as _line
                from _crmw_read
                """
            )
            self._map_physical_lines()
        else:
            # Parquet is typed and has no lines: a row's "line" is its 1-based row number.
            select = ", ".join(f"{_quote(c)} as c{i}" for i, c in enumerate(self.header))
            con.execute(
                f"""
                create or replace temp table _crmw_read as
                select filename as _path, {select}, file_row_number + 1 as _line
                from read_parquet(?, filename = true, file_row_number = true, union_by_name = true)
                """,
                [paths],
            )
            con.execute(
                "create or replace temp table _crmw_parse_rejects "
                "(_path varchar, _line bigint, reason varchar, record varchar)"
            )

    def _map_physical_lines(self) -> None:
        """Give every row, read or refused, the physical line it starts on.

        DuckDB numbers refused rows by record (a quoted line break does not start a record, a blank
        line does) and skips blank lines silently, so rows are first numbered by ordinal and then
        mapped to lines with the file's own record boundaries. Files with one record per line and no
        refused rows need no mapping.
        """
        con = self.con
        refused = dict(con.execute("select _path, list(_line) from _crmw_parse_rejects group by 1").fetchall())
        counts = dict(con.execute("select _path, count(*) from _crmw_read group by 1").fetchall())
        read_maps, refused_maps = [], []
        for f, _, _ in self.files:
            path = str(f.path)
            starts, blank, plain = _csv_records(f.path)
            rejected = np.asarray(refused.get(path, []), dtype=np.int64)
            if plain and rejected.size == 0:
                continue  # line = ordinal + 1 already
            records = np.arange(1, starts.size + 1)
            # With one column a blank line reads as an empty row; with more DuckDB skips it.
            skipped = blank if len(self.header) > 1 else np.zeros_like(blank)
            data = records[(records > 1) & ~skipped & ~np.isin(records, rejected)][: counts.get(path, 0)]
            read_maps.append(pd.DataFrame({"_path": path, "_ordinal": np.arange(1, data.size + 1),
                                           "_line": starts[data - 1], "_blank": blank[data - 1]}))
            if rejected.size:
                inside = rejected[(rejected >= 1) & (rejected <= starts.size)]
                refused_maps.append(pd.DataFrame({"_path": path, "_record": inside, "_line": starts[inside - 1]}))
        if read_maps:
            con.register("_crmw_line_map", pd.concat(read_maps, ignore_index=True))
            con.execute(
                "update _crmw_read as r set _line = m._line from _crmw_line_map as m "
                "where r._path = m._path and r._ordinal = m._ordinal"
            )
            # A blank line is not a row: neither loaded nor quarantined nor counted.
            con.execute(
                "delete from _crmw_read as r using _crmw_line_map as m "
                "where r._path = m._path and r._ordinal = m._ordinal and m._blank"
            )
            con.unregister("_crmw_line_map")
        if refused_maps:
            con.register("_crmw_refused_map", pd.concat(refused_maps, ignore_index=True))
            con.execute(
                "update _crmw_parse_rejects as r set _line = m._line from _crmw_refused_map as m "
                "where r._path = m._path and r._line = m._record"
            )
            con.unregister("_crmw_refused_map")

    # -- parsing ---------------------------------------------------------------------------------
    def _parse(self) -> None:
        """Typed values, text values and a quarantine reason (null when the row is good) per row."""
        present = {c: f"c{i}" for i, c in enumerate(self.header) if c in self.entity.column_names}
        selects, reasons = [], []
        for col in self.entity.columns:
            if col.name not in present:
                selects.append(f"cast(null as {col.sql_type}) as {col.name}, cast(null as varchar) as {col.name}__text")
                continue
            text = clean_text_expr(present[col.name])
            parsed = parse_expr(f"{col.name}__text", col.type)
            selects.append(f"{text} as {col.name}__text")
            if col.required:
                reasons.append(
                    f"case when {col.name}__text is null then 'missing required value in column {col.name}' "
                    f"when {parsed} is null then 'unparsable {col.type} in column {col.name}: ' "
                    f"|| {col.name}__text end"
                )
        texts = ", ".join(s for s in selects)
        typed = ", ".join(
            f"cast({parse_expr(f'{c.name}__text', c.type)} as {c.sql_type}) as {c.name}"
            for c in self.entity.columns
        )
        reason = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "cast(null as varchar)"
        record = "cast(json_object(" + ", ".join(f"'{c}', {c}__text" for c in present) + ") as varchar)"
        self.con.execute(
            f"""
            create or replace temp table _crmw_parsed as
            select _path, _line, {typed}, {reason} as _reason, {record} as _record,
                   {', '.join(f'{c.name}__text' for c in self.entity.columns)}
            from (select _path, _line, {texts} from _crmw_read)
            """
        )

    # -- committing ------------------------------------------------------------------------------
    def commit(self, loaded_at: dt.datetime) -> tuple[int, int, int]:
        con, ent = self.con, self.entity.name
        self._read()
        self._parse()
        files = [
            (str(f.path), f.rel, f.source_system, f.delivery_date, sha) for f, sha, _ in self.files
        ]
        con.execute(
            "create or replace temp table _crmw_files "
            "(_path varchar, _file varchar, source_system varchar, _delivery_date date, sha varchar)"
        )
        con.executemany("insert into _crmw_files values (?, ?, ?, ?, ?)", files)
        unknown = [(f.rel, c) for f, _, cols in self.files for c in cols]
        cols = ", ".join(c.name for c in self.entity.columns)
        lineage = "f.source_system, f._delivery_date, f._file"
        con.execute("begin transaction")
        try:
            # A redelivered day replaces that day's rows, quarantine and issues for its system.
            for table in (ent, "quarantine", "dq_issues"):
                where = "" if table == ent else f"t.entity = '{ent}' and "
                con.execute(
                    f"""
                    delete from {RAW_SCHEMA}.{table} as t using _crmw_files as f
                    where {where}t.source_system = f.source_system and t._delivery_date = f._delivery_date
                    """
                )
            con.execute(
                f"""
                update {RAW_SCHEMA}.load_log as l set is_current = false from _crmw_files as f
                where l.entity = '{ent}' and l.source_system = f.source_system
                  and l._delivery_date = f._delivery_date and l.is_current
                """
            )
            con.execute(
                f"""
                insert into {RAW_SCHEMA}.{ent} (source_system, _delivery_date, _file, _line, _loaded_at, {cols})
                select {lineage}, p._line, ?, {', '.join('p.' + c.name for c in self.entity.columns)}
                from _crmw_parsed as p join _crmw_files as f using (_path)
                where p._reason is null
                """,
                [loaded_at],
            )
            con.execute(
                f"""
                insert into {RAW_SCHEMA}.quarantine
                select f.source_system, '{ent}', f._delivery_date, f._file, q._line, q.reason, q.record, ?
                from (
                    select _path, _line, _reason as reason, _record as record from _crmw_parsed
                    where _reason is not null
                    union all
                    select _path, _line, reason, record from _crmw_parse_rejects
                ) as q join _crmw_files as f using (_path)
                """,
                [loaded_at],
            )
            self._insert_dq_issues(loaded_at, unknown)
            self._log_and_reconcile(loaded_at)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            # The work tables hold the batch's whole text: free them before the next batch is read.
            for work in ("_crmw_read", "_crmw_text", "_crmw_parsed", "_crmw_parse_rejects", "_crmw_rejects",
                         "_crmw_reject_scans"):
                con.execute(f"drop table if exists {work}")
        return con.execute(
            """
            select sum(rows_loaded), sum(rows_quarantined), sum(dq_issues) from raw.load_log
            where _loaded_at = ? and entity = ? and _file in (select _file from _crmw_files)
            """,
            [loaded_at, ent],
        ).fetchall()[0]

    def _insert_dq_issues(self, loaded_at: dt.datetime, unknown: list[tuple[str, str]]) -> None:
        con, ent = self.con, self.entity.name
        # An unparsable optional value is loaded as null; the issue keeps what it was.
        optional = [c for c in self.entity.columns if not c.required and c.type != "string"]
        for col in optional:
            con.execute(
                f"""
                insert into {RAW_SCHEMA}.dq_issues
                select f.source_system, '{ent}', f._delivery_date, f._file, p._line, '{col.name}',
                       p.{col.name}__text, 'unparsable {col.type}; loaded as null', ?
                from _crmw_parsed as p join _crmw_files as f using (_path)
                where p._reason is null and p.{col.name}__text is not null and p.{col.name} is null
                """,
                [loaded_at],
            )
        if unknown:
            con.executemany(
                f"""
                insert into {RAW_SCHEMA}.dq_issues
                select source_system, '{ent}', _delivery_date, _file, 1, ?, null,
                       'column not in the landing contract; ignored', ?
                from _crmw_files where _file = ?
                """,
                [(col, loaded_at, rel) for rel, col in unknown],
            )

    def _log_and_reconcile(self, loaded_at: dt.datetime) -> None:
        con, ent = self.con, self.entity.name
        con.execute(
            f"""
            insert into {RAW_SCHEMA}.load_log
            select f._file, f.source_system, '{ent}', f._delivery_date, f.sha,
                   coalesce(r.n, 0) + coalesce(j.n, 0),
                   (select count(*) from {RAW_SCHEMA}.{ent} as t
                    where t._file = f._file and t._loaded_at = ?),
                   (select count(*) from {RAW_SCHEMA}.quarantine as q
                    where q._file = f._file and q._loaded_at = ?),
                   (select count(*) from {RAW_SCHEMA}.dq_issues as d
                    where d._file = f._file and d._loaded_at = ?),
                   ?, true
            from _crmw_files as f
            left join (select _path, count(*) as n from _crmw_read group by 1) as r using (_path)
            left join (select _path, count(*) as n from _crmw_parse_rejects group by 1) as j using (_path)
            """,
            [loaded_at, loaded_at, loaded_at, loaded_at],
        )
        broken = con.execute(
            f"""
            select _file, rows_in_file, rows_loaded, rows_quarantined from {RAW_SCHEMA}.load_log
            where _loaded_at = ? and entity = '{ent}' and rows_in_file <> rows_loaded + rows_quarantined
            """,
            [loaded_at],
        ).fetchall()
        if broken:
            f, n, ok, q = broken[0]
            raise ReconciliationError(f"{f}: {n} rows in file but {ok} loaded + {q} quarantined; nothing committed")


def _record_rejected(con: duckdb.DuckDBPyConnection, rel: str, sha: str | None, reason: str) -> None:
    seen = con.execute(
        f"select 1 from {RAW_SCHEMA}.rejected_files where _file = ? and file_sha256 is not distinct from ?",
        [rel, sha],
    ).fetchall()
    if not seen:
        con.execute(
            f"insert into {RAW_SCHEMA}.rejected_files values (?, ?, ?, current_timestamp)", [rel, sha, reason]
        )


def load_landing(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    progress: Progress | None = None,
    batch_bytes: int = BATCH_BYTES,
) -> LoadReport:
    """Load every landing file not yet loaded (or changed since) into the raw tables.

    Files of one entity, format and header are read, parsed and committed together, in batches of at
    most `batch_bytes` of files (a file larger than that is a batch alone). Each batch is one
    transaction, so a file is always loaded whole or not at all.
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    report = LoadReport()
    create_raw_tables(con)
    files, bad = discover(landing_dir, date_from, date_to)
    for rel, reason in bad:
        _record_rejected(con, rel, None, reason)
        report.rejected.append((rel, f"{rel}: {reason}"))
    current = {
        (s, e, d): (f, sha)
        for f, s, e, d, sha in con.execute(
            f"select _file, source_system, entity, _delivery_date, file_sha256 from {RAW_SCHEMA}.load_log "
            "where is_current"
        ).fetchall()
    }
    batches: dict[tuple, _Batch] = {}
    for f in files:
        sha = file_sha256(f.path)
        if current.get(f.day_key) == (f.rel, sha):
            report.files_unchanged += 1
            continue
        try:
            header = _read_header(con, f)
            unknown = _check_header(f, header)
        except ValueError as exc:
            _record_rejected(con, f.rel, sha, str(exc))
            report.rejected.append((f.rel, str(exc)))
            continue
        key = (f.entity, f.fmt, tuple(header))
        if key not in batches:
            batches[key] = _Batch(con, ENTITIES[f.entity], f.fmt, tuple(header))
        batches[key].files.append((f, sha, unknown))
    for (entity, fmt, _), batch in sorted(batches.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        parts = batch.split(batch_bytes)
        for i, part in enumerate(parts, start=1):
            t0 = time.perf_counter()
            loaded, quarantined, issues = part.commit(dt.datetime.now())
            report.files_loaded += len(part.files)
            report.rows_loaded += int(loaded or 0)
            report.rows_quarantined += int(quarantined or 0)
            report.dq_issues += int(issues or 0)
            of = f" (batch {i}/{len(parts)})" if len(parts) > 1 else ""
            say(
                f"loaded {entity:<18} {len(part.files):>5} {fmt} files  {int(loaded or 0):>10,} rows  "
                f"{int(quarantined or 0):>6,} quarantined  {int(issues or 0):>6,} dq issues  "
                f"{time.perf_counter() - t0:6.1f}s{of}"
            )
    report.seconds = time.perf_counter() - started
    return report

