"""What a run prints: the header (where the servers are, what each phase took) and, with
--pgstack-keep, the databases kept and how to reach them. URLs never show a password."""

from __future__ import annotations

import pytest

from pgstack import urls
from pgstack.inventory import Inventory
from pgstack.pytest_plugin.state import STATE_KEY
from pgstack.run import Run
from pgstack.run_plan import RunPlan
from pgstack.template import stale_note


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.enabled:
        return [f"pgstack: off ({state.reason})"] if state is not None else None
    if state.plan is None or state.run is None:
        return None
    lines = header_lines(state.plan, state.run)
    if state.django and state.settings is not None:
        lines.append(django_line(state.plan, state.settings.django_no_migrations))
    return lines


def django_line(plan: RunPlan, no_migrations: bool) -> str:
    """Said once: pytest-django's database flags mean something else on pgstack."""
    aliases = "".join(f", {alias} from {name}" for alias, name in plan.alias_templates.items())
    tables = " (--no-migrations: tables from the models)" if no_migrations else ""
    return (
        f"pgstack: Django uses each process's clone as its test database{tables}{aliases}; "
        "it is always reused (pytest-django's --reuse-db), --create-db builds the template again"
    )


def header_lines(plan: RunPlan, run: Run) -> list[str]:
    where = run.launch.sources.label
    if run.postgres is not None:
        where = f"embedded, binaries {run.postgres.bin_dir}, data {run.postgres.data_dir}"
    lines = [
        f"pgstack: run {plan.run_id}, PostgreSQL {urls.describe(plan.admin_url)} ({where}), "
        f"template {plan.template} ({run.template_state})",
        ready_line(run),
        f"pgstack: each process gets its own clone {plan.prefix}_{plan.run_id}_<worker> "
        f"(main, gw0, gw1, …) in {plan.database_url_env}"
        + (", kept after the run (--pgstack-keep)" if plan.keep else ""),
    ]
    if plan.redis_url is not None:
        dbs = ", ".join(map(str, plan.redis_dbs))
        lines.append(
            f"pgstack: Redis {urls.masked(plan.redis_url)}, databases {dbs} (held for this run)"
        )
    if run.template.stale is not None:
        lines.append(f"pgstack: {stale_note(plan.template, run.template.stale)}")
    if run.collected:
        lines.append(f"pgstack: dropped leftovers of dead runs: {', '.join(run.collected)}")
    return lines


def ready_line(run: Run) -> str:
    """Each phase named for what it is: pytest's own start-up (conftest files, plugins) is
    not PostgreSQL's, even though the servers this run started booted during it (and a
    server it found, such as ``pgstack up``'s, did not start at all)."""
    t = run.timings
    startup = t.get("configured", 0.0)
    postgres = t.get("postgres", startup)
    redis = t.get("redis", postgres)
    template = t.get("template", redis)
    started = [
        name
        for name, server in (("postgres", run.postgres), ("redis", run.launch.redis))
        if server is not None
    ]
    meanwhile = f" ({' and '.join(started)} started meanwhile)" if started else ""
    how = ""
    if run.postgres is not None and run.postgres.from_cache:
        how = ", found in the migrated cluster a previous run left"
    elif run.postgres is not None and run.template.built and run.postgres.cache_key:
        how = ", its cluster is kept for the next run"
    return (
        f"pgstack: ready in {template:.2f} s: pytest start-up {startup:.2f} s{meanwhile}, "
        f"then waited {postgres - startup:.2f} s for postgres and "
        f"{redis - postgres:.2f} s for redis, template {template - redis:.2f} s{how}"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """With --pgstack-keep: which databases stay, and how to reach them (URLs without their
    password: this lands in CI logs; `pgstack psql` passes it to psql unseen)."""
    state = terminalreporter.config.stash.get(STATE_KEY, None)
    if state is None or state.run is None or not state.run.plan.keep:
        return
    plan = state.run.plan
    inventory = Inventory.take(state.run.lease.connection, plan.prefix)
    names = sorted(entry.name for entry in inventory.of_run(plan.run_id))
    terminalreporter.section("pgstack: kept databases")
    for name in names:
        url = urls.masked(urls.with_database(plan.admin_url, name))
        terminalreporter.write_line(f"{name}: psql {url}")
    terminalreporter.write_line(
        "Also: `pgstack psql <name>`. They stay until `pgstack clean --kept` or `pgstack down`."
    )
