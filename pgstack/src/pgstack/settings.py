"""One frozen Settings object, filled by one function with a documented precedence.

Precedence, highest first: explicit overrides (pytest/CLI options) > ``PGSTACK_*``
environment variables > the ``[tool.pgstack]`` table of the project's pyproject.toml >
defaults. Paths in pyproject are relative to the folder holding that pyproject.toml.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgstack import urls
from pgstack.environment import check_mapping
from pgstack.errors import ConfigError
from pgstack.ownership import new_run_id

ENV_PREFIX = "PGSTACK_"


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _parse_str(value: Any) -> str | None:
    text = str(value).strip()
    return text if text else None


def _parse_list(value: Any) -> tuple[str, ...]:
    """A TOML list, or a whitespace-separated string (environment)."""
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value)
    return tuple(str(value).split())


def _parse_paths(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value)
    return tuple(part for part in str(value).split(os.pathsep) if part)


def _parse_mapping(value: Any) -> dict[str, str]:
    """A TOML table, or ``NAME=field`` pairs separated by commas or spaces (environment)."""
    if isinstance(value, Mapping):
        return {str(name): str(spec) for name, spec in value.items()}
    pairs = [part for part in str(value).replace(",", " ").split() if part]
    result = {}
    for pair in pairs:
        name, sep, spec = pair.partition("=")
        if not sep:
            raise ValueError(f"expected NAME=field pairs, got {pair!r}")
        result[name.strip()] = spec.strip()
    return result


def _default_tmp_dir() -> str:
    """tmpfs when the machine has one: a throwaway cluster never needs to touch a disk."""
    shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp folder is made inside
    if shm.is_dir() and os.access(shm, os.W_OK):
        return str(shm)
    return tempfile.gettempdir()


@dataclass(frozen=True)
class Settings:
    """Everything pgstack needs to know about a project; see README "Configuration"."""

    project_dir: Path = field(default_factory=Path.cwd)
    # Which environment variables hold the external servers' URLs, and receive each
    # worker's own coordinates.
    database_url_env: str = "DATABASE_URL"
    redis_url_env: str = "REDIS_URL"
    # Environment variables that receive each process's database coordinates, besides
    # database_url_env: NAME -> field of pgstack.environment.FIELDS or a "{field}" template.
    env: dict[str, str] = field(default_factory=dict)
    # Migrations that shape the template: "alembic", "sql", "command" or "none".
    migrator: str = "alembic"
    alembic_config: str | None = "alembic.ini"
    # Extra `-x key=value` arguments for Alembic's env.py (context.get_x_argument()).
    alembic_x: tuple[str, ...] = ()
    # migrator = "sql": a folder of *.sql files applied in order, each in a transaction.
    sql_dir: str | None = None
    # migrator = "command": a shell command run with the template's coordinates in its
    # environment, from command_cwd (default: the project folder).
    command: str | None = None
    command_cwd: str | None = None
    # Seconds the command (and seed_command) may run; then its process group is killed.
    migrate_timeout: float = 600.0
    # Run after migrations, inside the template, so every clone starts with these rows:
    # SQL files (or folders of them) and/or a shell command.
    seed: tuple[str, ...] = ()
    seed_command: str | None = None
    # SQL files run into each new template before migrations (roles, extensions).
    init_dir: str | None = None
    # PostgreSQL settings file shared by the embedded server and the compose db service.
    postgres_conf: str | None = None
    # More files or folders whose content changes the schema (hashed into the template).
    schema_inputs: tuple[str, ...] = ()
    # A file of KEY=value lines loaded into the environment (never overriding it).
    env_file: str | None = None
    # Non-superuser role that application connections switch to (RLS needs one).
    app_role: str | None = None
    redis: bool = True
    # Use the stack of `pgstack up` when it runs and no DATABASE_URL is set.
    use_up: bool = True
    # Keep every database of the run (on the `pgstack up` stack, started if needed).
    keep: bool = False
    pg_bin: str | None = None
    redis_bin: str | None = None
    prefix: str = "pgstack"
    ready_timeout: float = 30.0
    keep_failed: bool = True
    allow_any_server: bool = False
    tmp_dir: str = field(default_factory=_default_tmp_dir)

    def path(self, value: str | None) -> Path | None:
        """Resolve a configured path against the project folder."""
        if value is None:
            return None
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else self.project_dir / candidate

    @property
    def database_url(self) -> str | None:
        """The external server's URL, checked the way libpq reads it (BadUrl if it cannot
        be used): read when needed, so an env_file loaded after the settings counts."""
        url = _parse_str(os.environ.get(self.database_url_env, ""))
        return None if url is None else urls.check_database_url(url, self.database_url_env)

    @property
    def redis_url(self) -> str | None:
        """The external Redis URL, checked the way redis-py reads it (only when Redis is on:
        with ``redis = false`` pgstack never uses it)."""
        url = _parse_str(os.environ.get(self.redis_url_env, ""))
        if url is None or not self.redis:
            return url
        return urls.check_redis_url(url, self.redis_url_env)


@dataclass(frozen=True)
class _Kind:
    """What a setting holds: how text (environment, options) is read, and which TOML values
    pyproject may give, so a wrong type is refused instead of turned into a string."""

    expected: str
    parse: Callable[[Any], Any]
    toml_ok: Callable[[Any], bool]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_str_table(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_seconds(value: Any) -> float:
    """A timeout: 0, negative, NaN or infinite would never wait or never stop waiting."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("not a positive number")
    return seconds


