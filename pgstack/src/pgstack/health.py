"""Tell a failing test from a server that went away in the middle of the run.

When a test fails on a connection error, pgstack asks the servers themselves. If one no
longer answers (killed, crashed, restarted, out of memory), the run stops with one
message that names it, instead of every remaining test failing its own confusing way.
"""

from __future__ import annotations

import shutil

from pgstack import urls

# Where a server comes from (RunPlan.postgres_from / redis_from): the advice for one that
# went away depends on it.
EMBEDDED = "embedded"  # started by this run, gone with it
UP = "pgstack up"  # the project's persistent stack
FROM_ENV = "env"  # DATABASE_URL / REDIS_URL: a server someone else runs


def is_connection_error(exc: BaseException) -> bool:
    """A lost or refused connection (psycopg, SQLAlchemy around psycopg, or redis-py)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_connection_error(current):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def _is_connection_error(exc: BaseException) -> bool:
    import psycopg

    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    try:
        import redis
    except ImportError:
        return False
    return isinstance(exc, redis.ConnectionError | redis.TimeoutError)


_UP_FIX = (
    "The `pgstack up` stack was stopped (`pgstack down`?) or its server died: start it "
    "again with `pgstack up` and rerun."
)


def postgres_gone(admin_url: str, url_env: str, *, origin: str) -> str | None:
    """None if PostgreSQL answers ``SELECT 1``; else what happened and what to do.

    ``origin`` is where the server came from (``EMBEDDED``, ``UP`` or ``FROM_ENV``):
    the advice fits it, and names ``url_env`` only when the server came from there.
    """
    import psycopg

    try:
        with psycopg.connect(admin_url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        which = {EMBEDDED: "The embedded PostgreSQL", UP: "The `pgstack up` PostgreSQL"}
        fixes = {
            EMBEDDED: "Rerun: the next run starts a new server. If it keeps dying, look for "
            "the out-of-memory killer (dmesg) or a full PGSTACK_TMP_DIR.",
            UP: _UP_FIX,
        }
        fix = fixes.get(
            origin,
            "Find out why in the server's log, start it again (or unset "
            f"{url_env} to use an embedded server) and rerun; the next run drops this "
            "run's databases.",
        )
        return (
            f"{which.get(origin, 'PostgreSQL')} at {urls.describe(admin_url)} went away during "
            f"the run ({' '.join(str(exc).split())}): it was stopped, killed or crashed, so "
            f"the remaining tests cannot run. {fix}"
        )
    return None


def redis_gone(redis_url: str, url_env: str, *, origin: str) -> str | None:
    """None if Redis answers PING; else what happened and what to do (fits ``origin``)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        fixes = {
            EMBEDDED: "Rerun: an embedded Redis starts anew with the next run.",
            UP: _UP_FIX,
        }
        fix = fixes.get(origin, f"Start the one in {url_env} again, then rerun.")
        return (
            f"Redis at {urls.masked(redis_url)} went away during the run ({exc}): it was "
            f"stopped, killed or crashed, so the remaining tests cannot run. {fix}"
        )
    finally:
        client.close()
    return None


NO_SPACE = "No space left on device"
# PostgreSQL's own words for it (SQLSTATE 53100, psycopg.errors.DiskFull)
_DISK_FULL = (NO_SPACE, "DiskFull", "Check free disk space.")


def mentions_disk_full(text: str) -> bool:
    return any(marker in text for marker in _DISK_FULL)


def disk_full_hint(tmp_dir: str | None) -> str:
    """What to do when PostgreSQL (or a copy of its cluster) ran out of space."""
    if not tmp_dir:
        return (
            "The database server's disk is full. For the compose db, its data lives on a "
            "tmpfs in the container's memory: give the container more memory, or make the "
            "tests write less."
        )
    try:
        usage = shutil.disk_usage(tmp_dir)
        room = f" ({usage.free // 2**20} MB free of {usage.total // 2**20} MB)"
    except OSError:
        room = ""
    return (
        f"{tmp_dir}{room} is full: the embedded PostgreSQL keeps its data there. Give it "
        "more room (a bigger tmpfs; /dev/shm is sized by the machine or by the container's "
        "shm_size), or set PGSTACK_TMP_DIR to a folder with space."
    )
