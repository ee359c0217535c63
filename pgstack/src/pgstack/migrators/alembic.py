"""Alembic: ``upgrade heads`` in-process, with failures traced back to the revision."""

from __future__ import annotations

import os
import traceback
from argparse import Namespace
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pgstack import admin, environment, urls
from pgstack.errors import ConfigError, MigrationFailed
from pgstack.settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory


@dataclass
class AlembicMigrator:
    config_path: Path
    url_env: str = "DATABASE_URL"
    x_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    name: str = "alembic"

    @classmethod
    def from_settings(cls, settings: Settings) -> AlembicMigrator:
        path = settings.alembic_config
        if path is None or not path.is_file():
            raise ConfigError(
                f"Alembic config not found at {path}. Set [tool.pgstack] alembic_config "
                "(relative to the pyproject.toml) or PGSTACK_ALEMBIC_CONFIG to your "
                'alembic.ini, or set migrator = "none" if the project has no migrations.'
            )
        return cls(
            config_path=path,
            url_env=settings.database_url_env,
            x_args=settings.alembic_x,
            env=settings.env,
        )

    def _config(self, url: str | None = None) -> Config:
        from alembic.config import Config

        config = Config(str(self.config_path))
        config.attributes["pgstack"] = True
        # What `alembic -x key=value` gives env.py through context.get_x_argument().
        config.cmd_opts = Namespace(x=list(self.x_args))
        if url is not None:
            # ConfigParser interpolation: a literal % in a password must be doubled.
            config.set_main_option("sqlalchemy.url", urls.sqlalchemy_url(url).replace("%", "%%"))
        return config

    @cached_property
    def scripts(self) -> ScriptDirectory:
        """Parsed once: every revision file is read to build it."""
        from alembic.script import ScriptDirectory

        try:
            return ScriptDirectory.from_config(self._config())
        except Exception as exc:
            raise ConfigError(
                f"Alembic could not read its scripts from {self.config_path}: {exc}. "
                "Check script_location in that file."
            ) from exc

    def inputs(self) -> list[Path]:
        return [self.config_path, Path(self.scripts.dir)]

    def key(self) -> str:
        return " ".join([self.name, *(f"-x {arg}" for arg in self.x_args)])

    def check(self) -> None:
        heads = self.scripts.get_heads()
        if len(heads) > 1:
            raise MigrationFailed(
                f"Alembic has {len(heads)} heads ({', '.join(sorted(heads))}) in "
                f"{self.scripts.dir}: two branches of migrations were merged without a "
                'merge revision. Fix: `alembic merge heads -m "merge"` (then review it).'
            )

    def mismatch(self, url: str) -> str | None:
        """The template's ``alembic_version`` rows against the heads of the scripts on disk.

        A template without that table (env.py names another version_table) cannot be
        compared: None, as for a command.
        """
        held = _held_revisions(url)
        if held is None:
            return None
        scripts = self.scripts
        known = {script.revision for script in scripts.walk_revisions()}
        hashed = [Path(path).resolve() for path in self.inputs()]
        differences = []
        for head in sorted(set(scripts.get_heads()) - held):
            script = scripts.get_revision(head)
            where = ""
            if script is not None and script.path is not None:
                path = Path(script.path).resolve()
                inside = any(path.is_relative_to(root) for root in hashed)
                where = f" ({path}{'' if inside else ', a file outside the hashed inputs'})"
            differences.append(f"head {head}{where} is on disk but not in the template")
        differences += [
            f"revision {revision} is in the template but in no script on disk"
            for revision in sorted(held - known)
        ]
        return "; ".join(differences) or None

    def migrate(self, url: str) -> None:
        from alembic import command

        config = self._config(url)
        try:
            variables = {self.url_env: urls.libpq_url(url), **environment.mapped(self.env, url)}
            with environment.exported(variables):
                command.upgrade(config, "heads")
        except Exception as exc:
            revision = self._failing_revision(exc)
            where = f"revision {revision}" if revision else "an Alembic migration"
            raise MigrationFailed(
                f"{where} failed while building the test template {urls.describe(url)}: "
                f"{type(exc).__name__}: {' '.join(str(exc).split())}\n"
                "No template was kept. Fix the migration and run again "
                "(`alembic upgrade head` against a scratch database shows the same error)."
            ) from exc

    def _failing_revision(self, exc: BaseException) -> str | None:
        """The revision whose file appears last in the traceback (the one that raised)."""
        scripts = self.scripts
        by_path = {
            os.path.realpath(script.path): script
            for script in scripts.walk_revisions()
            if script.path is not None
        }
        found = None
        for frame in traceback.extract_tb(exc.__traceback__):
            script = by_path.get(os.path.realpath(frame.filename))
            if script is not None:
                found = f"{script.revision} ({Path(script.path).name}, line {frame.lineno})"
        return found


def _held_revisions(url: str) -> set[str] | None:
    """Every ``version_num`` in the database's ``alembic_version`` tables (any schema); None
    when it has none."""
    from psycopg import sql

    with admin.connect(url) as conn:
        tables = conn.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'alembic_version' AND c.relkind = 'r'"
        ).fetchall()
        if not tables:
            return None
        held: set[str] = set()
        for (schema,) in tables:
            query = sql.SQL("SELECT version_num FROM {}.alembic_version").format(
                sql.Identifier(schema)
            )
            held.update(str(row[0]) for row in conn.execute(query).fetchall())
    return held
