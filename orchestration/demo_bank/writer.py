"""Landing files: contract-typed columns written as CSV text or Parquet, one file per delivery day.

CSV text is built column-wise with Arrow kernels and each day's rows are one contiguous slice of the
joined text, so writing never loops over rows. Every written row keeps a known file and line, which is
how the truth locates planted defects exactly (line 1 is the header, the first data row is line 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orchestration.demo_bank.common import day_date
from orchestration.landing.contract import ENTITIES

BOM = "\ufeff"
# String columns the generator fills only from ids and code lists ([A-Za-z0-9_-] and spaces), so they never
# need CSV quoting; free text (names, addresses, emails, campaign names) is always checked.
PLAIN = frozenset(
    "customer_id account_id transaction_id interaction_id campaign_id product_id channel interaction_type "
    "transaction_type status gender country".split()
)
# Low-cardinality code columns: dictionary-encoded in Parquet (ids are not, which is faster to write).
CODES = frozenset("product_id channel interaction_type transaction_type status gender country".split())


@dataclass
class Frame:
    """Rows of one entity from one source system, in delivery order, with contract-typed columns."""

    system: str
    entity: str
    day: np.ndarray  # delivery day number of each row, ascending
    columns: dict[str, pa.Array]

    def __post_init__(self) -> None:
        contract = ENTITIES[self.entity]
        unknown = set(self.columns) - set(contract.column_names)
        missing = set(contract.required) - set(self.columns)
        if unknown or missing:
            raise ValueError(
                f"{self.system}/{self.entity}: unknown {sorted(unknown)}, missing {sorted(missing)}"
            )
        # Contract order, whatever order the builder used.
        self.columns = {c: self.columns[c] for c in contract.column_names if c in self.columns}
        if any(len(a) != len(self.day) for a in self.columns.values()):
            raise ValueError(f"{self.system}/{self.entity}: columns differ in length")
        if len(self.day) and np.any(np.diff(self.day) < 0):
            raise ValueError(f"{self.system}/{self.entity}: rows are not in delivery-day order")

    def __len__(self) -> int:
        return len(self.day)

    def head(self, n: int) -> Frame:
        """The first n rows, without copying (frames are in day order, so this cuts at a day)."""
        if n >= len(self):
            return self
        return Frame(
            self.system, self.entity, self.day[:n], {k: v.slice(0, n) for k, v in self.columns.items()}
        )


@dataclass
class Edits:
    """Text to plant into a CSV frame before writing: value replacements, rewritten lines and rows
    written twice (the copy right after the original). Rows are frame row numbers."""

    values: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    lines: tuple[np.ndarray, Callable[[str], str]] | None = None
    duplicates: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass
class Written:
    system: str
    entity: str
    files: list[str]  # paths relative to the landing folder, one per delivery day, in day order
    rows: int
    fmt: str
    _day: np.ndarray  # delivery day of each frame row
    _group_days: np.ndarray  # the days files were written for, ascending (aligned with files)
    _group_first: np.ndarray  # frame row of each day's first row
    _duplicates: np.ndarray  # sorted frame rows written twice
    line_texts: dict[int, str] = field(default_factory=dict)  # rewritten lines by frame row

    def locate(self, rows: np.ndarray, copy: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """File (index into `files`) and line of frame rows, or of their written copy when `copy`."""
        rows = np.asarray(rows, dtype=np.int64)
        g = np.searchsorted(self._group_days, self._day[rows])
        first = self._group_first[g]
        # Copies of earlier rows push a row down; line 1 is the header.
        pos = rows + np.searchsorted(self._duplicates, rows, side="left")
        first_pos = first + np.searchsorted(self._duplicates, first, side="left")
        line = pos - first_pos + 2 + (1 if copy else 0)
        return g, line


def to_text(arr: pa.Array, logical_type: str, plain: bool = False) -> pa.Array:
    """A contract-typed column as CSV field text: ISO dates, `YYYY-MM-DD HH:MM:SS`, true/false, 2-decimal
    money, empty for null; strings quoted when they hold a comma, quote or line break (`plain` columns
    are known to hold none, which saves a scan of every value)."""
    if logical_type == "string":
        text = arr.cast(pa.string())
        if not plain:
            needs = pc.match_substring_regex(text, '[",\r\n]')
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
            text = pc.if_else(needs, quoted, text)
    elif logical_type == "money":
        text = arr.cast(pa.decimal128(18, 2)).cast(pa.string())
    else:
        text = arr.cast(pa.string())
    return pc.fill_null(text, "")


def _replace(arr: pa.Array, rows: np.ndarray, values: list[str]) -> pa.Array:
    order = np.argsort(rows, kind="stable")
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(arr, pa.array(mask), pa.array([values[i] for i in order], pa.string()))


def _day_groups(day: np.ndarray) -> list[tuple[int, int, int]]:
    """(day, first row, end row) of each run of equal days."""
    if not len(day):
        return []
    cuts = np.flatnonzero(np.diff(day)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(day)]])
    return [(int(day[a]), int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def write_csv(
    root: Path, frame: Frame, edits: Edits | None = None, bom_days: frozenset[int] = frozenset()
) -> Written:
    """One UTF-8 CSV per delivery day with a header of the frame's columns, `edits` planted; the files of
    `bom_days` start with a byte-order mark."""
    edits = edits or Edits()
    contract = ENTITIES[frame.entity]
    text = {c: to_text(a, contract.column(c).type, plain=c in PLAIN) for c, a in frame.columns.items()}
    for col, (rows, values) in edits.values.items():
        text[col] = _replace(text[col], rows, values)
    # Each line starts with its line break ("\n" before the first field) rather than ending with one: the
    # break rides on the short first column instead of a second pass over whole lines.
    names = list(text)
    text[names[0]] = pc.binary_join_element_wise("\n", text[names[0]], "")
    lines = pc.binary_join_element_wise(*text.values(), ",")
    line_texts = {}
    if edits.lines is not None and len(edits.lines[0]):
        rows, rewrite = edits.lines
        old = lines.take(pa.array(rows)).to_pylist()
        line_texts = {int(r): rewrite(t[1:]) for r, t in zip(rows, old, strict=True)}
        lines = _replace(lines, rows, ["\n" + line_texts[int(r)] for r in rows])
    day = frame.day
    groups = _day_groups(day)
    dups = np.asarray(edits.duplicates, dtype=np.int64)
    if len(dups):
        order = np.sort(np.concatenate([np.arange(len(frame)), dups]), kind="stable")
        lines, day = lines.take(pa.array(order)), day[order]
    lines = lines.cast(pa.string())  # offsets as int32 below; chunks stay far below 2 GiB
    _, offsets_buf, data_buf = lines.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    data = memoryview(data_buf)
    header = ",".join(names)
    files = []
    (root / frame.system / frame.entity).mkdir(parents=True, exist_ok=True)
    for d, a, b in _day_groups(day):
        rel = f"{frame.system}/{frame.entity}/{day_date(d).isoformat()}.csv"
        with open(root / rel, "wb") as f:
            f.write(((BOM if d in bom_days else "") + header).encode("utf-8"))
            f.write(data[offsets[a] : offsets[b]])
            f.write(b"\n")
        files.append(rel)
    written = _written(frame, files, len(lines), "csv", groups, dups)
    written.line_texts = line_texts
    return written


def write_parquet(root: Path, frame: Frame) -> Written:
    """One Parquet file per delivery day with the contract types (decimal money, timestamps)."""
    table = pa.table(frame.columns)
    codes = [c for c in frame.columns if c in CODES]
    files = []
    groups = _day_groups(frame.day)
    (root / frame.system / frame.entity).mkdir(parents=True, exist_ok=True)
    for d, a, b in groups:
        rel = f"{frame.system}/{frame.entity}/{day_date(d).isoformat()}.parquet"
        pq.write_table(table.slice(a, b - a), root / rel, compression="zstd", use_dictionary=codes)
        files.append(rel)
    return _written(frame, files, len(frame), "parquet", groups, np.zeros(0, dtype=np.int64))


def _written(
    frame: Frame, files: list[str], rows: int, fmt: str, groups: list[tuple[int, int, int]], dups: np.ndarray
) -> Written:
    return Written(
        frame.system,
        frame.entity,
        files,
        rows,
        fmt,
        frame.day,
        np.array([g[0] for g in groups], dtype=np.int64),
        np.array([g[1] for g in groups], dtype=np.int64),
        np.sort(dups),
    )