# PostgreSQL cuts names longer than 63 bytes, so two cut names can be the same database.
# The longest name pgstack builds from the prefix is a per-test clone of a worker's database:
# "{prefix}_{run id}_{worker}_f{n}" (stack.worker_database, fresh.py); the template
# "{prefix}_tpl_{16 hex}" (template.py) and `pgstack psql`'s "{prefix}_{run id}_inspect"
# are shorter. Workers up to gw999 and 99999 fresh clones per worker fit.
NAME_BYTES = 63
LONGEST_SUFFIX = f"_{new_run_id()}_gw999_f99999"
MAX_PREFIX = NAME_BYTES - len(LONGEST_SUFFIX)
# Names stay plain identifiers: no quoting needed in psql, URLs or LIKE patterns.
_PREFIX = re.compile(r"[a-z_][a-z0-9_]*")


def _parse_prefix(value: Any) -> str:
    text = str(value)
    if not _PREFIX.fullmatch(text) or len(text) > MAX_PREFIX:
        raise ValueError("not a usable prefix")
    return text


_TEXT = _Kind("a string", str, _is_str)
_OPTIONAL_TEXT = _Kind("a string", _parse_str, _is_str)
_WORDS = _Kind("a list of strings", _parse_list, _is_str_list)
_PATHS = _Kind("a list of paths (strings)", _parse_paths, _is_str_list)
_FLAG = _Kind("true or false", _parse_bool, lambda value: isinstance(value, bool))
_SECONDS = _Kind("a positive number of seconds (e.g. 30)", _parse_seconds, _is_number)
_MAPPING = _Kind(
    'a table of strings: [tool.pgstack.env] with lines like POSTGRES_DB = "database"',
    _parse_mapping,
    _is_str_table,
)
_PREFIX_KIND = _Kind(
    f"lowercase letters, digits and _ (not starting with a digit), at most {MAX_PREFIX} "
    f"characters: PostgreSQL cuts database names at {NAME_BYTES} bytes and pgstack adds up "
    f"to {len(LONGEST_SUFFIX)} to the prefix (_<run id>_<worker>_f<n>)",
    _parse_prefix,
    _is_str,
)

_KINDS: dict[str, _Kind] = {
    "database_url_env": _TEXT,
    "redis_url_env": _TEXT,
    "env": _MAPPING,
    "migrator": _TEXT,
    "alembic_config": _OPTIONAL_TEXT,
    "alembic_x": _WORDS,
    "sql_dir": _OPTIONAL_TEXT,
    "command": _OPTIONAL_TEXT,
    "command_cwd": _OPTIONAL_TEXT,
    "migrate_timeout": _SECONDS,
    "seed": _PATHS,
    "seed_command": _OPTIONAL_TEXT,
    "init_dir": _OPTIONAL_TEXT,
    "postgres_conf": _OPTIONAL_TEXT,
    "schema_inputs": _PATHS,
    "env_file": _OPTIONAL_TEXT,
    "app_role": _OPTIONAL_TEXT,
    "redis": _FLAG,
    "use_up": _FLAG,
    "keep": _FLAG,
    "pg_bin": _OPTIONAL_TEXT,
    "redis_bin": _OPTIONAL_TEXT,
    "prefix": _PREFIX_KIND,
    "ready_timeout": _SECONDS,
    "keep_failed": _FLAG,
    "allow_any_server": _FLAG,
    "tmp_dir": _TEXT,
}
MIGRATORS = ("alembic", "sql", "command", "none")


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
    """Fill Settings from defaults, pyproject, environment and overrides, in that order."""
    environ = os.environ if environ is None else environ
    pyproject = project_dir / "pyproject.toml"
    table = read_pyproject_table(pyproject) or {}
    values: dict[str, Any] = {}
    for name, raw in table.items():
        key = name.replace("-", "_")
        values[key] = _parse(key, raw, f"[tool.pgstack] {name}", f" in {pyproject}", toml=True)
    for key in _KINDS:
        env_name = ENV_PREFIX + key.upper()
        if env_name in environ:
            values[key] = _parse(key, environ[env_name], f"environment variable {env_name}")
    for key, raw in (overrides or {}).items():
        if raw is not None:
            values[key] = _parse(key, raw, f"option {key}")
    settings = Settings(project_dir=project_dir.resolve(), **values)
    _check(settings)
    return settings


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
    path = settings.path(settings.init_dir)
    if path is None or path.is_dir():
        return
    problem = "is a file, not a folder" if path.exists() else "does not exist"
    raise ConfigError(
        f"init_dir {settings.init_dir!r} is {path}, which {problem}. init_dir is the folder "
        "of *.sql files run into each new template (roles, extensions): create it, or fix "
        "or remove init_dir in [tool.pgstack] (or PGSTACK_INIT_DIR)."
    )


def _parse(key: str, raw: Any, label: str, place: str = "", *, toml: bool = False) -> Any:
    """One value, checked for its kind; ``toml`` values must already have the right type."""
    kind = _KINDS.get(key)
    if kind is None:
        close = difflib.get_close_matches(key, _KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"Unknown setting {key!r} in {label}{place}{hint}. Known settings: {', '.join(_KINDS)}."
        )
    try:
        if toml and not kind.toml_ok(raw):
            raise TypeError(type(raw).__name__)
        return kind.parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{label} = {raw!r}{place} is not valid: {key} must be {kind.expected}."
        ) from exc
