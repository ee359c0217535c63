"""``pgstack``: the stack from the command line, over the functions the plugin uses.

Commands work on the project whose pyproject.toml is in the current folder (or
``--project``), and on its server: ``DATABASE_URL`` when set, else the ``pgstack up`` stack.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import click

from pgstack import admin, janitor, persistent, safety, urls
from pgstack.errors import ConfigError, PgstackError
from pgstack.ownership import Marker, RunLease, live_runs, new_run_id, owned_databases
from pgstack.settings import Settings, load_settings
from pgstack.stack import template_spec
from pgstack.template import ensure_template

pass_settings = click.make_pass_decorator(Settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Folder of the pyproject.toml with [tool.pgstack].",
)
@click.pass_context
def main(ctx: click.Context, project: Path) -> None:
    """Real PostgreSQL and Redis for test runs: persistent stack, inspection, cleanup."""
    try:
        ctx.obj = load_settings(project.resolve())
    except PgstackError as exc:
        raise click.ClickException(str(exc)) from exc


def _server(settings: Settings) -> tuple[str, str | None, str]:
    """(postgres URL, redis URL, where from) of the server commands work on."""
    if settings.database_url is not None:
        return urls.libpq_url(settings.database_url), settings.redis_url, "DATABASE_URL"
    state = persistent.running(settings)
    if state is not None:
        return state.postgres_url, settings.redis_url or state.redis_url, "pgstack up"
    raise ConfigError(
        f"No server to work on: {settings.database_url_env} is not set and no `pgstack up` "
        f"stack runs for {settings.project_dir}. Run `pgstack up`, or set "
        f"{settings.database_url_env}."
    )


def _build_template(settings: Settings, url: str) -> str:
    run_id = new_run_id()
    lease = RunLease(url, run_id)  # the template's builder must look alive while it builds
    try:
        result = ensure_template(url, template_spec(settings), run_id=run_id)
    finally:
        lease.close()
    state = "built" if result.built else "reused"
    return f"template {result.name} {state} in {result.seconds:.2f} s"


@main.command()
@click.option("--no-template", is_flag=True, help="Start the servers only.")
@pass_settings
def up(settings: Settings, no_template: bool) -> None:
    """Start a persistent stack for this project (or keep the running one).

    Test runs without DATABASE_URL then use it: no server start, the template reused.
    """
    started = time.monotonic()
    state, new = persistent.start(settings)
    click.echo(
        f"pgstack: {'started' if new else 'already running'}: PostgreSQL {state.postgres_url}"
    )
    if state.redis_url:
        click.echo(f"pgstack: Redis {state.redis_url}")
    if not no_template:
        click.echo(f"pgstack: {_build_template(settings, state.postgres_url)}")
    click.echo(f"pgstack: ready in {time.monotonic() - started:.2f} s. Runs of this project use it")
    click.echo('until `pgstack down`; `eval "$(pgstack env)"` exports its URLs to your shell.')


@main.command()
@pass_settings
def down(settings: Settings) -> None:
    """Stop the persistent stack and delete its data (every database on it)."""
    state = persistent.stop(settings)
    if state is None:
        click.echo("pgstack: no stack was running for this project.")
    else:
        click.echo(f"pgstack: stopped PostgreSQL (pid {state.postgres_pid}) and its data.")


@main.command()
@pass_settings
def status(settings: Settings) -> None:
    """Show the persistent stack and what pgstack owns on it. Exit 3 when it is down."""
    state = persistent.load(settings)
    if state is None or not state.alive():
        click.echo(f"pgstack: no stack running for {settings.project_dir} (`pgstack up`).")
        sys.exit(3)
    uptime = time.time() - state.started_at
    click.echo(f"stack      {persistent.state_dir(settings)} (up {uptime / 60:.0f} min)")
    click.echo(f"postgres   {state.postgres_url} (pid {state.postgres_pid})")
    if state.redis_url:
        click.echo(f"redis      {state.redis_url} (pid {state.redis_pid})")
    current = template_spec(settings).name()
    with admin.connect(state.postgres_url) as conn:
        alive = live_runs(conn)
        owned = owned_databases(conn, settings.prefix)
    for name, marker in owned:
        if marker.kind == "template":
            label = "old"
            if name == current:
                label = "current"
            elif marker.project != settings.project_dir.name:
                label = f"of project {marker.project}"
            click.echo(f"template   {name} ({marker.state}, {label})")
    workers = [m for _, m in owned if m.kind != "template"]
    click.echo(
        f"databases  {len(workers)} ({sum(m.run in alive for m in workers)} of live runs, "
        f"{sum(m.kept for m in workers)} kept); live runs: {len(alive)}"
    )


@main.command()
@pass_settings
def env(settings: Settings) -> None:
    """Print `export` lines for the server's URLs, for `eval "$(pgstack env)"`."""
    url, redis_url, _ = _server(settings)
    click.echo(f"export {settings.database_url_env}={shlex.quote(url)}")
    if redis_url:
        click.echo(f"export {settings.redis_url_env}={shlex.quote(redis_url)}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("target", default="template")
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@pass_settings
def psql(settings: Settings, target: str, psql_args: tuple[str, ...]) -> None:
    """Open psql on TARGET: `template` (a scratch clone of it, dropped on exit), a worker
    (`main`, `gw0`, …: its database in a live or kept run), or a database pgstack owns.
    More arguments go to psql: `pgstack psql gw0 -c 'select 1'`."""
    url, _, _ = _server(settings)
    binary = _psql_binary(settings)
    if target != "template":
        name = _find_database(url, settings.prefix, target)
        sys.exit(_run_psql(binary, urls.with_database(url, name), psql_args))
    run_id = new_run_id()
    lease = RunLease(url, run_id)
    try:
        template = ensure_template(url, template_spec(settings), run_id=run_id).name
        name = f"{settings.prefix}_{run_id}_inspect"
        from pgstack.clone import clone_database

        clone = clone_database(
            lease.connection,
            template=template,
            name=name,
            marker=Marker(kind="fresh", run=run_id),
            admin_url=url,
        )
        click.echo(f"pgstack: {name} is a scratch clone of {template}; dropped when psql exits.")
        code = _run_psql(binary, clone, psql_args)
        janitor.drop_owned(lease.connection, name, run=run_id)
    finally:
        lease.close()
    sys.exit(code)


def _psql_binary(settings: Settings) -> str:
    from pgstack.servers.binaries import find_postgres_bin

    candidates = []
    with contextlib.suppress(PgstackError):
        candidates.append(str(find_postgres_bin(settings.path(settings.pg_bin)) / "psql"))
    for candidate in [*candidates, shutil.which("psql")]:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigError(
        "psql was not found (next to the PostgreSQL binaries, or on PATH). Install the "
        "PostgreSQL client (e.g. apt install postgresql-client), or use `pgstack env` and "
        "another client."
    )


def _find_database(url: str, prefix: str, target: str) -> str:
    with admin.connect(url) as conn:
        alive = live_runs(conn)
        owned = owned_databases(conn, prefix)
    names = {name for name, marker in owned if marker.kind != "template"}
    if target in names:
        return target
    matches = [n for n, m in owned if n.endswith(f"_{target}") and (m.run in alive or m.kept)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(
            f"No database of a live run (or kept) for {target!r} on {urls.describe(url)}. "
            "`pgstack status` lists what there is; run pytest with --pgstack-keep to keep "
            "a run's databases."
        )
    raise ConfigError(f"Several databases match {target!r}: {', '.join(sorted(matches))}.")


def _run_psql(binary: str, url: str, args: tuple[str, ...]) -> int:
    """psql gets the password in PGPASSWORD: a command line is visible to every account."""
    parsed = urls.parse(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = parsed.password
    return subprocess.call([binary, replace(parsed, password=None).render(), *args], env=env)


@main.command()
@click.option("--kept", is_flag=True, help="Also drop failed tests' and --pgstack-keep databases.")
@click.option(
    "--templates", is_flag=True, help="Also drop the current template (the next run rebuilds it)."
)
@pass_settings
def clean(settings: Settings, kept: bool, templates: bool) -> None:
    """Drop databases of dead runs, and this project's templates of older schemas (proven
    ours by marker; other projects' templates on a shared server stay)."""
    url, _, source = _server(settings)
    current = template_spec(settings).name()
    with admin.connect(url) as conn:
        if source == "DATABASE_URL":
            safety.check_target(url, settings, conn)
        dropped = janitor.collect_dead(conn, settings.prefix)
        alive = live_runs(conn)
        for name, marker in owned_databases(conn, settings.prefix):
            old_template = (
                marker.kind == "template"
                and marker.project == settings.project_dir.name
                and (name != current or templates)
                and not alive
            )
            dead_kept = kept and marker.kept and marker.run not in alive
            if (old_template or dead_kept) and janitor.drop_owned(conn, name, run=marker.run):
                dropped.append(name)
    for name in dropped:
        click.echo(f"dropped {name}")
    note = " (old templates stay while a run is live)" if alive else ""
    click.echo(f"pgstack: {len(dropped)} database(s) dropped on {urls.describe(url)}{note}")


@main.command(name="list")
@pass_settings
def list_databases(settings: Settings) -> None:
    """List the databases pgstack owns on the server, with their run's state."""
    url, _, _ = _server(settings)
    with admin.connect(url) as conn:
        alive = live_runs(conn)
        for name, marker in owned_databases(conn, settings.prefix):
            status = "live" if marker.run in alive else "dead"
            extra = " kept" if marker.kept else ""
            click.echo(f"{name}\t{marker.kind}\t{marker.state}\trun {marker.run} ({status}){extra}")


@main.command()
@pass_settings
def prepare(settings: Settings) -> None:
    """Wait for the server and build (or reuse) the template: the compose runner's step."""
    from pgstack.stack import start_stack

    if settings.database_url is None:
        _server(settings)  # the same clear error when there is nothing to prepare
    stack = start_stack(settings)
    try:
        state = "built" if stack.template_built else "reused"
        click.echo(
            f"pgstack: template {stack.plan.template} {state} on "
            f"{urls.describe(stack.plan.admin_url)}"
        )
    finally:
        stack.close()


@main.command()
@pass_settings
def doctor(settings: Settings) -> None:
    """Check everything a run needs and say what to do about each problem. Exit 1 on any
    failure."""
    from pgstack.doctor import FAIL, run_checks

    checks = run_checks(settings)
    width = max(len(check.name) for check in checks)
    for check in checks:
        click.echo(f"{check.status:>4}  {check.name:<{width}}  {check.detail}")
        if check.fix and check.status != "ok":
            click.echo(f"      {'':<{width}}  fix: {check.fix}")
    if any(check.status == FAIL for check in checks):
        sys.exit(1)


def run() -> None:
    """Console entry point: pgstack's own errors become one clear line and exit 2."""
    try:
        main(standalone_mode=True)
    except PgstackError as exc:  # pragma: no cover - click wraps most of them
        click.echo(f"pgstack: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    run()
