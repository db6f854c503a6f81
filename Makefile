# Two commands on a fresh machine:
#   make run    create .venv, install, generate sample data, backfill every asset, print a summary
#   make test   create .venv, install, run the test suite
# Everything the pipeline writes goes under $(LIFECYCLE_DATA_DIR) (default ./data).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CUSTOMERS ?= 20000
DAYS ?= 365
PYTEST_ARGS ?= -m "not slow"
SCENARIO ?= S
BENCH_ARGS ?=

export LIFECYCLE_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(LIFECYCLE_DATA_DIR)/dagster_home

.PHONY: install run test test-all dev clean bench

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

clean:
	rm -rf $(LIFECYCLE_DATA_DIR)
