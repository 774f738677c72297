"""Where state lives and what the knobs are: defaults in code, overridden by a TOML file.

Everything the product writes lives under one directory, ``CRMW_HOME`` (default ``.crmw`` in the
working directory). Settings come from ``CRMW_CONFIG`` (default ``$CRMW_HOME/crmw.toml``); a missing
file means all defaults. The README lists every key.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from models_ml.identity import BACKENDS
from models_ml.identity.survivorship import GROUPS, RULES


@dataclass(frozen=True)
class DemoSettings:
    customers: int = 20_000
    seed: int = 42
    start: dt.date = dt.date(2024, 1, 1)
    end: dt.date = dt.date(2025, 12, 31)


@dataclass(frozen=True)
class DbtSettings:
    threads: int = 2
    target: str = "duckdb"  # duckdb, spark (local session) or spark_cluster (dbt_project/profiles.yml)

    @property
    def engine(self) -> str:
        """The warehouse engine the target builds on: duckdb or spark."""
        return "spark" if self.target.startswith("spark") else "duckdb"


@dataclass(frozen=True)
class WarehouseSettings:
    """The working DuckDB warehouse."""

    # DuckDB's memory limit for the loads and dbt ("" = DuckDB's default, 80% of RAM). Beyond it DuckDB
    # evicts cached pages and spills to disk; without it its buffer pool keeps a large warehouse cached.
    memory_limit: str = "6GB"

    def __post_init__(self) -> None:
        if self.memory_limit and not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", self.memory_limit):
            raise ValueError(f"memory_limit = {self.memory_limit!r} is not a size such as \"6GB\" or \"512MB\"")


@dataclass(frozen=True)
class RefreshSettings:
    schedule: str = "02:00"  # local time of day of the nightly refresh, HH:MM (24-hour)
    timezone: str = "local"  # IANA zone name, or "local" for this machine's zone
    first_day: dt.date = dt.date(2020, 1, 1)  # first delivery day the daily partitions cover

    def __post_init__(self) -> None:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.schedule):
            raise ValueError(f"schedule = {self.schedule!r} is not a HH:MM time of day")
        if self.timezone != "local":
            try:
                zoneinfo.ZoneInfo(self.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"timezone = {self.timezone!r} is not an IANA time zone name") from exc

    @property
    def hour(self) -> int:
        return int(self.schedule[:2])

    @property
    def minute(self) -> int:
        return int(self.schedule[3:])

    @property
    def zone(self) -> str:
        """The IANA zone the schedule and the daily partitions run in ("local" resolved)."""
        return self.timezone if self.timezone != "local" else local_timezone()


def local_timezone() -> str:
    """This machine's IANA zone name: $TZ, else the /etc/localtime link, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = localtime.resolve().as_posix()
        if "/zoneinfo/" in target:
            candidates.append(target.split("/zoneinfo/", 1)[1])
    for name in candidates:
        if name:
            try:
                zoneinfo.ZoneInfo(name)
                return name
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return "UTC"


@dataclass(frozen=True)
class IdentitySettings:
    """Identity resolution (models_ml/identity): when records link, when a cluster splits, how the golden
    record is built."""

    # Match probability at or above which two records link: 0.5, a match more likely than not. Wrong links
    # are caught by the conflict split, which raises it within a contradicted cluster.
    threshold: float = 0.5
    split_bits: float = 15.0  # evidence against a pair (bits) that re-splits the cluster holding it
    survivorship: dict = field(default_factory=dict)  # attribute group -> most_recent | most_complete | ...
    source_priority: list = field(default_factory=list)  # source systems, most trusted first
    seed: int = 42  # random sampling of the training pairs
    backend: str = "duckdb"  # Splink's backend: "duckdb" (in process) or "spark" (the warehouse's Spark session)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend = {self.backend!r} is not a Splink backend; known: {', '.join(BACKENDS)}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold = {self.threshold!r} must be between 0 and 1 (exclusive)")
        if self.split_bits <= 0:
            raise ValueError(f"split_bits = {self.split_bits!r} must be positive")
        for group, rule in self.survivorship.items():
            if group not in GROUPS:
                raise ValueError(f"survivorship.{group}: unknown attribute group; known: {', '.join(GROUPS)}")
            if rule not in RULES:
                raise ValueError(f"survivorship.{group} = {rule!r} is not a rule; known: {', '.join(RULES)}")
        bad = [s for s in self.source_priority if not isinstance(s, str) or not s.strip()]
        if bad or len(set(self.source_priority)) != len(self.source_priority):
            raise ValueError(f"source_priority = {self.source_priority!r} must list distinct source system names")

    def config(self):
        """The models_ml.identity configuration these settings stand for."""
        from models_ml.identity.resolve import IdentityConfig

        return IdentityConfig(
            threshold=self.threshold, contradiction_bits=self.split_bits, survivorship=dict(self.survivorship),
            source_priority=tuple(self.source_priority), seed=self.seed, backend=self.backend,
        )


