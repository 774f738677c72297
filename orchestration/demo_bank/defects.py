"""Planted defects: what the loader and the data-quality checks must catch, each located to file and line.

Row-level defects ("a few") are scheduled per month: two of each kind in the first month and one more
every six months, on rows drawn from that month's own stream. All defects that must quarantine a row
(missing or unparsable required value, wrong number of fields) are planted in CSV files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.demo_bank.writer import Edits, Frame, Written, to_text

QUARANTINE = ("missing_required_value", "unparsable_required_value", "malformed_line")
DEFECT_SCHEMA = pa.schema(
    [
        ("defect_type", pa.string()),
        ("source_system", pa.string()),
        ("entity", pa.string()),
        ("file", pa.string()),  # relative to the landing folder
        ("line", pa.int64()),  # 1 is the header line, so the first data row is line 2
        ("column", pa.string()),
        ("value", pa.string()),  # the text as written (the whole line if malformed)
        ("causes_quarantine", pa.bool_()),
        ("detail", pa.string()),
    ]
)
BAD_BIRTH_DATES = ("31/02/1980", "unknown")


def few(month_index: int) -> int:
    """How many of each row-level defect a month gets: 2 in the first month, then 1 every six months."""
    return 2 if month_index == 0 else int(month_index % 6 == 3)


@dataclass
class Planned:
    kind: str
    column: str | None
    rows: np.ndarray
    values: list[str | None]
    copy: bool = False  # the defect is the written copy of the row (duplicates)
    detail: str | None = None


@dataclass
class Plan:
    edits: Edits = field(default_factory=Edits)
    planned: list[Planned] = field(default_factory=list)

    def value(self, kind: str, column: str, rows: np.ndarray, values: list[str]) -> None:
        self.edits.values[column] = (rows, values)
        self.planned.append(Planned(kind, column, rows, list(values)))

    def cut(self, kept: int) -> Plan:
        """Drop what was planted on rows past the end date (the frame keeps its first `kept` rows)."""
        out = Plan()
        for col, (rows, values) in self.edits.values.items():
            keep = rows < kept
            out.edits.values[col] = (rows[keep], [v for v, k in zip(values, keep, strict=True) if k])
        if self.edits.lines is not None:
            rows, fn = self.edits.lines
            out.edits.lines = (rows[rows < kept], fn)
        out.edits.duplicates = self.edits.duplicates[self.edits.duplicates < kept]
        for p in self.planned:
            keep = p.rows < kept
            out.planned.append(
                Planned(
                    p.kind,
                    p.column,
                    p.rows[keep],
                    [v for v, k in zip(p.values, keep, strict=True) if k],
                    p.copy,
                    p.detail,
                )
            )
        return out


def _rows(rng: np.random.Generator, candidates: np.ndarray, k: int) -> np.ndarray:
    return np.sort(rng.choice(candidates, size=min(k, len(candidates)), replace=False))


def _text(frame: Frame, column: str, rows: np.ndarray, logical: str) -> list[str]:
    return to_text(frame.columns[column].take(pa.array(rows)), logical).to_pylist()


def plan_bank_transactions(rng: np.random.Generator, frame: Frame, month_index: int) -> Plan:
    """Empty customer ids and 'n/a' amounts (quarantined), future-dated and negative amounts (loaded,
    flagged by data quality)."""
    plan, k = Plan(), few(month_index)
    positive = np.flatnonzero(pc.greater(frame.columns["amount"], 0).to_numpy(zero_copy_only=False))
    rows = _rows(rng, positive, 4 * k)
    if len(rows) < 4 * k:
        return plan
    rng.shuffle(rows)
    missing, bad_amount, future, negative = (np.sort(rows[i * k : (i + 1) * k]) for i in range(4))
    plan.value("missing_required_value", "customer_id", missing, [""] * k)
    # Future-dated and negative rows touch different columns from the two above, so no row gets two.
    ts = frame.columns["occurred_at"].take(pa.array(future))
    shift = pa.array((rng.integers(30, 400, k) * 86_400).astype(np.int64)).cast(pa.duration("s"))
    plan.value("future_dated", "occurred_at", future, to_text(pc.add(ts, shift), "timestamp").to_pylist())
    amounts = ["-" + t for t in _text(frame, "amount", negative, "money")]
    na = ["n/a"] * k
    plan.edits.values["amount"] = (np.concatenate([bad_amount, negative]), na + amounts)
    plan.planned.append(Planned("unparsable_required_value", "amount", bad_amount, na))
    plan.planned.append(Planned("negative_amount", "amount", negative, amounts))
    return plan


def plan_contact_centre(rng: np.random.Generator, frame: Frame, month_index: int) -> Plan:
    """Malformed lines: a decimal comma that splits a field in two (one field too many), and a line cut
    short (interactions have no free text, so neither can be read as a quoted value)."""
    plan, k = Plan(), few(month_index)
    duration = frame.columns["duration_minutes"].to_numpy(zero_copy_only=False)
    fractional = np.flatnonzero(np.round(duration * 10) % 10 != 0)
    comma = _rows(rng, fractional, k - k // 2 if month_index % 12 != 9 else 0)
    others = np.setdiff1d(np.arange(len(frame)), comma)
    cut = _rows(rng, others, k - len(comma))
    text = [t.replace(".", ",") for t in _text(frame, "duration_minutes", comma, "number")]
    plan.edits.values["duration_minutes"] = (comma, text)
    plan.planned.append(
        Planned("malformed_line", "duration_minutes", comma, text, detail="one field too many")
    )
    # Cut after the channel: too few fields, and the required interaction_type is gone as well, so the row
    # is bad however leniently a reader pads short lines.
    plan.edits.lines = (cut, lambda line: ",".join(line.split(",")[:4]))
    plan.planned.append(Planned("malformed_line", None, cut, [None] * len(cut), detail="four fields missing"))
    return plan


def plan_digital(rng: np.random.Generator, frame: Frame, month_index: int) -> Plan:
    """Rows delivered twice in the same file (exact duplicates)."""
    plan = Plan()
    rows = _rows(rng, np.arange(len(frame)), few(month_index))
    plan.edits.duplicates = rows
    plan.planned.append(Planned("duplicate_row", None, rows, [None] * len(rows), copy=True))
    return plan


def plan_core_customers(rng: np.random.Generator, frame: Frame, start: int) -> Plan:
    """Birth dates that do not parse (an optional value: nulled and reported, the row still loads)."""
    plan = Plan()
    rows = _rows(rng, np.flatnonzero(frame.day == start), 4)
    plan.value(
        "unparsable_optional_value", "date_of_birth", rows, [BAD_BIRTH_DATES[i % 2] for i in range(len(rows))]
    )
    return plan


class DefectLog:
    """Every planted defect with the file (relative to the landing folder) and line it sits on."""

    def __init__(self) -> None:
        self._parts: list[pa.Table] = []  # appended from several threads; ordered when read

    def add(
        self,
        written: Written,
        kind: str,
        rows: np.ndarray,
        column: str | None,
        values: pa.Array | list[str | None] | str | None,
        copy: bool = False,
        detail: str | None = None,
    ) -> None:
        """Planted defects on frame rows of a written file set; `values` per row or one for all."""
        rows = np.asarray(rows, dtype=np.int64)
        n = len(rows)
        if not n:
            return
        group, lines = written.locate(rows, copy)
        if kind == "malformed_line" and column is None:  # the rewritten line itself
            values = [written.line_texts.get(int(r)) for r in rows]
        if isinstance(values, pa.Array):
            value = values.cast(pa.string())
        elif isinstance(values, list):
            value = pa.array(values, pa.string())
        else:
            value = pa.repeat(pa.scalar(values, pa.string()), n)
        if copy:  # say which line the duplicate repeats
            originals = pa.array(written.locate(rows)[1]).cast(pa.string())
            details = pc.binary_join_element_wise("copy of line ", originals, "")
        else:
            details = pa.repeat(pa.scalar(detail, pa.string()), n)

        def same(v: object, t: pa.DataType) -> pa.Array:
            return pa.repeat(pa.scalar(v, t), n)

        self._parts.append(
            pa.table(
                {
                    "defect_type": same(kind, pa.string()),
                    "source_system": same(written.system, pa.string()),
                    "entity": same(written.entity, pa.string()),
                    "file": pa.array(written.files, pa.string()).take(pa.array(group)),
                    "line": pa.array(lines, pa.int64()),
                    "column": same(column, pa.string()),
                    "value": value,
                    "causes_quarantine": same(kind in QUARANTINE, pa.bool_()),
                    "detail": details,
                }
            )
        )

    def add_plan(self, written: Written, plan: Plan) -> None:
        for p in plan.planned:
            self.add(written, p.kind, p.rows, p.column, p.values, p.copy, p.detail)

    def add_file(self, kind: str, system: str, entity: str, file: str, detail: str) -> None:
        """A defect of a whole file (reported on its line 1)."""
        self._parts.append(
            pa.table(
                {
                    "defect_type": [kind],
                    "source_system": [system],
                    "entity": [entity],
                    "file": [file],
                    "line": pa.array([1], pa.int64()),
                    "column": pa.array([None], pa.string()),
                    "value": pa.array([None], pa.string()),
                    "causes_quarantine": [False],
                    "detail": [detail],
                }
            )
        )

    def table(self) -> pa.Table:
        t = (
            pa.concat_tables([p.cast(DEFECT_SCHEMA) for p in self._parts])
            if self._parts
            else DEFECT_SCHEMA.empty_table()
        )
        return t.sort_by([("file", "ascending"), ("line", "ascending"), ("defect_type", "ascending")])

    def counts(self) -> dict[str, int]:
        t = self.table()
        counts = t.group_by("defect_type").aggregate([("defect_type", "count")]).to_pylist()
        return {
            c["defect_type"]: c["defect_type_count"] for c in sorted(counts, key=lambda c: c["defect_type"])
        }
