"""The async fixtures, through real inner pytest runs: pytest-asyncio (strict and auto
modes, function, module and session loops, ``loop_scope``) and anyio's plugin, with xdist;
every run with warnings as errors (an unclosed connection or a closed loop fails it), and
every worker's database left with no connection of the run's own."""

from __future__ import annotations

import uuid

import pytest
from psycopg import sql

ASYNC_TESTS = """
import pytest
from sqlalchemy import text

pytestmark = {mark}


async def count(session):
    return (await session.execute(text("SELECT count(*) FROM items"))).scalar()


@pytest.mark.parametrize("i", range(4))
async def test_session_commit_is_rolled_back_after_the_test(async_db_session, i):
    assert await count(async_db_session) == 0
    # Code under test that manages its own transaction; same unique name every time.
    await async_db_session.execute(text("INSERT INTO items (name) VALUES ('same')"))
    await async_db_session.commit()
    await async_db_session.execute(text("INSERT INTO items (name) VALUES ('undone')"))
    await async_db_session.rollback()
    names = (await async_db_session.execute(text("SELECT name FROM items"))).scalars().all()
    assert names == ["same"]


@pytest.mark.parametrize("i", range(4))
async def test_psycopg_connection_is_rolled_back(async_db_connection, i):
    cur = await async_db_connection.execute("SELECT count(*) FROM items")
    assert await cur.fetchone() == (0,)
    await async_db_connection.execute("INSERT INTO items (name) VALUES ('same')")
    with pytest.raises(Exception, match="duplicate key"):
        async with async_db_connection.transaction():
            await async_db_connection.execute("INSERT INTO items (name) VALUES ('same')")
    with pytest.raises(Exception, match="commit.. on async_db_connection"):
        await async_db_connection.commit()
    cur = await async_db_connection.execute("SELECT count(*) FROM items")
    assert await cur.fetchone() == (1,)


@pytest.mark.parametrize("i", range(4))
async def test_asyncpg_connection_is_rolled_back(asyncpg_connection, i):
    assert await asyncpg_connection.fetchval("SELECT count(*) FROM items") == 0
    await asyncpg_connection.execute("INSERT INTO items (name) VALUES ('same')")
    with pytest.raises(Exception, match="duplicate key"):
        async with asyncpg_connection.transaction():  # a savepoint: the row above stays
            await asyncpg_connection.execute("INSERT INTO items (name) VALUES ('same')")
    assert await asyncpg_connection.fetchval("SELECT count(*) FROM items") == 1


async def test_engine_is_on_the_workers_database(async_db_engine, database_url):
    async with async_db_engine.connect() as conn:
        name = (await conn.execute(text("SELECT current_database()"))).scalar()
    assert database_url.endswith("/" + name)


@pytest.mark.parametrize("i", range(3))
async def test_redis_is_flushed_after_the_test(async_redis_client, i):
    assert await async_redis_client.get("key") is None
    await async_redis_client.set("key", "value")
    assert await async_redis_client.get("key") == b"value"


async def test_fresh_database_commits_for_real(async_fresh_database, database_url):
    engine = async_fresh_database.async_engine()
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO items (name) VALUES ('same')"))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM items"))).scalar() == 1
        name = (await conn.execute(text("SELECT current_database()"))).scalar()
    assert async_fresh_database.name == name and not database_url.endswith("/" + name)
"""

ANYIO_BACKEND = """

@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

# After every fixture's teardown: how many other connections the worker's database has.
# (A closed connection's backend may take a moment to leave pg_stat_activity.)
LEAK_CONFTEST = """
import os
import time
from pathlib import Path

import psycopg


def pytest_sessionfinish(session):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        for _ in range(100):
            others = conn.execute(query).fetchone()[0]
            if others == 0:
                break
            time.sleep(0.05)
    Path(os.environ["LEAK_DIR"], worker).write_text(str(others))