@dataclass(frozen=True)
class ClvSettings:
    """Customer lifetime value (models_ml/clv): the forecast horizon and the rate future profit is discounted at."""

    horizon_days: int = 365  # days after the as-of date that customer_clv forecasts
    annual_discount_rate: float = 0.10  # yearly rate for discounting profit to the as-of date
    seed: int = 42  # the supervised model's random state

    def __post_init__(self) -> None:
        if self.horizon_days < 1:
            raise ValueError(f"horizon_days = {self.horizon_days!r} must be a positive number of days")
        if not 0.0 <= self.annual_discount_rate < 1.0:
            raise ValueError(f"annual_discount_rate = {self.annual_discount_rate!r} must be in [0, 1)")


@dataclass(frozen=True)
class TargetingSettings:
    """Campaign targeting (models_ml/targeting): how the propensity is validated, the policy comparison's
    budget, the lookalike seed and the control groups of exported target lists."""

    holdout_campaigns: int = 6  # latest campaigns (response window closed) held out to measure the model
    response_window_days: int = 42  # a campaign without an end_date takes responses this long after its start
    budget_share: float = 0.25  # policy comparison budget: this share of the held-out mailings' cost
    control_share: float = 0.10  # share of an exported target list held out as a random control group
    lookalike_seed_share: float = 0.10  # the most profitable customers (trailing 12 months) lookalikes copy
    regularisation: float = 1.0  # inverse regularisation strength C of the logistic models
    channel: str = "mail"  # channel whose seeds/channels.csv cost_per_contact export-targets uses by default
    exclude_treatments: list = field(default_factory=lambda: ["do not target"])  # never on a target list
    seed: int = 42  # random control groups

    def __post_init__(self) -> None:
        if self.holdout_campaigns < 1:
            raise ValueError(f"holdout_campaigns = {self.holdout_campaigns!r} must be at least 1")
        if self.response_window_days < 1:
            raise ValueError(f"response_window_days = {self.response_window_days!r} must be at least 1")
        for name in ("budget_share", "lookalike_seed_share"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} = {getattr(self, name)!r} must be in (0, 1]")
        if not 0.0 <= self.control_share < 1.0:
            raise ValueError(f"control_share = {self.control_share!r} must be in [0, 1)")
        if self.regularisation <= 0:
            raise ValueError(f"regularisation = {self.regularisation!r} must be positive")
        if any(not isinstance(t, str) for t in self.exclude_treatments):
            raise ValueError(f"exclude_treatments = {self.exclude_treatments!r} must list treatment names")


@dataclass(frozen=True)
class Settings:
    home: Path
    config_path: Path
    demo: DemoSettings = field(default_factory=DemoSettings)
    dbt: DbtSettings = field(default_factory=DbtSettings)
    warehouse: WarehouseSettings = field(default_factory=WarehouseSettings)
    refresh: RefreshSettings = field(default_factory=RefreshSettings)
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    clv: ClvSettings = field(default_factory=ClvSettings)
    targeting: TargetingSettings = field(default_factory=TargetingSettings)

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

    def connect_warehouse(self):
        """A read-write connection to the working warehouse with the configured memory limit."""
        from orchestration.warehouses import DuckDBWarehouse

        self.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        return DuckDBWarehouse(self.warehouse_path, self.warehouse.memory_limit).connect()

    @property
    def spark_dir(self) -> Path:
        # The local Spark target's tables (warehouse/) and its embedded metastore (metastore/).
        return self.home / "spark"

    @property
    def identity_registry_path(self) -> Path:
        # Identity resolution's key registry when the warehouse is on Spark (on DuckDB it lives in the
        # warehouse file, schema identity).
        return self.home / "identity" / "registry.duckdb"

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

    @property
    def refresh_log_path(self) -> Path:
        # Refresh history and failures (SQLite: several processes append to it safely).
        return self.home / "status" / "refresh_log.sqlite"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def maturity_answers_path(self) -> Path:
        # The questionnaire's answers (`crmw assess` writes them, the refresh scores them).
        return self.home / "maturity" / "answers.yaml"

    @property
    def maturity_rules_path(self) -> Path:
        # A copy of models_ml/maturity/stages.yaml the user edits; the packaged rules when absent.
        return self.home / "maturity" / "stages.yaml"

    @property
    def audit_log_path(self) -> Path:
        # Who viewed and exported what (SQLite, like the refresh log: the dashboards and the CLI append).
        return self.home / "status" / "audit_log.sqlite"


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
        if isinstance(default, float) and type(value) is int:
            value = float(value)  # `threshold = 1` style integers are fine where a number is expected
        if type(value) is not type(default):
            raise ConfigError(
                f"{path}: [{name}].{key} must be {type(default).__name__}, got {type(value).__name__}"
            )
        values[key] = value
    try:
        return cls(**values)
    except ValueError as exc:
        raise ConfigError(f"{path}: [{name}].{exc}") from exc


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
    sections = {"demo": DemoSettings, "dbt": DbtSettings, "warehouse": WarehouseSettings,
                "refresh": RefreshSettings, "identity": IdentitySettings, "clv": ClvSettings,
                "targeting": TargetingSettings}
    for name in raw:
        if name not in sections:
            raise ConfigError(f"{config_path}: unknown section [{name}]; known: {', '.join(sections)}")
    return replace(
        settings,
        **{name: _section(cls, raw.get(name, {}), config_path, name) for name, cls in sections.items()},
    )
