"""Every DROP DATABASE pgstack runs goes through here, and only after the marker says "ours".

Names alone prove nothing: a database called ``pgstack_…`` without our marker is left alone.
A dead run's database that someone is still connected to is left alone too: a live run
whose lease was lost for a moment still uses it, and so does a person inspecting it.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from pgstack.errors import NotOurs
from pgstack.inventory import Inventory
from pgstack.ownership import read_marker


def drop_owned(
    conn: psycopg.Connection, database: str, *, run: str | None = None, force: bool = True
) -> bool:
    """Drop ``database`` if its marker proves pgstack made it (and, given ``run``, in that run).

    Returns False when it no longer exists; raises NotOurs when it is not provably ours.
    ``force`` ends its sessions first (a run dropping its own); without it, a database with
    sessions raises ``psycopg.errors.ObjectInUse`` and stays.
    """
    exists, marker = read_marker(conn, database)
    if not exists:
        return False
    if marker is None or (run is not None and marker.run != run):
        raise NotOurs(
            f"refusing to drop database {database!r}: it does not carry "
            f"{'a pgstack marker' if marker is None else f'the marker of run {run}'}"
        )
    ident = sql.Identifier(database)
    if marker.kind == "template":
        conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(ident))
    drop = "DROP DATABASE IF EXISTS {} WITH (FORCE)" if force else "DROP DATABASE IF EXISTS {}"
    conn.execute(sql.SQL(drop).format(ident))
    return True


def drop_run(conn: psycopg.Connection, prefix: str, run: str) -> list[str]:
    """At the end of a run: drop every database it created, except kept ones."""
    dropped = []
    for entry in Inventory.take(conn, prefix).of_run(run):
        if not entry.marker.kept and drop_owned(conn, entry.name, run=run):
            dropped.append(entry.name)
    return dropped


def collect_dead(conn: psycopg.Connection, prefix: str) -> list[str]:
    """Drop databases left by runs that provably ended (crashed, killed) without cleaning up.

    Kept databases (failed tests, for inspection) and complete templates stay; a template
    still "building" for a dead run is half-built and goes. A database with sessions stays
    (see the module docstring).
    """
    dropped = []
    for entry in Inventory.take(conn, prefix).collectable():
        if has_sessions(conn, entry.name):
            continue  # in use: a later run collects it once nobody is connected
        try:
            if drop_owned(conn, entry.name, run=entry.marker.run, force=False):
                dropped.append(entry.name)
        except psycopg.errors.ObjectInUse:
            continue  # someone connected meanwhile
    return dropped


def has_sessions(conn: psycopg.Connection, database: str) -> bool:
    """Whether another session is on ``database``. Checked before a plain DROP, which waits
    5 s for the sessions to go before it gives up."""
    row = conn.execute(
        "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() LIMIT 1",
        (database,),
    ).fetchone()
    return row is not None
