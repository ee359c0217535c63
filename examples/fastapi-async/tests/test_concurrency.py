"""Many requests at once through the app's own engine and pool, on a database of the
test's own (async_fresh_database: real commits, dropped after the test)."""

import asyncio

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db import get_redis
from app.main import app, make_resources

POOL = 5


@pytest.fixture
async def pooled_client(async_fresh_database, async_redis_client, redis_url):
    url = make_url(async_fresh_database.url).set(drivername="postgresql+asyncpg")
    resources = make_resources(url.render_as_string(hide_password=False), redis_url, POOL)
    app.state.resources = resources
    app.dependency_overrides[get_redis] = lambda: async_redis_client
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http, resources
    finally:
        app.dependency_overrides.clear()
        del app.state.resources
        await resources.engine.dispose()
        await resources.redis.aclose()


async def test_50_concurrent_creates_all_commit(pooled_client):
    http, resources = pooled_client
    responses = await asyncio.gather(
        *(http.post("/projects", json={"name": f"p{i}"}) for i in range(50))
    )
    assert [r.status_code for r in responses] == [201] * 50
    listed = (await http.get("/projects")).json()
    assert sorted(p["name"] for p in listed) == sorted(f"p{i}" for i in range(50))
    assert resources.engine.pool.checkedout() == 0  # every request gave its connection back


async def test_50_concurrent_duplicates_give_one_201_and_49_409(pooled_client):
    http, _ = pooled_client
    responses = await asyncio.gather(
        *(http.post("/projects", json={"name": "race"}) for _ in range(50))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 49


async def test_50_concurrent_reads_count_every_view(pooled_client):
    http, _ = pooled_client
    created = (await http.post("/projects", json={"name": "popular"})).json()
    responses = await asyncio.gather(*(http.get(f"/projects/{created['id']}") for _ in range(50)))
    assert all(r.status_code == 200 for r in responses)
    views = (await http.get(f"/projects/{created['id']}/views")).json()
    assert views == {"views": 50}


async def test_the_pool_never_exceeds_its_size(pooled_client, async_fresh_database):
    http, resources = pooled_client
    await asyncio.gather(*(http.post("/projects", json={"name": f"q{i}"}) for i in range(50)))
    assert resources.engine.pool.size() == POOL
    async with resources.engine.connect() as conn:
        from sqlalchemy import text

        rows = await conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        )
    assert 1 <= rows <= POOL
