"""One frozen Settings object, filled by one function with a documented precedence.

Precedence, highest first: explicit overrides (pytest/CLI options) > ``PGSTACK_*``
environment variables > the ``[tool.pgstack]`` table of the project's pyproject.toml >
defaults. Paths are relative to the folder holding that pyproject.toml. How each value is
read and checked is in ``pgstack.setting_kinds``.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pgstack import pytest_ini, urls
from pgstack.environment import check_mapping
from pgstack.errors import ConfigError
from pgstack.setting_kinds import KINDS, MIGRATORS, PATH_SETTINGS, optional_text, parse

ENV_PREFIX = "PGSTACK_"


def _default_tmp_dir() -> str:
    """tmpfs when the machine has one: a throwaway cluster never needs to touch a disk."""
    shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp folder is made inside
    if shm.is_dir() and os.access(shm, os.W_OK):
        return str(shm)
    return tempfile.gettempdir()


@dataclass(frozen=True)
class Settings:
    """Everything pgstack needs to know about a project; see README "Configuration".

    A snapshot: ``load_settings`` reads the environment (and env_file) and resolves every
    path once. pgstack exports each worker's coordinates into the environment while a run
    starts; reading it again later would take pgstack's own server for the user's.
    """

    project_dir: Path = field(default_factory=Path.cwd)
    # Which environment variables hold the external servers' URLs, and receive each
    # worker's own coordinates.
    database_url_env: str = "DATABASE_URL"
    redis_url_env: str = "REDIS_URL"
    # The external servers' URLs as the environment gave them when the settings were loaded
    # (checked the way libpq and redis-py read them); None: pgstack starts or finds its own.
    database_url: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    # Environment variables that receive each process's database coordinates, besides
    # database_url_env: NAME -> field of pgstack.environment.FIELDS or a "{field}" template.
    env: dict[str, str] = field(default_factory=dict)
    # Migrations that shape the template: "alembic", "sql", "command" or "none".
    migrator: str = "alembic"
    alembic_config: Path | None = None  # load_settings: alembic.ini in the project folder
    # Extra `-x key=value` arguments for Alembic's env.py (context.get_x_argument()).
    alembic_x: tuple[str, ...] = ()
    # migrator = "sql": a folder of *.sql files applied in order, each in a transaction.
    sql_dir: Path | None = None
    # migrator = "command": a shell command run with the template's coordinates in its
    # environment, from command_cwd (default: the project folder).
    command: str | None = None
    command_cwd: Path | None = None
    # migrator = "django": the settings module (pytest-django's --ds, DJANGO_SETTINGS_MODULE
    # or pytest ini option first; load_settings resolves it), and pytest-django's
    # --no-migrations (tables from models, a template of its own).
    django_settings: str | None = None
    django_no_migrations: bool = False
    # Build the template again even when a complete one exists (pytest-django's --create-db).
    rebuild: bool = False
    # Seconds the command (and seed_command) may run; then its process group is killed.
    migrate_timeout: float = 600.0
    # Run after migrations, inside the template, so every clone starts with these rows:
    # SQL files (or folders of them) and/or a shell command.
    seed: tuple[Path, ...] = ()
    seed_command: str | None = None
    # SQL files run into each new template before migrations (roles, extensions).
    init_dir: Path | None = None
    # PostgreSQL settings file shared by the embedded server and the compose db service.
    postgres_conf: Path | None = None
    # More files or folders whose content changes the schema (hashed into the template).
    schema_inputs: tuple[Path, ...] = ()
    # A file of KEY=value lines loaded into the environment (never overriding it).
    env_file: Path | None = None
    # Non-superuser role that application connections switch to (RLS needs one).
    app_role: str | None = None
    redis: bool = True
    # Use the servers of `pgstack up` when they run and no DATABASE_URL is set.
    use_up: bool = True
    # Keep every database of the run (on the `pgstack up` servers, started if needed).
    keep: bool = False
    pg_bin: Path | None = None
    redis_bin: Path | None = None
    prefix: str = "pgstack"
    ready_timeout: float = 30.0
    keep_failed: bool = True
    allow_any_server: bool = False
    tmp_dir: Path = field(default_factory=lambda: Path(_default_tmp_dir()))
    # Megabytes of migrated clusters kept in tmp_dir for the next cold run (0: none).
    cluster_cache_mb: int = 1024
    # Freeze what the imports and collection made out of the garbage collector's scans.
    gc_freeze: bool = True

    @property
    def command_folder(self) -> Path:
        """Where the migrate and seed commands run."""
        return self.command_cwd or self.project_dir


def read_pyproject_table(pyproject: Path) -> dict[str, Any] | None:
    """The ``[tool.pgstack]`` table, or None when the file or the table is absent."""
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from exc
    tool = data.get("tool", {})
    table = tool.get("pgstack") if isinstance(tool, dict) else tool
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(
            f"[tool.pgstack] in {pyproject} is {table!r}, but it must be a table: a "
            '[tool.pgstack] section with lines like migrator = "alembic".'
        )
    return table


def load_settings(
    project_dir: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Fill Settings from defaults, pyproject, environment and overrides, in that order.

    The environment is read here and only here (``environ``, default ``os.environ``), with
    the env_file's values under it: the snapshot never sees what pgstack exports later.
    """
    environ = os.environ if environ is None else environ
    project_dir = project_dir.resolve()
    pyproject = project_dir / "pyproject.toml"
    table = read_pyproject_table(pyproject) or {}
    values: dict[str, Any] = {"alembic_config": "alembic.ini"}
    for name, raw in table.items():
        key = name.replace("-", "_")
        values[key] = parse(key, raw, f"[tool.pgstack] {name}", f" in {pyproject}", toml=True)
    for key in KINDS:
        env_name = ENV_PREFIX + key.upper()
        if env_name in environ:
            values[key] = parse(key, environ[env_name], f"environment variable {env_name}")
    for key, raw in (overrides or {}).items():
        if raw is not None:
            values[key] = parse(key, raw, f"option {key}")
    for key in PATH_SETTINGS & values.keys():
        values[key] = _resolve(project_dir, values[key])
    settings = Settings(project_dir=project_dir, **values)
    _check(settings)
    outside = {**read_env_file(settings.env_file), **environ}
    if settings.migrator == "django" and (overrides or {}).get("django_settings") is None:
        module = optional_text(outside.get("DJANGO_SETTINGS_MODULE", ""))
        module = module or pytest_ini.option(project_dir, "DJANGO_SETTINGS_MODULE")
        if module is not None:
            settings = replace(settings, django_settings=module)
    database_url = optional_text(outside.get(settings.database_url_env, ""))
    if database_url is not None:
        database_url = urls.check_database_url(database_url, settings.database_url_env)
    redis_url = optional_text(outside.get(settings.redis_url_env, ""))
    if redis_url is not None and settings.redis:  # with redis = false it is never used
        redis_url = urls.check_redis_url(redis_url, settings.redis_url_env)
    return replace(settings, database_url=database_url, redis_url=redis_url)


