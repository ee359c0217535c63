"""What pgstack's async fixtures promise: nothing a test commits reaches the next test."""

import pytest
from sqlalchemy import func, select, text

from app.models import Project


@pytest.mark.parametrize("run", range(5))
async def test_a_commit_inside_the_endpoint_is_rolled_back_after_the_test(client, run):
    # Same unique name in every run: a 409 here would mean an earlier run's row stayed.
    assert (await client.get("/projects")).json() == []
    response = await client.post("/projects", json={"name": "same-every-time"})
    assert response.status_code == 201


@pytest.mark.parametrize("run", range(3))
async def test_session_commits_are_savepoints(async_db_session, run):
    async_db_session.add(Project(name="committed"))
    await async_db_session.commit()
    async_db_session.add(Project(name="rolled-back"))
    await async_db_session.rollback()
    names = (await async_db_session.scalars(select(Project.name))).all()
    assert names == ["committed"]


async def test_other_connections_do_not_see_the_tests_rows(client, asyncpg_connection):
    await client.post("/projects", json={"name": "private"})
    assert await asyncpg_connection.fetchval("SELECT count(*) FROM projects") == 0


@pytest.mark.parametrize("run", range(3))
async def test_asyncpg_connection_is_rolled_back(asyncpg_connection, run):
    assert await asyncpg_connection.fetchval("SELECT count(*) FROM projects") == 0
    await asyncpg_connection.execute("INSERT INTO projects (name) VALUES ('raw')")


@pytest.mark.parametrize("run", range(3))
async def test_psycopg_connection_is_rolled_back(async_db_connection, run):
    cur = await async_db_connection.execute("SELECT count(*) FROM projects")
    assert await cur.fetchone() == (0,)
    await async_db_connection.execute("INSERT INTO projects (name) VALUES ('raw')")


async def test_psycopg_commit_is_refused(async_db_connection):
    with pytest.raises(Exception, match="would end the transaction"):
        await async_db_connection.commit()


@pytest.mark.parametrize("run", range(3))
async def test_redis_is_flushed_between_tests(client, project, async_redis_client, run):
    assert await async_redis_client.dbsize() == 0
    await client.get(f"/projects/{project['id']}")
    await client.get(f"/projects/{project['id']}")
    assert (await client.get(f"/projects/{project['id']}/views")).json() == {"views": 2}


async def test_each_worker_has_its_own_database(async_db_session, database_url):
    name = await async_db_session.scalar(text("SELECT current_database()"))
    assert database_url.endswith("/" + name)
    assert await async_db_session.scalar(select(func.count()).select_from(Project)) == 0
