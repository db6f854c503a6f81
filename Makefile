# Two commands on a fresh machine:
#   make run    create .venv, install, generate sample data, backfill every asset, print a summary
#   make test   create .venv, install, run the test suite
# Everything the pipeline writes goes under $(LIFECYCLE_DATA_DIR) (default ./data).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CUSTOMERS ?= 20000
DAYS ?= 365
# the suite runs on every core (pytest-xdist), each test file on one worker (module fixtures built once)
PYTEST_ARGS ?= -m "not slow" -n auto --dist loadfile --no-loadscope-reorder
SCENARIO ?= S
BENCH_ARGS ?=

export LIFECYCLE_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(LIFECYCLE_DATA_DIR)/dagster_home

.PHONY: install run test test-all dev clean bench bench-clv ui-check

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/lifecycle-pipeline init
	$(BIN)/lifecycle-pipeline generate --customers $(CUSTOMERS) --days $(DAYS)
	$(BIN)/lifecycle-pipeline backfill --days $(DAYS)
	$(BIN)/lifecycle-pipeline summary

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

test-all: install
	$(BIN)/pytest

dev: install
	$(BIN)/lifecycle-pipeline init
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dg dev --host 127.0.0.1 --port 3000

# The benchmark (benchmarks/README.md): make bench SCENARIO=S|M|L [BENCH_ARGS="--customers 100000"].
# Installs the bench extra (lifetimes, the comparison peer; never a runtime dependency).
$(BIN)/.installed-bench: $(BIN)/.installed
	$(BIN)/pip install --quiet -e ".[test,bench]"
	touch $@

bench: $(BIN)/.installed-bench
	$(BIN)/python -m benchmarks --scenario $(SCENARIO) $(BENCH_ARGS)

# Fitting 1M customers' BG/NBD summaries: ours beside lifetimes on the same rows (benchmarks/results/clv_fit.json).
bench-clv: $(BIN)/.installed-bench
	$(BIN)/python -m benchmarks.clv_fit $(BENCH_ARGS)

# Real-browser check of the UI (scripts/ui_check.py): a small sample run in $(LIFECYCLE_DATA_DIR)/ui_check
# (reused next time), `dagster dev` on 127.0.0.1, Debian's chromium driven by Playwright; screenshots in
# $(LIFECYCLE_DATA_DIR)/ui_check/screenshots. More: make ui-check UI_CHECK_ARGS="--fresh --days 14 --customers 500"
UI_CHECK_ARGS ?=
ui-check: install
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		echo "make ui-check needs Chromium: sudo apt-get install -y chromium (Playwright never downloads a browser here)" >&2; \
		exit 2; }
	$(BIN)/python scripts/ui_check.py --data-dir $(LIFECYCLE_DATA_DIR)/ui_check $(UI_CHECK_ARGS)

clean:
	rm -rf $(LIFECYCLE_DATA_DIR)
