# crm-warehouse: `make run` for a first look, `make test` for the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark

.PHONY: install run test test-spark lint bench clean browser

install: $(STAMP)  ## create .venv and install the pinned dependencies (editable)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "crm-warehouse needs Python 3.11 (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Ends by serving the dashboards; the first time, it asks for a password for an `admin` user.
run: install  ## generate the demo bank (if no landing files), refresh, print the summary, serve the dashboards
	$(BIN)/crmw run
	@$(BIN)/crmw users list | grep -q . || $(BIN)/crmw users add admin --role admin
	$(BIN)/crmw serve

# The dashboard's browser test drives Debian's chromium through Playwright (Playwright's own browser
# download cannot work here): install it once when it is missing (needs root, as on CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && apt-get install -y chromium; }

# pytest exits 5 when it collects no test; that is not a failure of the suite.
# The suite runs in TEST_WORKERS processes (pytest-xdist), one test file per worker at a time: the module
# fixtures that build warehouses stay in one process, and the dbt builds of two files overlap on two cores.
TEST_WORKERS ?= 2
test: install browser  ## the whole test suite, dbt builds included
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

# The scale-out path (README, "Scale-out: Spark, Kubernetes, Postgres"): the `spark` extra (dbt-spark, pyspark)
# goes into the same .venv, constrained to the versions `make install` put there, so it can never move a base
# package; then the DuckDB/Spark equivalence test (needs Java 17). Once installed, `make test` runs it too.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/base-constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/base-constraints.txt -e '.[dev,spark]'
	$(BIN)/python -m pip check
	@touch $(SPARK_STAMP)

test-spark: install $(SPARK_STAMP)  ## dbt and identity resolution on DuckDB and on Spark: equal marts
	$(BIN)/python -m pytest -p no:xdist -s tests/test_spark_equivalence.py tests/test_portable_sql.py

lint: install
	$(BIN)/ruff check orchestration models_ml dashboards tests

# bench/scale.py at each scale: small (10k customers), medium (100k), large (1M; hours on 2 cores).
BENCH_SCALES ?= small medium large
bench: install  ## benchmarks outside the test suite (timings on a shared machine are noisy)
	$(BIN)/python bench/clv_fit.py
	$(BIN)/python bench/clv_cdnow_backtest.py
	$(BIN)/python bench/identity.py --customers 100000
	for scale in $(BENCH_SCALES); do $(BIN)/python bench/scale.py --scale $$scale || exit 1; done

clean:  ## remove the venv and all state under .crmw/
	rm -rf $(VENV) .crmw
