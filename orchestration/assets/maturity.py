"""The CRM maturity assessment (group `models`): a thin wrapper around orchestration.maturity.

It runs after every other model and warehouse asset (it reads what they built), before publishing: it
measures the evidence, places each capability and the organisation on the five stages, scores the
questionnaire's answers, and writes marts.maturity_evidence, maturity_assessment, maturity_gaps and
maturity_sponsors. The stages are logged and shown as metadata.
"""

from collections.abc import Iterable

import dagster as dg
import pandas as pd

from orchestration import progress
from orchestration.assets.landing import WAREHOUSE_POOL
from orchestration.assets.models import GROUP, range_end_of_run
from orchestration.maturity import (
    ASSESSMENT_TABLE,
    EVIDENCE_TABLE,
    GAPS_TABLE,
    SPONSORS_TABLE,
    TABLES,
    maturity_for_warehouse,
)
from orchestration.settings import Settings

STEP = "maturity_assessment"
READS = ("warehouse", "quality", "marts", "models")  # asset groups it reads (raw.load_log: already upstream)
READS_ALSO = {dg.AssetKey(["ods", "int_customers_conformed"])}
STAGE = "maturity"
KEYS = {name: dg.AssetKey([GROUP, name]) for name in TABLES}
DESCRIPTIONS = {
    EVIDENCE_TABLE: "marts.maturity_evidence: what the warehouse shows of the organisation's CRM maturity (systems "
    "integrated, duplicates, data quality, cost to serve, deciles and segments, targeting and lift, models, "
    "enrichment, dashboard use).",
    ASSESSMENT_TABLE: "marts.maturity_assessment: the stage (1-5) of each capability and overall, with the evidence "
    "behind it and the actions that reach the next stage (rules: models_ml/maturity/stages.yaml).",
    GAPS_TABLE: "marts.maturity_gaps: every unmet criterion between a capability (or the organisation) and its next "
    "stage, with the value measured and the action that closes it.",
    SPONSORS_TABLE: "marts.maturity_sponsors: the questionnaire's score (0-100) per sponsor and for the readiness "
    "audit, from the answers `crmw assess` wrote.",
}


def _stages_note(assessment: pd.DataFrame) -> str:
    parts = [f"{row.capability} {row.stage}" for row in assessment.itertuples()]
    return "stage " + parts[-1].rsplit(" ", 1)[1] + " of 5 (" + ", ".join(parts[:-1]) + ")"


def build_maturity_assessment(settings: Settings, upstream: Iterable[dg.AssetSpec]) -> dg.AssetsDefinition:
    """The assessment, after every asset of `upstream` it reads: the warehouse, quality, marts and models
    groups, and the source records before identity resolution."""
    deps = sorted({spec.key for spec in upstream if spec.group_name in READS or spec.key in READS_ALSO}
                  - set(KEYS.values()), key=str)

    @dg.multi_asset(
        specs=[dg.AssetSpec(key, group_name=GROUP, deps=deps, kinds={"python", "duckdb"},
                            description=DESCRIPTIONS[name]) for name, key in KEYS.items()],
        name=STEP,
        pool=WAREHOUSE_POOL,
    )
    def maturity_assessment(context: dg.AssetExecutionContext):
        progress.report(STAGE, 0, 1, "measuring evidence, placing capabilities on the five stages")
        result = maturity_for_warehouse(settings, range_end_of_run(context))
        assessment = result.tables[ASSESSMENT_TABLE]
        sponsors = result.tables[SPONSORS_TABLE]
        note = _stages_note(assessment)
        if result.answers_error:
            context.log.warning(f"questionnaire answers not used: {result.answers_error}")
        context.log.info(note)
        progress.report(STAGE, 1, 1, note)
        stages = {row.capability_id: int(row.stage) for row in assessment.itertuples()}
        scores = {row.section_id: round(float(row.score), 1) for row in sponsors.itertuples() if pd.notna(row.score)}
        yield dg.MaterializeResult(asset_key=KEYS[EVIDENCE_TABLE], metadata={
            "dagster/row_count": len(result.tables[EVIDENCE_TABLE]),
            "evidence": {k: (None if v is None else (bool(v) if isinstance(v, bool) else round(float(v), 6)))
                         for k, v in result.evidence.items()},
        })
        yield dg.MaterializeResult(asset_key=KEYS[ASSESSMENT_TABLE], metadata={
            "dagster/row_count": len(assessment), "stages": stages, "overall_stage": stages["overall"],
            "summary": note,
        })
        yield dg.MaterializeResult(asset_key=KEYS[GAPS_TABLE], metadata={
            "dagster/row_count": len(result.tables[GAPS_TABLE])})
        yield dg.MaterializeResult(asset_key=KEYS[SPONSORS_TABLE], metadata={
            "dagster/row_count": len(sponsors), "scores": scores,
            "answers": result.answers_error or ("none yet" if result.answers is None else
                                                str(settings.maturity_answers_path)),
        })

    return maturity_assessment
