"""What `pgstack init` reads in a project to propose its ``[tool.pgstack]`` table.

Read only, nothing imported or run: Django's manage.py and pytest's ini options, alembic.ini
and its ``script_location``, folders of numbered SQL files, the environment variables the
code reads for database and Redis coordinates, and whether it uses Redis. Every finding
keeps the reason shown to the user.
"""

from __future__ import annotations

import ast
import configparser
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgstack import pytest_ini

# Folders that hold no project settings code (or too much of someone else's).
_SKIP_DIRS = {
    "node_modules",
    "__pycache__",
    "site-packages",
    "build",
    "dist",
    "tests",
    "test",
    "migrations",
    "versions",
}
_MAX_DEPTH = 4
_NUMBERED_SQL = re.compile(r"^\d+[_\-.].*\.sql$")
_SEEDS = ("seed.sql", "seeds.sql", "seed", "seeds")

# Variable names projects read their database coordinates from, by the field of
# pgstack.environment.FIELDS they receive. DATABASE_URL is database_url_env already.
COORDINATE_NAMES = {
    "host": {
        "POSTGRES_SERVER",
        "POSTGRES_HOST",
        "POSTGRESQL_HOST",
        "DB_HOST",
        "DATABASE_HOST",
        "PGHOST",
    },
    "port": {"POSTGRES_PORT", "POSTGRESQL_PORT", "DB_PORT", "DATABASE_PORT", "PGPORT"},
    "user": {
        "POSTGRES_USER",
        "POSTGRES_USERNAME",
        "DB_USER",
        "DB_USERNAME",
        "DATABASE_USER",
        "PGUSER",
    },
    "password": {
        "POSTGRES_PASSWORD",
        "DB_PASSWORD",
        "DB_PASS",
        "DATABASE_PASSWORD",
        "PGPASSWORD",
    },
    "database": {
        "POSTGRES_DB",
        "POSTGRES_DATABASE",
        "POSTGRES_NAME",
        "DB_NAME",
        "DB_DATABASE",
        "DATABASE_NAME",
        "PGDATABASE",
    },
    "url": {"TEST_DATABASE_URL", "POSTGRES_URL", "POSTGRES_DSN", "DB_URL", "DATABASE_DSN"},
    "sqlalchemy_url": {"SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_DATABASE_URL"},
}
REDIS_NAMES = {"REDIS_DSN", "CACHE_URL", "CELERY_BROKER_URL", "BROKER_URL", "CACHE_REDIS_URL"}
_REDIS_MODULES = {"redis", "aioredis", "django_redis", "rq", "valkey", "fakeredis"}
_ENV_CALLS = {"get", "getenv", "str", "int", "bool", "db", "db_url", "url", "cache", "cache_url"}


@dataclass
class Finding:
    """One thing init found, and why it concluded what it did."""

    topic: str
    text: str


@dataclass
class Proposal:
    """The [tool.pgstack] table init would write, with what it found on the way."""

    table: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def note(self, topic: str, text: str) -> None:
        self.findings.append(Finding(topic, text))


def scan(project: Path) -> Proposal:
    """Inspect ``project`` and propose its table (defaults are left out)."""
    project = project.resolve()
    proposal = Proposal()
    python_files = list(_python_files(project))
    found = _django(project, proposal) or _alembic(project, proposal) or _sql(project, proposal)
    if not found:
        proposal.table["migrator"] = "none"
        proposal.note(
            "migrations",
            "no manage.py, alembic.ini or folder of numbered *.sql files: "
            'migrator = "none" (the schema comes from init files, or is empty)',
        )
    uses_redis = _redis(project, python_files, proposal)
    if not uses_redis:
        proposal.table["redis"] = False
    _coordinates(project, python_files, proposal, uses_redis)
    return proposal


def _walk(project: Path) -> Iterator[Path]:
    """The project's files, without virtualenvs, hidden folders and dependencies."""

    def visit(folder: Path, depth: int) -> Iterator[Path]:
        try:
            children = sorted(folder.iterdir())
        except OSError:
            return
        for child in children:
            if child.is_dir() and not child.is_symlink():
                skip = child.name.startswith(".") or (child / "pyvenv.cfg").exists()
                if depth < _MAX_DEPTH and not skip and child.name != "node_modules":
                    yield child
                    yield from visit(child, depth + 1)
            elif child.is_file():
                yield child

    yield from visit(project, 0)


