"""Per-worker and per-test databases, copied from the template."""

from __future__ import annotations

import psycopg
from psycopg import sql

from pgstack import urls
from pgstack.admin import server_version
from pgstack.errors import CloneFailed
from pgstack.ownership import Marker, write_marker

_FILE_COPY_SINCE = 150000


def clone_database(
    conn: psycopg.Connection, *, template: str, name: str, marker: Marker, admin_url: str
) -> str:
    """``CREATE DATABASE name TEMPLATE template`` (FILE_COPY on PG 15+), marked as ours.

    Returns the new database's URL (same server and credentials as ``admin_url``).
    """
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    if server_version(conn) >= _FILE_COPY_SINCE:
        # FILE_COPY copies the template's files instead of WAL-logging every block:
        # faster for small schemas, and we never need the clone crash-safe.
        statement += sql.SQL(" STRATEGY FILE_COPY")
    try:
        conn.execute(statement)
        write_marker(conn, name, marker)
    except psycopg.Error as exc:
        hint = ""
        if "being accessed by other users" in str(exc):
            hint = (
                " A session is still connected to the template: close migration engines "
                "and connect to another database for admin work."
            )
        raise CloneFailed(
            f"Could not create database {name!r} from template {template!r} on "
            f"{urls.describe(admin_url)}: {' '.join(str(exc).split())}.{hint}"
        ) from exc
    return urls.with_database(admin_url, name)
