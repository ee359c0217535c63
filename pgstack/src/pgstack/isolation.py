"""Rollback per test: everything a test (and the code it calls) writes is undone after it.

SQLAlchemy: the session joins an outer transaction in SAVEPOINT mode, so code under test
may call ``commit()`` and ``rollback()`` freely; the outer transaction is rolled back at
the end (the "Joining a Session into an External Transaction" recipe of SQLAlchemy 2).
psycopg: the test runs inside ``transaction(force_rollback=True)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from pgstack import urls


def set_role_sql(role: str) -> sql.Composed:
    return sql.SQL("SET ROLE {}").format(sql.Identifier(role))


def make_engine(url: str, *, app_role: str | None = None, **kwargs: Any) -> Engine:
    """A psycopg 3 engine; with ``app_role`` every connection runs ``SET ROLE`` first,
    so Row Level Security applies as it would for the application."""
    engine = create_engine(urls.sqlalchemy_url(url), **kwargs)
    if app_role is not None:
        statement = set_role_sql(app_role)

        @event.listens_for(engine, "connect")
        def _set_role(dbapi_connection: psycopg.Connection, _record: object) -> None:
            with dbapi_connection.cursor() as cur:
                cur.execute(statement)
            dbapi_connection.commit()

    return engine


def connect(url: str, *, app_role: str | None = None) -> psycopg.Connection:
    """A psycopg connection, switched to ``app_role`` when given."""
    conn = psycopg.connect(url)
    if app_role is not None:
        conn.execute(set_role_sql(app_role))
        conn.commit()
    return conn


@contextmanager
def rollback_session(engine: Engine, **session_kwargs: Any) -> Iterator[Session]:
    """A Session whose every commit is a SAVEPOINT release; all of it rolled back after."""
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
