"""Alembic on an async engine: the migrations run through ``connection.run_sync``."""

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.models import Base

config = context.config


def _url():
    """pgstack sets sqlalchemy.url to the template database; a shell gets DATABASE_URL."""
    url = config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]
    return make_url(url).set(drivername="postgresql+asyncpg")


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
    await engine.dispose()


asyncio.run(run_async_migrations())
