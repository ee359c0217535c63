"""Tell a failing test from a server that went away in the middle of the run.

When a test fails on a connection error, pgstack asks the servers themselves. If one no
longer answers (killed, crashed, restarted, out of memory), the run stops with one
message that names it, instead of every remaining test failing its own confusing way.
"""

from __future__ import annotations

import sys

from pgstack import urls
from pgstack.run_plan import EMBEDDED, UP


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
    "The `pgstack up` servers were stopped (`pgstack down`?) or one died: start them "
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


def note_gone_at_end(admin_url: str, *, embedded: bool, what: str, exc: BaseException) -> None:
    """At the end of a run whose server went away: say what is left, do not raise (the run
    has already failed with the reason)."""
    left = (
        "nothing is left: the embedded server's data went with it"
        if embedded
        else "the next run on this server drops what this run left"
    )
    sys.stderr.write(
        f"pgstack: could not {what}: PostgreSQL at {urls.describe(admin_url)} is gone "
        f"({' '.join(str(exc).split())}); {left}.\n"
    )
