"""A small async service: projects and tasks in PostgreSQL, view counters in Redis."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import redis.asyncio as redis
from fastapi import Depends, FastAPI, HTTPException, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app import config
from app.db import Resources, get_redis, get_session
from app.models import Project, Task
from app.schemas import ImportIn, ProjectIn, ProjectOut, TaskIn, TaskOut

Session = Annotated[AsyncSession, Depends(get_session)]
Redis = Annotated[redis.Redis, Depends(get_redis)]


def make_resources(database_url: str, redis_url: str, pool_size: int = 5) -> Resources:
    engine = create_async_engine(database_url, pool_size=pool_size, max_overflow=0)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return Resources(engine, sessions, redis.Redis.from_url(redis_url))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if not hasattr(app.state, "resources"):  # tests put their own there
        app.state.resources = make_resources(config.database_url(), config.redis_url())
    yield
    await app.state.resources.engine.dispose()
    await app.state.resources.redis.aclose()


app = FastAPI(title="tasks", lifespan=lifespan)


class NameTaken(HTTPException):
    def __init__(self, name: str) -> None:
        super().__init__(409, f"a project named {name!r} exists")


async def _project(session: AsyncSession, project_id: int) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise HTTPException(404, "no such project")
    return project


@app.get("/health")
async def health(session: Session, cache: Redis) -> dict[str, str]:
    await session.execute(select(1))
    await cache.ping()
    return {"status": "ok"}


@app.post("/projects", status_code=201, response_model=ProjectOut)
async def create_project(body: ProjectIn, session: Session) -> Project:
    project = Project(name=body.name)
    session.add(project)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise NameTaken(body.name) from None
    return project


@app.post("/projects/import", status_code=201, response_model=list[ProjectOut])
async def import_projects(body: ImportIn, session: Session) -> list[Project]:
    """All or nothing: a duplicate name anywhere rolls back every row of the request."""
    projects = [Project(name=name) for name in body.names]
    try:
        for project in projects:
            session.add(project)
            await session.flush()  # a duplicate raises here, mid-transaction
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(409, "a name is taken: nothing was imported") from None
    return projects


@app.get("/projects", response_model=list[ProjectOut])
async def list_projects(session: Session) -> list[Project]:
    return list((await session.scalars(select(Project).order_by(Project.name))).all())


@app.get("/projects/{project_id}", response_model=ProjectOut)
async def read_project(project_id: int, session: Session, cache: Redis) -> Project:
    project = await _project(session, project_id)
    await cache.incr(f"views:{project_id}")
    return project


@app.get("/projects/{project_id}/views")
async def project_views(project_id: int, cache: Redis) -> dict[str, int]:
    return {"views": int(await cache.get(f"views:{project_id}") or 0)}


@app.delete("/projects/{project_id}", status_code=204)
async def delete_project(project_id: int, session: Session, cache: Redis) -> Response:
    await session.delete(await _project(session, project_id))
    await session.commit()
    await cache.delete(f"views:{project_id}")
    return Response(status_code=204)


@app.post("/projects/{project_id}/tasks", status_code=201, response_model=TaskOut)
async def add_task(project_id: int, body: TaskIn, session: Session) -> Task:
    await _project(session, project_id)
    task = Task(project_id=project_id, title=body.title)
    session.add(task)
    await session.commit()
    return task


@app.get("/projects/{project_id}/tasks", response_model=list[TaskOut])
async def list_tasks(project_id: int, session: Session) -> list[Task]:
    await _project(session, project_id)
    query = select(Task).where(Task.project_id == project_id).order_by(Task.id)
    return list((await session.scalars(query)).all())


@app.post("/tasks/{task_id}/done", response_model=TaskOut)
async def finish_task(task_id: int, session: Session) -> Task:
    task = await session.get(Task, task_id)
    if task is None:
        raise HTTPException(404, "no such task")
    task.done = True
    await session.commit()
    return task


@app.get("/stats")
async def stats(session: Session) -> dict[str, int]:
    projects = await session.scalar(select(func.count()).select_from(Project))
    tasks = await session.scalar(select(func.count()).select_from(Task))
    done = await session.scalar(select(func.count()).select_from(Task).where(Task.done))
    return {"projects": projects or 0, "tasks": tasks or 0, "done": done or 0}
