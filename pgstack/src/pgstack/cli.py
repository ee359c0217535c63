"""``pgstack``: the servers and databases of test runs, from the command line.

Subcommands work on the project ``pgstack.project_root`` finds (the nearest pyproject.toml
with ``[tool.pgstack]`` at or above the current folder, or ``--project``), and on the server
``pgstack.server_sources`` finds for it: ``DATABASE_URL`` when set, else the ``pgstack up``
servers.
"""

from __future__ import annotations

import functools
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pgstack import admin, environment, janitor, persistent, target_rules, urls
from pgstack.alias_templates import ensure_alias_templates, template_names
from pgstack.errors import PgstackError
from pgstack.inventory import Inventory
from pgstack.ownership import RunLease, new_run_id
from pgstack.progress import StreamReport
from pgstack.project_root import find_project, nearest_pyproject_folder
from pgstack.psql import open_psql
from pgstack.run_plan import FROM_ENV
from pgstack.server_sources import require_server
from pgstack.settings import Settings, load_settings, read_pyproject_table
from pgstack.template import ensure_template, stale_note
from pgstack.template_spec import template_spec

if TYPE_CHECKING:
    from pgstack.compose_files import Plan
    from pgstack.project_scan import Finding

F = TypeVar("F", bound=Callable[..., Any])


def pass_settings(command: F) -> F:
    """Give the command the project's Settings, loaded when it runs (``init`` needs none)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        project: Path | None = click.get_current_context().find_root().params["project"]
        try:
            folder = project.resolve() if project is not None else find_project(Path.cwd())
            settings = load_settings(folder)
        except PgstackError as exc:
            raise click.ClickException(str(exc)) from exc
        return command(settings, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the pyproject.toml with [tool.pgstack] (default: the nearest one at or "
    "above the current folder).",
)
def main(project: Path | None) -> None:
    """Real PostgreSQL and Redis for test runs: persistent servers, inspection, cleanup."""


def _note(line: str) -> None:
    """pgstack's own lines around another program's output go to stderr."""
    click.echo(line, err=True)


def _server(settings: Settings) -> str:
    """The PostgreSQL URL the subcommands work on (see ``pgstack.server_sources``)."""
    url = require_server(settings).postgres_url
    assert url is not None
    return url


def _report() -> StreamReport:
    """A long template build's progress, on stderr (stdout may be parsed)."""
    return StreamReport(lambda: sys.stderr)


def _build_template(settings: Settings, url: str) -> str:
    run_id = new_run_id()
    lease = RunLease(url, run_id)  # the template's builder must look alive while it builds
    try:
        spec = template_spec(settings)
        report = _report()
        result = ensure_template(url, spec, run_id=run_id, report=report)
        ensure_alias_templates(url, spec, result.name, run_id=run_id, report=report)
    finally:
        lease.close()
    line = f"template {result.name} {result.state} in {result.seconds:.2f} s"
    if result.stale is not None:
        line += f"\npgstack: {stale_note(result.name, result.stale)}"
    return line


@main.command()
@click.option("--check", is_flag=True, help="Compare with what init would write; write nothing.")
@click.option("--force", is_flag=True, help="Replace what differs (after showing the diff).")
@click.option(
    "--compose",
    is_flag=True,
    help="Write the Docker Compose test stack (docker-compose.test.yml, Dockerfile.test, ...) "
    "into the current folder, from pgstack's template.",
)
@click.option(
    "--template",
    "template_src",
    default=None,
    help="With --compose: the template to render, a folder or git URL (default: the one in "
    "pgstack). From git, `copier update` can later pull new versions.",
)
@click.option("--vcs-ref", default=None, help="With --template from git: the tag or commit.")
@click.option(
    "--data",
    multiple=True,
    metavar="KEY=VALUE",
    help="With --compose: an answer to the template's questions (repeatable), e.g. "
    "--data postgres_version=15.",
)
def init(
    check: bool,
    force: bool,
    compose: bool,
    template_src: str | None,
    vcs_ref: str | None,
    data: tuple[str, ...],
) -> None:
    """Inspect the project and write its [tool.pgstack] table into pyproject.toml.

    Prints what it found and why. Never replaces an existing table without --force;
    --check exits 1 when the committed table differs from what init finds. With --compose,
    the same for the compose test stack's files: new files are written, a file that differs
    is shown as a diff and replaced only with --force."""
    project: Path | None = click.get_current_context().find_root().params["project"]
    try:
        if compose:
            from pgstack.compose_answers import project_below

            folder = project.resolve() if project is not None else project_below(Path.cwd())
            _init_compose(folder, check, force, template_src, vcs_ref, data)
        else:
            folder = project.resolve() if project else nearest_pyproject_folder(Path.cwd())
            _init_table(folder, check, force)
    except PgstackError as exc:
        raise click.ClickException(str(exc)) from exc