"""

# Each plugin setup: (pytest arguments, the tests' pytestmark).
VARIANTS = {
    "asyncio-strict-function": (
        ["-p", "no:anyio", "-o", "asyncio_mode=strict"],
        "pytest.mark.asyncio",
    ),
    "asyncio-auto-function": (["-p", "no:anyio", "-o", "asyncio_mode=auto"], "[]"),
    "asyncio-strict-session-loop_scope": (
        ["-p", "no:anyio", "-o", "asyncio_mode=strict"],
        'pytest.mark.asyncio(loop_scope="session")',
    ),
    "asyncio-auto-session-default": (
        ["-p", "no:anyio", "-o", "asyncio_mode=auto",
         "-o", "asyncio_default_test_loop_scope=session"],
        "[]",
    ),
    "asyncio-strict-module-loop_scope": (
        ["-p", "no:anyio", "-o", "asyncio_mode=strict"],
        'pytest.mark.asyncio(loop_scope="module")',
    ),
    "anyio": (["-p", "no:asyncio"], "pytest.mark.anyio"),
}  # fmt: skip

STRICT = ["-W", "error", "-o", "asyncio_default_fixture_loop_scope=function"]


def _async_project(project, mark: str, anyio: bool) -> None:
    (project.path / "pyproject.toml").write_text(
        (project.path / "pyproject.toml").read_text().replace("redis = false", "redis = true")
    )
    body = ASYNC_TESTS.format(mark=mark) + (ANYIO_BACKEND if anyio else "")
    project.write_test("test_async_fixtures", body)
    project.write_test("test_async_more", body)  # a second module: module loops change
    project.write_test("conftest", LEAK_CONFTEST)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_async_fixtures_under_each_plugin_with_xdist(project, pytester, variant):
    args, mark = VARIANTS[variant]
    _async_project(project, mark, anyio=variant == "anyio")
    leaks = pytester.path / "leaks"
    leaks.mkdir()
    result = project.run("-n", "2", *STRICT, *args, env={"LEAK_DIR": str(leaks)})
    result.assert_outcomes(passed=34)
    text = "\n".join(result.outlines + result.errlines)
    assert "Event loop is closed" not in text and "unclosed" not in text.lower(), text
    counts = {path.name: path.read_text() for path in leaks.iterdir()}
    assert set(counts) >= {"gw0", "gw1"}, counts
    assert set(counts.values()) == {"0"}, f"connections left open: {counts}"


def test_async_fixtures_in_one_process(project, pytester):
    """No xdist: one session loop keeps one connection per kind for the whole run."""
    args, mark = VARIANTS["asyncio-auto-session-default"]
    _async_project(project, mark, anyio=False)
    leaks = pytester.path / "leaks"
    leaks.mkdir()
    env = {"LEAK_DIR": str(leaks)}
    result = project.run(*STRICT, *args, env=env)
    result.assert_outcomes(passed=34)
    assert (leaks / "main").read_text() == "0"


def test_sql_commit_on_async_connections_fails_the_test_loudly(project):
    project.write_test(
        "test_ended",
        """
        import pytest

        pytestmark = pytest.mark.asyncio

        async def test_a_psycopg_sql_commit(async_db_connection):
            await async_db_connection.execute("INSERT INTO items (name) VALUES ('leaked')")
            await async_db_connection.execute("COMMIT")

        async def test_b_asyncpg_sql_commit(asyncpg_connection):
            await asyncpg_connection.execute("INSERT INTO items (name) VALUES ('leaked2')")
            await asyncpg_connection.execute("COMMIT")

        async def test_c_next_test_starts_in_a_transaction(async_db_connection):
            assert async_db_connection.info.transaction_status == 2  # INTRANS
        """,
    )
    result = project.run(*STRICT, "-o", "asyncio_mode=strict")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["*ended async_db_connection's transaction itself*"])
    result.stdout.fnmatch_lines(["*ended asyncpg_connection's transaction itself*"])


def test_without_an_async_plugin_the_error_says_which_to_install(project):
    project.write_test(
        "test_no_plugin",
        """
        async def test_uses_async_session(async_db_session):
            pass
        """,
    )
    result = project.run("-p", "no:asyncio", "-p", "no:anyio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*async_db_* is an async fixture, and no async test plugin is installed*"
            "pip install pytest-asyncio*"
        ]
    )
    assert "Traceback" not in "\n".join(result.outlines)


def test_a_sync_test_asking_for_an_async_fixture_is_told_how(project):
    project.write_test(
        "test_sync",
        """
        def test_sync(asyncpg_connection):
            pass
        """,
    )
    result = project.run("-p", "no:anyio", *STRICT, "-o", "asyncio_mode=strict")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*asyncpg_connection is an async fixture: use it from an async test*"]
    )


def test_fresh_database_async_engine_needs_the_async_fixture(project):
    project.write_test(
        "test_fresh",
        """
        def test_fresh(fresh_database):
            fresh_database.async_engine()
        """,
    )
    result = project.run("-p", "no:anyio", *STRICT, "-o", "asyncio_mode=strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*needs the async_fresh_database fixture*"])


ROLE_TESTS = """
import pytest
from pgstack.async_isolation import make_async_engine
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
WHO = "SELECT current_user, session_user"


async def test_session(async_db_session):
    assert (await async_db_session.execute(text(WHO))).one() == ("{role}", "postgres")


async def test_psycopg(async_db_connection):
    cur = await async_db_connection.execute(WHO)
    assert await cur.fetchone() == ("{role}", "postgres")


async def test_asyncpg(asyncpg_connection):
    assert tuple(await asyncpg_connection.fetchrow(WHO)) == ("{role}", "postgres")


async def test_fresh(async_fresh_database):
    async with async_fresh_database.async_engine().connect() as conn:
        assert (await conn.execute(text(WHO))).one() == ("{role}", "postgres")


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
async def test_either_driver(database_url, driver):
    engine = make_async_engine(database_url, app_role="{role}", driver=driver)
    async with engine.connect() as conn:
        assert (await conn.execute(text(WHO))).one() == ("{role}", "postgres")
        assert conn.dialect.driver == driver
    await engine.dispose()
"""


def test_async_fixtures_connect_as_the_app_role(project, admin):
    role = f"app_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("CREATE ROLE {} NOSUPERUSER NOBYPASSRLS").format(sql.Identifier(role)))
    try:
        project.write_test("test_roles", ROLE_TESTS.replace("{role}", role))
        env = {"PGSTACK_APP_ROLE": role}
        result = project.run("-p", "no:anyio", *STRICT, "-o", "asyncio_mode=strict", env=env)
        result.assert_outcomes(passed=6)
    finally:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
