# carepilot — two commands do all set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEMO_DIR ?= demo
DEMO_PATIENTS ?= 20000
DEMO_SEED ?= 42
DEMO_PRACTICES ?= 40
DEMO_PILOT_PRACTICES ?= 12
DEMO_FROM ?= 2021-04
DEMO_TO ?= 2024-03
DEMO_PILOT ?= ICP01
DEMO_OUTCOMES ?= emergency-admissions-rate,hypertension-bp-140-90-under-80,outpatient-follow-up-rate
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

demo: install assets
	@echo "==> 1/8 generating a synthetic population ($(DEMO_PATIENTS) patients, seed $(DEMO_SEED), staggered pilot starts)"
	$(BIN)/carepilot synth --patients $(DEMO_PATIENTS) --seed $(DEMO_SEED) --practices $(DEMO_PRACTICES) --pilot-practices $(DEMO_PILOT_PRACTICES) --staggered --out $(DEMO_DIR)/extract
	@echo "==> 2/8 validating and loading it into DuckDB"
	$(BIN)/carepilot load $(DEMO_DIR)/extract --db $(DEMO_DIR)/carepilot.duckdb --replace
	$(BIN)/carepilot info --db $(DEMO_DIR)/carepilot.duckdb
	@echo "==> 3/8 running the indicator library (every financial year, every breakdown and area level, disclosure-controlled)"
	$(BIN)/carepilot indicators run --db $(DEMO_DIR)/carepilot.duckdb --from $(DEMO_FROM) --to $(DEMO_TO) --frequency year --disclosure opensafely --out $(DEMO_DIR)/indicator_results.parquet
	@echo "==> 4/8 publishing open data"
	$(BIN)/carepilot opendata export --results $(DEMO_DIR)/indicator_results.parquet --out $(DEMO_DIR)/open-data
	@echo "==> 5/8 evaluating the demo pilot against matched comparators"
	$(BIN)/carepilot evaluate --pilot $(DEMO_PILOT) --db $(DEMO_DIR)/carepilot.duckdb --outcomes $(DEMO_OUTCOMES) --design staggered --year 3 --out $(DEMO_DIR)/evaluation
	@echo "==> 6/8 settling and simulating the demo pilot's capitated outcome contract"
	$(BIN)/carepilot contracts settle --contract examples/contracts/demo_pilot.yaml --db $(DEMO_DIR)/carepilot.duckdb --results $(DEMO_DIR)/indicator_results.parquet --year 2023 --out $(DEMO_DIR)/contracts
	$(BIN)/carepilot contracts simulate --contract examples/contracts/demo_pilot.yaml --db $(DEMO_DIR)/carepilot.duckdb --results $(DEMO_DIR)/indicator_results.parquet --year 2023 --runs 200 --out $(DEMO_DIR)/contracts
	@echo "==> 7/8 creating the workflow database and a demo programme with one user per role"
	CAREPILOT_DATABASE_URL=sqlite:///$(DEMO_DIR)/workflow.sqlite $(BIN)/carepilot db upgrade
	CAREPILOT_DATABASE_URL=sqlite:///$(DEMO_DIR)/workflow.sqlite $(BIN)/carepilot db seed-demo
	@echo "==> 8/8 done. Where to look:"
	@echo "  analytics database     $(DEMO_DIR)/carepilot.duckdb   (carepilot info --db $(DEMO_DIR)/carepilot.duckdb)"
	@echo "  indicator results      $(DEMO_DIR)/indicator_results.parquet"
	@echo "  open data              $(DEMO_DIR)/open-data/"
	@echo "  evaluation reports     $(DEMO_DIR)/evaluation/<outcome>/report.html (+ report.pdf, numbers.json)"
	@echo "  contract statement     $(DEMO_DIR)/contracts/demo-icp01-capitated-2023.html (+ .pdf, .csv, .json, simulation)"
	@echo "  web application        CAREPILOT_DATABASE_URL=sqlite:///$(DEMO_DIR)/workflow.sqlite $(BIN)/carepilot serve --results $(DEMO_DIR)/indicator_results.parquet"
	@echo "                         then open http://127.0.0.1:8000/ (logins printed above)"

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
