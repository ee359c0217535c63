"""A migration that creates an extension (pgvector): it works on a server that has it, and on
one that does not the run stops before migrating, naming the package to install."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from conftest import assert_nothing_ran, output
from pgstack.settings import load_settings
from pgstack.template_spec import template_spec

VECTOR = "CREATE EXTENSION IF NOT EXISTS vector; CREATE TABLE docs (embedding vector(3))"

NEAREST = """
def test_nearest(db_connection):
    db_connection.execute("INSERT INTO docs VALUES ('[1,2,3]'), ('[9,9,9]')")
    row = db_connection.execute(
        "SELECT embedding::text FROM docs ORDER BY embedding <-> '[1,1,1]' LIMIT 1"
    ).fetchone()
    assert row == ("[1,2,3]",)
"""


def _pgserver_bin() -> Path:
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.origin is not None, "the pgserver wheel is a dev dependency"
    return Path(spec.origin).parent / "pginstall" / "bin"


def test_vector_on_a_server_without_it_stops_before_migrating(project, admin):
    available = admin.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
    ).fetchone()
    assert available is None, "this test needs a PostgreSQL without pgvector (the system's 15)"
    project.write_migration("0002", "0001", VECTOR)
    project.write_test("test_nearest", NEAREST)
    result = project.run()
    assert_nothing_ran(result)
    text = " ".join(output(result).split())
    assert "create extension(s) vector (in migrations/versions/0002.py)" in text, text
    assert "nothing was migrated" in text and "apt-get install postgresql-15-pgvector" in text
    assert f"PGSTACK_PG_BIN={_pgserver_bin()}" in text, text
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    settings = load_settings(project.path, environ={"DATABASE_URL": project.server_url})
    name = template_spec(settings).name()
    assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None


def test_vector_works_on_the_pgserver_wheels_postgres(project, shm_dir):
    """The fix the message offers: the embedded server from the wheel, which bundles it."""
    project.server_url = None  # embedded
    project.write_migration("0002", "0001", VECTOR)
    project.write_test("test_nearest", NEAREST)
    env = {"PGSTACK_PG_BIN": str(_pgserver_bin()), "PGSTACK_TMP_DIR": str(shm_dir)}
    result = project.run("-n", "2", env=env)
    result.assert_outcomes(passed=1)
    assert "embedded, binaries" in output(result), output(result)
