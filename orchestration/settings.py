"""Where state lives and what the knobs are: defaults in code, overridden by a TOML file.

Everything the product writes lives under one directory, ``CRMW_HOME`` (default ``.crmw`` in the
working directory). Settings come from ``CRMW_CONFIG`` (default ``$CRMW_HOME/crmw.toml``); a missing
file means all defaults. The README lists every key.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class DemoSettings:
    customers: int = 20_000
    seed: int = 42
    start: dt.date = dt.date(2024, 1, 1)
    end: dt.date = dt.date(2025, 12, 31)


@dataclass(frozen=True)
class DbtSettings:
    threads: int = 2
    target: str = "duckdb"


@dataclass(frozen=True)
class Settings:
    home: Path
    config_path: Path
    demo: DemoSettings = field(default_factory=DemoSettings)
    dbt: DbtSettings = field(default_factory=DbtSettings)

    # Layout under CRMW_HOME; one place so nothing else builds these paths by hand.
    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def demo_truth_dir(self) -> Path:
        # Beside the landing folder, never in it: the loader must not see the answers.
        return self.home / "demo_truth"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse" / "crm.duckdb"

    @property
    def serving_path(self) -> Path:
        return self.home / "serving" / "crm.duckdb"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt" / "target"


class ConfigError(ValueError):
    """A settings file that cannot be used; the message names the file and key."""


def _section(cls, raw: dict, path: Path, name: str):
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown key [{name}].{key}; known keys: {', '.join(known)}")
        default = getattr(cls(), key)
        if isinstance(default, dt.date) and isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError as exc:
                raise ConfigError(f"{path}: [{name}].{key} = {value!r} is not a YYYY-MM-DD date") from exc
        if type(value) is not type(default):
            raise ConfigError(
                f"{path}: [{name}].{key} must be {type(default).__name__}, got {type(value).__name__}"
            )
        values[key] = value
    return cls(**values)


def load_settings(home: str | os.PathLike | None = None) -> Settings:
    """Read settings from the environment and the TOML file (if any)."""
    home_path = Path(home or os.environ.get("CRMW_HOME", ".crmw")).absolute()
    config_path = Path(os.environ.get("CRMW_CONFIG", home_path / "crmw.toml")).absolute()
    settings = Settings(home=home_path, config_path=config_path)
    if not config_path.exists():
        return settings
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: {exc}") from exc
    sections = {"demo": DemoSettings, "dbt": DbtSettings}
    for name in raw:
        if name not in sections:
            raise ConfigError(f"{config_path}: unknown section [{name}]; known: {', '.join(sections)}")
    return replace(
        settings,
        **{name: _section(cls, raw.get(name, {}), config_path, name) for name, cls in sections.items()},
    )
