"""Run dbt against the working warehouse, with every path under CRMW_HOME.

dbt runs as a subprocess of the venv's own `dbt` (found beside this interpreter, so an
un-activated `.venv/bin/crmw` works). Its full log goes to $CRMW_HOME/logs; the console gets one
line per finished node. On the local Spark target (`[dbt] target = "spark"`) dbt runs in this process
instead: dbt-spark's `method: session` then shares the process's Spark session, whose embedded metastore a
second process could not open while identity resolution holds it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from orchestration.settings import Settings
from orchestration.warehouses import open_warehouse, spark_env

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
_NODE_DONE = re.compile(r"\d+ of \d+ (OK|PASS|WARN|ERROR|FAIL|SKIP)\b")


class DbtError(RuntimeError):
    """dbt exited non-zero; the message carries its failing lines and the log path."""


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def dbt_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(spark_env(settings.spark_dir / "warehouse", settings.spark_dir / "metastore"))
    env.update(
        CRMW_WAREHOUSE_PATH=str(settings.warehouse_path),
        CRMW_DBT_THREADS=str(settings.dbt.threads),
        CRMW_DUCKDB_MEMORY_LIMIT=settings.warehouse.memory_limit,
        DBT_TARGET_PATH=str(settings.dbt_target_dir),
        DBT_LOG_PATH=str(settings.logs_dir),
        DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def run_dbt(settings: Settings, args: list[str], progress: Callable[[str], None] | None = None) -> float:
    """Run `dbt <args>` for the configured target; raises DbtError on failure. Returns seconds."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    if settings.dbt.target == "spark":
        return _run_dbt_in_process(settings, args)
    cmd = [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--target", settings.dbt.target]
    started = time.perf_counter()
    lines: list[str] = []
    with subprocess.Popen(
        cmd, cwd=DBT_PROJECT_DIR, env=dbt_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            lines.append(line)
            if progress and _NODE_DONE.search(line):
                progress(line.split(" ", 1)[-1].strip())
    if proc.returncode != 0:
        failing = [ln for ln in lines if re.search(r"\b(ERROR|FAIL|Error|error)\b", ln)][-15:]
        raise DbtError(
            f"dbt {' '.join(args)} failed (exit {proc.returncode}); full log in {settings.logs_dir}\n"
            + "\n".join(failing or lines[-20:])
        )
    return time.perf_counter() - started


def _run_dbt_in_process(settings: Settings, args: list[str]) -> float:
    """dbt on the local Spark target inside this process, on the session open_warehouse starts."""
    from dbt.cli.main import dbtRunner

    open_warehouse(settings)  # the process's Spark session, configured as the target's
    started = time.perf_counter()
    saved = dict(os.environ)
    os.environ.update(dbt_env(settings))
    try:
        result = dbtRunner().invoke([*args, "--project-dir", str(DBT_PROJECT_DIR), "--target", "spark"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if not result.success:
        raise DbtError(f"dbt {' '.join(args)} failed on Spark; full log in {settings.logs_dir}\n"
                       f"{result.exception or result.result}")
    return time.perf_counter() - started
