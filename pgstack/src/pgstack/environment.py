"""A database's coordinates, written into the environment variables a project reads.

Projects rarely read only ``DATABASE_URL``: settings classes build their URL from
``POSTGRES_SERVER``/``POSTGRES_PORT``/…, or read ``TEST_DATABASE_URL``. The ``[tool.pgstack.env]``
table maps each such variable to one field of the coordinates (or a ``{field}`` template),
and pgstack sets them for every process before the project's conftest.py is imported, and
for migration commands run against the template.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from pgstack import urls
from pgstack.errors import ConfigError

FIELDS = {
    "url": "postgresql://user:password@host:port/database",
    "sqlalchemy_url": "postgresql+psycopg://user:password@host:port/database",
    "host": "server host name or address",
    "port": "server port",
    "user": "user name",
    "password": "password (empty with trust authentication)",
    "password_quoted": "password, percent-encoded for use inside a URL template",
    "database": "database name (also: dbname)",
    "redis_url": "this process's Redis logical database (empty without Redis)",
}
_ALIASES = {"dbname": "database"}


def coordinates(url: str, redis_url: str | None = None) -> dict[str, str]:
    """Every field of ``FIELDS`` for the database at ``url``."""
    parsed = urls.parse(url)
    return {
        "url": urls.libpq_url(url),
        "sqlalchemy_url": urls.sqlalchemy_url(url),
        "host": parsed.host or "localhost",
        "port": str(parsed.port or 5432),
        "user": parsed.user or "",
        "password": parsed.password or "",
        "password_quoted": quote(parsed.password or "", safe=""),
        "database": parsed.database or "",
        "dbname": parsed.database or "",
        "redis_url": redis_url or "",
    }


def check_mapping(mapping: Mapping[str, str], where: str) -> None:
    """Fail at configuration time on an unknown field, not in a worker."""
    for name, spec in mapping.items():
        if not name or not name.replace("_", "").isalnum():
            raise ConfigError(f"{where}: {name!r} is not a usable environment variable name.")
        try:
            _render(spec, coordinates("postgresql://u:p@h:1/d", "redis://h:2/1"))
        except (KeyError, ValueError, IndexError) as exc:
            known = ", ".join(f"{field} ({text})" for field, text in FIELDS.items())
            raise ConfigError(
                f"{where}: {name} = {spec!r} names no known field ({exc}). Use one of: "
                f"{known}; or a template such as "
                "'postgresql+asyncpg://{user}:{password_quoted}@{host}:{port}/{database}'."
            ) from exc


def _render(spec: str, values: Mapping[str, str]) -> str:
    if "{" in spec:
        return spec.format(**values)
    return values[_ALIASES.get(spec, spec)]


def mapped(mapping: Mapping[str, str], url: str, redis_url: str | None = None) -> dict[str, str]:
    """The variables of ``mapping`` with their values for the database at ``url``."""
    values = coordinates(url, redis_url)
    return {name: _render(spec, values) for name, spec in mapping.items()}


def load_env_file(path: Path | None) -> None:
    """The env_file's lines into this process's environment, never over what is set: the
    project's own code (env.py, settings modules) sees the same variables under pytest and
    under `pgstack prepare` (pgstack's settings read the file already)."""
    if path is not None:
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def for_command(
    mapping: Mapping[str, str], url_env: str, url: str, redis_url: str | None = None
) -> dict[str, str]:
    """A full environment for a command that must work on the database at ``url``.

    libpq's ``PG*`` variables (psql, pg_dump, most drivers), the project's URL variable, the
    mapped variables, and this interpreter's folder first on PATH, so ``alembic`` or
    ``python`` mean the ones of the virtualenv pytest runs from, even when it is not
    activated.
    """
    values = coordinates(url, redis_url)
    env = dict(os.environ)
    env.update(
        PGHOST=values["host"],
        PGPORT=values["port"],
        PGUSER=values["user"],
        PGDATABASE=values["database"],
    )
    if values["password"]:
        env["PGPASSWORD"] = values["password"]
    else:
        env.pop("PGPASSWORD", None)
    env[url_env] = values["url"]
    env.update(mapped(mapping, url, redis_url))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


class Exports:
    """Variables set in ``os.environ`` for a while; ``restore`` puts back what each was
    (unset if it was unset), so a run leaves the process's environment as it found it."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, name: str, value: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


@contextmanager
def exported(variables: Mapping[str, str]) -> Iterator[None]:
    """``variables`` in the environment inside the ``with`` block only."""
    exports = Exports()
    try:
        for name, value in variables.items():
            exports.set(name, value)
        yield
    finally:
        exports.restore()