def _init_table(folder: Path, check: bool, force: bool) -> None:
    import tomlkit

    from pgstack.project_scan import scan
    from pgstack.pyproject_table import differences, write_table

    pyproject = folder / "pyproject.toml"
    proposal = scan(folder)
    click.echo(f"pgstack init: {folder}")
    _findings(proposal.findings)
    if check:
        found = differences(read_pyproject_table(pyproject), proposal.table)
        if found:
            click.echo(f"pgstack init --check: {pyproject} differs from what init finds:")
            for line in found:
                click.echo(f"  {line}")
            click.echo("Fix: edit the table, or `pgstack init --force` to replace it.")
            sys.exit(1)
        click.echo(f"pgstack init --check: [tool.pgstack] in {pyproject} matches.")
        return
    click.echo(tomlkit.dumps({"tool": {"pgstack": proposal.table}}).rstrip())
    done = write_table(pyproject, proposal.table, force=force)
    click.echo(f"pgstack init: {done} [tool.pgstack] in {pyproject}.")


def _findings(findings: list[Finding]) -> None:
    width = max(len(finding.topic) for finding in findings)
    for finding in findings:
        click.echo(f"  {finding.topic:<{width}}  {finding.text}")


def _init_compose(
    folder: Path,
    check: bool,
    force: bool,
    template_src: str | None,
    vcs_ref: str | None,
    data: tuple[str, ...],
) -> None:
    from pgstack import compose_answers, compose_files
    from pgstack.project_scan import Finding

    dest = Path.cwd().resolve()
    recorded = compose_answers.recorded_answers(dest)
    answers = compose_answers.detect(folder, dest, compose_answers.parse_data(data), recorded)
    template, vcs_ref = compose_answers.template_source(
        recorded, template_src, vcs_ref, str(compose_files.builtin_template())
    )
    click.echo(f"pgstack init --compose: the test stack of {folder}, into {dest}")
    source = Finding("template", template + (f" at {vcs_ref}" if vcs_ref else ""))
    _findings([source, *answers.findings])
    with compose_files.scratch_folder() as scratch:
        rendered = Path(scratch)
        kept_if_present = compose_files.render(template, answers.values, rendered, vcs_ref)
        plan = compose_files.plan(rendered, dest, kept_if_present)
        for name, diff in plan.diffs.items():
            click.echo(f"\n{name} differs from the template's:\n{diff.rstrip()}")
        for name in plan.created:
            click.echo(f"  {'missing' if check else 'create'}   {name}")
        for name in plan.changed:
            click.echo(f"  {'differs' if check or not force else 'replace'}   {name}")
        for name in plan.kept:
            click.echo(f"  keep      {name} (yours: the template writes it only when missing)")
        if check:
            _check_report(plan)
            return
        if plan.changed and not force:
            raise compose_answers.ComposeInitError(
                f"{len(plan.changed)} file(s) of yours differ from the template's (diffs "
                "above); nothing was written. Keep yours and change the answers "
                f"(--data, {compose_answers.ANSWERS_FILE}), or rerun with --force to replace "
                "them (commit yours first)."
            )
        compose_files.apply(rendered, dest, plan.created + plan.changed)
    if not plan.created and not plan.changed:
        click.echo("pgstack init --compose: nothing to do, every file matches the template.")
        return
    click.echo(
        f"pgstack init --compose: wrote {len(plan.created) + len(plan.changed)} file(s). "
        "Run the suite: docker compose -f docker-compose.test.yml run --rm tests"
    )
    if answers.values.get("makefile") == "include":
        click.echo("Your Makefile is yours: add `include pgstack.mk` to it for pgstack's targets.")
    if read_pyproject_table(folder / "pyproject.toml") is None:
        _init_table(folder, check=False, force=False)


