"""pytest hooks: start the stack in the controller, give each worker its database.

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
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pgstack import environment, health, urls
from pgstack.errors import PgstackError
from pgstack.ownership import owned_databases
from pgstack.pytest_plugin.signals import interrupt_on_signals
from pgstack.settings import Settings, load_settings, read_pyproject_table
from pgstack.stack import (
    PLAN_ENV,
    Launch,
    RunPlan,
    Stack,
    Worker,
    claim_redis,
    finish_stack,
    launch_stack,
    open_worker,
    redis_url_for_worker,
    worker_database,
)

ENABLE_ENV = "PGSTACK_ENABLE"


@dataclass
class PluginState:
    """What the fixtures need; lives in ``config.stash``."""

    enabled: bool
    reason: str = ""
    settings: Settings | None = None
    launch: Launch | None = None  # controller, between load_initial_conftests and configure
    stack: Stack | None = None  # only in the process that owns the servers
    worker: Worker | None = None  # in every process that runs tests
    plan: RunPlan | None = None
    saved_env: dict[str, str | None] = field(default_factory=dict)
    lost: str | None = None  # a server went away mid-run: why, and what to do


STATE_KEY = pytest.StashKey[PluginState]()


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
        help="Keep every database of this run for inspection (on the `pgstack up` stack, "
        "started if needed) and print how to connect. `pgstack clean --kept` drops them.",
    )


def _project_dir(config: pytest.Config) -> Path:
    inipath = config.inipath
    return inipath.parent if inipath is not None else config.rootpath


def _load_env_file(settings: Settings) -> None:
    path = settings.path(settings.env_file)
    if path is None:
        return
    if not path.is_file():
        raise PgstackError(
            f"env_file {path} (from [tool.pgstack] env_file or PGSTACK_ENV_FILE) not found."
        )
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


def _export(state: PluginState, name: str, value: str) -> None:
    state.saved_env.setdefault(name, os.environ.get(name))
    os.environ[name] = value


def _restore_env(state: PluginState) -> None:
    for name, value in state.saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    state.saved_env.clear()


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


def _start(config: pytest.Config, project_dir: Path) -> None:
    keep = config.known_args_namespace.pgstack_keep or None
    settings = load_settings(project_dir, overrides={"keep": keep})
    _load_env_file(settings)
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
    state.launch = launch = launch_stack(settings)
    # The controller imports conftest.py too (also under xdist, where it runs no tests), so
    # it gets a database like any worker: settings read at import time always resolve.
    # The database is created in pytest_configure; its URL is already known.
    name = worker_database(settings.prefix, launch.run_id, "main")
    redis_url = None
    claimed = claim_redis(launch, 1)  # before the conftest reads REDIS_URL
    if claimed and launch.redis_url is not None:
        redis_url = redis_url_for_worker(launch.redis_url, "main", claimed)
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
    _export(state, url_env, url)
    if redis_url is not None:
        _export(state, redis_url_env, redis_url)
    for name, value in environment.mapped(mapping, url, redis_url).items():
        _export(state, name, value)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Controller: wait for the servers, build the template, clone (before xdist spawns)."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or state.launch is None:
        return
    launch, state.launch = state.launch, None
    workers = len(config.getoption("tx", None) or [])  # xdist's, once -n is resolved
    try:
        state.stack = finish_stack(launch, redis_databases=workers)
        state.plan = state.stack.plan
        _export(state, PLAN_ENV, state.plan.to_json())
        _open_worker(state, state.plan, "main")
    except PgstackError as exc:
        raise pytest.UsageError(f"pgstack: {exc}") from exc


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
            if state.stack is not None:
                stack, state.stack = state.stack, None
                stack.close()
        finally:
            _restore_env(state)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.enabled:
        return [f"pgstack: off ({state.reason})"] if state is not None else None
    plan = state.plan
    stack = state.stack
    if plan is None or stack is None:
        return None
    where = stack.launch.source
    if stack.postgres is not None:
        where = f"embedded, binaries {stack.postgres.bin_dir}, data {stack.postgres.data_dir}"
    t = stack.timings
    lines = [
        f"pgstack: run {plan.run_id}, PostgreSQL {urls.describe(plan.admin_url)} ({where}), "
        f"template {plan.template} ({'built' if stack.template_built else 'reused'})",
        f"pgstack: ready in {t.get('template', 0):.2f} s (postgres {t.get('postgres', 0):.2f} s, "
        f"redis {t.get('redis', 0) - t.get('postgres', 0):.2f} s, "
        f"template {t.get('template', 0) - t.get('redis', 0):.2f} s)",
    ]
    lines.append(
        f"pgstack: each process gets its own clone {plan.prefix}_{plan.run_id}_<worker> "
        f"(main, gw0, gw1, …) in {plan.database_url_env}"
        + (", kept after the run (--pgstack-keep)" if plan.keep else "")
    )
    if plan.redis_url is not None:
        dbs = ", ".join(map(str, plan.redis_dbs))
        lines.append(
            f"pgstack: Redis {urls.masked(plan.redis_url)}, databases {dbs} (held for this run)"
        )
    if stack.collected:
        lines.append(f"pgstack: dropped leftovers of dead runs: {', '.join(stack.collected)}")
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """With --pgstack-keep: which databases stay, and how to reach them (URLs without their
    password: this lands in CI logs; `pgstack psql` passes it to psql unseen)."""
    state = terminalreporter.config.stash.get(STATE_KEY, None)
    if state is None or state.stack is None or not state.stack.plan.keep:
        return
    plan = state.stack.plan
    names = sorted(
        name
        for name, marker in owned_databases(state.stack.lease.connection, plan.prefix)
        if marker.run == plan.run_id and marker.kind != "template"
    )
    terminalreporter.section("pgstack: kept databases")
    for name in names:
        url = urls.masked(urls.with_database(plan.admin_url, name))
        terminalreporter.write_line(f"{name}: psql {url}")
    terminalreporter.write_line(
        "Also: `pgstack psql <name>`. They stay until `pgstack clean --kept` or `pgstack down`."
    )


FRESH_KEY = pytest.StashKey[object]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Stop the run if a server went away; keep a failed test's fresh database."""
    report = yield
    if not report.failed:
        return report
    state = item.config.stash.get(STATE_KEY, None)
    if (
        state is not None
        and state.plan is not None
        and health.mentions_disk_full(report.longreprtext)
    ):
        report.sections.append(("pgstack: disk full", health.disk_full_hint(state.plan.tmp_dir)))
    lost = _lost_server(item.config, call)
    if lost is not None:
        report.sections.append(("pgstack: server lost", lost))
        item.session.shouldfail = lost  # xdist passes it on: the whole run stops
        return report
    fresh = item.stash.get(FRESH_KEY, None)
    if fresh is not None and report.when in {"call", "setup"}:
        note = fresh.keep()  # type: ignore[attr-defined]
        if note:
            report.sections.append(("pgstack: kept database", note))
    return report


def _lost_server(config: pytest.Config, call: pytest.CallInfo[None]) -> str | None:
    """Why the servers cannot serve this run any more, if a connection error says so."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or state.plan is None:
        return None
    if state.lost is not None:
        return state.lost
    if call.excinfo is None or not health.is_connection_error(call.excinfo.value):
        return None
    plan = state.plan
    state.lost = health.postgres_gone(
        plan.admin_url, plan.database_url_env, origin=plan.postgres_from
    )
    if state.lost is None and plan.redis_url is not None:
        state.lost = health.redis_gone(plan.redis_url, plan.redis_url_env, origin=plan.redis_from)
    return state.lost
