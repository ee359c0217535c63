"""``pgstack``: thin commands over the same functions the pytest plugin uses.

pgstack prepare   wait for DATABASE_URL's server and build (or reuse) the template
pgstack clean     drop databases of dead runs; with --kept, also failed tests' kept ones
pgstack list      show the databases pgstack owns on DATABASE_URL's server
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pgstack import admin, janitor, urls
from pgstack.errors import ConfigError, PgstackError
from pgstack.ownership import live_runs, owned_databases
from pgstack.settings import Settings, load_settings
from pgstack.stack import start_stack


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(Path(args.project).resolve())


def _external_url(settings: Settings) -> str:
    url = settings.database_url
    if url is None:
        raise ConfigError(
            f"{settings.database_url_env} is not set: this command works on an existing server. "
            "Set it (e.g. to the compose db service) and run again."
        )
    return urls.libpq_url(url)


def cmd_prepare(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _external_url(settings)
    stack = start_stack(settings)
    try:
        state = "built" if stack.template_built else "reused"
        where = urls.describe(stack.plan.admin_url)
        print(f"pgstack: template {stack.plan.template} {state} on {where}")
    finally:
        stack.close()
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    settings = _settings(args)
    url = _external_url(settings)
    with admin.connect(url) as conn:
        dropped = janitor.collect_dead(conn, settings.prefix)
        if args.kept:
            alive = live_runs(conn)
            for name, marker in owned_databases(conn, settings.prefix):
                if marker.kept and marker.run not in alive:
                    janitor.drop_owned(conn, name, run=marker.run)
                    dropped.append(name)
    for name in dropped:
        print(f"dropped {name}")
    print(f"pgstack: {len(dropped)} database(s) dropped on {urls.describe(url)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    url = _external_url(settings)
    with admin.connect(url) as conn:
        alive = live_runs(conn)
        for name, marker in owned_databases(conn, settings.prefix):
            status = "live" if marker.run in alive else "dead"
            extra = " kept" if marker.kept else ""
            print(f"{name}\t{marker.kind}\t{marker.state}\trun {marker.run} ({status}){extra}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pgstack", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--project", default=".", help="folder of the pyproject.toml with [tool.pgstack]"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="wait for the server, build or reuse the template").set_defaults(
        func=cmd_prepare
    )
    clean = sub.add_parser("clean", help="drop databases left by dead runs")
    clean.add_argument("--kept", action="store_true", help="also drop failed tests' kept databases")
    clean.set_defaults(func=cmd_clean)
    sub.add_parser("list", help="list databases pgstack owns").set_defaults(func=cmd_list)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PgstackError as exc:
        print(f"pgstack: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
