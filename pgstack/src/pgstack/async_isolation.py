"""Rollback per test for async code: the counterparts of isolation.py for asyncio drivers.

SQLAlchemy: an ``AsyncSession`` joined to an outer transaction in SAVEPOINT mode (code
under test may ``await session.commit()``), rolled back after the test. psycopg:
``AsyncRollbackConnection`` refuses ``commit()``/``rollback()`` like ``db_connection``.
asyncpg: ``AsyncpgRollback`` keeps one asyncpg transaction open for the connection's life,
so a test's ``conn.transaction()`` blocks become SAVEPOINTs. Between tests both send
``ROLLBACK; BEGIN`` as one message when a test ends and await its answer when the next one
starts (``ready``), so the round trip overlaps pytest's own work, as the sync
``RollbackConnection`` does.

The async drivers are an optional extra (``pgstack[async]``): nothing here imports
asyncpg or SQLAlchemy's asyncio layer until something asks for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import generators

from pgstack import urls
from pgstack.errors import ConfigError
from pgstack.isolation import (
    TestEndedTransaction,
    commit_refused,
    require_sqlalchemy,
    rollback_refused,
    set_role_sql,
)

if TYPE_CHECKING:  # optional extras: imported only by the functions that use them
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

DRIVERS = ("asyncpg", "psycopg")
ROLLBACK_BEGIN = "ROLLBACK; BEGIN"  # one message: this test's end, the next one's start


class _Overlapped:
    """A statement sent now whose answer is awaited later (``ready``), in the same loop."""

    _pending: asyncio.Future[Any] | None = None

    async def _send_soon(self, statement: Awaitable[Any]) -> None:
        self._pending = asyncio.ensure_future(statement)
        await asyncio.sleep(0)  # one step of the task: the message leaves now

    async def ready(self) -> None:
        """Await the answer to the last test's ``ROLLBACK; BEGIN`` (raises if it failed)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def _settle(self) -> None:
        """Before closing: the answer, if any, read and any error dropped (closing rolls
        back anyway)."""
        with contextlib.suppress(Exception):
            await self.ready()


class AsyncDriverMissing(ConfigError):
    """An async fixture or engine was asked for and a package it needs is not installed."""

    @classmethod
    def needed_by(cls, what: str, package: str) -> AsyncDriverMissing:
        return cls(
            f"{package} is not installed, and {what} cannot work without it. Install "
            'pgstack with its async extra: pip install "pgstack[async]" (or add '
            f"{package} to the project's test dependencies)."
        )


class AsyncEngineNeedsLoop(ConfigError):
    """An async engine was asked for where nothing can dispose it in its event loop."""

    @classmethod
    def for_fresh_database(cls) -> AsyncEngineNeedsLoop:
        return cls(
            "fresh_database.async_engine() needs the async_fresh_database fixture: it is "
            "the same fresh database, and it disposes the engine in the test's event loop "
            "before the database is dropped. Ask for async_fresh_database instead."
        )


def require_module(what: str, module: str, package: str | None = None) -> None:
    """Raise ``AsyncDriverMissing`` naming ``what`` when ``module`` cannot be imported."""
    if importlib.util.find_spec(module) is None:
        raise AsyncDriverMissing.needed_by(what, package or module)


def default_driver() -> str:
    """asyncpg when installed (the usual driver of async services), else psycopg async."""
    return "asyncpg" if importlib.util.find_spec("asyncpg") is not None else "psycopg"


def make_async_engine(
    url: str, *, app_role: str | None = None, driver: str | None = None, **kwargs: Any
) -> AsyncEngine:
    """An ``AsyncEngine`` (asyncpg unless ``driver="psycopg"``); with ``app_role`` every
    connection runs ``SET ROLE`` first, as ``make_engine`` does for the sync engine."""
    require_sqlalchemy("make_async_engine")
    require_module("make_async_engine", "greenlet")  # SQLAlchemy's asyncio layer runs on it
    driver = driver or default_driver()
    if driver not in DRIVERS:
        raise ConfigError(f"Unknown async driver {driver!r}: use one of {', '.join(DRIVERS)}.")
    require_module("make_async_engine", driver)
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(urls.with_driver(url, driver), **kwargs)
    if app_role is not None:
        statement = set_role_sql(app_role).as_string()

        @event.listens_for(engine.sync_engine, "connect")
        def _set_role(dbapi_connection: Any, _record: object) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
            dbapi_connection.commit()

    return engine


