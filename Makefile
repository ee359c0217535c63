# pgstack: `make test` runs the backend suite on real PostgreSQL + Redis; `make check` runs
# everything CI runs. Both create .venv on first use from pinned versions. `make help` is
# the menu: each target's `##` line says what it runs and how it differs from its neighbours.
# Shell logic longer than a line lives in scripts/.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# .venv holds what `make test` needs (the backend's test extra) once TEST_STAMP exists, and
# everything in requirements-dev.txt (what every other target needs) once STAMP does.
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# Extra pytest arguments, e.g. make test PYTEST_ARGS="-k customers -x"
PYTEST_ARGS ?=
WORKERS ?= auto
# CI sharding across machines: make test SHARD=2/4 runs the second of four groups, split
# by the durations stored in backend/.test_durations (pytest-split). No random order in a
# shard: every machine must compute the same split.
SHARD ?=
SHARD_ARGS := $(if $(SHARD),-p no:randomly --splits $(word 2,$(subst /, ,$(SHARD))) \
	--group $(word 1,$(subst /, ,$(SHARD))) --durations-path .test_durations)

# Where the backend suite's servers come from (make test, up, down):
#   embedded  servers pgstack starts itself: no Docker needed (`pgstack up` keeps them running)
#   compose   the Docker Compose test stack, docker-compose.test.yml
# STACK=local|docker is the older spelling of the same choice and keeps working; SERVERS
# wins when both are set. ("Stack" alone now means the compose stack.) A STACK from the
# environment is honoured only when it is local or docker: other tools use that name.
ifeq ($(origin STACK),command line)
  ifeq ($(filter local docker,$(STACK)),)
    $(error STACK=$(STACK): use SERVERS=embedded or SERVERS=compose (STACK=local|docker is the older spelling))
  endif
endif
SERVERS ?= $(if $(filter docker,$(STACK)),compose,embedded)
ifeq ($(filter embedded compose,$(SERVERS)),)
  $(error SERVERS=$(SERVERS): use embedded (servers pgstack starts itself) or compose (the Docker Compose test stack))
endif

COMPOSE := docker compose -f docker-compose.test.yml
# The runner's user matches yours, so files it writes to bind mounts are yours (never root).
HOST_UID := $(shell id -u)
export RUNNER_UID := $(if $(filter 0,$(HOST_UID)),1000,$(HOST_UID))
export RUNNER_GID := $(if $(filter 0,$(HOST_UID)),1000,$(shell id -g))
# In the runner container WORKERS=auto is left to its entrypoint (one worker per CPU of the
# container's limit; pytest's own auto would count the host's); any other value is passed on.
DOCKER_WORKERS := $(if $(filter-out auto,$(WORKERS)),-e PYTEST_WORKERS=$(WORKERS))
# The venv's pytest for scripts/, which cd before running it.
SCRIPT_ENV := PYTEST=$(abspath $(BIN)/pytest)

