"""The projects API through httpx.AsyncClient over ASGI; every commit is undone after."""

import pytest
from sqlalchemy import func, select

from app.models import Project


async def test_create_returns_the_new_project(client):
    response = await client.post("/projects", json={"name": "gemini"})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "gemini" and isinstance(body["id"], int)


async def test_created_project_can_be_read_back(client, project):
    response = await client.get(f"/projects/{project['id']}")
    assert response.status_code == 200
    assert response.json() == project


async def test_the_endpoints_commit_is_seen_by_the_tests_session(client, async_db_session):
    await client.post("/projects", json={"name": "mercury"})
    names = (await async_db_session.scalars(select(Project.name))).all()
    assert names == ["mercury"]


async def test_missing_project_is_404(client):
    response = await client.get("/projects/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "no such project"}


async def test_list_is_sorted_by_name(client):
    for name in ("vostok", "apollo", "soyuz"):
        await client.post("/projects", json={"name": name})
    response = await client.get("/projects")
    assert [p["name"] for p in response.json()] == ["apollo", "soyuz", "vostok"]


async def test_list_starts_empty(client):
    response = await client.get("/projects")
    assert response.json() == []


async def test_duplicate_name_is_409(client, project):
    response = await client.post("/projects", json={"name": project["name"]})
    assert response.status_code == 409
    assert "exists" in response.json()["detail"]


async def test_after_a_409_the_session_still_works(client, project):
    await client.post("/projects", json={"name": project["name"]})
    response = await client.post("/projects", json={"name": "artemis"})
    assert response.status_code == 201
    names = [p["name"] for p in (await client.get("/projects")).json()]
    assert names == ["apollo", "artemis"]


@pytest.mark.parametrize("name", ["", "x" * 81])
async def test_invalid_name_is_422(client, name):
    response = await client.post("/projects", json={"name": name})
    assert response.status_code == 422


async def test_delete_removes_the_project(client, project):
    response = await client.delete(f"/projects/{project['id']}")
    assert response.status_code == 204
    assert (await client.get(f"/projects/{project['id']}")).status_code == 404


async def test_delete_missing_is_404(client):
    assert (await client.delete("/projects/424242")).status_code == 404


async def test_import_creates_every_project(client):
    response = await client.post("/projects/import", json={"names": ["a", "b", "c"]})
    assert response.status_code == 201
    assert [p["name"] for p in response.json()] == ["a", "b", "c"]
    assert len((await client.get("/projects")).json()) == 3


async def test_import_that_raises_rolls_back_every_row(client, async_db_session):
    response = await client.post("/projects/import", json={"names": ["a", "b", "a"]})
    assert response.status_code == 409
    count = await async_db_session.scalar(select(func.count()).select_from(Project))
    assert count == 0


async def test_import_clashing_with_an_existing_project_keeps_only_that_one(client, project):
    response = await client.post("/projects/import", json={"names": ["new", project["name"]]})
    assert response.status_code == 409
    names = [p["name"] for p in (await client.get("/projects")).json()]
    assert names == [project["name"]]


async def test_stats_count_projects(client, project):
    await client.post("/projects", json={"name": "second"})
    assert (await client.get("/stats")).json() == {"projects": 2, "tasks": 0, "done": 0}


async def test_health_reaches_postgres_and_redis(client):
    response = await client.get("/health")
    assert response.json() == {"status": "ok"}
