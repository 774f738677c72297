"""Settings: defaults in code, a TOML file overrides them, mistakes name the file and key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from models_ml.identity.resolve import IdentityConfig
from orchestration.landing.contract import contract_markdown
from orchestration.settings import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.delenv("CRMW_CONFIG", raising=False)
    monkeypatch.setenv("CRMW_HOME", str(tmp_path / "home"))


def test_defaults_and_layout_under_crmw_home(tmp_path):
    s = load_settings()
    home = tmp_path / "home"
    assert s.home == home and s.config_path == home / "crmw.toml"
    assert (s.demo.customers, s.demo.seed, s.demo.start, s.demo.end) == (
        20_000, 42, dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    assert s.landing_dir == home / "landing" and s.serving_path == home / "serving" / "crm.duckdb"
    for path in (s.warehouse_path, s.reports_dir, s.dagster_home, s.demo_truth_dir, s.dbt_target_dir):
        assert home in path.parents


def test_toml_overrides_defaults(tmp_path, monkeypatch):
    cfg = tmp_path / "my.toml"
    cfg.write_text('[demo]\ncustomers = 500\nstart = "2023-06-01"\n[dbt]\nthreads = 4\n', encoding="utf-8")
    monkeypatch.setenv("CRMW_CONFIG", str(cfg))
    s = load_settings()
    assert (s.demo.customers, s.demo.start, s.demo.seed, s.dbt.threads) == (500, dt.date(2023, 6, 1), 42, 4)


def test_identity_settings_override_the_defaults(tmp_path, monkeypatch):
    cfg = tmp_path / "my.toml"
    cfg.write_text('[identity]\nthreshold = 0.95\nsplit_bits = 20\nsource_priority = ["core", "cards"]\n'
                   '[identity.survivorship]\nemail = "source_priority"\n', encoding="utf-8")
    monkeypatch.setenv("CRMW_CONFIG", str(cfg))
    config = load_settings().identity.config()
    assert (config.threshold, config.contradiction_bits, config.source_priority) == (0.95, 20.0, ("core", "cards"))
    assert config.survivorship == {"email": "source_priority"}
    monkeypatch.delenv("CRMW_CONFIG")
    assert load_settings().identity.config() == IdentityConfig()  # no file: the defaults


def test_identity_and_dbt_pick_spark(tmp_path, monkeypatch):
    cfg = tmp_path / "my.toml"
    cfg.write_text('[identity]\nbackend = "spark"\n[dbt]\ntarget = "spark"\n', encoding="utf-8")
    monkeypatch.setenv("CRMW_CONFIG", str(cfg))
    settings = load_settings()
    assert (settings.identity.config().backend, settings.dbt.engine) == ("spark", "spark")
    assert settings.identity_registry_path == tmp_path / "home" / "identity" / "registry.duckdb"


def test_clv_settings_default_and_override(tmp_path, monkeypatch):
    clv = load_settings().clv
    assert (clv.horizon_days, clv.annual_discount_rate, clv.seed) == (365, 0.10, 42)
    cfg = tmp_path / "my.toml"
    cfg.write_text("[clv]\nhorizon_days = 180\nannual_discount_rate = 0\n", encoding="utf-8")
    monkeypatch.setenv("CRMW_CONFIG", str(cfg))
    clv = load_settings().clv
    assert (clv.horizon_days, clv.annual_discount_rate) == (180, 0.0)


def test_targeting_settings_default_and_override(tmp_path, monkeypatch):
    targeting = load_settings().targeting
    assert (targeting.holdout_campaigns, targeting.control_share, targeting.exclude_treatments) == (
        6, 0.10, ["do not target"])
    cfg = tmp_path / "my.toml"
    cfg.write_text('[targeting]\nholdout_campaigns = 3\ncontrol_share = 0.2\nchannel = "email"\n', encoding="utf-8")
    monkeypatch.setenv("CRMW_CONFIG", str(cfg))
    targeting = load_settings().targeting
    assert (targeting.holdout_campaigns, targeting.control_share, targeting.channel) == (3, 0.2, "email")


def test_warehouse_connections_take_the_memory_limit(tmp_path, monkeypatch):
    settings = load_settings()
    with settings.connect_warehouse() as con:  # default 6GB, which DuckDB shows in GiB
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("5.5 GiB",)
    cfg = tmp_path / "my.toml"
    cfg.write_text('[warehouse]\nmemory_limit = "512MB"\n', encoding="utf-8")
    monkeypatch.setenv("CRMW_CONFIG", str(cfg))
    with load_settings().connect_warehouse() as con:
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("488.2 MiB",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[demo]\ncustomer = 5\n", "unknown key [demo].customer"),
        ("[demos]\n", "unknown section [demos]"),
        ('[warehouse]\nmemory_limit = "lots"\n', "[warehouse].memory_limit = 'lots' is not a size"),
        ('[demo]\ncustomers = "many"\n', "[demo].customers must be int, got str"),
        ('[demo]\nstart = "1/1/2024"\n', "[demo].start = '1/1/2024' is not a YYYY-MM-DD date"),
        ("[demo\n", "crmw.toml"),
        ("[identity]\nthreshold = 1.5\n", "[identity].threshold = 1.5 must be between 0 and 1 (exclusive)"),
        ('[identity]\nthreshold = "high"\n', "[identity].threshold must be float, got str"),
        ("[identity]\nsplit_bits = -2.0\n", "[identity].split_bits = -2.0 must be positive"),
        ('[identity]\nsource_priority = "core"\n', "[identity].source_priority must be list, got str"),
        ('[identity]\nsource_priority = ["core", "core"]\n', "[identity].source_priority = ['core', 'core'] must "
         "list distinct source system names"),
        ('[identity.survivorship]\nemail = "newest"\n', "[identity].survivorship.email = 'newest' is not a rule; "
         "known: most_recent, most_complete, source_priority"),
        ('[identity.survivorship]\nshoe_size = "most_recent"\n', "[identity].survivorship.shoe_size: unknown "
         "attribute group"),
        ("[identity]\nthreshhold = 0.5\n", "unknown key [identity].threshhold"),
        ('[identity]\nbackend = "polars"\n', "[identity].backend = 'polars' is not a Splink backend; "
         "known: duckdb, spark"),
        ("[clv]\nhorizon_days = 0\n", "[clv].horizon_days = 0 must be a positive number of days"),
        ("[clv]\nhorizon_days = 365.0\n", "[clv].horizon_days must be int, got float"),
        ("[clv]\nannual_discount_rate = 1.5\n", "[clv].annual_discount_rate = 1.5 must be in [0, 1)"),
        ("[targeting]\ncontrol_share = 1\n", "[targeting].control_share = 1.0 must be in [0, 1)"),
        ("[targeting]\nholdout_campaigns = 0\n", "[targeting].holdout_campaigns = 0 must be at least 1"),
        ("[targeting]\nbudget_share = 0\n", "[targeting].budget_share = 0.0 must be in (0, 1]"),
        ('[targeting]\nexclude_treatments = "do not target"\n', "[targeting].exclude_treatments must be list"),
    ],
)
def test_bad_settings_name_the_file_and_key(tmp_path, text, message):
    home = tmp_path / "home"
    home.mkdir()
    (home / "crmw.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert message in str(err.value) and str(home / "crmw.toml") in str(err.value)


def test_readme_documents_the_landing_contract_as_enforced():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- contract:start -->"), readme.index("<!-- contract:end -->")
    assert readme[start:end].split("-->", 1)[1].strip() == contract_markdown().strip()
