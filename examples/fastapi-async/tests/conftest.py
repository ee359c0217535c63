"""The app against pgstack's async fixtures: every request's session is the test's
``async_db_session`` (commits become savepoints, all rolled back after the test), and its
Redis is ``async_redis_client`` (flushed after the test)."""

from collections.abc import AsyncIterator

import httpx
import pytest

from app.db import get_redis, get_session
from app.main import app


@pytest.fixture(scope="session")
def db_session_options():
    """The app's sessionmaker uses expire_on_commit=False: the test's session must too."""
    return {"expire_on_commit": False}


@pytest.fixture
async def client(async_db_session, async_redis_client) -> AsyncIterator[httpx.AsyncClient]:
    async def session_override():
        yield async_db_session

    app.dependency_overrides[get_session] = session_override
    app.dependency_overrides[get_redis] = lambda: async_redis_client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    app.dependency_overrides.clear()


@pytest.fixture
async def project(client) -> dict:
    response = await client.post("/projects", json={"name": "apollo"})
    assert response.status_code == 201
    return response.json()
