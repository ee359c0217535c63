"""What each setting holds: how its text (environment, options) and TOML values are read.

A wrong type in pyproject is refused instead of turned into a string; a wrong value names
the setting, where it came from and what it must be.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pgstack.errors import ConfigError
from pgstack.ownership import new_run_id


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def optional_text(value: Any) -> str | None:
    """Stripped text, or None for an empty value (an unset setting)."""
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


@dataclass(frozen=True)
class Kind:
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


def _parse_megabytes(value: Any) -> int:
    """A size: a whole number, 0 or more."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("not a whole number")
    size = int(value)
    if size < 0:
        raise ValueError("negative")
    return size


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
# "{prefix}_{run id}_{worker}_f{n}" (run_plan.worker_database, fresh.py); the template
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


_TEXT = Kind("a string", str, _is_str)
_OPTIONAL_TEXT = Kind("a string", optional_text, _is_str)
_WORDS = Kind("a list of strings", _parse_list, _is_str_list)
_PATHS = Kind("a list of paths (strings)", _parse_paths, _is_str_list)
_PATH = Kind("a path (a string)", optional_text, _is_str)
_FLAG = Kind("true or false", _parse_bool, lambda value: isinstance(value, bool))
_SECONDS = Kind("a positive number of seconds (e.g. 30)", _parse_seconds, _is_number)
_MEGABYTES = Kind(
    "a whole number of megabytes, 0 or more (e.g. 1024)", _parse_megabytes, _is_number
)
_MAPPING = Kind(
    'a table of strings: [tool.pgstack.env] with lines like POSTGRES_DB = "database"',
    _parse_mapping,
    _is_str_table,
)
_PREFIX_KIND = Kind(
    f"lowercase letters, digits and _ (not starting with a digit), at most {MAX_PREFIX} "
    f"characters: PostgreSQL cuts database names at {NAME_BYTES} bytes and pgstack adds up "
    f"to {len(LONGEST_SUFFIX)} to the prefix (_<run id>_<worker>_f<n>)",
    _parse_prefix,
    _is_str,
)

KINDS: dict[str, Kind] = {
    "database_url_env": _TEXT,
    "redis_url_env": _TEXT,
    "env": _MAPPING,
    "migrator": _TEXT,
    "alembic_config": _PATH,
    "alembic_x": _WORDS,
    "sql_dir": _PATH,
    "command": _OPTIONAL_TEXT,
    "command_cwd": _PATH,
    "django_settings": _OPTIONAL_TEXT,
    "django_no_migrations": _FLAG,
    "rebuild": _FLAG,
    "migrate_timeout": _SECONDS,
    "seed": _PATHS,
    "seed_command": _OPTIONAL_TEXT,
    "init_dir": _PATH,
    "postgres_conf": _PATH,
    "schema_inputs": _PATHS,
    "env_file": _PATH,
    "app_role": _OPTIONAL_TEXT,
    "redis": _FLAG,
    "use_up": _FLAG,
    "keep": _FLAG,
    "pg_bin": _PATH,
    "redis_bin": _PATH,
    "prefix": _PREFIX_KIND,
    "ready_timeout": _SECONDS,
    "keep_failed": _FLAG,
    "allow_any_server": _FLAG,
    "tmp_dir": _PATH,
    "cluster_cache_mb": _MEGABYTES,
    "gc_freeze": _FLAG,
}
# Settings that name files or folders: load_settings resolves them against the project.
PATH_SETTINGS = frozenset(key for key, kind in KINDS.items() if kind is _PATH or kind is _PATHS)
MIGRATORS = ("alembic", "sql", "command", "django", "none")


def parse(key: str, raw: Any, label: str, place: str = "", *, toml: bool = False) -> Any:
    """One value, checked for its kind; ``toml`` values must already have the right type."""
    kind = KINDS.get(key)
    if kind is None:
        close = difflib.get_close_matches(key, KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"Unknown setting {key!r} in {label}{place}{hint}. Known settings: {', '.join(KINDS)}."
        )
    try:
        if toml and not kind.toml_ok(raw):
            raise TypeError(type(raw).__name__)
        return kind.parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{label} = {raw!r}{place} is not valid: {key} must be {kind.expected}."
        ) from exc
