"""The Dagster instance of a CRMW_HOME: run history, schedules and sensor state under $CRMW_HOME/dagster.

The repository's top-level `dagster.yaml` is the instance configuration; it is copied into
$CRMW_HOME/dagster (DAGSTER_HOME) whenever it changed, and its storage path comes from
CRMW_DAGSTER_STORAGE, which points under the same folder.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from orchestration.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGSTER_YAML = REPO_ROOT / "dagster.yaml"


def dagster_environment(settings: Settings) -> dict[str, str]:
    """Environment variables a Dagster process of this CRMW_HOME needs (also passed to `dagster dev`)."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != venv_bin:
        path = venv_bin + (os.pathsep + path if path else "")
    return {
        "CRMW_HOME": str(settings.home),
        "DAGSTER_HOME": str(settings.dagster_home),
        "CRMW_DAGSTER_STORAGE": str(settings.dagster_home / "storage"),
        # A run over a range of days plans one event per asset instead of one per day (Dagster's switch
        # for single-run backfills; a failed run then does not mark each planned day as failed).
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
        # dbt, dagster and the webserver are beside this interpreter, even without an activated venv.
        "PATH": path,
    }


def prepare_dagster_home(settings: Settings) -> dict[str, str]:
    """Create DAGSTER_HOME with the repository's dagster.yaml and export the environment; returns it."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    (home / "storage").mkdir(exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != DAGSTER_YAML.read_bytes():
        tmp = target.with_suffix(".yaml.tmp")
        shutil.copyfile(DAGSTER_YAML, tmp)
        os.replace(tmp, target)
    env = dagster_environment(settings)
    os.environ.update(env)
    return env


def get_instance(settings: Settings):
    """The persistent Dagster instance of this CRMW_HOME (prepared if needed). Close it after use."""
    from dagster import DagsterInstance

    prepare_dagster_home(settings)
    return DagsterInstance.from_config(str(settings.dagster_home))
