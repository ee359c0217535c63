"""The sql and command migrators, seeds, Alembic -x arguments and the environment mapping."""

from __future__ import annotations

import textwrap
import uuid

import pytest
from conftest import Project, assert_nothing_ran


def write(project: Project, relative: str, text: str) -> None:
    path = project.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def pyproject(project: Project, body: str) -> None:
    write(project, "pyproject.toml", "[tool.pgstack]\nredis = false\n" + textwrap.dedent(body))


def unique() -> str:
    """A comment that makes this test's template its own (the hash covers file contents)."""
    return f"-- {uuid.uuid4().hex}\n"


def output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


SQL_PROJECT = """\
migrator = "sql"
sql_dir = "db/migrations"
seed = ["db/seed.sql"]
"""


def sql_project(project: Project) -> None:
    pyproject(project, SQL_PROJECT)
    write(
        project,
        "db/migrations/001_initial_schema.sql",
        unique()
        + """\
        CREATE TABLE plans (id serial PRIMARY KEY, name text UNIQUE NOT NULL);
        CREATE FUNCTION plan_count() RETURNS bigint LANGUAGE sql AS $$
            SELECT count(*) FROM plans;  -- a semicolon inside a body
        $$;
        """,
    )
    write(
        project,
        "db/migrations/002_add_price.sql",
        "ALTER TABLE plans ADD COLUMN price_cents int NOT NULL DEFAULT 0;\n",
    )
    write(
        project,
        "db/migrations/010_index.sql",
        "-- pgstack: no-transaction\n"
        "CREATE INDEX CONCURRENTLY plans_price ON plans (price_cents);\n",
    )
    write(project, "db/seed.sql", "INSERT INTO plans (name, price_cents) VALUES ('free', 0);\n")


SQL_TESTS = """\
def test_schema_and_seed(db_connection):
    rows = db_connection.execute("SELECT name, price_cents FROM plans").fetchall()
    assert rows == [("free", 0)]
    assert db_connection.execute("SELECT plan_count()").fetchone() == (1,)

def test_files_recorded_in_order(db_connection):
    rows = db_connection.execute(
        "SELECT filename, length(sha256) FROM pgstack_sql_migrations ORDER BY applied_at, filename"
    ).fetchall()
    assert rows == [
        ("001_initial_schema.sql", 64), ("002_add_price.sql", 64), ("010_index.sql", 64)
    ]

def test_index_built_outside_a_transaction(db_connection):
    row = db_connection.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'plans_price'")
    assert row.fetchone() == (1,)
"""


def test_sql_migrations_and_seed_are_in_every_clone(bare):
    sql_project(bare)
    bare.write_test("test_sql", SQL_TESTS)
    bare.run().assert_outcomes(passed=3)
    bare.run("-n", "2").assert_outcomes(passed=3)


@pytest.mark.reliability
def test_failing_sql_migration_names_file_and_line(bare):
    sql_project(bare)
    bare.write_test("test_sql", SQL_TESTS)
    write(
        bare,
        "db/migrations/003_broken.sql",
        "-- adds a column\nALTER TABLE plans\n  ADD COLUMN note txet;\n",
    )
    result = bare.run()
    assert_nothing_ran(result)
    text = output(result)
    assert "003_broken.sql, line 3" in text, text
    assert 'type "txet" does not exist' in text, text


@pytest.mark.reliability
def test_two_sql_migrations_with_one_number_are_refused(bare):
    sql_project(bare)
    bare.write_test("test_sql", SQL_TESTS)
    write(bare, "db/migrations/002_other_branch.sql", "SELECT 1;\n")
    result = bare.run()
    assert_nothing_ran(result)
    text = output(result)
    assert "Two SQL migrations share number 002" in text, text
    assert "002_add_price.sql" in text and "002_other_branch.sql" in text, text


def test_a_changed_seed_rebuilds_the_template(bare):
    sql_project(bare)
    bare.write_test("test_sql", SQL_TESTS)
    first = bare.run("-v")
    first.assert_outcomes(passed=3)
    write(bare, "db/seed.sql", "INSERT INTO plans (name, price_cents) VALUES ('pro', 900);\n")
    second = bare.run("-v")
    second.assert_outcomes(passed=2, failed=1)  # the seed rows changed; the template too
    assert "assert [('pro', 900)] == [('free', 0)]" in output(second), output(second)
    assert "(built)" in output(second), output(second)


