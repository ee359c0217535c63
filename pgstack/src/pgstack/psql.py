"""`pgstack psql`: psql on a database pgstack owns, or on a scratch clone of the template.

The password goes to psql in its environment (PGPASSWORD), never on its command line.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from pgstack import admin, janitor, urls
from pgstack.clone import clone_database
from pgstack.errors import ConfigError, PgstackError
from pgstack.inventory import Inventory
from pgstack.ownership import Marker, RunLease, new_run_id
from pgstack.settings import Settings
from pgstack.template import ensure_template
from pgstack.template_spec import template_spec


def open_psql(
    settings: Settings,
    url: str,
    target: str,
    psql_args: tuple[str, ...],
    *,
    announce: Callable[[str], None],
) -> int:
    """Run psql on ``target`` at the server ``url``; return psql's exit status.

    ``target``: ``template`` (a scratch clone of it, dropped when psql exits), a worker
    (``main``, ``gw0``, …: its database in a live or kept run), or a database pgstack owns.
    """
    binary = psql_binary(settings)
    if target != "template":
        name = find_database(url, settings.prefix, target)
        return run_psql(binary, urls.with_database(url, name), psql_args)
    run_id = new_run_id()
    lease = RunLease(url, run_id)
    try:
        template = ensure_template(url, template_spec(settings), run_id=run_id).name
        name = f"{settings.prefix}_{run_id}_inspect"
        clone = clone_database(
            lease.connection,
            template=template,
            name=name,
            marker=Marker(kind="fresh", run=run_id),
            admin_url=url,
        )
        announce(f"pgstack: {name} is a scratch clone of {template}; dropped when psql exits.")
        code = run_psql(binary, clone, psql_args)
        janitor.drop_owned(lease.connection, name, run=run_id)
    finally:
        lease.close()
    return code


def psql_binary(settings: Settings) -> str:
    """psql next to the PostgreSQL binaries pgstack would use, else on PATH."""
    from pgstack.servers.binaries import find_postgres_bin

    candidates = []
    with contextlib.suppress(PgstackError):
        candidates.append(str(find_postgres_bin(settings.pg_bin) / "psql"))
    for candidate in [*candidates, shutil.which("psql")]:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigError(
        "psql was not found (next to the PostgreSQL binaries, or on PATH). Install the "
        "PostgreSQL client (e.g. apt install postgresql-client), or use `pgstack env` and "
        "another client."
    )


def find_database(url: str, prefix: str, target: str) -> str:
    """The owned database ``target`` names: itself, or a worker id of a live or kept run."""
    with admin.connect(url) as conn:
        inventory = Inventory.take(conn, prefix)
    clones = inventory.clones()
    if target in {entry.name for entry in clones}:
        return target
    matches = [
        e.name for e in clones if e.name.endswith(f"_{target}") and (e.live or e.marker.kept)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(
            f"No database of a live run (or kept) for {target!r} on {urls.describe(url)}. "
            "`pgstack status` lists what there is; run pytest with --pgstack-keep to keep "
            "a run's databases."
        )
    raise ConfigError(f"Several databases match {target!r}: {', '.join(sorted(matches))}.")


def run_psql(binary: str, url: str, args: tuple[str, ...]) -> int:
    """psql on ``url`` with the password in its environment (PGPASSWORD), which only this
    account can read: every account can read a command line (ps, /proc/<pid>/cmdline)."""
    env = dict(os.environ)
    password = urls.password_of(url)
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.call([binary, urls.without_password(url), *args], env=env)
