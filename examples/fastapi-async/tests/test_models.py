"""The models on async_db_session directly, no HTTP."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.models import Project, Task


async def test_created_at_comes_from_the_server(async_db_session):
    project = Project(name="clock")
    async_db_session.add(project)
    await async_db_session.commit()
    await async_db_session.refresh(project)
    assert project.created_at is not None


async def test_tasks_load_with_selectinload(async_db_session):
    async_db_session.add(Project(name="p", tasks=[Task(title="a"), Task(title="b")]))
    await async_db_session.commit()
    query = select(Project).options(selectinload(Project.tasks))
    project = (await async_db_session.scalars(query)).one()
    assert sorted(t.title for t in project.tasks) == ["a", "b"]


async def test_unique_violation_raises_and_the_session_recovers(async_db_session):
    async_db_session.add(Project(name="dup"))
    await async_db_session.commit()
    async_db_session.add(Project(name="dup"))
    with pytest.raises(IntegrityError):
        await async_db_session.commit()
    await async_db_session.rollback()
    names = (await async_db_session.scalars(select(Project.name))).all()
    assert names == ["dup"]


async def test_a_task_needs_an_existing_project(async_db_session):
    async_db_session.add(Task(project_id=123456, title="orphan"))
    with pytest.raises(IntegrityError, match="foreign key"):
        await async_db_session.flush()
    await async_db_session.rollback()


async def test_done_defaults_to_false(async_db_session):
    project = Project(name="defaults", tasks=[Task(title="t")])
    async_db_session.add(project)
    await async_db_session.flush()
    assert project.tasks[0].done is False
