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
# CI sharding across machines: make test SHARD=2/4 runs the second of four groups, split
# by the durations stored in backend/.test_durations (pytest-split). No random order in a
# shard: every machine must compute the same split.
SHARD ?=
SHARD_ARGS := $(if $(SHARD),-p no:randomly --splits $(word 2,$(subst /, ,$(SHARD))) \
	--group $(word 1,$(subst /, ,$(SHARD))) --durations-path .test_durations)
# Where the servers come from: local (embedded, no Docker needed) or docker (compose stack)
STACK ?= local
COMPOSE := docker compose -f docker-compose.test.yml
# The runner's user matches yours, so files it writes to bind mounts are yours (never root).
HOST_UID := $(shell id -u)
export RUNNER_UID := $(if $(filter 0,$(HOST_UID)),1000,$(HOST_UID))
export RUNNER_GID := $(if $(filter 0,$(HOST_UID)),1000,$(shell id -g))

# Example projects (examples/*/): each has its own .venv, its pinned requirements and
# pgstack installed from ./pgstack, like a project that adopted it.
EXAMPLES := $(patsubst %/requirements.txt,%,$(wildcard examples/*/requirements.txt))
EXAMPLE_WORKERS ?= 2

.PHONY: help venv test test-local test-docker test-fast check lint format test-pgstack \
	test-reliability test-repeat test-backend test-shards test-examples test-compose up up-local up-docker down down-local \
	down-docker images bench bench-signals clean

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

test: test-$(STACK) ## Run the backend suite in parallel (STACK=local: embedded servers; STACK=docker: compose)

test-local: $(STAMP)
	cd backend && ../$(BIN)/pytest -n $(WORKERS) $(SHARD_ARGS) $(PYTEST_ARGS)

test-docker:
	$(COMPOSE) build tests
	$(COMPOSE) run --rm tests $(PYTEST_ARGS); rc=$$?; \
		$(COMPOSE) down -v --remove-orphans >/dev/null 2>&1; exit $$rc

test-fast: $(STAMP) ## Same, without tests marked slow
	cd backend && ../$(BIN)/pytest -n $(WORKERS) -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff lint + format check, compose-lint on the compose files
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --config-file pgstack/mypy.ini
	$(BIN)/compose-lint docker-compose.test.yml
	$(BIN)/compose-lint .devcontainer/docker-compose.devcontainer.yml

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-pgstack: $(STAMP) ## pgstack's own tests (inner pytest runs on real servers)
	cd pgstack && ../$(BIN)/pytest -n $(WORKERS) -m "not reliability" $(PYTEST_ARGS)

test-reliability: $(STAMP) ## Fault, load and bad-input tests: killed servers, signals, 8 runs at once, full tmpfs
	cd pgstack && ../$(BIN)/pytest -n $(WORKERS) -m reliability $(PYTEST_ARGS)

# Flakiness: the backend suite REPEAT times, each run in a new random order (pytest-randomly)
# on -n 2 workers; any failure stops and prints the seed that reproduces it.
REPEAT ?= 20
test-repeat: $(STAMP) ## The backend suite REPEAT (20) times in random order, -n 2: zero failures allowed
	@cd backend && for run in $$(seq 1 $(REPEAT)); do \
		seed=$$(( (RANDOM << 15) | RANDOM )); \
		printf 'test-repeat: run %2d/%d, --randomly-seed=%s: ' $$run $(REPEAT) $$seed; \
		../$(BIN)/pytest -n 2 -p randomly -p no:cacheprovider -q --randomly-seed=$$seed \
			$(PYTEST_ARGS) > ../.repeat-last.log 2>&1 || { echo FAILED; cat ../.repeat-last.log; \
			echo "test-repeat: reproduce with: make test PYTEST_ARGS='-p randomly --randomly-seed=$$seed' WORKERS=2"; \
			exit 1; }; \
		tail -n 1 ../.repeat-last.log; \
	done; rm -f ../.repeat-last.log

test-backend: $(STAMP) ## Backend suite in random order (pytest-randomly), with coverage
	cd backend && ../$(BIN)/pytest -n $(WORKERS) -p randomly --cov=app \
		--cov-report=term-missing:skip-covered --cov-fail-under=90 $(PYTEST_ARGS)

examples/%/.venv/.installed: examples/%/requirements.txt pgstack/pyproject.toml
	@test -x examples/$*/.venv/bin/python || $(PYTHON) -m venv examples/$*/.venv
	@# pgstack's own dependencies come pinned from requirements-dev.txt, except where the
	@# example pins a package itself (its pins win, as in a real project).
	sed -E 's/[<>=\[ ;#].*//' examples/$*/requirements.txt | tr 'A-Z_' 'a-z-' | grep . \
		> examples/$*/.venv/own-packages.txt
	awk 'NR==FNR {own[$$0]; next} {name=tolower($$0); sub(/[<>=\[ ;#].*/, "", name); \
		gsub(/_/, "-", name)} !(name in own)' examples/$*/.venv/own-packages.txt \
		requirements-dev.txt > examples/$*/.venv/constraints.txt
	examples/$*/.venv/bin/python -m pip install --quiet --disable-pip-version-check \
		-c examples/$*/.venv/constraints.txt -r examples/$*/requirements.txt \
		-e './pgstack[embedded]'
	@touch $@

test-examples: $(EXAMPLES:%=%/.venv/.installed) ## Every example project's own suite, -n 2, on pgstack
	@set -e; for example in $(EXAMPLES); do \
		echo "== $$example: pytest -n $(EXAMPLE_WORKERS)"; \
		(cd $$example && .venv/bin/pytest -n $(EXAMPLE_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)); \
	done
	@echo "== examples/fastapi-sqlmodel: pytest -n 4 (an unmodified suite that breaks on a shared database)"
	cd examples/fastapi-sqlmodel && .venv/bin/pytest -n 4 -q -p no:cacheprovider $(PYTEST_ARGS)

test-shards: $(STAMP) ## The SHARD=i/N groups are disjoint and cover the backend suite
	$(BIN)/python scripts/check_shards.py --splits 3

test-compose: $(STAMP) ## The compose stack end to end (needs Docker; CI always runs it)
	@if docker compose version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
		cd e2e && ../$(BIN)/pytest -p no:randomly -v $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then \
		echo "test-compose: Docker is not usable here and CI must run the compose tests." \
			"Run scripts/ci-docker-setup.sh first (.ci/run does)." >&2; exit 1; \
	else \
		echo "*** test-compose NOT RUN: no usable Docker engine on this machine." \
			"The compose stack is not checked here; CI checks it. ***" >&2; \
	fi

up: up-$(STACK) ## Persistent stack for fast repeated runs (STACK=local: `pgstack up`; docker: compose db+redis)

up-local: $(STAMP)
	$(BIN)/pgstack --project backend up

up-docker:
	$(COMPOSE) up -d --wait db redis

down: down-$(STACK) ## Stop it (STACK=docker: remove containers, networks, volumes)

down-local: $(STAMP)
	$(BIN)/pgstack --project backend down

down-docker:
	$(COMPOSE) down -v --remove-orphans

images: ## Build offline stand-ins for the postgres/redis/python images (no registry)
	scripts/build-offline-images.sh

check: lint test-pgstack test-reliability test-backend test-repeat test-shards test-examples test-compose check-package ## Everything CI runs: lint, pgstack's tests, reliability, backend suite (also 20x), examples, compose stack, the built package

.PHONY: check-package
check-package: $(STAMP) ## Build pgstack's sdist + wheel, twine check them, run the smoke suite on the installed wheel
	scripts/check-package.sh $(BIN)/python

BENCH_VENV := benchmarks/.venv
$(BENCH_VENV)/.installed: benchmarks/requirements.txt pgstack/pyproject.toml
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r benchmarks/requirements.txt -e './pgstack[embedded]'
	@touch $@

bench: $(STAMP) $(BENCH_VENV)/.installed ## Every benchmark variant in one run → docs/benchmarks/results.md + .png
	$(BENCH_VENV)/bin/python benchmarks/run.py

bench-signals: $(STAMP) ## Signal → exit of an interrupted `pytest -n 2` run (docker stop allows 10 s)
	$(BIN)/python benchmarks/signals.py --repeat $(or $(BENCH_REPEAT),5)

clean: ## Remove .venv and caches
	rm -rf $(VENV) examples/*/.venv $(BENCH_VENV) .pytest_cache .ruff_cache */.pytest_cache
