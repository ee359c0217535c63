"""Tasks belong to a project; deleting the project deletes them (ON DELETE CASCADE)."""

from sqlalchemy import func, select

from app.models import Task


async def add(client, project, title):
    response = await client.post(f"/projects/{project['id']}/tasks", json={"title": title})
    assert response.status_code == 201
    return response.json()


async def test_add_task(client, project):
    task = await add(client, project, "launch")
    assert task["project_id"] == project["id"] and task["done"] is False


async def test_tasks_are_listed_in_creation_order(client, project):
    for title in ("fuel", "launch", "orbit"):
        await add(client, project, title)
    response = await client.get(f"/projects/{project['id']}/tasks")
    assert [t["title"] for t in response.json()] == ["fuel", "launch", "orbit"]


async def test_task_for_a_missing_project_is_404(client):
    response = await client.post("/projects/777777/tasks", json={"title": "x"})
    assert response.status_code == 404


async def test_tasks_of_a_missing_project_is_404(client):
    assert (await client.get("/projects/777777/tasks")).status_code == 404


async def test_finish_task(client, project):
    task = await add(client, project, "launch")
    response = await client.post(f"/tasks/{task['id']}/done")
    assert response.json()["done"] is True
    stats = (await client.get("/stats")).json()
    assert stats == {"projects": 1, "tasks": 1, "done": 1}


async def test_finish_missing_task_is_404(client):
    assert (await client.post("/tasks/555555/done")).status_code == 404


async def test_deleting_the_project_deletes_its_tasks(client, project, async_db_session):
    await add(client, project, "a")
    await add(client, project, "b")
    await client.delete(f"/projects/{project['id']}")
    count = await async_db_session.scalar(select(func.count()).select_from(Task))
    assert count == 0


async def test_empty_title_is_422(client, project):
    response = await client.post(f"/projects/{project['id']}/tasks", json={"title": ""})
    assert response.status_code == 422
