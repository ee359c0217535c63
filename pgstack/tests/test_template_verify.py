"""A template is verified before it is reused: what it holds against the files on disk."""

from __future__ import annotations

import uuid

import pytest
from conftest import cli, migration
from pgstack.migrators.alembic import AlembicMigrator
from pgstack.migrators.sql import SqlMigrator
from pgstack.ownership import RunLease, new_run_id
from pgstack.settings import load_settings
from pgstack.template import ensure_template
from pgstack.template_spec import template_spec

from pgstack import urls

# Revisions also live in extra/, a folder outside script_location: Alembic reads it,
# the template's hash (alembic.ini + script_location) does not cover it.
SPLIT_INI = """\
[alembic]
script_location = %(here)s/migrations
version_locations = %(here)s/migrations/versions:%(here)s/extra
path_separator = os
"""

SEES_NOTE = """
from sqlalchemy import text

def test_sees_note(db_session):
    assert db_session.execute(text("SELECT count(note) FROM items")).scalar() == 0
"""


def _header(result) -> str:
    return "\n".join(line for line in result.outlines if line.startswith("pgstack:"))


@pytest.mark.long
@pytest.mark.reliability
def test_a_revision_outside_the_hashed_inputs_rebuilds_the_template(project):
    (project.path / "alembic.ini").write_text(SPLIT_INI)
    (project.path / "extra").mkdir()
    project.write_test("test_ok", "def test_ok(db_connection):\n    pass\n")
    first = project.run()
    first.assert_outcomes(passed=1)
    assert "(built)" in _header(first), _header(first)

    (project.path / "extra" / "0002.py").write_text(
        migration("0002", "0001", "ALTER TABLE items ADD COLUMN note text")
    )
    project.write_test("test_ok", SEES_NOTE)
    doctor = cli(project, "doctor", env={"DATABASE_URL": project.server_url})
    line = next(line for line in doctor.stdout.splitlines() if "migrations" in line)
    assert line.lstrip().startswith("warn") and "does not hold what the files" in line, line
    assert "head 0002" in line, line
    second = project.run()
    second.assert_outcomes(passed=1)
    header = _header(second)
    assert "(rebuilt)" in header, header
    assert "head 0002" in header and "extra/0002.py, a file outside the hashed inputs" in header
    assert "add it to schema_inputs" in header, header

    third = project.run()
    third.assert_outcomes(passed=1)
    assert "(reused)" in _header(third), _header(third)


def _clone_of_template(project, admin) -> tuple[str, RunLease]:
    """Build the project's template; a scratch database cloned from it, for mismatch()."""
    settings = load_settings(project.path, environ={"DATABASE_URL": project.server_url})
    run_id = new_run_id()
    lease = RunLease(project.server_url, run_id)
    name = ensure_template(project.server_url, template_spec(settings), run_id=run_id).name
    scratch = f"verify_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{scratch}" TEMPLATE "{name}"')
    return scratch, lease


def test_alembic_mismatch_names_the_missing_head(project, admin):
    scratch, lease = _clone_of_template(project, admin)
    try:
        url = urls.with_database(project.server_url, scratch)
        migrator = AlembicMigrator(config_path=project.path / "alembic.ini")
        assert migrator.mismatch(url) is None
        project.write_migration("0002", "0001", "SELECT 1")
        migrator = AlembicMigrator(config_path=project.path / "alembic.ini")
        found = migrator.mismatch(url)
        assert found is not None and "head 0002" in found, found
        assert "outside the hashed inputs" not in found, found  # versions/ is hashed
    finally:
        admin.execute(f'DROP DATABASE "{scratch}"')
        lease.close()


def test_sql_mismatch_names_the_changed_file(bare, admin):
    bare.path.joinpath("pyproject.toml").write_text(
        '[tool.pgstack]\nredis = false\nmigrator = "sql"\nsql_dir = "db"\n'
    )
    folder = bare.path / "db"
    folder.mkdir()
    (folder / "001_a.sql").write_text(f"-- {uuid.uuid4().hex}\nCREATE TABLE a (id int);\n")
    scratch, lease = _clone_of_template(bare, admin)
    try:
        url = urls.with_database(bare.server_url, scratch)
        migrator = SqlMigrator(folder)
        assert migrator.mismatch(url) is None
        (folder / "001_a.sql").write_text("CREATE TABLE a (id bigint);\n")
        (folder / "002_b.sql").write_text("CREATE TABLE b (id int);\n")
        found = migrator.mismatch(url)
        assert found is not None, found
        assert "001_a.sql differs" in found and "002_b.sql is on disk but not" in found, found
    finally:
        admin.execute(f'DROP DATABASE "{scratch}"')
        lease.close()


def test_on_a_private_server_the_template_is_verified_in_place(project, admin):
    """A run's own embedded server: no scratch clone, the template is read where it is,
    and afterwards takes no connections again and holds no session."""
    (project.path / "alembic.ini").write_text(SPLIT_INI)
    (project.path / "extra").mkdir()
    environ = {"DATABASE_URL": project.server_url}
    run_id = new_run_id()
    lease = RunLease(project.server_url, run_id)

    def ensure():
        spec = template_spec(load_settings(project.path, environ=environ))
        return ensure_template(project.server_url, spec, run_id=run_id, private=True)

    def state(name):
        query = (
            "SELECT datallowconn, (SELECT count(*) FROM pg_stat_activity a "
            "WHERE a.datname = d.datname) FROM pg_database d WHERE datname = %s"
        )
        return admin.execute(query, (name,)).fetchone()

    try:
        first = ensure()
        again = ensure()
        assert (again.name, again.built, again.stale) == (first.name, False, None)
        assert state(first.name) == (False, 0)

        (project.path / "extra" / "0002.py").write_text(
            migration("0002", "0001", "ALTER TABLE items ADD COLUMN note text")
        )
        rebuilt = ensure()
        assert rebuilt.built and rebuilt.stale is not None and "head 0002" in rebuilt.stale
        assert state(rebuilt.name) == (False, 0)
    finally:
        lease.close()
