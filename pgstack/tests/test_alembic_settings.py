"""The default alembic migrator with the most common env.py: its URL comes from the app's
settings object, built from ``POSTGRES_*`` variables when the app's config is imported."""

from __future__ import annotations

import textwrap
import uuid

import pytest
from conftest import ALEMBIC_INI, Project, assert_nothing_ran, migration, output
from pgstack.servers.postgres import EmbeddedPostgres

from pgstack import urls

CONFIG_PY = """\
import os


class Settings:
    def __init__(self):
        self.server = os.environ.get("POSTGRES_SERVER", "localhost")
        self.port = os.environ.get("POSTGRES_PORT", "5432")
        self.user = os.environ.get("POSTGRES_USER", "postgres")
        self.password = os.environ.get("POSTGRES_PASSWORD", "")
        self.db = os.environ.get("POSTGRES_DB", "app")

    @property
    def url(self):
        auth = f"{self.user}:{self.password}" if self.password else self.user
        return f"postgresql+psycopg://{auth}@{self.server}:{self.port}/{self.db}"


settings = Settings()
"""

ENV_PY = """\
from alembic import context
from sqlalchemy import create_engine, pool

from app.config import settings

engine = create_engine(settings.url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""

MAPPING = """
[tool.pgstack.env]
POSTGRES_SERVER = "host"
POSTGRES_PORT = "port"
POSTGRES_USER = "user"
POSTGRES_PASSWORD = "password"
POSTGRES_DB = "database"
"""


@pytest.fixture
def settings_project(pytester: pytest.Pytester, pg_server: EmbeddedPostgres):
    """An app whose settings are read at import (the conftest imports them, as app
    conftests do), and whose env.py migrates the database those settings name."""
    root = pytester.path
    table = f"items_{uuid.uuid4().hex[:12]}"
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "config.py").write_text(CONFIG_PY)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "migrations" / "versions" / "0001.py").write_text(
        migration("0001", None, f"CREATE TABLE {table} (id int)")
    )
    (root / "conftest.py").write_text("from app.config import settings  # noqa: F401\n")
    (root / "test_items.py").write_text(
        textwrap.dedent(
            f"""\
            import psycopg
            from app.config import settings

            def test_settings_name_this_workers_clone(db_connection):
                assert db_connection.execute("SELECT count(*) FROM {table}").fetchone() == (0,)
                assert db_connection.info.dbname == settings.db
            """
        )
    )
    return Project(pytester, root, pg_server.url), table


def test_env_py_reading_app_settings_migrates_the_template(settings_project):
    project, _ = settings_project
    (project.path / "pyproject.toml").write_text("[tool.pgstack]\nredis = false\n" + MAPPING)
    project.run("-n", "2").assert_outcomes(passed=1)
    project.run().assert_outcomes(passed=1)


def test_env_py_connecting_elsewhere_is_stopped_and_named(settings_project, pg_server, admin):
    project, table = settings_project
    (project.path / "pyproject.toml").write_text("[tool.pgstack]\nredis = false\n")
    server = urls.parse(pg_server.url)
    # The app's settings name another (real) database on the same server: nothing maps
    # them to the template.
    result = project.run(
        env={
            "POSTGRES_SERVER": server.host or "localhost",
            "POSTGRES_PORT": str(server.port),
            "POSTGRES_USER": server.user or "postgres",
            "POSTGRES_PASSWORD": server.password or "",
            "POSTGRES_DB": "postgres",
        }
    )
    assert_nothing_ran(result)
    text = output(result)
    assert f"tried to connect to database 'postgres' on {server.host}:{server.port}" in text
    assert "not to the template" in text and 'POSTGRES_DB = "database"' in text, text
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    # Nothing was migrated into the database it tried.
    assert admin.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,)
