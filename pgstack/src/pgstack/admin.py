"""Admin connections: autocommit, short connect timeout, errors that name the server."""

from __future__ import annotations

import contextlib
import hashlib

import psycopg

from pgstack import urls
from pgstack.connect_errors import explain
from pgstack.errors import ServerNotReady, ServerRefused

LOCK_NAMESPACE = 0x7067  # "pg": first key of every pgstack advisory lock


def connect(url: str, *, application_name: str = "pgstack") -> psycopg.Connection:
    """An admin session that the server's idle timeouts leave alone (see ``no_idle_timeouts``)."""
    try:
        conn = psycopg.connect(
            url, autocommit=True, connect_timeout=10, application_name=application_name
        )
        try:
            no_idle_timeouts(conn)
        except BaseException:
            conn.close()
            raise
        return conn
    except psycopg.OperationalError as exc:
        message = " ".join(str(exc).split()).rstrip(".")
        found = explain(message, url)
        error = ServerRefused if found.final else ServerNotReady
        raise error(
            f"Cannot connect to PostgreSQL at {urls.describe(url)}: {message}. {found.advice}"
        ) from exc


def no_idle_timeouts(conn: psycopg.Connection) -> None:
    """Turn the server's idle timeouts off for this session.

    pgstack's admin sessions idle for most of a run (the run's lease, a worker's own, the
    template lock held while migrations run): a server with ``idle_session_timeout`` set
    would end them, and a run whose lease ended looks dead to the next run's janitor.
    Servers before PostgreSQL 14 do not know ``idle_session_timeout``: nothing to turn off.
    """
    conn.execute("SET idle_in_transaction_session_timeout = 0")
    with contextlib.suppress(psycopg.errors.UndefinedObject):
        conn.execute("SET idle_session_timeout = 0")


def lock_key(name: str) -> int:
    """A stable signed 32-bit key for an advisory lock named ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


def server_version(conn: psycopg.Connection) -> int:
    return int(conn.info.server_version)