MIGRATE_PY = """\
import os
import psycopg

# Reads the coordinates the way many settings classes do: five separate variables.
conninfo = psycopg.conninfo.make_conninfo(
    host=os.environ["POSTGRES_SERVER"],
    port=os.environ["POSTGRES_PORT"],
    user=os.environ["POSTGRES_USER"],
    password=os.environ["POSTGRES_PASSWORD"] or None,
    dbname=os.environ["POSTGRES_DB"],
)
with psycopg.connect(conninfo) as conn:
    conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
    conn.execute(
        "INSERT INTO notes (body) VALUES (%s), (%s)",
        (os.environ["PGDATABASE"], os.environ["DATABASE_URL"].rsplit("/", 1)[-1]),
    )
print("migrated", os.environ["POSTGRES_DB"])
"""

COMMAND_PROJECT = """\
migrator = "command"
command = "python tools/migrate.py"
schema_inputs = ["tools"]
seed_command = "psql -v ON_ERROR_STOP=1 -q -c \\"INSERT INTO notes (body) VALUES ('seeded')\\""

[tool.pgstack.env]
POSTGRES_SERVER = "host"
POSTGRES_PORT = "port"
POSTGRES_USER = "user"
POSTGRES_PASSWORD = "password"
POSTGRES_DB = "database"
TEST_DATABASE_URL = "postgresql+asyncpg://{user}@{host}:{port}/{database}"
"""

# conftest.py reads the variables at import time, as settings objects do.
COMMAND_CONFTEST = """\
import os

SEEN_AT_IMPORT = {name: os.environ[name] for name in ("POSTGRES_DB", "TEST_DATABASE_URL")}
"""

COMMAND_TESTS = """\
import os
from conftest import SEEN_AT_IMPORT

def test_conftest_saw_this_workers_database(db_connection):
    database = db_connection.execute("SELECT current_database()").fetchone()[0]
    assert SEEN_AT_IMPORT["POSTGRES_DB"] == database
    assert SEEN_AT_IMPORT["TEST_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert SEEN_AT_IMPORT["TEST_DATABASE_URL"].endswith("/" + database)
    assert os.environ["DATABASE_URL"].endswith("/" + database)

def test_migrated_and_seeded_once_into_the_template(db_connection):
    bodies = [r[0] for r in db_connection.execute("SELECT body FROM notes ORDER BY id")]
    assert len(bodies) == 3 and bodies[2] == "seeded"
    # The command saw the template's coordinates in PGDATABASE and DATABASE_URL alike.
    assert bodies[0] == bodies[1] and bodies[0].startswith("pgstack_tpl_")
"""


def command_project(project: Project) -> None:
    pyproject(project, COMMAND_PROJECT)
    write(project, "tools/migrate.py", f"# {uuid.uuid4().hex}\n" + MIGRATE_PY)
    write(project, "conftest.py", COMMAND_CONFTEST)
    project.write_test("test_command", COMMAND_TESTS)


def test_command_migrator_and_env_mapping(bare):
    command_project(bare)
    bare.run().assert_outcomes(passed=2)
    bare.run("-n", "2").assert_outcomes(passed=2)


def test_failing_command_shows_its_output(bare):
    command_project(bare)
    write(
        bare,
        "tools/migrate.py",
        "import sys\nprint('step 1 ok')\nsys.exit('boom: no such revision')\n",
    )
    result = bare.run()
    assert_nothing_ran(result)
    text = output(result)
    assert "`python tools/migrate.py`" in text and "exited with status 1" in text, text
    assert "| step 1 ok" in text and "| boom: no such revision" in text, text


def test_command_without_schema_inputs_is_a_config_error(bare):
    pyproject(bare, 'migrator = "command"\ncommand = "true"\n')
    bare.write_test("test_x", "def test_x():\n    pass\n")
    result = bare.run()
    assert_nothing_ran(result)
    assert "needs schema_inputs" in output(result), output(result)


def test_unknown_env_field_is_a_config_error(bare):
    pyproject(bare, '[tool.pgstack.env]\nPOSTGRES_HOST = "hostname"\n')
    bare.write_test("test_x", "def test_x():\n    pass\n")
    result = bare.run()
    assert_nothing_ran(result)
    text = output(result)
    assert "POSTGRES_HOST = 'hostname' names no known field" in text, text


ENV_PY_X = """\
from alembic import context
from sqlalchemy import create_engine, pool, text

args = context.get_x_argument(as_dictionary=True)
engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
        connection.execute(text("CREATE TABLE x_args (tenant text)"))
        connection.execute(text("INSERT INTO x_args VALUES (:t)"), {"t": args.get("tenant")})
engine.dispose()
"""


def test_alembic_x_arguments_reach_env_py(project):
    (project.path / "migrations" / "env.py").write_text(ENV_PY_X)
    with (project.path / "pyproject.toml").open("a") as handle:
        handle.write('alembic_x = ["tenant=acme"]\n')
    project.write_test(
        "test_x",
        """
        def test_tenant(db_connection):
            assert db_connection.execute("SELECT tenant FROM x_args").fetchall() == [("acme",)]
        """,
    )
    project.run().assert_outcomes(passed=1)