def _python_files(project: Path) -> Iterator[Path]:
    """Application code: no tests, migrations or vendored folders."""
    for path in _walk(project):
        parts = set(path.relative_to(project).parts[:-1])
        if path.suffix == ".py" and not parts & _SKIP_DIRS:
            yield path


def _shown(path: Path, project: Path) -> str:
    return path.relative_to(project).as_posix()


def _django(project: Path, proposal: Proposal) -> bool:
    manage = project / "manage.py"
    found = pytest_django_settings(project)
    if not manage.is_file() and found is None:
        return False
    proposal.table["migrator"] = "django"
    what = "manage.py" if manage.is_file() else "pytest's Django settings option"
    from_manage = None
    if manage.is_file():
        match = re.search(
            r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""", manage.read_text("utf-8")
        )
        from_manage = match.group(1) if match else None
    if found is not None:
        module, where = found
        proposal.note(
            "migrations",
            f'{what}: a Django project: migrator = "django". Its settings module {module} '
            f"is found the way pytest-django finds it ({where}), so pgstack uses the same one "
            "without a django_settings line",
        )
    elif from_manage is not None:
        proposal.table["django_settings"] = from_manage
        proposal.note(
            "migrations",
            f'manage.py: a Django project: migrator = "django". pytest-django would not find '
            f"a settings module (no --ds, no DJANGO_SETTINGS_MODULE ini option), so "
            f'django_settings = "{from_manage}", the one manage.py sets',
        )
    else:
        proposal.note(
            "migrations",
            'manage.py: a Django project: migrator = "django". No settings module found '
            "(manage.py sets none, no pytest ini option): set django_settings by hand",
        )
    return True


def pytest_django_settings(project: Path) -> tuple[str, str] | None:
    """The settings module pytest-django's ini options name, and where (``--ds`` in
    addopts wins over the DJANGO_SETTINGS_MODULE option, as in pytest-django)."""
    ds = re.search(r"--ds[= ]([\w.]+)", pytest_ini.option(project, "addopts") or "")
    if ds:
        return ds.group(1), "--ds in pytest's addopts"
    module = pytest_ini.option(project, "DJANGO_SETTINGS_MODULE")
    if module:
        return module, "the DJANGO_SETTINGS_MODULE ini option"
    return None


def _alembic(project: Path, proposal: Proposal) -> bool:
    inis = [project / "alembic.ini"] if (project / "alembic.ini").is_file() else []
    inis = inis or [p for p in _walk(project) if p.name == "alembic.ini"]
    if not inis:
        return False
    ini = inis[0]
    try:
        location, written = _script_location(ini)
    except configparser.Error as exc:
        location = written = None
        problem = f"it could not be read ({exc})"
    else:
        problem = "it has no script_location" if location is None else ""
    if location is not None and not _location_folder(ini, location).is_dir():
        problem = f"its script_location {location} is not a folder (a package path?)"
    where = _shown(ini, project)
    default = ini == project / "alembic.ini"
    if not default:
        proposal.table["alembic_config"] = where
    detail = f"script_location = {written}" if not problem else f"but {problem}"
    proposal.note(
        "migrations",
        f"{where} ({detail}): Alembic, the default migrator; "
        + ("nothing to write" if default else f'alembic_config = "{where}"'),
    )
    return True


def _script_location(ini: Path) -> tuple[str | None, str | None]:
    """alembic.ini's script_location, with %(here)s expanded and as written."""
    parser = configparser.ConfigParser(defaults={"here": str(ini.parent)})
    parser.read(ini, encoding="utf-8")
    return (
        parser.get("alembic", "script_location", fallback=None),
        parser.get("alembic", "script_location", raw=True, fallback=None),
    )


def _location_folder(ini: Path, location: str) -> Path:
    return Path(location) if Path(location).is_absolute() else ini.parent / location


def alembic_migrations_folder(ini: Path) -> Path | None:
    """The folder of migrations alembic.ini names, or None (unreadable, absent, a package)."""
    try:
        location, _ = _script_location(ini)
    except (OSError, configparser.Error):
        return None
    if location is None:
        return None
    folder = _location_folder(ini, location)
    return folder if folder.is_dir() else None


