"""Alembic: ``upgrade heads`` in a subprocess pointed at the template, with failures traced
back to the revision and connections elsewhere named."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgstack import admin, environment, urls
from pgstack.errors import ConfigError, MigrationFailed
from pgstack.migrators.alembic_process import alembic_config
from pgstack.settings import Settings
from pgstack.shell_commands import run_captured, tail

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory


@dataclass
class AlembicMigrator:
    config_path: Path
    url_env: str = "DATABASE_URL"
    x_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    # None: no limit, as when it ran in-process (migrate_timeout is the commands' limit).
    timeout: float | None = None
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

    @cached_property
    def scripts(self) -> ScriptDirectory:
        """Parsed once: every revision file is read to build it."""
        from alembic.script import ScriptDirectory

        try:
            return ScriptDirectory.from_config(alembic_config(self.config_path, self.x_args))
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
        """``alembic upgrade heads`` in a fresh interpreter whose environment (the URL
        variable, ``PG*``, every mapped variable) points at the template: see
        ``pgstack.migrators.alembic_process``."""
        target = urls.parse(url)
        handle, result_path = tempfile.mkstemp(prefix="pgstack-alembic-", suffix=".json")
        os.close(handle)  # private to this account (0600); the child writes its result there
        request = {
            "config": str(self.config_path),
            "x": list(self.x_args),
            "sqlalchemy_url": urls.sqlalchemy_url(url),
            "database": target.database,
            "port": str(target.port or 5432),
            "result": result_path,
        }
        what = f"Alembic (template {urls.describe(url)})"
        try:
            returncode, output = run_captured(
                [sys.executable, "-m", "pgstack.migrators.alembic_process"],
                cwd=self.config_path.parent,
                env=environment.for_command(self.env, self.url_env, url),
                what=what,
                timeout=self.timeout,
                shown="alembic upgrade heads",
                stdin=json.dumps(request).encode(),
            )
            written = Path(result_path).read_text(encoding="utf-8")
        finally:
            Path(result_path).unlink(missing_ok=True)
        if not written:
            raise MigrationFailed(
                f"{what}: `alembic upgrade heads` stopped (status {returncode}) before it "
                f"finished. Its output{tail(output)}\nNo template was kept."
            )
        result: dict[str, Any] = json.loads(written)
        elsewhere = result.get("elsewhere", [])
        if elsewhere:
            raise MigrationFailed(self._elsewhere_message(url, elsewhere))
        if not result["ok"]:
            revision = result.get("revision")
            where = f"revision {revision}" if revision else "an Alembic migration"
            raise MigrationFailed(
                f"{where} failed while building the test template {urls.describe(url)}: "
                f"{result['error']}\n"
                "No template was kept. Fix the migration and run again "
                "(`alembic upgrade head` against a scratch database shows the same error). "
                f"Its output{tail(output)}"
            )

    def _elsewhere_message(self, url: str, elsewhere: list[str]) -> str:
        mapped = ", ".join(sorted(self.env)) or "none are mapped"
        return (
            f"Alembic's env.py tried to connect to {', '.join(elsewhere)} (pgstack stopped "
            f"it), not to the template {urls.describe(url)} it was building: it builds its "
            "URL from something pgstack did not point at the template. pgstack gives env.py the "
            f"template in sqlalchemy.url, in {self.url_env} and in the [tool.pgstack.env] "
            f"variables ({mapped}). Fix: map every variable your settings read for the "
            "database to its field in [tool.pgstack.env] (`pgstack init` finds them; e.g. "
            'POSTGRES_DB = "database"), or have env.py use '
            "config.get_main_option('sqlalchemy.url'). No template was kept."
        )


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
