"""How pgstack proves a database is its own, and whether the run that made it still lives.

Marker: every database pgstack creates carries a comment ``pgstack:{json}`` naming its kind
and the run id that created it. Liveness: while a run lives, it holds one connection whose
``application_name`` is ``pgstack-run:<run id>``; PostgreSQL ends that session when the run
dies, however it dies, and ``pg_stat_activity`` shows it to every role on the server.
A database is collectable only when its marker parses and its run has no such session.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, replace

import psycopg
from psycopg import sql

COMMENT_PREFIX = "pgstack:"
RUN_APP_PREFIX = "pgstack-run:"


def new_run_id() -> str:
    return secrets.token_hex(6)


@dataclass(frozen=True)
class Marker:
    kind: str  # "template" | "worker" | "fresh"
    run: str
    state: str = "ready"  # templates: "building" until migrations succeed, then "complete"
    hash: str | None = None
    kept: bool = False  # a failed test's database kept for inspection; never auto-collected
    project: str | None = None  # templates: the project folder's name (`pgstack clean`)

    def comment(self) -> str:
        return COMMENT_PREFIX + json.dumps(asdict(self), sort_keys=True)

    def with_(self, **changes: object) -> Marker:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def parse(cls, comment: str | None) -> Marker | None:
        if not comment or not comment.startswith(COMMENT_PREFIX):
            return None
        try:
            data = json.loads(comment[len(COMMENT_PREFIX) :])
            return cls(**data)
        except (TypeError, ValueError):
            return None


def write_marker(conn: psycopg.Connection, database: str, marker: Marker) -> None:
    conn.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(database), sql.Literal(marker.comment())
        )
    )


def read_marker(conn: psycopg.Connection, database: str) -> tuple[bool, Marker | None]:
    """(exists, marker): a database that exists without our marker is not ours."""
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (database,),
    ).fetchone()
    if row is None:
        return False, None
    return True, Marker.parse(row[0])


def owned_databases(conn: psycopg.Connection, prefix: str) -> list[tuple[str, Marker]]:
    """Databases whose name starts with ``prefix_`` AND that carry a pgstack marker."""
    rows = conn.execute(
        "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
        "WHERE starts_with(datname, %s) ORDER BY datname",
        (prefix + "_",),
    ).fetchall()
    owned = []
    for name, comment in rows:
        marker = Marker.parse(comment)
        if marker is not None:
            owned.append((name, marker))
    return owned


def live_runs(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT application_name FROM pg_stat_activity WHERE starts_with(application_name, %s)",
        (RUN_APP_PREFIX,),
    ).fetchall()
    return {name[len(RUN_APP_PREFIX) :] for (name,) in rows}


class RunLease:
    """The connection that proves a run is alive; close it only after dropping the run's
    databases."""

    def __init__(self, admin_url: str, run_id: str) -> None:
        self.run_id = run_id
        self._conn = psycopg.connect(
            admin_url, autocommit=True, application_name=RUN_APP_PREFIX + run_id
        )

    @property
    def connection(self) -> psycopg.Connection:
        """The run's own admin connection (autocommit); the janitor works through it."""
        return self._conn

    def close(self) -> None:
        self._conn.close()
