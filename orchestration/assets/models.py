"""Python model assets (group `models`): thin wrappers around the pure functions of `models_ml/`.

The place in the graph between the warehouse and the marts: CLV, profitability deciles, value-based
segments, propensity and lookalike models read warehouse tables and write their results back for dbt
marts to use. Each is an asset here that calls into `models_ml` (no modelling code in this package),
takes hyperparameters through `dg.Config`, uses a fixed seed, logs its metrics as metadata and runs in
the warehouse pool. None exist yet: `models_ml/` is empty, and this list stays empty rather than holding
stubs that pretend to compute something. `publish` depends on every asset in this group.
"""

from __future__ import annotations

import dagster as dg

GROUP = "models"

MODEL_ASSETS: list[dg.AssetsDefinition] = []
