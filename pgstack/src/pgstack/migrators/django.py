"""Django: ``migrate`` into the template, with the inputs found by Django's own loader.

Nothing to list by hand: the migration folders of every installed app (Django's own apps
included, so a Django upgrade rebuilds too) and the settings that change what ``migrate``
builds (INSTALLED_APPS and its order, AUTH_USER_MODEL, each alias's ENGINE and TEST
options, the routers, the Django version) are hashed into the template's name. Both the
inspection and ``migrate`` run in a fresh process (``django_child``) with the template's
coordinates in the environment the way the project reads them: the pytest process must
only ever set Django up on the worker's clone.

The settings module is the one pytest-django uses (``--ds``, then
``DJANGO_SETTINGS_MODULE``, then the pytest ini option); ``[tool.pgstack] django_settings``
when none of them is there. ``settings.load_settings`` resolves it, for the plugin and the
CLI alike.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import psycopg

from pgstack import admin, environment, urls
from pgstack.errors import ConfigError, MigrationFailed
from pgstack.migrators.django_child import TARGET_ENV
from pgstack.settings import Settings
from pgstack.shell_commands import run_command

# Where the inspection's settings module may look for its database: never connected to.
INSPECT_URL = "postgresql://pgstack@127.0.0.1:9/pgstack_inspect"
_CHILD = "pgstack.migrators.django_child"


@dataclass(frozen=True)
class DjangoLayout:
    """What Django's loader found, in the project's own process."""

    files: tuple[Path, ...]
    leaves: frozenset[tuple[str, str]]
    nodes: frozenset[tuple[str, str]]
    # Aliases that share one test database (Django's grouping), "default"'s group first,
    # each with the models its routers let it migrate.
    groups: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
    mirrors: dict[str, str]
    key: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DjangoLayout:
        groups = sorted(
            ((tuple(g["aliases"]), tuple(g["models"])) for g in data["groups"]),
            key=lambda group: "default" not in group[0],
        )
        return cls(
            files=tuple(Path(path) for path in data["files"]),
            leaves=frozenset((app, name) for app, name in data["leaves"]),
            nodes=frozenset((app, name) for app, name in data["nodes"]),
            groups=tuple(groups),
            mirrors=dict(data["mirrors"]),
            key=json.dumps(data["key"], sort_keys=True, default=str),
        )


@dataclass
class DjangoMigrator:
    settings_module: str
    cwd: Path
    url_env: str = "DATABASE_URL"
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = Settings.migrate_timeout
    no_migrations: bool = False
    alias: str = "default"
    name: str = "django"

    @classmethod
    def from_settings(cls, settings: Settings) -> DjangoMigrator:
        if settings.django_settings is None:
            raise ConfigError(
                'migrator = "django" needs the Django settings module, and none was found: '
                "set DJANGO_SETTINGS_MODULE in the pytest ini options (as pytest-django "
                "reads it), or [tool.pgstack] django_settings, or pass --ds."
            )
        return cls(
            settings_module=settings.django_settings,
            cwd=settings.command_folder,
            url_env=settings.database_url_env,
            env=settings.env,
            timeout=settings.migrate_timeout,
            no_migrations=settings.django_no_migrations,
        )

    def for_alias(self, alias: str) -> DjangoMigrator:
        """The migrator of another alias's own template (sharing this one's inspection)."""
        other = replace(self, alias=alias)
        other.__dict__["layout"] = self.layout
        return other

    def _environment(self, url: str) -> dict[str, str]:
        env = environment.for_command(self.env, self.url_env, url)
        env["DJANGO_SETTINGS_MODULE"] = self.settings_module
        # The project's folder first: where manage.py (and the settings package) live.
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(self.cwd), env.get("PYTHONPATH", "")) if part
        )
        return env

    def _child(self, *args: str) -> str:
        words = [sys.executable, "-m", _CHILD, *args]
        if self.no_migrations:
            words.append("no-migrations")
        return " ".join(shlex.quote(word) for word in words)

    @cached_property
    def layout(self) -> DjangoLayout:
        """Django's loader in a fresh process, once (about as long as `manage.py check`)."""
        with tempfile.TemporaryDirectory(prefix="pgstack-django-") as folder:
            out = Path(folder) / "layout.json"
            run_command(
                self._child("inspect", str(out)),
                cwd=self.cwd,
                env=self._environment(INSPECT_URL),
                what=f"Reading the Django project (settings {self.settings_module})",
                timeout=self.timeout,
            )
            return DjangoLayout.from_json(json.loads(out.read_text(encoding="utf-8")))

    def inputs(self) -> list[Path]:
        return list(self.layout.files)

    def key(self) -> str:
        mode = " no-migrations" if self.no_migrations else ""
        return f"{self.name}:{self.settings_module}:{self.alias}{mode}:{self.layout.key}"

    def check(self) -> None:
        """A broken settings module fails here, before any database; so do two branches of
        migrations merged without a merge migration (Django's migrate would refuse)."""
        by_app: dict[str, list[str]] = {}
        for app, name in sorted(self.layout.leaves):
            by_app.setdefault(app, []).append(name)
        conflicts = {app: names for app, names in by_app.items() if len(names) > 1}
        if conflicts:
            listed = "; ".join(f"{app}: {', '.join(names)}" for app, names in conflicts.items())
            raise MigrationFailed(
                f"Conflicting Django migrations (more than one leaf in an app): {listed}. Two "
                "branches each added a migration. Fix: `python manage.py makemigrations "
                "--merge` (then review it)."
            )

    def migrate(self, url: str) -> None:
        env = self._environment(url)
        env[TARGET_ENV] = urls.libpq_url(url)
        run_command(
            self._child("migrate", self.alias),
            cwd=self.cwd,
            env=env,
            what=f"Django migrate --database {self.alias} (template {urls.describe(url)})",
            timeout=self.timeout,
        )

    def own_templates(self) -> dict[str, bool]:
        """Each alias that needs a clone besides "default"'s group: True when its routers
        give it other models than default (so it needs a template of its own)."""
        groups = self.layout.groups
        if not groups:
            return {}
        default_models = groups[0][1]
        return {aliases[0]: models != default_models for aliases, models in groups[1:]}

    def mismatch(self, url: str) -> str | None:
        """Why the database at ``url`` does not hold the migrations on disk, or None."""
        if self.no_migrations:
            return None  # tables from models: no migration history to compare
        with admin.connect(url) as conn:
            try:
                rows = conn.execute("SELECT app, name FROM django_migrations").fetchall()
            except psycopg.errors.UndefinedTable:
                rows = []  # never migrated: every leaf is missing
        recorded = {(app, name) for app, name in rows}
        missing = sorted(self.layout.leaves - recorded)
        extra = sorted(recorded - self.layout.nodes)
        if not missing and not extra:
            return None
        parts = []
        if missing:
            parts.append("lacks " + ", ".join(f"{app}.{name}" for app, name in missing))
        if extra:
            parts.append(
                "records migrations no longer on disk: "
                + ", ".join(f"{app}.{name}" for app, name in extra)
            )
        return f"django_migrations {' and '.join(parts)}"