def _check_report(plan: Plan) -> None:
    """What ``init --compose --check`` found; exit 1 on any missing or differing file."""
    if not plan.created and not plan.changed:
        kept = f"; {len(plan.kept)} kept as yours" if plan.kept else ""
        click.echo(f"pgstack init --compose --check: {len(plan.unchanged)} files match{kept}.")
        return
    fixes = []
    if plan.created:
        fixes.append("`pgstack init --compose` writes the missing files")
    if plan.changed:
        fixes.append(
            "for each diff above, edit your file or the answers, or take the template's "
            "with `pgstack init --compose --force`"
        )
    click.echo(
        f"pgstack init --compose --check: {len(plan.created)} file(s) missing, "
        f"{len(plan.changed)} differ from what the template renders. Fix: " + "; ".join(fixes) + "."
    )
    sys.exit(1)


@main.command()
@click.option("--no-template", is_flag=True, help="Start the servers only.")
@pass_settings
def up(settings: Settings, no_template: bool) -> None:
    """Start persistent servers for this project (or keep the running ones).

    Test runs without DATABASE_URL then use it: no server start, the template reused.
    """
    started = time.monotonic()
    state, new = persistent.start(settings)
    click.echo(
        f"pgstack: {'started' if new else 'already running'}: "
        f"PostgreSQL {urls.masked(state.postgres_url)}"
    )
    if state.redis_url:
        click.echo(f"pgstack: Redis {urls.masked(state.redis_url)}")
    if not no_template:
        click.echo(f"pgstack: {_build_template(settings, state.postgres_url)}")
    click.echo(f"pgstack: ready in {time.monotonic() - started:.2f} s. Runs of this project use it")
    click.echo('until `pgstack down`; `eval "$(pgstack env)"` exports its URLs to your shell.')


@main.command()
@pass_settings
def down(settings: Settings) -> None:
    """Stop the persistent servers and delete their data (every database on them)."""
    state = persistent.stop(settings)
    if state is None:
        click.echo("pgstack: no `pgstack up` servers were running for this project.")
    else:
        click.echo(f"pgstack: stopped PostgreSQL (pid {state.postgres_pid}) and its data.")


@main.command()
@pass_settings
def status(settings: Settings) -> None:
    """Show the persistent servers and what pgstack owns on them. Exit 3 when they are
    down."""
    state = persistent.load(settings)
    if state is None or not state.alive():
        click.echo(f"pgstack: no `pgstack up` servers run for {settings.project_dir}.")
        sys.exit(3)
    uptime = time.time() - state.started_at
    click.echo(f"servers    {persistent.state_dir(settings)} (up {uptime / 60:.0f} min)")
    click.echo(f"postgres   {urls.masked(state.postgres_url)} (pid {state.postgres_pid})")
    if state.redis_url:
        click.echo(f"redis      {urls.masked(state.redis_url)} (pid {state.redis_pid})")
    current = template_names(template_spec(settings))
    with admin.connect(state.postgres_url) as conn:
        inventory = Inventory.take(conn, settings.prefix)
    for entry in inventory.templates():
        label = inventory.template_label(entry, settings.project_dir, current)
        click.echo(f"template   {entry.name} ({entry.marker.state}, {label})")
    clones = inventory.clones()
    click.echo(
        f"databases  {len(clones)} ({sum(e.live for e in clones)} of live runs, "
        f"{sum(e.marker.kept for e in clones)} kept); live runs: {len(inventory.live_runs)}"
    )


