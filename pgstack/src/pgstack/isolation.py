"""Rollback per test: everything a test (and the code it calls) writes is undone after it.

SQLAlchemy: the session joins an outer transaction in SAVEPOINT mode, so code under test
may call ``commit()`` and ``rollback()`` freely; the outer transaction is rolled back at
the end (the "Joining a Session into an External Transaction" recipe of SQLAlchemy 2).
psycopg: ``db_connection`` is a ``RollbackConnection``: one transaction per test, whose
end and the next one's start travel in one round trip; ``commit()``/``rollback()`` raise,
since they would end that transaction. ``rollback_transaction`` does the same for any
connection, with psycopg's ``transaction(force_rollback=True)`` (two round trips).

SQLAlchemy is an optional extra: nothing here imports it until an engine or session is
asked for, so projects on plain psycopg never need it installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from pgstack import urls
from pgstack.errors import ConfigError

if TYPE_CHECKING:  # SQLAlchemy is imported only by the functions that use it
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session


class SqlalchemyMissing(ConfigError):
    """An engine or session was asked for, and SQLAlchemy (an optional extra) is not
    installed."""

    @classmethod
    def needed_by(cls, what: str) -> SqlalchemyMissing:
        return cls(
            f"SQLAlchemy is not installed, and {what} cannot work without it. Install "
            'pgstack with its sqlalchemy extra: pip install "pgstack[sqlalchemy]" (or add '
            "SQLAlchemy>=2.0 to the project's test dependencies). Tests on plain psycopg can "
            "use db_connection, or connect to fresh_database.url, instead."
        )


def require_sqlalchemy(what: str) -> None:
    """Raise ``SqlalchemyMissing`` naming ``what`` when SQLAlchemy cannot be imported."""
    try:
        import sqlalchemy  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name != "sqlalchemy":
            raise  # SQLAlchemy is there, something it imports is not: show that
        raise SqlalchemyMissing.needed_by(what) from exc


def set_role_sql(role: str) -> sql.Composed:
    return sql.SQL("SET ROLE {}").format(sql.Identifier(role))


def make_engine(url: str, *, app_role: str | None = None, **kwargs: Any) -> Engine:
    """A psycopg 3 engine; with ``app_role`` every connection runs ``SET ROLE`` first,
    so Row Level Security applies as it would for the application."""
    require_sqlalchemy("make_engine")
    from sqlalchemy import create_engine, event

    engine = create_engine(urls.sqlalchemy_url(url), **kwargs)
    if app_role is not None:
        statement = set_role_sql(app_role)

        @event.listens_for(engine, "connect")
        def _set_role(dbapi_connection: psycopg.Connection, _record: object) -> None:
            with dbapi_connection.cursor() as cur:
                cur.execute(statement)
            dbapi_connection.commit()

    return engine


class TestEndedTransaction(psycopg.ProgrammingError):
    """A test ended db_connection's transaction itself (COMMIT or ROLLBACK as SQL)."""

    @classmethod
    def on(cls, fixture: str, savepoint: str) -> TestEndedTransaction:
        """The error for ``fixture``, whose savepoint block inside a test is ``savepoint``."""
        return cls(
            f"The test ended {fixture}'s transaction itself (COMMIT or ROLLBACK as "
            "SQL), so its writes may have been committed and can leak into later tests. "
            f"Use `{savepoint}:` (a savepoint) inside tests, or "
            "fresh_database for tests that must commit."
        )


def commit_refused(fixture: str, savepoint: str) -> psycopg.ProgrammingError:
    return psycopg.ProgrammingError(
        f"commit() on {fixture} would end the transaction that undoes this test's "
        f"writes. Use `{savepoint}:` blocks (savepoints), or fresh_database "
        "for a test that must really commit."
    )


def rollback_refused(fixture: str, savepoint: str) -> psycopg.ProgrammingError:
    return psycopg.ProgrammingError(
        f"rollback() on {fixture} would end the transaction that undoes this test's "
        f"writes. Roll back part of a test with a `{savepoint}:` block."
    )


class RollbackConnection(psycopg.Connection):
    """A connection whose every test runs in one transaction, rolled back after it.

    Profiling the rollback fixture showed psycopg's ``transaction()`` block costing
    0.44 ms per test (BEGIN and ROLLBACK, two round trips, plus its bookkeeping) against
    0.14 ms for ``ROLLBACK; BEGIN`` sent as one message. That message is sent when a test
    ends and its answer read when the next one starts, so the round trip overlaps pytest's
    own work between tests. ``with conn.transaction():`` inside a test still works: it
    becomes a SAVEPOINT.
    """

    _pending = False  # "ROLLBACK; BEGIN" sent, answer not read yet

    @classmethod
    def open(cls, url: str, *, app_role: str | None = None) -> RollbackConnection:
        conn = cls.connect(url, autocommit=True)
        if app_role is not None:
            conn.execute(set_role_sql(app_role))
        conn.execute("BEGIN")
        return conn

    def next_test(self) -> None:
        """Undo this test's writes and open the next test's transaction (one message,
        not waited for: ``ready`` reads the answer)."""
        if self.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            self.execute("BEGIN")  # ended by the test itself (reported by check_ended)
            return
        self.pgconn.send_query(b"ROLLBACK; BEGIN")
        self._pending = True

    def ready(self) -> None:
        """Read the answer to ``next_test``'s message before the test uses the connection."""
        if not self._pending:
            return
        self._pending = False
        while (result := self.pgconn.get_result()) is not None:
            if result.status == psycopg.pq.ExecStatus.FATAL_ERROR:
                message = (result.error_message or b"").decode(errors="replace").strip()
                raise psycopg.OperationalError(
                    f"Rolling back the previous test on db_connection failed: {message}"
                )

    def check_ended(self) -> None:
        """Fail loudly when the test ended the transaction with SQL: its rows may stay."""
        if self.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            raise TestEndedTransaction.on("db_connection", "with conn.transaction()")

    def commit(self) -> None:
        raise commit_refused("db_connection", "with conn.transaction()")

    def rollback(self) -> None:
        raise rollback_refused("db_connection", "with conn.transaction()")


@contextmanager
def rollback_session(engine: Engine, **session_kwargs: Any) -> Iterator[Session]:
    """A Session whose every commit is a SAVEPOINT release; all of it rolled back after."""
    require_sqlalchemy("rollback_session")
    from sqlalchemy.orm import Session

    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", **session_kwargs)
    try:
        yield session
    finally:
        session.close()
        if outer.is_active:
            outer.rollback()
        connection.close()


@contextmanager
def rollback_transaction(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Run the block in a transaction that is always rolled back.

    ``conn.commit()`` inside raises (psycopg forbids it within ``transaction()``), which is
    the loud failure we want: a raw commit would leak rows into the next test.
    """
    with conn.transaction(force_rollback=True):
        yield conn