def _resolve(project_dir: Path, value: str | tuple[str, ...] | None) -> Any:
    """A configured path (or tuple of them) made absolute against the project folder."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(_resolve(project_dir, item) for item in value)
    path = Path(value).expanduser()
    return path if path.is_absolute() else project_dir / path


def read_env_file(path: Path | None) -> dict[str, str]:
    """The ``KEY=value`` lines of the env_file (nothing when none is configured)."""
    if path is None:
        return {}
    if not path.is_file():
        raise ConfigError(
            f"env_file {path} (from [tool.pgstack] env_file or PGSTACK_ENV_FILE) not found."
        )
    from dotenv import dotenv_values

    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def _check(settings: Settings) -> None:
    """Contradictions and missing companions, reported before any server starts."""
    if settings.migrator not in MIGRATORS:
        raise ConfigError(
            f"Unknown migrator {settings.migrator!r}; choose one of {', '.join(MIGRATORS)} "
            "(set [tool.pgstack] migrator or PGSTACK_MIGRATOR)."
        )
    if settings.migrator == "sql" and settings.sql_dir is None:
        raise ConfigError(
            'migrator = "sql" needs sql_dir: the folder of numbered *.sql files '
            '(e.g. sql_dir = "db/migrations" in [tool.pgstack], or PGSTACK_SQL_DIR).'
        )
    if settings.migrator == "command":
        if settings.command is None:
            raise ConfigError(
                'migrator = "command" needs command: the shell command that migrates the '
                'database in DATABASE_URL (e.g. command = "alembic upgrade head").'
            )
        if not settings.schema_inputs:
            raise ConfigError(
                'migrator = "command" needs schema_inputs: the migration files and folders '
                "whose change must rebuild the template (pgstack cannot see what a command "
                'reads), e.g. schema_inputs = ["alembic.ini", "app/alembic"].'
            )
    _check_init_dir(settings)
    check_mapping(settings.env, "[tool.pgstack.env] / PGSTACK_ENV")
    if settings.database_url_env in settings.env:
        raise ConfigError(
            f"{settings.database_url_env} is database_url_env (pgstack reads the external "
            "server from it and sets it to each worker's URL); remove it from "
            "[tool.pgstack.env]."
        )


def _check_init_dir(settings: Settings) -> None:
    """A misspelt init_dir would build templates without the project's roles/extensions."""
    path = settings.init_dir
    if path is None or path.is_dir():
        return
    problem = "is a file, not a folder" if path.exists() else "does not exist"
    raise ConfigError(
        f"init_dir is {path}, which {problem}. init_dir is the folder "
        "of *.sql files run into each new template (roles, extensions): create it, or fix "
        "or remove init_dir in [tool.pgstack] (or PGSTACK_INIT_DIR)."
    )
