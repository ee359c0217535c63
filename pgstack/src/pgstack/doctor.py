"""``pgstack doctor``: everything a run needs, checked one by one, each with its fix.

A check never raises: it reports ``ok``, ``warn`` (the run works, but not as well as it
could) or ``fail`` (the run would fail), so one problem never hides the next.

Longer than most modules on purpose: one small function per check, in the order a run
meets what they check, so the file reads as the checklist.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pgstack import admin, private_dirs, target_rules, urls
from pgstack.errors import PgstackError, UnsafeFolder
from pgstack.inventory import Inventory
from pgstack.run_plan import FROM_ENV
from pgstack.server_sources import Sources, find_servers
from pgstack.settings import Settings

if TYPE_CHECKING:
    import psycopg

    from pgstack.template_spec import TemplateSpec

OK, WARN, FAIL = "ok", "warn", "FAIL"
MIN_FREE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def run_checks(settings: Settings) -> list[Check]:
    """All checks, in the order a run meets the things they check."""
    checks = [_python(), *_packages(settings), _tmp_dir(settings), _port()]
    found = _guarded_sources(settings)
    if isinstance(found, Check):
        return [*checks, found]
    server = found.postgres_url
    if server is None:
        checks.append(_postgres_binaries(settings))
    else:
        checks.append(_reachable(server))
        if found.postgres_from == FROM_ENV:
            checks.append(_test_target(settings, server))
    if settings.redis:
        checks.append(_redis_reachable(settings, found.redis_url))
    checks.append(_docker())
    checks.append(_migrations(settings, server))
    if server is not None:
        checks.append(_leftovers(settings, server))
    return checks


def _guarded_sources(settings: Settings) -> Sources | Check:
    """The servers a run would use (``pgstack.server_sources``), or why they cannot be read."""
    try:
        return find_servers(settings)
    except PgstackError as exc:
        return Check("servers", FAIL, str(exc))


def _guard(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except PgstackError as exc:
        return Check(name, FAIL, str(exc))
    except Exception as exc:  # a doctor reports, it does not crash
        return Check(name, FAIL, f"{type(exc).__name__}: {exc}")


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", OK, f"{version} ({sys.executable})")


def _packages(settings: Settings) -> list[Check]:
    needed = {"psycopg": "psycopg[binary]", "pytest": "pytest"}  # SQLAlchemy is an extra
    if settings.redis:
        needed["redis"] = "redis"
    if settings.migrator == "alembic":
        needed["alembic"] = "alembic"
        needed["sqlalchemy"] = "SQLAlchemy"
    missing = [pip for module, pip in needed.items() if importlib.util.find_spec(module) is None]
    checks = [
        Check(
            "packages", FAIL, "missing: " + ", ".join(missing), f"pip install {' '.join(missing)}"
        )
        if missing
        else Check("packages", OK, ", ".join(sorted(needed)))
    ]
    if importlib.util.find_spec("xdist") is None:
        checks.append(
            Check(
                "pytest-xdist",
                WARN,
                "not installed: runs use one process",
                "pip install pytest-xdist",
            )
        )
    return checks


def _tmp_dir(settings: Settings) -> Check:
    path = settings.tmp_dir
    if not path.is_dir() or not os.access(path, os.W_OK):
        return Check(
            "tmp_dir", FAIL, f"{path} is not a writable folder", "Set PGSTACK_TMP_DIR to one."
        )
    try:
        base = private_dirs.base_dir(path)
    except UnsafeFolder as exc:
        return Check("tmp_dir", FAIL, str(exc))
    free = shutil.disk_usage(path).free
    tmpfs = _filesystem(path) == "tmpfs"
    detail = f"{path} ({'tmpfs' if tmpfs else _filesystem(path) or 'unknown fs'}, "
    detail += f"{free // 2**20} MiB free; pgstack's private folder {base.name})"
    if free < MIN_FREE_BYTES:
        return Check("tmp_dir", FAIL, detail, "Free space there, or set PGSTACK_TMP_DIR.")
    if not tmpfs:
        return Check("tmp_dir", WARN, detail, "A tmpfs (e.g. /dev/shm) makes clusters faster.")
    return Check("tmp_dir", OK, detail)


def _filesystem(path: Path) -> str | None:
    """The type of the mount holding ``path`` (longest matching mount point)."""
    best, kind = "", None
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    resolved = str(path.resolve())
    for line in lines:
        parts = line.split()
        inside = len(parts) > 2 and (resolved + "/").startswith(parts[1].rstrip("/") + "/")
        if inside and len(parts[1]) >= len(best):
            best, kind = parts[1], parts[2]
    return kind


def _port() -> Check:
    from pgstack.servers.process import free_port

    try:
        return Check("loopback port", OK, f"127.0.0.1:{free_port()} can be bound")
    except OSError as exc:
        return Check("loopback port", FAIL, str(exc), "Embedded servers need a loopback port.")


def _docker() -> Check:
    """Only the compose stack needs Docker; embedded servers never do."""
    import subprocess

    docker = shutil.which("docker")
    fix = "Only the Docker Compose test stack needs it; embedded servers work without."
    if docker is None:
        return Check("docker", WARN, "no docker CLI on PATH", fix)
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Check("docker", WARN, "`docker info` did not answer in 10 s", fix)
    if result.returncode != 0:
        return Check("docker", WARN, "the Docker engine is not reachable", fix)
    return Check("docker", OK, f"engine {result.stdout.strip()} (the compose stack can run)")


def _postgres_binaries(settings: Settings) -> Check:
    def check() -> Check:
        from pgstack.servers.binaries import find_postgres_bin

        folder = find_postgres_bin(settings.pg_bin)
        return Check("postgres binaries", OK, f"{folder} (an embedded server starts per run)")

    return _guard("postgres binaries", check)


def _redis_binary(settings: Settings) -> Check:
    def check() -> Check:
        from pgstack.servers.binaries import find_redis_server

        return Check("redis binary", OK, str(find_redis_server(settings.redis_bin)))

    return _guard("redis binary", check)


def _reachable(url: str) -> Check:
    def check() -> Check:
        with admin.connect(url) as conn:
            row = conn.execute(
                "SELECT current_setting('server_version'), rolcreatedb OR rolsuper "
                "FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
        assert row is not None
        if not row[1]:
            return Check(
                "postgres server",
                FAIL,
                f"{urls.describe(url)}: PostgreSQL {row[0]}, but the user cannot create databases",
                "ALTER ROLE <user> CREATEDB (pgstack creates a database per worker).",
            )
        return Check("postgres server", OK, f"{urls.describe(url)}: PostgreSQL {row[0]}")

    return _guard("postgres server", check)


def _test_target(settings: Settings, url: str) -> Check:
    """The rule a run applies before it creates anything (pgstack.target_rules)."""

    def check() -> Check:
        with admin.connect(url) as conn:
            target_rules.check_target(url, settings, conn)
        return Check("test target", OK, f"{urls.describe(url)} looks like a test server")

    return _guard("test target", check)


def _redis_reachable(settings: Settings, url: str | None) -> Check:
    if url is None:
        return _redis_binary(settings)

    def check() -> Check:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        try:
            client.ping()
        finally:
            client.close()
        return Check("redis server", OK, urls.masked(url))

    return _guard("redis server", check)


def _migrations(settings: Settings, server: str | None) -> Check:
    def check() -> Check:
        from pgstack.ownership import read_marker
        from pgstack.template_spec import template_spec

        spec = template_spec(settings)
        spec.check()
        name = spec.name()
        if server is None:
            return Check("migrations", OK, f"{settings.migrator}; template {name} (built per run)")
        with admin.connect(server) as conn:
            exists, marker = read_marker(conn, name)
            ready = exists and marker is not None and marker.state == "complete"
            stale = _stale(conn, server, spec, name) if ready else None
        if stale is not None:
            return Check(
                "migrations",
                WARN,
                f"{settings.migrator}; template {name} does not hold what the files on disk "
                f"say ({stale}): the next run rebuilds it",
                fix="add what shapes the schema but is not hashed to schema_inputs",
            )
        state = "ready, will be reused" if ready else "not built yet: the next run builds it"
        return Check("migrations", OK, f"{settings.migrator}; template {name} {state}")

    return _guard("migrations", check)


def _stale(conn: psycopg.Connection, server: str, spec: TemplateSpec, name: str) -> str | None:
    """What the built template holds that the files do not say (a scratch clone of it is
    compared, under a run lease of its own, as a run would before reusing it)."""
    from pgstack.ownership import RunLease, new_run_id
    from pgstack.template import mismatch

    run_id = new_run_id()
    lease = RunLease(server, run_id)
    try:
        return mismatch(conn, server, spec, name, run_id=run_id)
    finally:
        lease.close()


def _leftovers(settings: Settings, server: str) -> Check:
    def check() -> Check:
        from pgstack.alias_templates import template_names
        from pgstack.template_spec import template_spec

        current = template_names(template_spec(settings))
        with admin.connect(server) as conn:
            inventory = Inventory.take(conn, settings.prefix)
        dead, kept = inventory.dead(), inventory.kept()
        stale = inventory.old_templates(settings.project_dir, current)
        detail = f"{len(dead)} of dead runs, {len(kept)} kept, {len(stale)} old templates"
        if dead or kept or stale:
            return Check(
                "leftover databases",
                WARN,
                detail,
                "`pgstack clean` drops dead runs' databases and old templates "
                "(`--kept` also the kept ones).",
            )
        return Check("leftover databases", OK, "none")

    return _guard("leftover databases", check)
