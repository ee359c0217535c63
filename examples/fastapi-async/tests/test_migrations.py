"""The async Alembic env.py: pgstack ran it into the template; it also runs both ways on a
database of the test's own (in a thread: env.py runs its own event loop)."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

ROOT = Path(__file__).resolve().parents[1]


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def test_the_worker_database_is_at_head(async_db_session):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    version = await async_db_session.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == head == "0001"


async def test_the_schema_has_the_models_tables(async_db_session):
    def tables(sync_session):
        return set(inspect(sync_session.connection()).get_table_names())

    names = await async_db_session.run_sync(tables)
    assert {"projects", "tasks", "alembic_version"} <= names


async def test_downgrade_and_upgrade_again_on_a_fresh_database(async_fresh_database):
    config = alembic_config(async_fresh_database.url)
    await asyncio.to_thread(command.downgrade, config, "base")
    engine = async_fresh_database.async_engine()
    async with engine.connect() as conn:
        after_down = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert after_down == {"alembic_version"}
    await asyncio.to_thread(command.upgrade, config, "head")
    async with engine.connect() as conn:
        after_up = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"projects", "tasks"} <= after_up
