"""pytest hooks for the run's lifecycle: start it in the controller, give each worker its database.

A worker's coordinates are in the environment *before* the project's conftest.py is
imported (settings objects that read DATABASE_URL at import time see their own database):

- controller (the xdist master, or the only process): ``pytest_load_initial_conftests``
  spawns the servers and exports the URLs, without waiting, so the servers boot while
  pytest imports the conftest; ``pytest_configure`` waits for them, builds the template and
  clones the controller's own database ("main"; under xdist it only serves conftest code).
  Connections work from ``pytest_configure`` on.
- xdist worker (spawned after the controller's configure): clones its database in
  ``pytest_load_initial_conftests``, then exports its URL.

Servers stop at the controller's exit. Plain values reach workers through the inherited
environment.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from pathlib import Path

import pytest

from pgstack import environment, urls
from pgstack.errors import PgstackError
from pgstack.launch import launch_run
from pgstack.progress import StreamReport
from pgstack.pytest_plugin.signals import interrupt_on_signals
from pgstack.pytest_plugin.state import STATE_KEY, PluginState
from pgstack.redis_slots import worker_redis_url
from pgstack.run import start_run
from pgstack.run_plan import PLAN_ENV, RunPlan, worker_database
from pgstack.settings import load_settings, read_pyproject_table
from pgstack.worker import open_worker

ENABLE_ENV = "PGSTACK_ENABLE"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pgstack", "pgstack: real PostgreSQL and Redis per test run")
    group.addoption(
        "--no-pgstack",
        action="store_true",
        default=False,
        help="Do not start servers or create databases for this run.",
    )
    group.addoption(
        "--pgstack-keep",
        action="store_true",
        default=False,
        help="Keep every database of this run for inspection (on the `pgstack up` servers, "
        "started if needed) and print how to connect. `pgstack clean --kept` drops them.",
    )


def _project_dir(config: pytest.Config) -> Path:
    inipath = config.inipath
    return inipath.parent if inipath is not None else config.rootpath


def _worker_plan() -> RunPlan | None:
    """The plan of our xdist controller, if this process is one of its workers.

    The parent-pid check ignores a plan inherited from an unrelated outer pytest run.
    """
    text = os.environ.get(PLAN_ENV)
    if not text or not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    plan = RunPlan.from_json(text)
    return plan if plan.controller_pid == os.getppid() else None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    config = early_config
    if config.known_args_namespace.no_pgstack:
        config.stash[STATE_KEY] = PluginState(False, "disabled with --no-pgstack")
        return
    project_dir = _project_dir(config)
    try:
        configured = read_pyproject_table(project_dir / "pyproject.toml") is not None
    except PgstackError as exc:
        raise pytest.UsageError(f"pgstack: {exc}") from exc
    if not configured and os.environ.get(ENABLE_ENV, "") not in {"1", "true", "yes"}:
        config.stash[STATE_KEY] = PluginState(
            False,
            f"no [tool.pgstack] table in {project_dir / 'pyproject.toml'} "
            f"(add one, or set {ENABLE_ENV}=1)",
        )
        return
    try:
        _start(config, project_dir)
    except PgstackError as exc:
        raise pytest.UsageError(f"pgstack: {exc}") from exc


def _overrides(config: pytest.Config) -> dict[str, object]:
    """Settings the command line gives: pgstack's own options, and pytest-django's that
    decide the template (--ds, --no-migrations, --create-db)."""
    options = config.known_args_namespace
    overrides: dict[str, object] = {"keep": options.pgstack_keep or None}
    if _pytest_django_active(config):
        overrides.update(
            django_settings=getattr(options, "ds", None),
            django_no_migrations=getattr(options, "nomigrations", False) or None,
            rebuild=getattr(options, "create_db", False) or None,
        )
    return overrides


def _pytest_django_active(config: pytest.Config) -> bool:
    """pytest-django is loaded (by its entry point, or ``-p pytest_django.plugin``)."""
    module = sys.modules.get("pytest_django.plugin")
    return module is not None and config.pluginmanager.is_registered(module)


def _start(config: pytest.Config, project_dir: Path) -> None:
    settings = load_settings(project_dir, overrides=_overrides(config))
    environment.load_env_file(settings.env_file)
    state = PluginState(True, settings=settings)
    config.stash[STATE_KEY] = state
    config.add_cleanup(lambda: _shutdown(state))
    atexit.register(_shutdown, state)  # also when pytest stops before configure
    plan = _worker_plan()
    interrupt_on_signals(worker=plan is not None)
    if plan is not None:
        state.plan = plan
        _open_worker(state, plan, os.environ["PYTEST_XDIST_WORKER"])
        return
    os.environ.pop(PLAN_ENV, None)
    state.launch = launch = launch_run(settings)
    # The controller imports conftest.py too (also under xdist, where it runs no tests), so
    # it gets a database like any worker: settings read at import time always resolve.
    # The database is created in pytest_configure; its URL is already known.
    name = worker_database(settings.prefix, launch.run_id, "main")
    redis_url = None
    claimed = launch.claim_redis(1)  # before the conftest reads REDIS_URL
    if claimed and launch.redis_url is not None:
        redis_url = worker_redis_url(launch.redis_url, "main", claimed)
    _export_coordinates(
        state,
        settings.database_url_env,
        settings.redis_url_env,
        settings.env,
        urls.with_database(launch.admin_url, name),
        redis_url,
    )


def _open_worker(state: PluginState, plan: RunPlan, worker_id: str) -> None:
    state.worker = worker = open_worker(plan, worker_id)
    _export_coordinates(
        state, plan.database_url_env, plan.redis_url_env, plan.env, worker.url, worker.redis_url
    )


def _export_coordinates(
    state: PluginState,
    url_env: str,
    redis_url_env: str,
    mapping: dict[str, str],
    url: str,
    redis_url: str | None,
) -> None:
    """This process's database (and Redis) in every variable the project reads."""
    state.exports.set(url_env, url)
    if redis_url is not None:
        state.exports.set(redis_url_env, redis_url)
    for name, value in environment.mapped(mapping, url, redis_url).items():
        state.exports.set(name, value)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Controller: wait for the servers, build the template, clone (before xdist spawns)."""
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.enabled:
        _take_over_django(config, state)
    if state is None or state.launch is None:
        return
    launch, state.launch = state.launch, None
    workers = len(config.getoption("tx", None) or [])  # xdist's, once -n is resolved
    try:
        state.run = start_run(launch, redis_databases=workers, report=_progress_report(config))
        state.plan = state.run.plan
        state.exports.set(PLAN_ENV, state.plan.to_json())
        _open_worker(state, state.plan, "main")
    except PgstackError as exc:
        raise pytest.UsageError(f"pgstack: {exc}") from exc


def _progress_report(config: pytest.Config) -> StreamReport:
    """A long template build's progress, on the terminal pytest writes to, past its
    output capture (which is on while plugins configure)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    around = capture.global_and_fixture_disabled if capture is not None else contextlib.nullcontext
    return StreamReport(lambda: sys.stderr, around)


def _take_over_django(config: pytest.Config, state: PluginState) -> None:
    """With migrator = "django" and pytest-django active, pgstack's django_db_setup serves
    every test, wherever it is: no conftest import needed."""
    if state.settings is None or state.settings.migrator != "django":
        return
    if not _pytest_django_active(config):
        return
    from pgstack import django

    if not config.pluginmanager.is_registered(django):
        config.pluginmanager.register(django, "pgstack.django")
    state.django = True


def _shutdown(state: PluginState) -> None:
    try:
        if state.launch is not None:  # pytest stopped before configure
            launch, state.launch = state.launch, None
            launch.abort()
        if state.worker is not None:
            worker, state.worker = state.worker, None
            worker.close()
    finally:
        try:
            if state.run is not None:
                run, state.run = state.run, None
                run.close()
        finally:
            state.exports.restore()
