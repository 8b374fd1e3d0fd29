# carepilot — two commands do all set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEMO_DIR ?= demo
DEMO_PATIENTS ?= 20000
DEMO_SEED ?= 42
PYTEST_ARGS ?=

.PHONY: install assets system-deps demo test lint typecheck importlint unit clean bench

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# NHS.UK design system (npm) compiled into src/carepilot/web/static/nhsuk/
assets:
	bash scripts/build-assets.sh

# Debian chromium (browser tests) and PostgreSQL server binaries (workflow tests on a real server)
system-deps:
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-poppler.sh

demo: install
	$(BIN)/carepilot synth --patients $(DEMO_PATIENTS) --seed $(DEMO_SEED) --out $(DEMO_DIR)/extract
	$(BIN)/carepilot load $(DEMO_DIR)/extract --db $(DEMO_DIR)/carepilot.duckdb --replace
	$(BIN)/carepilot info --db $(DEMO_DIR)/carepilot.duckdb

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/pyright

importlint: install
	$(BIN)/lint-imports

unit: install assets system-deps
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck importlint unit

bench: install
	$(PY) benchmarks/synth.py
	$(PY) benchmarks/load.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
