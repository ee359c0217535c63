"""The template: built once, reused while the hash holds, never used half-built."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from conftest import assert_nothing_ran
from pgstack.ownership import Marker, read_marker

PASSING = """
from sqlalchemy import text

def test_table_exists(db_session):
    assert db_session.execute(text("SELECT count(*) FROM items")).scalar() == 0
"""


def _template_line(result) -> str:
    return next(line for line in result.outlines if "template pgstack_tpl_" in line)


def _template_name(project) -> str:
    """The name a run of ``project`` gives its template (as the plugin computes it)."""
    from pgstack.migrators import migrator_for
    from pgstack.settings import load_settings
    from pgstack.template_spec import TemplateSpec

    migrator = migrator_for(load_settings(project.path))
    return TemplateSpec(migrator, None, (), project.path, "pgstack").name()


def _template(result) -> tuple[str, str]:
    match = re.search(r"template (pgstack_tpl_\w+) \((built|reused)\)", _template_line(result))
    assert match, result.outlines
    return match.group(1), match.group(2)


@pytest.mark.reliability
def test_reused_on_unchanged_hash_rebuilt_on_change(project, admin):
    project.write_test("test_ok", PASSING)
    first = project.run()
    first.assert_outcomes(passed=1)
    name, state = _template(first)
    assert state == "built"

    second = project.run()
    second.assert_outcomes(passed=1)
    assert _template(second) == (name, "reused")

    project.write_migration("0002", "0001", "ALTER TABLE items ADD COLUMN note text")
    third = project.run()
    third.assert_outcomes(passed=1)
    new_name, state = _template(third)
    assert (new_name != name, state) == (True, "built")

    row = admin.execute(
        "SELECT datistemplate, datallowconn, shobj_description(oid, 'pg_database') "
        "FROM pg_database WHERE datname = %s",
        (new_name,),
    ).fetchone()
    assert row[0] is True and row[1] is False
    assert Marker.parse(row[2]).state == "complete"


@pytest.mark.reliability
def test_edited_migration_builds_a_new_template(project, admin):
    """Editing an applied migration in place (same revision id) must not reuse the old
    template: its hash covers the files' content, not the revision ids."""
    project.write_test("test_ok", PASSING)
    first = project.run()
    first.assert_outcomes(passed=1)
    old_name, _ = _template(first)

    project.write_migration(
        "0001",
        None,
        "CREATE TABLE items (id serial PRIMARY KEY, name text, edited boolean)",
        comment=f"edited in place {uuid.uuid4().hex}",
    )
    project.write_test(
        "test_ok",
        """
        from sqlalchemy import text

        def test_sees_the_edit(db_session):
            db_session.execute(text("SELECT edited FROM items"))
        """,
    )
    second = project.run()
    second.assert_outcomes(passed=1)
    new_name, state = _template(second)
    assert (new_name != old_name, state) == (True, "built")


@pytest.mark.reliability
def test_failed_migration_names_revision_and_leaves_no_template(project, admin):
    project.write_test("test_ok", PASSING)
    project.write_migration("0002bad", "0001", "ALTER TABLE no_such_table ADD COLUMN x int")
    result = project.run()
    assert result.ret != 0
    assert_nothing_ran(result)
    output = "\n".join(result.outlines + result.errlines)
    assert "0002bad" in output
    assert "no_such_table" in output
    assert "No template was kept" in output
    rows = admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE 'pgstack\\_tpl\\_%' "
        "AND shobj_description(oid, 'pg_database') LIKE '%building%'"
    ).fetchall()
    assert rows == []

    # Fixing the migration gives a working template on the next run.
    project.write_migration("0002bad", "0001", "ALTER TABLE items ADD COLUMN x int")
    project.run().assert_outcomes(passed=1)


@pytest.mark.reliability
def test_two_alembic_heads_fail_with_the_fix(project):
    project.write_test("test_ok", PASSING)
    project.write_migration("0002a", "0001", "SELECT 1")
    project.write_migration("0002b", "0001", "SELECT 1")
    result = project.run()
    assert result.ret != 0
    output = "\n".join(result.outlines + result.errlines)
    assert "2 heads" in output and "alembic merge heads" in output


@pytest.mark.reliability
def test_half_built_template_of_dead_run_is_rebuilt(project, admin):
    """A template left in state "building" by a crashed run is dropped and rebuilt."""
    from pgstack.ownership import write_marker
    from psycopg import sql

    name = _template_name(project)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    write_marker(admin, name, Marker(kind="template", run="deadbeef0000", state="building"))

    project.write_test("test_ok", PASSING)
    result = project.run()
    result.assert_outcomes(passed=1)
    assert _template(result) == (name, "built")


@pytest.mark.reliability
def test_foreign_database_with_template_name_is_refused(project, admin):
    from psycopg import sql

    name = _template_name(project)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        project.write_test("test_ok", PASSING)
        result = project.run()
        assert result.ret != 0
        assert "pgstack did not create it" in "\n".join(result.outlines + result.errlines)
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    finally:
        admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))


@pytest.mark.reliability
def test_a_run_that_waited_for_another_runs_build_names_that_run(project, admin):
    """Two runs at once (the compose runner starts `pgstack prepare` beside pytest): the one
    that waited for the other's build says so, instead of a bare "reused"."""
    project.write_migration("0002slow", "0001", "SELECT pg_sleep(4)")
    project.write_test("test_ok", PASSING)
    name = _template_name(project)
    builder = subprocess.Popen(
        [sys.executable, "-m", "pgstack.cli", "--project", str(project.path), "prepare"],
        env={**os.environ, "DATABASE_URL": project.server_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        building = False
        deadline = time.monotonic() + 30
        while not building and builder.poll() is None and time.monotonic() < deadline:
            exists, marker = read_marker(admin, name)
            building = exists and marker is not None and marker.state == "building"
            time.sleep(0.05)
        assert building, "the first run never started building"
        waiting = project.run()
    finally:
        built_output = builder.communicate(timeout=60)[0]
    assert builder.returncode == 0, built_output
    assert f"template {name} built" in built_output, built_output
    waiting.assert_outcomes(passed=1)
    line = _template_line(waiting)
    match = re.search(rf"template {name} \(reused, built meanwhile by run (\w+)\)", line)
    assert match, line
    exists, marker = read_marker(admin, name)
    assert exists and marker is not None and marker.run == match.group(1)

    # The next run found it complete: a plain reuse.
    assert _template(project.run()) == (name, "reused")
