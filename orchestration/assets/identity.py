"""`identity/customer_identity` (group `identity`): customer identity resolution between the two dbt parts.

A thin wrapper around orchestration/identity.py (which calls models_ml/identity): reads the conformed
customer records the first dbt part built, links new and changed ones to the customers already known,
keeps keys stable, writes schema `identity`. The second dbt part reads that as the source
`customer_identity`. Counts of records, customers and key events, and (on a demo bank) pairwise
precision/recall against the planted truth, are the materialisation's metadata.
"""

import dagster as dg

from orchestration import progress
from orchestration.assets.landing import WAREHOUSE_POOL
from orchestration.identity import INPUT_RELATION, run_identity
from orchestration.settings import Settings

GROUP = "identity"
KEY = dg.AssetKey([GROUP, "customer_identity"])
STAGE = "identity"


def build_customer_identity(settings: Settings, input_key: dg.AssetKey) -> dg.AssetsDefinition:
    @dg.asset(
        key=KEY,
        group_name=GROUP,
        deps=[input_key],
        pool=WAREHOUSE_POOL,
        kinds={"python", "duckdb", "splink"},
        description=f"Customer records of {INPUT_RELATION} linked into customers with stable customer_key "
        "(Splink; schema identity: customer_xref, golden_customers, key registry and key events).",
    )
    def customer_identity(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        progress.report(STAGE, 0, 1, "linking customer records")
        run = run_identity(settings)
        report = run.report
        metadata: dict = {
            "records": report.records,
            "new_records": report.new_records,
            "changed_records": report.changed_records,
            "removed_records": report.removed_records,
            "pairs_scored": report.pairs_scored,
            "links": report.links,
            "customers": report.customers,
            "dagster/row_count": report.customers,
            "model_trained": report.trained,
            "key_events": dict(sorted(report.events.items())),
            "seconds": report.seconds,
            "threshold": settings.identity.threshold,
        }
        note = f"{report.records:,} records -> {report.customers:,} customers"
        if run.accuracy is not None:
            acc = run.accuracy
            metadata.update({"demo_precision": round(acc.precision, 6), "demo_recall": round(acc.recall, 6),
                             "demo_f1": round(acc.f1, 6), "demo_accuracy": acc.as_metadata()})
            note += f"; demo precision {acc.precision:.4f} recall {acc.recall:.4f}"
        context.log.info(note)
        progress.report(STAGE, 1, 1, note)
        return dg.MaterializeResult(metadata=metadata)

    return customer_identity
