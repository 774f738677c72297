"""Pairwise accuracy of a clustering against known truth: of the record pairs put in one customer, how
many are one person (precision), and of the pairs that are one person, how many were put together
(recall). Counted with cluster sizes in DuckDB, never by listing pairs."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa


@dataclass(frozen=True)
class PairwiseAccuracy:
    records: int
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_metadata(self) -> dict:
        return {"records": self.records, "predicted_pairs": self.predicted_pairs, "true_pairs": self.true_pairs,
                "correct_pairs": self.correct_pairs, "precision": round(self.precision, 6),
                "recall": round(self.recall, 6), "f1": round(self.f1, 6)}


def pairwise_accuracy(predicted: pa.Table, truth: pa.Table) -> PairwiseAccuracy:
    """`predicted` (record_id, cluster_id) and `truth` (record_id, entity_id), both one row per record;
    only records in both count. Pairs within a group of n are n(n-1)/2."""
    con = duckdb.connect()
    con.register("predicted", predicted.select(["record_id", "cluster_id"]))
    con.register("truth", truth.select(["record_id", "entity_id"]))
    row = con.execute(
        """
        with both_sides as (
            select p.record_id, p.cluster_id, t.entity_id
            from predicted as p inner join truth as t on p.record_id = t.record_id
        ),
        pairs as (
            select 'predicted' as kind, count(*) * (count(*) - 1) / 2 as n from both_sides group by cluster_id
            union all
            select 'true', count(*) * (count(*) - 1) / 2 from both_sides group by entity_id
            union all
            select 'correct', count(*) * (count(*) - 1) / 2 from both_sides group by cluster_id, entity_id
        )
        select
            (select count(*) from both_sides),
            coalesce(sum(n) filter (where kind = 'predicted'), 0),
            coalesce(sum(n) filter (where kind = 'true'), 0),
            coalesce(sum(n) filter (where kind = 'correct'), 0)
        from pairs
        """
    ).fetchall()[0]
    con.close()
    return PairwiseAccuracy(*(int(v) for v in row))
