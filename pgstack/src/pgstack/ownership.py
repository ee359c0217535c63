"""How pgstack proves a database is its own, and whether the run that made it still lives.

Marker: every database pgstack creates carries a comment ``pgstack:{json}`` naming its kind
and the run id that created it. Liveness: while a run lives, it holds one connection whose
``application_name`` is ``pgstack-run:<run id>``; PostgreSQL ends that session when the run
dies, however it dies, and ``pg_stat_activity`` shows it to every role on the server.
A database is collectable only when its marker parses and its run has no such session.

The lease must not end while the run lives: it turns the server's idle timeouts off for
itself, and a keepalive thread takes it again if the server ends it anyway.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import psycopg
from psycopg import sql

from pgstack import admin

COMMENT_PREFIX = "pgstack:"
RUN_APP_PREFIX = "pgstack-run:"
KEEPALIVE_SECONDS = 2.0


def new_run_id() -> str:
    return secrets.token_hex(6)


@dataclass(frozen=True)
class Marker:
    kind: str  # "template" | "worker" | "fresh"
    run: str
    state: str = "ready"  # templates: "building" until migrations succeed, then "complete"
    hash: str | None = None
    kept: bool = False  # a failed test's database kept for inspection; never auto-collected
    project: str | None = None  # templates: the project folder's name, shown to people
    checkout: str | None = None  # templates: checkout_id() of the project that built it

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


def checkout_id(project_dir: Path) -> str:
    """Which checkout of a project this is: two clones both called ``backend`` differ.

    A short hash of the resolved absolute path; the folder name alone named both.
    """
    return hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:12]


def is_of_checkout(marker: Marker, project_dir: Path) -> bool:
    """Whether a template was built by this checkout, the only proof `clean` accepts.

    Markers of pgstack versions before the checkout identity name only the folder, which
    another checkout may share: they never match, so nothing drops them as "ours" (drop
    them by hand, or `pgstack down` with the servers).
    """
    return marker.checkout is not None and marker.checkout == checkout_id(project_dir)


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
    databases.

    A daemon thread checks it every ``KEEPALIVE_SECONDS`` and connects again when the
    server ended it (``pg_terminate_backend``, a proxy's idle cut): a run that looks dead
    loses its databases to the next run's janitor. The same thread runs ``also`` callbacks
    (the run's Redis claims) so everything the run holds lives exactly as long.
    """

    def __init__(self, admin_url: str, run_id: str) -> None:
        self.run_id = run_id
        self._url = admin_url
        self._refreshers: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._conn = self._connect()
        self._thread = threading.Thread(
            target=self._keepalive, name=f"pgstack-lease-{run_id}", daemon=True
        )
        self._thread.start()

    def _connect(self) -> psycopg.Connection:
        return admin.connect(self._url, application_name=RUN_APP_PREFIX + self.run_id)

    @property
    def connection(self) -> psycopg.Connection:
        """The run's own admin connection (autocommit); the janitor works through it."""
        return self._conn

    def also(self, refresh: Callable[[], None]) -> None:
        """Call ``refresh`` from the keepalive thread while the lease lives."""
        self._refreshers.append(refresh)

    def refresh(self) -> None:
        """Prove the lease still holds; take it again if the server ended it."""
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            if self._stop.is_set():
                return
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = self._connect()

    def _keepalive(self) -> None:
        while not self._stop.wait(KEEPALIVE_SECONDS):
            for refresh in (self.refresh, *self._refreshers):
                # A server that is gone is reported by the run itself (server_lost.py).
                with contextlib.suppress(Exception):
                    refresh()

    def close(self) -> None:
        self._stop.set()
        # Bounded: the thread may be reconnecting to a server that is going away, and a
        # stopping run must not wait for that connect timeout (it is a daemon thread).
        self._thread.join(timeout=1.0)
        self._conn.close()
