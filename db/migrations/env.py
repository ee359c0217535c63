"""Alembic environment: the URL comes from sqlalchemy.url (set by pgstack) or DATABASE_URL."""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from app.models import Base
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.engine import make_url

config = context.config
# pgstack runs migrations inside pytest: leave pytest's logging alone there.
if config.config_file_name is not None and not config.attributes.get("pgstack"):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("Set DATABASE_URL (or sqlalchemy.url) to the database to migrate.")
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


# Views and the materialized view are created by raw SQL in migrations, not by models.
VIEWS = {"monthly_revenue", "tenant_monthly_revenue"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and name in VIEWS)


def _run(connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, include_object=include_object
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # A caller (pytest-alembic, a test) may hand us a Connection or an Engine.
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    if given is not None:
        with given.connect() as connection:
            _run(connection)
        return
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