def _sql(project: Path, proposal: Proposal) -> bool:
    folders: dict[Path, int] = {}
    for path in _walk(project):
        if path.is_file() and _NUMBERED_SQL.match(path.name):
            folders[path.parent] = folders.get(path.parent, 0) + 1
    if not folders:
        return False
    folder = max(folders, key=lambda f: (folders[f], -len(f.parts)))
    proposal.table["migrator"] = "sql"
    proposal.table["sql_dir"] = _shown(folder, project)
    others = ", ".join(_shown(f, project) for f in folders if f != folder)
    proposal.note(
        "migrations",
        f'{_shown(folder, project)} holds {folders[folder]} numbered *.sql files: migrator = "sql"'
        + (f" (also numbered SQL in {others}; not used)" if others else ""),
    )
    seeds = [
        parent / name
        for parent in (folder, folder.parent)
        for name in _SEEDS
        if (parent / name).exists()
    ]
    if seeds:
        proposal.table["seed"] = [_shown(seeds[0], project)]
        proposal.note(
            "seed", f"{_shown(seeds[0], project)}: run into the template after migrations"
        )
    return True


def _redis(project: Path, files: list[Path], proposal: Proposal) -> bool:
    for path in files:
        text = path.read_text("utf-8", errors="replace")
        if "django_redis" in text:
            proposal.note("redis", f"{_shown(path, project)} names django_redis: Redis is used")
            return True
        for module in _imports(path, text):
            if module.split(".")[0] in _REDIS_MODULES:
                proposal.note("redis", f"{_shown(path, project)} imports {module}: Redis is used")
                return True
    for path in _walk(project):
        if path.name.startswith("requirements") and path.suffix in {".txt", ".in"}:
            requirements = path.read_text("utf-8", errors="replace").lower()
            if re.search(r"^\s*(redis|django-redis|aioredis|rq|valkey)\b", requirements, re.M):
                proposal.note("redis", f"{_shown(path, project)} requires Redis: Redis is used")
                return True
    proposal.note("redis", "no Redis client imported or required: redis = false")
    return False


def _imports(path: Path, text: str) -> list[str]:
    try:
        tree = ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def read_variables(path: Path) -> set[str]:
    """Environment variable names the file reads: ``os.environ[…]``, ``os.environ.get``,
    ``os.getenv``, django-environ's ``env(…)``/``env.str(…)``, and the fields of a pydantic
    ``BaseSettings`` class."""
    try:
        tree = ast.parse(path.read_text("utf-8", errors="replace"), filename=str(path))
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            names |= _literal(node.slice)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in _ENV_CALLS | {"env", "Env"} or (
                isinstance(func, ast.Attribute) and _is_environ(func.value)
            ):
                names |= _literal(node.args[0])
        elif isinstance(node, ast.ClassDef) and any(
            "Settings" in ast.unparse(base) for base in node.bases
        ):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
    return {name for name in names if name.isupper() or "_" in name}


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _literal(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    return set()


def _coordinates(project: Path, files: list[Path], proposal: Proposal, uses_redis: bool) -> None:
    field_of = {name: field for field, names in COORDINATE_NAMES.items() for name in names}
    mapping: dict[str, str] = {}
    sources: dict[str, set[str]] = {}
    for path in files:
        for name in read_variables(path):
            target = field_of.get(name) or ("redis_url" if name in REDIS_NAMES else None)
            if target is None or (target == "redis_url" and not uses_redis):
                continue
            mapping[name] = target
            sources.setdefault(_shown(path, project), set()).add(name)
    if not mapping:
        proposal.note(
            "coordinates",
            "no code reads POSTGRES_*/DB_*-style variables: nothing to map (each process's "
            "own URL is in DATABASE_URL" + (", its Redis in REDIS_URL)" if uses_redis else ")"),
        )
        return
    proposal.table["env"] = dict(sorted(mapping.items(), key=_order))
    for source, names in sorted(sources.items()):
        proposal.note(
            "coordinates",
            f"{source} reads {', '.join(sorted(names))}: each gets this process's own value "
            "([tool.pgstack.env])",
        )


_FIELD_ORDER = ["url", "sqlalchemy_url", "host", "port", "user", "password", "database"]


def _order(item: tuple[str, str]) -> tuple[int, str]:
    name, target = item
    rank = _FIELD_ORDER.index(target) if target in _FIELD_ORDER else len(_FIELD_ORDER)
    return rank, name
