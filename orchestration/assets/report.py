"""`report_pack` (group `publish`): the dated executive report pack, written after every publish.

It reads only the serving database just published (dashboards/report.py), so it needs no warehouse pool
slot. A pack that cannot be written does not fail the refresh, whose data is published by then: the error
is logged and recorded as the materialization's metadata, and `crmw report` writes one on demand.
"""

import dagster as dg

from orchestration.settings import Settings

GROUP = "publish"


def build_report_pack(settings: Settings, serving: dg.AssetKey) -> dg.AssetsDefinition:
    @dg.asset(name="report_pack", group_name=GROUP, deps=[serving], kinds={"html"},
              description="Executive report pack: self-contained HTML (plotly.js embedded) in $CRMW_HOME/reports/.")
    def report_pack(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        from dashboards.report import write_report

        try:
            path = write_report(settings)
        except Exception as exc:  # the data is published: a missing pack must not say otherwise
            context.log.error(f"report pack not written: {exc!r}")
            return dg.MaterializeResult(metadata={"error": repr(exc)})
        context.log.info(f"report pack written to {path}")
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                              "bytes": path.stat().st_size})

    return report_pack