# Example projects (examples/*/): each has its own .venv, its pinned requirements and
# pgstack installed from ./pgstack, like a project that adopted it.
EXAMPLES := $(patsubst %/requirements.txt,%,$(wildcard examples/*/requirements.txt))
EXAMPLE_WORKERS ?= 2
REPEAT ?= 20
# Creates a venv and installs into it: uv (bootstrapped once into ~/.cache/pgstack-dev when not on PATH), else
# pip; INSTALLER=pip uses pip (and pip's configuration) throughout.
INSTALL := PYTHON=$(PYTHON) scripts/install.sh

.PHONY: help venv test test-embedded test-docker test-fast test-coverage test-repeat \
	test-shards test-pgstack test-reliability test-examples test-compose up up-embedded \
	up-compose down down-embedded down-compose check lint format images bench bench-signals \
	clean check-package compose-files test-backend test-local up-local up-docker down-local down-docker

# `make help`: "##@ title" lines are headings, "target: … ## text" the menu, "## text" notes.
help: ## This menu
	@awk 'BEGIN {FS = ":.*## "} \
		/^##@ / {printf "\n%s\n", substr($$0, 5); next} \
		/^## / {printf "  %s\n", substr($$0, 4); next} \
		/^[a-zA-Z_-]+:.*## / {printf "  make %-17s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

CHECK := lint test-pgstack test-reliability test-coverage test-repeat test-shards test-examples \
	test-compose check-package
check: $(CHECK) ## What CI runs (.ci/run): lint (ruff, mypy, compose-lint), every test-* below but test-fast, test-docker, and check-package

##@ The backend suite (backend/tests; random order, pytest-randomly, except with SHARD)
## Variables: SERVERS=embedded|compose, WORKERS=auto|N (xdist; 0: one process), SHARD=i/N,
## PYTEST_ARGS="..." (added to pytest's arguments), REPEAT=20 (test-repeat).

test: $(if $(filter compose,$(SERVERS)),test-docker,test-embedded) ## The suite, -n WORKERS, no coverage; SERVERS=embedded (default) or compose (= test-docker)

test-embedded: $(TEST_STAMP)
	cd backend && ../$(BIN)/pytest -n $(WORKERS) $(SHARD_ARGS) $(PYTEST_ARGS)

test-docker: ## test in the compose stack: builds the runner image, runs the suite, removes the stack
	$(COMPOSE) build db tests
	$(COMPOSE) run --rm $(DOCKER_WORKERS) tests $(SHARD_ARGS) $(PYTEST_ARGS); rc=$$?; \
		$(COMPOSE) down -v --remove-orphans >/dev/null 2>&1; exit $$rc

test-fast: $(TEST_STAMP) ## test minus the tests marked slow (embedded servers; no SHARD)
	cd backend && ../$(BIN)/pytest -n $(WORKERS) -m "not slow" $(PYTEST_ARGS)

test-coverage: $(TEST_STAMP) ## test + coverage of backend/app, fails under 90 % (embedded; in check)
	cd backend && ../$(BIN)/pytest -n $(WORKERS) -p randomly --cov=app \
		--cov-report=term-missing:skip-covered --cov-fail-under=90 $(PYTEST_ARGS)

test-repeat: $(TEST_STAMP) ## test REPEAT times, -n 2, a new random order each; stops at a failure, prints its seed
	@$(SCRIPT_ENV) scripts/test-repeat.sh $(REPEAT) $(PYTEST_ARGS)

test-shards: $(TEST_STAMP) ## Runs no test: checks SHARD=1/3..3/3 are disjoint and cover the suite
	$(BIN)/python scripts/check_shards.py --splits 3

##@ pgstack itself (pgstack/tests, examples/, e2e/)

test-pgstack: $(STAMP) ## pgstack's tests minus reliability (each runs an inner pytest on real servers)
	cd pgstack && ../$(BIN)/pytest -n $(WORKERS) -m "not reliability" $(PYTEST_ARGS)

test-reliability: $(STAMP) ## pgstack's reliability tests only: killed servers, signals, 8 runs at once, full tmpfs
	cd pgstack && ../$(BIN)/pytest -n $(WORKERS) -m reliability $(PYTEST_ARGS)

examples/%/.venv/.installed: examples/%/requirements.txt requirements-dev.txt pgstack/pyproject.toml
	@mkdir -p examples/$*/.venv
	scripts/example-constraints.sh examples/$*/requirements.txt requirements-dev.txt \
		> examples/$*/.venv/constraints.txt
	$(INSTALL) examples/$*/.venv -c examples/$*/.venv/constraints.txt \
		-r examples/$*/requirements.txt -e './pgstack[embedded]'
	@touch $@

test-examples: $(EXAMPLES:%=%/.venv/.installed) ## Each example project's suite in its own venv, -n 2 (fastapi-sqlmodel and django also -n 4)
	@set -e; for example in $(EXAMPLES); do \
		echo "== $$example: pytest -n $(EXAMPLE_WORKERS)"; \
		(cd $$example && .venv/bin/pytest -n $(EXAMPLE_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)); \
	done
	@echo "== examples/fastapi-sqlmodel: pytest -n 4 (an unmodified suite that breaks on a shared database)"
	cd examples/fastapi-sqlmodel && .venv/bin/pytest -n 4 -q -p no:cacheprovider $(PYTEST_ARGS)
	@echo "== examples/django: pytest -n 4 (two database aliases, each with a clone per worker)"
	cd examples/django && .venv/bin/pytest -n 4 -q -p no:cacheprovider $(PYTEST_ARGS)

test-compose: $(STAMP) ## The compose stack, and the compose template rendered into each example, end to end (e2e/); without Docker: a warning, in CI: an error
	@$(SCRIPT_ENV) scripts/test-compose.sh $(PYTEST_ARGS)

check-package: $(STAMP) ## pgstack's sdist + wheel: twine check, then a smoke suite on the wheel in a clean venv
	scripts/check-package.sh $(BIN)/python

##@ Servers that outlive runs

up: up-$(SERVERS) ## Start them: SERVERS=embedded: `pgstack up` (persistent servers); compose: the stack's db + redis

up-embedded: $(TEST_STAMP)
	$(BIN)/pgstack --project backend up

up-compose:
	$(COMPOSE) up -d --wait db redis

down: down-$(SERVERS) ## Stop what up started (compose: also removes containers, networks, volumes)

down-embedded: $(TEST_STAMP)
	$(BIN)/pgstack --project backend down

down-compose:
	$(COMPOSE) down -v --remove-orphans

##@ Tools

venv: $(STAMP) ## Create .venv with pinned dependencies (every target does on first use)

# Versions come from requirements-dev.txt either way (-c: constraints). Where
# PYTHONDONTWRITEBYTECODE is set the sources are compiled too: see scripts/install.sh.
COMPILE_SOURCES := $(if $(PYTHONDONTWRITEBYTECODE),$(BIN)/python -m compileall -q -j 0 \
	-x compose_template pgstack/src backend/app)

$(TEST_STAMP): requirements-dev.txt pgstack/pyproject.toml backend/pyproject.toml
	$(INSTALL) $(VENV) -c requirements-dev.txt setuptools
	$(INSTALL) $(VENV) -c requirements-dev.txt --no-build-isolation -e ./pgstack -e './backend[test]'
	@$(COMPILE_SOURCES)
	@touch $@

# After TEST_STAMP (order only): with make -j the two never install into .venv at once.
$(STAMP): requirements-dev.txt pgstack/pyproject.toml backend/pyproject.toml | $(TEST_STAMP)
	$(INSTALL) $(VENV) -r requirements-dev.txt
	$(INSTALL) $(VENV) --no-deps --no-build-isolation -e ./pgstack -e ./backend
	@$(COMPILE_SOURCES)
	@touch $@ $(TEST_STAMP)

lint: $(STAMP) ## ruff lint + format check, mypy (strict, pgstack/src), compose-lint, compose files vs the template (changes nothing)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --config-file pgstack/mypy.ini
	$(BIN)/compose-lint docker-compose.test.yml
	$(BIN)/compose-lint .devcontainer/docker-compose.devcontainer.yml
	@echo "== the compose files against the template's render (make compose-files renders them)"
	$(BIN)/pgstack --project backend init --compose --check

compose-files: $(STAMP) ## Render the compose stack's files from the template (pgstack/src/pgstack/compose_template), answers in .pgstack-answers.yml; shows each diff
	$(BIN)/pgstack --project backend init --compose --force

format: $(STAMP) ## Apply ruff's fixes and formatting (rewrites files)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

images: ## Build offline stand-ins for the postgres/redis/python images (no registry)
	scripts/build-offline-images.sh

BENCH_VENV := benchmarks/.venv
$(BENCH_VENV)/.installed: benchmarks/requirements.txt pgstack/pyproject.toml
	$(INSTALL) $(BENCH_VENV) -r benchmarks/requirements.txt -e './pgstack[embedded]'
	@touch $@

bench: $(STAMP) $(BENCH_VENV)/.installed ## Every benchmark variant in one run → docs/benchmarks/results.md + .png
	$(BENCH_VENV)/bin/python benchmarks/run.py

bench-signals: $(STAMP) ## Signal → exit of an interrupted `pytest -n 2` run (docker stop allows 10 s)
	$(BIN)/python benchmarks/signals.py --repeat $(or $(BENCH_REPEAT),5)

clean: ## Remove the venvs (.venv, examples', benchmarks') and caches
	rm -rf $(VENV) examples/*/.venv $(BENCH_VENV) .pytest_cache .ruff_cache */.pytest_cache

# Older target names, kept so commands and CI configurations that use them keep working.
test-backend: test-coverage
test-local: test-embedded
up-local: up-embedded
up-docker: up-compose
down-local: down-embedded
down-docker: down-compose
