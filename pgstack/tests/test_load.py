"""Many runs on one server at once, as CI jobs sharing a database host: no collisions,
one template build, nothing of theirs left behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import cli
from pgstack.ownership import owned_databases

pytestmark = pytest.mark.reliability

RUNS = 8

TESTS = """
import pytest
from sqlalchemy import text


@pytest.mark.parametrize("i", range(10))
def test_rows_are_this_tests_own(db_session, i):
    assert db_session.execute(text("SELECT count(*) FROM items")).scalar() == 0
    db_session.execute(text("INSERT INTO items (name) VALUES (:n)"), {"n": f"item-{i}"})
    db_session.commit()
    assert db_session.execute(text("SELECT count(*) FROM items")).scalar() == 1


def test_fresh_database_commits(fresh_database):
    with fresh_database.engine().begin() as conn:
        conn.execute(text("INSERT INTO items (name) VALUES ('committed')"))
    with fresh_database.engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM items")).scalar() == 1
"""


@pytest.mark.long
def test_eight_runs_at_once_on_one_server(project, restartable_server):
    """On a server of its own, so that "nothing left" can be checked exactly."""
    server = restartable_server
    project.server_url = server.url
    project.write_test("test_load", TESTS)
    env = dict(os.environ, DATABASE_URL=project.server_url)
    args = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider"]
    runs = [
        subprocess.Popen(
            [*args, "-n", "2"],
            cwd=project.path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(RUNS)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    for run, out in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out
        assert "11 passed" in out, out

    headers = [
        re.search(
            r"pgstack: run (\w+), .* template (\w+) \((built|reused)(?:, built meanwhile by "
            r"run (\w+))?\)",
            out,
        )
        for out in outputs
    ]
    assert all(headers), outputs
    run_ids = {h.group(1) for h in headers}
    assert len(run_ids) == RUNS, "every run has its own id (its databases' names)"
    assert len({h.group(2) for h in headers}) == 1, "all runs share one template"
    assert sorted(h.group(3) for h in headers) == ["built"] + ["reused"] * (RUNS - 1)
    builder = next(h.group(1) for h in headers if h.group(3) == "built")
    # A run that waited for the build names the run that built it.
    assert {h.group(4) for h in headers} <= {None, builder}, outputs

    with server.admin() as admin:
        left = [name for name, _ in owned_databases(admin, "pgstack")]
    assert left == [headers[0].group(2)], "only the template (the next run's cache) stays"
    cleaned = cli(project, "clean", "--templates", env={"DATABASE_URL": server.url})
    assert cleaned.returncode == 0, cleaned.stderr
    with server.admin() as admin:
        assert owned_databases(admin, "pgstack") == []