@asynccontextmanager
async def rollback_async_session(
    engine: AsyncEngine, **session_kwargs: Any
) -> AsyncIterator[AsyncSession]:
    """An AsyncSession whose every commit is a SAVEPOINT release; all of it rolled back
    after (SQLAlchemy's "join a session into an external transaction" recipe, async)."""
    require_sqlalchemy("rollback_async_session")
    from sqlalchemy.ext.asyncio import AsyncSession

    async with engine.connect() as connection:
        outer = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", **session_kwargs
        )
        try:
            yield session
        finally:
            await session.close()
            if outer.is_active:
                await outer.rollback()


class AsyncRollbackConnection(psycopg.AsyncConnection):
    """``db_connection`` for async tests: one transaction per test, rolled back after it;
    ``commit()``/``rollback()`` raise. ``async with conn.transaction():`` inside a test is
    a SAVEPOINT. As on the sync ``RollbackConnection``, ``ROLLBACK; BEGIN`` goes out as
    one message when a test ends (libpq's send, no task, no wait) and its answer is read
    when the next test starts (``ready``): usually already there, so nothing waits."""

    _pending = False  # "ROLLBACK; BEGIN" sent, answer not read yet

    @classmethod
    async def open(cls, url: str, *, app_role: str | None = None) -> AsyncRollbackConnection:
        conn = await cls.connect(url, autocommit=True)
        if app_role is not None:
            await conn.execute(set_role_sql(app_role))
        await conn.execute("BEGIN")
        return conn

    async def next_test(self) -> None:
        """Undo this test's writes and open the next test's transaction."""
        if self.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            await self.execute("BEGIN")  # ended by the test itself (reported by check_ended)
            return
        self.pgconn.send_query(ROLLBACK_BEGIN.encode())
        await self.wait(generators.send(self.pgconn))  # flushed: the message is out
        self._pending = True

    async def ready(self) -> None:
        """Read the answer to ``next_test``'s message before the test uses the connection."""
        if not self._pending:
            return
        self._pending = False
        for result in await self.wait(generators.fetch_many(self.pgconn)):
            if result.status == psycopg.pq.ExecStatus.FATAL_ERROR:
                message = (result.error_message or b"").decode(errors="replace").strip()
                raise psycopg.OperationalError(
                    f"Rolling back the previous test on async_db_connection failed: {message}"
                )

    def check_ended(self) -> None:
        """Fail loudly when the test ended the transaction with SQL: its rows may stay."""
        if self.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            raise TestEndedTransaction.on("async_db_connection", "async with conn.transaction()")

    async def commit(self) -> None:
        raise commit_refused("async_db_connection", "async with conn.transaction()")

    async def rollback(self) -> None:
        raise rollback_refused("async_db_connection", "async with conn.transaction()")

    async def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            await self.ready()  # closing rolls back anyway
        await super().close()


class AsyncpgRollback(_Overlapped):
    """An asyncpg connection inside a transaction that each test's end rolls back.

    The transaction is asyncpg's own (``conn.transaction().start()``), so asyncpg knows
    one is open and turns a test's ``async with conn.transaction():`` into a SAVEPOINT;
    asyncpg connections have no ``commit()`` to refuse. Between tests the server gets
    ``ROLLBACK; BEGIN`` in one message, and the same asyncpg transaction stays the top one.
    """

    def __init__(self, conn: Any, outer: Any) -> None:
        self.conn = conn  # asyncpg.Connection (asyncpg ships no type information)
        self._outer = outer

    @classmethod
    async def open(cls, url: str, *, app_role: str | None = None) -> AsyncpgRollback:
        require_module("asyncpg_connection", "asyncpg")
        import asyncpg

        conn = await asyncpg.connect(urls.libpq_url(url))
        if app_role is not None:
            await conn.execute(set_role_sql(app_role).as_string())
        outer = conn.transaction()
        await outer.start()
        return cls(conn, outer)

    @property
    def closed(self) -> bool:
        return bool(self.conn.is_closed())

    async def next_test(self) -> None:
        if not self.conn.is_in_transaction():
            await self.conn.execute("BEGIN")  # ended by the test itself (check_ended)
        else:
            await self._send_soon(self.conn.execute(ROLLBACK_BEGIN))

    def check_ended(self) -> None:
        if not self.conn.is_in_transaction():
            raise TestEndedTransaction.on("asyncpg_connection", "async with conn.transaction()")

    async def close(self) -> None:
        await self._settle()
        await self.conn.close()
