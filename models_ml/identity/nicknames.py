"""Given names and their nicknames, so that 'Jim' and 'James' or 'Bill' and 'Will' compare as one name.

The table is the `nicknames` package's hand-curated English list (name -> nicknames, Apache-2.0), read
through its public API; it is independent of the demo bank's own short nickname list, which plants the
perturbation. Each first name gets its *forms*: itself and every full name it is a nickname of. Two records'
first names are nickname variants when their forms overlap: one is a nickname of the other, or both are
nicknames of one name. Names outside the list (Persian names, typos) have only themselves as a form.
"""

from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc

FORMS_COLUMN = "first_name_forms"


@functools.cache
def _canonicals() -> dict[str, frozenset[str]]:
    from nicknames import NickNamer

    return {nick: frozenset(full) for nick, full in NickNamer().canonical_lookup.items()}


def name_forms(name: str) -> list[str]:
    """The name itself and every name it is a nickname of, sorted (the name is lower-case, as normalised)."""
    return sorted({name} | _canonicals().get(name, frozenset()))


def with_name_forms(records: pa.Table, column: str = "first_name_n") -> pa.Table:
    """`records` with FORMS_COLUMN (list of strings, null where `column` is null) appended. The forms are
    worked out once per distinct name, not per record, and taken by index."""
    names = records[column].combine_chunks()
    distinct = pc.unique(names).drop_null()
    forms = pa.array([name_forms(n) for n in distinct.to_pylist()], pa.list_(pa.string()))
    index = pc.index_in(names, value_set=distinct)  # null where the name is null
    return records.append_column(FORMS_COLUMN, forms.take(index))
