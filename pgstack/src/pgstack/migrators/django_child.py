"""What the django migrator runs inside the project's own Python, in a fresh process.

``python -m pgstack.migrators.django_child inspect OUT.json [no-migrations]`` writes what
Django's own loader finds (migration files, leaf migrations, database-relevant settings,
the aliases of DATABASES); ``… migrate ALIAS [no-migrations]`` runs ``migrate`` for one
alias into the database whose URL is in ``PGSTACK_DJANGO_TARGET`` (not an argument: a
password on a command line is visible to every local account).

A fresh process because a settings module reads its environment once, at import: in the
pytest process Django must only ever see the worker's clone.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


class _NoMigrations:
    """pytest-django's ``--no-migrations``: every app is "unmigrated", tables come from models."""

    def __contains__(self, item: str) -> bool:
        return True

    def __getitem__(self, item: str) -> None:
        return None


def _setup(no_migrations: bool) -> Any:
    import django
    from django.conf import settings

    django.setup()
    if no_migrations:
        settings.MIGRATION_MODULES = _NoMigrations()
    return settings


def _module_paths(module_name: str) -> list[str]:
    from importlib import import_module

    try:
        module = import_module(module_name)
    except ImportError:
        return []
    paths = list(getattr(module, "__path__", []))
    if not paths and getattr(module, "__file__", None):
        paths = [module.__file__]
    return [str(Path(path).resolve()) for path in paths]


def inspect(no_migrations: bool) -> dict[str, Any]:
    import django
    from django.apps import apps
    from django.db import connections, router
    from django.db.migrations.loader import MigrationLoader
    from django.test.utils import get_unique_databases_and_mirrors

    settings = _setup(no_migrations)
    loader = MigrationLoader(None, ignore_no_migrations=True)
    files: set[str] = set()
    for config in apps.get_app_configs():
        if no_migrations:
            if config.models_module is not None:
                files.update(_module_paths(config.models_module.__name__))
            continue
        module_name, _ = MigrationLoader.migrations_module(config.label)
        if module_name is not None:
            files.update(_module_paths(module_name))
    nodes = set(loader.disk_migrations)
    for migration in loader.replacements.values():
        nodes.update(migration.replaces)
    test_databases, mirrors = get_unique_databases_and_mirrors()
    models = apps.get_models(include_auto_created=True)
    groups = []
    for _, aliases in test_databases.values():
        ordered = sorted(aliases, key=lambda alias: (alias != "default", alias))
        allowed = sorted(
            model._meta.label for model in models if router.allow_migrate_model(ordered[0], model)
        )
        groups.append({"aliases": ordered, "models": allowed})
    databases = {
        alias: {
            "ENGINE": connections[alias].settings_dict.get("ENGINE"),
            "TEST": {
                key: value
                for key, value in (connections[alias].settings_dict.get("TEST") or {}).items()
                if key in {"CHARSET", "COLLATION", "TEMPLATE", "MIRROR", "DEPENDENCIES"}
            },
        }
        for alias in connections
    }
    return {
        "files": sorted(files),
        "leaves": sorted(loader.graph.leaf_nodes()) if not no_migrations else [],
        "nodes": sorted(nodes),
        "groups": groups,
        "mirrors": dict(mirrors),
        "key": {
            "django": django.get_version(),
            "INSTALLED_APPS": list(settings.INSTALLED_APPS),
            "AUTH_USER_MODEL": settings.AUTH_USER_MODEL,
            "DATABASE_ROUTERS": [
                router if isinstance(router, str) else type(router).__qualname__
                for router in settings.DATABASE_ROUTERS
            ],
            "USE_TZ": settings.USE_TZ,
            "DATABASES": databases,
            "no_migrations": no_migrations,
        },
    }


def point_at(settings_dict: dict[str, Any], url: str) -> None:
    """An alias's connection settings made to reach the database at ``url``."""
    parts = urlsplit(url)
    settings_dict.update(
        NAME=unquote(parts.path.lstrip("/")),
        HOST=parts.hostname or "",
        PORT=str(parts.port or ""),
        USER=unquote(parts.username or ""),
        PASSWORD=unquote(parts.password or ""),
    )


TARGET_ENV = "PGSTACK_DJANGO_TARGET"


def migrate(alias: str, no_migrations: bool) -> None:
    from django.core.management import call_command
    from django.db import connections

    url = os.environ[TARGET_ENV]
    _setup(no_migrations)
    for other in connections:
        connections[other].close()
        settings_dict = connections[other].settings_dict
        mirror = (settings_dict.get("TEST") or {}).get("MIRROR")
        if alias in {other, mirror}:
            point_at(settings_dict, url)
        else:
            # A migration that reaches another alias must fail, never touch the database
            # in settings: a name no database has, on the template's server.
            path = f"/{other}-not-available-while-pgstack-migrates"
            point_at(settings_dict, urlsplit(url)._replace(path=path).geturl())
    call_command(
        "migrate", database=alias, interactive=False, run_syncdb=no_migrations, verbosity=1
    )
    connections.close_all()


def main(argv: list[str]) -> int:
    from django.core.exceptions import ImproperlyConfigured

    try:
        return _command(argv)
    except ImproperlyConfigured as exc:  # Django's own sentence says it all
        print(f"Django settings {os.environ.get('DJANGO_SETTINGS_MODULE')}: {exc}")
        return 1


def _command(argv: list[str]) -> int:
    no_migrations = argv[-1] == "no-migrations"
    if argv[1] == "inspect":
        Path(argv[2]).write_text(json.dumps(inspect(no_migrations)), encoding="utf-8")
        return 0
    if argv[1] == "migrate":
        migrate(argv[2], no_migrations)
        return 0
    print(f"usage: {argv[0]} inspect OUT | migrate ALIAS [no-migrations]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
