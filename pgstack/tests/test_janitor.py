"""Ownership: pgstack drops only what it provably created, and collects dead runs' leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from pgstack.ownership import RUN_APP_PREFIX, Marker, owned_databases, write_marker
from psycopg import sql

from pgstack import janitor


def _create(admin, name: str, marker: Marker | None = None, comment: str | None = None) -> None:
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    if marker is not None:
        write_marker(admin, name, marker)
    if comment is not None:
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(comment)
            )
        )


def _exists(admin, name: str) -> bool:
    row = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def _drop_plain(admin, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.mark.reliability
def test_databases_of_a_live_run_survive_a_janitor(admin, pg_server):
    run = "a1a1a1a1a1a1"
    name = f"pgstack_{run}_gw0"
    with psycopg.connect(pg_server.url, application_name=RUN_APP_PREFIX + run):
        _create(admin, name, Marker(kind="worker", run=run))
        assert janitor.collect_dead(admin, "pgstack") == []
        assert _exists(admin, name)
    # The lease connection is closed: the run is now provably dead.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and janitor.collect_dead(admin, "pgstack") == []:
        time.sleep(0.05)
    assert not _exists(admin, name)


@pytest.mark.reliability
def test_drop_owned_checks_the_run(admin):
    name = "pgstack_b2b2b2b2b2b2_gw0"
    _create(admin, name, Marker(kind="worker", run="b2b2b2b2b2b2"))
    try:
        with pytest.raises(janitor.NotOurs):
            janitor.drop_owned(admin, name, run="c3c3c3c3c3c3")
        assert janitor.drop_owned(admin, name, run="b2b2b2b2b2b2") is True
        assert not _exists(admin, name)
    finally:
        _drop_plain(admin, name)


SLOW_TEST = """
import os, time
from pathlib import Path

def test_hang(db_session, fresh_database):
    Path(os.environ["READY_FILE"]).write_text(fresh_database.name)
    time.sleep(120)
"""


@pytest.mark.long
@pytest.mark.reliability
@pytest.mark.parametrize("xdist", [False, True], ids=["single", "xdist"])
def test_killed_runs_databases_are_collected_by_the_next_run(project, admin, xdist):
    project.write_test("test_hang", SLOW_TEST)
    ready = project.path / "ready"
    env = dict(os.environ, DATABASE_URL=project.server_url, READY_FILE=str(ready))
    args = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider"]
    if xdist:
        args += ["-n", "1"]
    proc = subprocess.Popen(
        args, cwd=project.path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the inner run ended early"
            assert time.monotonic() < deadline, "the inner run never reached its test"
            time.sleep(0.05)
        before = {name for name, m in owned_databases(admin, "pgstack") if m.kind != "template"}
        assert ready.read_text() in before
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    if xdist:  # the worker notices its controller is gone and exits
        time.sleep(1)
    theirs = [
        name
        for name, m in owned_databases(admin, "pgstack")
        if m.kind != "template" and name in before
    ]
    assert theirs, "the killed run's databases should still exist before the next run"

    project.write_test("test_hang", "def test_ok(db_session):\n    pass\n")
    deadline = time.monotonic() + 30
    while True:  # the killed run's lease ends once the server notices the closed socket
        result = project.run()
        result.assert_outcomes(passed=1)
        if not any(_exists(admin, name) for name in theirs):
            break
        assert time.monotonic() < deadline, f"still there: {theirs}"
        time.sleep(0.5)
    assert any("dropped leftovers of dead runs" in line for line in result.outlines)