@main.command()
@pass_settings
def env(settings: Settings) -> None:
    """Print `export` lines for the server's URLs, for `eval "$(pgstack env)"`.

    The one command that prints passwords: its output is meant for the user's own shell
    (as `eval` input it never shows). Do not run it where the output is logged."""
    found = require_server(settings)
    assert found.postgres_url is not None
    click.echo(f"export {settings.database_url_env}={shlex.quote(found.postgres_url)}")
    if found.redis_url:
        click.echo(f"export {settings.redis_url_env}={shlex.quote(found.redis_url)}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("target", default="template")
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@pass_settings
def psql(settings: Settings, target: str, psql_args: tuple[str, ...]) -> None:
    """Open psql on TARGET: `template` (a scratch clone of it, dropped on exit), a worker
    (`main`, `gw0`, …: its database in a live or kept run), or a database pgstack owns.
    More arguments go to psql: `pgstack psql gw0 -c 'select 1'`."""
    if target.startswith("-"):  # `pgstack psql -Atc '…'`: options only, on the template
        target, psql_args = "template", (target, *psql_args)
    # The note goes to stderr: `pgstack psql -Atc '…'` output is for scripts.
    sys.exit(open_psql(settings, _server(settings), target, psql_args, announce=_note))


@main.command()
@click.option("--kept", is_flag=True, help="Also drop failed tests' and --pgstack-keep databases.")
@click.option(
    "--templates", is_flag=True, help="Also drop the current template (the next run rebuilds it)."
)
@pass_settings
def clean(settings: Settings, kept: bool, templates: bool) -> None:
    """Drop databases of dead runs, and this checkout's templates of older schemas (proven
    ours by marker; other projects' and other checkouts' templates on a shared server stay)."""
    found = require_server(settings)
    url = found.postgres_url
    assert url is not None
    current = template_names(template_spec(settings))
    with admin.connect(url) as conn:
        if found.postgres_from == FROM_ENV:
            target_rules.check_target(url, settings, conn)
        dropped = janitor.collect_dead(conn, settings.prefix)
        inventory = Inventory.take(conn, settings.prefix)
        alive = inventory.live_runs
        doomed = [] if alive else inventory.old_templates(settings.project_dir, current)
        if templates and not alive:
            doomed += [e for e in inventory.templates() if e.name in current]
        if kept:
            doomed += [e for e in inventory.kept() if not e.live]
        for entry in doomed:
            if janitor.drop_owned(conn, entry.name, run=entry.marker.run):
                dropped.append(entry.name)
    for name in dropped:
        click.echo(f"dropped {name}")
    note = " (old templates stay while a run is live)" if alive else ""
    click.echo(f"pgstack: {len(dropped)} database(s) dropped on {urls.describe(url)}{note}")


@main.command(name="list")
@pass_settings
def list_databases(settings: Settings) -> None:
    """List the databases pgstack owns on the server, with their run's state."""
    url = _server(settings)
    current = template_names(template_spec(settings))
    with admin.connect(url) as conn:
        inventory = Inventory.take(conn, settings.prefix)
    for entry in inventory.databases:
        marker = entry.marker
        extra = " kept" if marker.kept else ""
        if entry.is_template:
            extra += f"\t{inventory.template_label(entry, settings.project_dir, current)}"
        status = "live" if entry.live else "dead"
        run = f"run {marker.run} ({status})"
        click.echo(f"{entry.name}\t{marker.kind}\t{marker.state}\t{run}{extra}")


@main.command()
@pass_settings
def prepare(settings: Settings) -> None:
    """Wait for the server and build (or reuse) the template: the compose runner's step."""
    from pgstack.run import run_now

    if settings.database_url is None:
        _server(settings)  # the same clear error when there is nothing to prepare
    environment.load_env_file(settings.env_file)  # migrations see what they see under pytest
    run = run_now(settings, report=_report())
    try:
        click.echo(
            f"pgstack: template {run.plan.template} {run.template_state} on "
            f"{urls.describe(run.plan.admin_url)}"
        )
        if run.template.stale is not None:
            click.echo(f"pgstack: {stale_note(run.plan.template, run.template.stale)}")
    finally:
        run.close()


@main.command(
    name="run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_settings
def run_command(settings: Settings, command: tuple[str, ...]) -> None:
    """Run COMMAND with the stack around it: `pgstack run -- python manage.py test`.

    The servers start (or the running ones are used), the template is built or reused,
    and COMMAND gets a database of its own cloned from it in DATABASE_URL (and libpq's
    PG*, [tool.pgstack.env], REDIS_URL), with the env_file loaded as under pytest; it is
    dropped and the servers stopped after.
    COMMAND's exit status is pgstack's; signals sent to pgstack are passed on to it."""
    from pgstack.wrapped_command import run_wrapped

    sys.exit(run_wrapped(settings, command, say=_note, report=_report()))


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
