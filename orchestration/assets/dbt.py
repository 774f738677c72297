"""dbt through dagster-dbt: every seed, model, snapshot and test of `dbt_project/` as assets and checks.

One `DbtProject` built from a path relative to this file; one translator that names assets and groups
after the dbt folder a node lives in (models/staging/... -> group `staging`, key `staging/<model>`), so a
new model lands in the right group without touching Python. The dbt source `landing` (schema `raw`) is the
raw layer the landing loads write, asset `raw/landing`. dbt tests become asset checks; a failing test fails
the build and so blocks publishing.
"""

import fcntl
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from orchestration import progress
from orchestration.assets.landing import WAREHOUSE_POOL
from orchestration.dbt_runner import DBT_PROJECT_DIR, DbtError, dbt_env, dbt_executable
from orchestration.settings import Settings

SEEDS_DIR = DBT_PROJECT_DIR.parent / "seeds"
_NOT_SOURCES = {"target", "logs", "dbt_packages"}


def dbt_project(settings: Settings) -> DbtProject:
    """The dbt project; its parsed manifest lives in dbt_project/target/dagster-<target>/ (git-ignored)."""
    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        target_path=Path("target") / f"dagster-{settings.dbt.target}",
        profiles_dir=DBT_PROJECT_DIR,
        target=settings.dbt.target,
    )


def _newest_source_mtime() -> float:
    newest = 0.0
    for root in (DBT_PROJECT_DIR, SEEDS_DIR):
        for path in root.rglob("*"):
            rel = path.relative_to(root).parts
            if root == DBT_PROJECT_DIR and rel and rel[0] in _NOT_SOURCES:
                continue
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_manifest(settings: Settings, project: DbtProject) -> Path:
    """Parse the dbt project when its manifest is missing or older than any project file.

    Several processes (webserver, daemon, run workers, `crmw`) may load the definitions at once; a file
    lock makes one of them parse while the others wait.
    """
    manifest = project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
            return manifest
        env = {**dbt_env(settings), "DBT_TARGET_PATH": str(manifest.parent), "DBT_LOG_PATH": str(manifest.parent)}
        cmd = [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
               "--profiles-dir", str(DBT_PROJECT_DIR), "--target", settings.dbt.target]
        done = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not manifest.exists():
            raise DbtError(f"dbt parse failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    return manifest


def layer_of(props: Mapping[str, Any]) -> str:
    """The dbt folder a node lives in: the first folder under models/ for models, else its own folder
    (snapshots/, seeds/)."""
    folders = [p for p in PurePosixPath(props["original_file_path"]).parent.parts if p not in ("", ".", "..")]
    if props["resource_type"] == "model" and len(folders) > 1:
        return folders[1]
    return folders[-1] if folders else props["resource_type"]


class LayerTranslator(DagsterDbtTranslator):
    """Keys `<layer>/<node name>` and groups `<layer>` from the dbt folder. A dbt source is the asset that
    writes all its tables, `<schema>/<source name>` (the landing loads write every raw table at once)."""

    def __init__(self) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([props["schema"], props["source_name"]]))
        layer = layer_of(props)
        return spec.replace_attributes(key=dg.AssetKey([layer, props["name"]]), group_name=layer)


class DbtBuildConfig(dg.Config):
    """Extra `dbt build` arguments, e.g. ["--full-refresh"] (rarely needed: models are full rebuilds)."""

    extra_args: list[str] = []


# The dbt project runs in two parts with identity resolution between them: the first builds what
# identity reads (seeds, the staging of the landing files, the ODS's intermediate models, among them
# int_customers_conformed); the second builds everything else, reading identity's tables as the dbt
# source `customer_identity`.
# The data-quality profile comes first too (the ODS intermediate views blank the sentinels it detects);
# the cross-system consistency check and the published data-quality tables need the customer keys and
# come second.
UPSTREAM_SELECT = ("resource_type:seed path:models/staging/landing path:models/quality/profile "
                   "path:models/ods/intermediate")
UPSTREAM_NAME, DOWNSTREAM_NAME = "dbt_staging", "dbt_build"
STAGE_OF = {UPSTREAM_NAME: "dbt staging", DOWNSTREAM_NAME: "dbt build"}


def build_dbt_assets(settings: Settings) -> tuple[list[dg.AssetsDefinition], DbtCliResource]:
    """The two dbt parts (before and after identity resolution) and the dbt resource."""
    project = dbt_project(settings)
    ensure_manifest(settings, project)
    parts = [
        _dbt_part(settings, project, UPSTREAM_NAME, select=UPSTREAM_SELECT, exclude=""),
        _dbt_part(settings, project, DOWNSTREAM_NAME, select="fqn:*", exclude=UPSTREAM_SELECT),
    ]
    resource = DbtCliResource(
        project_dir=project,
        dbt_executable=dbt_executable(),
        profiles_dir=str(DBT_PROJECT_DIR),
        target=settings.dbt.target,
    )
    return parts, resource


def _dbt_part(settings: Settings, project: DbtProject, name: str, select: str, exclude: str) -> dg.AssetsDefinition:
    stage = STAGE_OF[name]

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=LayerTranslator(),
        name=name,
        select=select,
        exclude=exclude or None,
        pool=WAREHOUSE_POOL,
    )
    def dbt_part(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig) -> Iterator:
        # The profile reads the warehouse path and threads from the environment (profiles.yml).
        env = dbt_env(settings)
        os.environ.update({k: env[k] for k in ("CRMW_WAREHOUSE_PATH", "CRMW_DBT_THREADS", "CRMW_DUCKDB_MEMORY_LIMIT")})
        settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)  # seeds may run before any load
        # Only the tests whose models are all built by this part or before it ("buildable"), so a test never
        # reads a model a later part (or, in an asset backfill that splits dbt across runs, another run)
        # has not built yet.
        os.environ["DBT_INDIRECT_SELECTION"] = "buildable"
        total = len(context.selected_asset_keys) + len(context.selected_asset_check_keys)
        done = failed = 0
        progress.report(stage, 0, total, "starting dbt")
        invocation = dbt.cli(["build", *config.extra_args], context=context, target_path=settings.dbt_target_dir)
        for event in invocation.stream():
            done += 1
            if isinstance(event, dg.AssetCheckResult) and not event.passed:
                failed += 1
            key = getattr(event, "asset_key", None)
            note = f"{key.to_user_string()}" if key else ""
            progress.report(stage, done, total, note + (f"  ({failed} failing)" if failed else ""))
            yield event
        progress.report(stage, total, total, f"{done} nodes built or tested")

    return dbt_part
