# crm-warehouse: `make run` for a first look, `make test` for the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean browser

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
