# pgstack: `make test` runs the example suite on real PostgreSQL + Redis; `make check` runs
# everything CI runs. Both create .venv on first use from pinned versions.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra pytest arguments, e.g. make test PYTEST_ARGS="-k customers -x"
PYTEST_ARGS ?=
WORKERS ?= auto

.PHONY: help venv test test-fast check lint format test-pgstack test-backend bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt pgstack/pyproject.toml backend/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--no-build-isolation -e ./pgstack -e ./backend
	@touch $@

venv: $(STAMP) ## Create .venv with pinned dependencies

test: $(STAMP) ## Run the backend suite in parallel on embedded PostgreSQL + Redis
	cd backend && ../$(BIN)/pytest -n $(WORKERS) $(PYTEST_ARGS)

test-fast: $(STAMP) ## Same, without tests marked slow
	cd backend && ../$(BIN)/pytest -n $(WORKERS) -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-pgstack: $(STAMP) ## pgstack's own tests (inner pytest runs on real servers)
	cd pgstack && ../$(BIN)/pytest -n $(WORKERS) $(PYTEST_ARGS)

test-backend: $(STAMP) ## Backend suite in random order (pytest-randomly), with coverage
	cd backend && ../$(BIN)/pytest -n $(WORKERS) -p randomly --cov=app \
		--cov-report=term-missing:skip-covered --cov-fail-under=90 $(PYTEST_ARGS)

check: lint test-pgstack test-backend ## Everything CI runs: lint, pgstack's tests, backend suite

bench: $(STAMP) ## Measure cold start and per-test cost (figures go to stdout)
	$(BIN)/python scripts/bench.py

clean: ## Remove .venv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache */.pytest_cache
