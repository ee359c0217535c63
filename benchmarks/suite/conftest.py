"""One ``db`` fixture per isolation variant, chosen by BENCH_VARIANT; the tests never change.

rollback           pgstack's db_connection: a transaction rolled back after each test
floor              no isolation: one autocommit connection, nothing undone
truncate           one connection, TRUNCATE of every table after each test
fresh              pgstack's fresh_database: a clone of the template per test
pytest-postgresql  its `postgresql` fixture (a database per test from its template) on the
                   same server, through `postgresql_noproc`
sqlite             sqlite3 in memory, schema created per test

Async variants (test_small_async.py, `adb`; one session-scoped event loop, as a fast async
suite runs):
async-floor-psycopg      no isolation: one psycopg AsyncConnection (autocommit) for the run,
                         handed to each test by a plain function-scoped fixture (as `floor`)
async-fixture-psycopg    the same through a function-scoped async fixture that undoes
                         nothing: what pytest-asyncio's per-test set-up costs on its own
async-rollback-psycopg   pgstack's async_db_connection
async-floor-asyncpg      the same three with asyncpg; its rollback is pgstack's
async-fixture-asyncpg    asyncpg_connection
async-rollback-asyncpg
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

VARIANT = os.environ.get("BENCH_VARIANT", "rollback")
SCHEMA = Path(__file__).parent / "schema" / "001_items.sql"
SQLITE_SCHEMA = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty INT)"

if VARIANT == "pytest-postgresql":
    from pytest_postgresql import factories

    # pgstack exported this process's URL before this file was imported: same server.
    _server = urlsplit(os.environ["DATABASE_URL"])
    pp_server = factories.postgresql_noproc(
        host=_server.hostname,
        port=_server.port,
        user=_server.username,
        password=_server.password or "",
        dbname="bench_pp",
        load=[SCHEMA],
    )
    pp_database = factories.postgresql("pp_server")


@pytest.fixture(scope="session")
def shared(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


# `db` is defined statically for the chosen variant (a dynamic getfixturevalue would add
# its own cost to every variant that is not session-cached).
if VARIANT == "rollback":

    @pytest.fixture
    def db(db_connection):
        return db_connection

elif VARIANT == "floor":

    @pytest.fixture
    def db(shared):
        return shared

elif VARIANT == "truncate":

    @pytest.fixture
    def db(shared):
        yield shared
        shared.execute("TRUNCATE items RESTART IDENTITY")

elif VARIANT == "fresh":

    @pytest.fixture
    def db(fresh_database):
        with psycopg.connect(fresh_database.url, autocommit=True) as conn:
            yield conn

elif VARIANT == "pytest-postgresql":

    @pytest.fixture
    def db(pp_database):
        return pp_database

elif VARIANT == "sqlite":

    @pytest.fixture
    def db():
        conn = sqlite3.connect(":memory:")
        conn.execute(SQLITE_SCHEMA)
        yield conn
        conn.close()

elif VARIANT.startswith("async-"):
    import pytest_asyncio

    _, KIND, DRIVER = VARIANT.split("-")
    if DRIVER == "asyncpg":
        # Imported at collection by every asyncpg variant, as an asyncpg app's conftest
        # does (pgstack imports it on first use: ~25 ms inside the timed span otherwise).
        import asyncpg

    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def shared_async(database_url):
        if DRIVER == "asyncpg":
            conn = await asyncpg.connect(database_url)
        else:
            conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
        yield conn
        await conn.close()

    # Each variant's `adb` is one function-scoped fixture, as `db` is in the sync ones.
    if KIND == "floor":

        @pytest.fixture
        def adb(shared_async):
            return shared_async

    elif KIND == "fixture":

        @pytest_asyncio.fixture
        async def adb(shared_async):
            yield shared_async

    elif VARIANT == "async-rollback-psycopg":

        @pytest.fixture
        def adb(async_db_connection):
            return async_db_connection

    elif VARIANT == "async-rollback-asyncpg":

        @pytest.fixture
        def adb(asyncpg_connection):
            return asyncpg_connection

    else:
        raise pytest.UsageError(f"unknown BENCH_VARIANT {VARIANT!r}")

else:
    raise pytest.UsageError(f"unknown BENCH_VARIANT {VARIANT!r}")


async def insert_and_query(conn, name: str, qty: int) -> int:
    """The same two statements on either async driver (they differ in placeholders)."""
    if VARIANT.endswith("asyncpg"):
        await conn.execute("INSERT INTO items (name, qty) VALUES ($1, $2)", name, qty)
        return await conn.fetchval("SELECT qty FROM items WHERE name = $1", name)
    await conn.execute("INSERT INTO items (name, qty) VALUES (%s, %s)", (name, qty))
    cur = await conn.execute("SELECT qty FROM items WHERE name = %s", (name,))
    return (await cur.fetchone())[0]


def sql(text: str) -> str:
    """psycopg and sqlite3 differ only in the placeholder."""
    return text.replace("%s", "?") if VARIANT == "sqlite" else text
