"""A server killed in the middle of a run: the run stops with one clear message, and the
next run recovers (and, on a shared server, drops what the dead run left)."""

from __future__ import annotations

import pytest
from conftest import output, pgstack_dir, server_folders
from pgstack.ownership import owned_databases

pytestmark = pytest.mark.reliability

KILL_POSTGRES = """
import os
import signal
import time

import pytest
from sqlalchemy import text


def _postmaster_pid(db_session):
    backend = db_session.execute(text("SELECT pg_backend_pid()")).scalar()
    with open(f"/proc/{backend}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_0_kill_the_postmaster(db_session):
    os.kill(_postmaster_pid(db_session), signal.SIGKILL)
    time.sleep(0.5)
    db_session.execute(text("SELECT 1"))


@pytest.mark.parametrize("i", range(30))
def test_later(db_session, i):
    time.sleep(0.1)
    db_session.execute(text("SELECT 1"))
"""

KILL_REDIS = """
import os
import signal
import time

import pytest


def test_0_kill_redis(redis_client):
    os.kill(redis_client.info("server")["process_id"], signal.SIGKILL)
    time.sleep(0.5)
    redis_client.set("k", "v")


@pytest.mark.parametrize("i", range(30))
def test_later(redis_client, i):
    time.sleep(0.1)
    redis_client.set("k", "v")
"""

OK_TEST = """
from sqlalchemy import text


def test_ok(db_session):
    assert db_session.execute(text("SELECT count(*) FROM items")).scalar() == 0
"""


def _assert_stopped_with(result: pytest.RunResult, what: str) -> None:
    text = output(result)
    assert result.ret not in (0, 5), text
    assert what in text and "went away during the run" in text, text
    outcomes = result.parseoutcomes()
    broken = outcomes.get("failed", 0) + outcomes.get("errors", 0)
    assert broken >= 1, text
    # Without the stop, each of the 30 later tests fails on its own. With it, each worker
    # reports the test it was running (a failure, plus an error in that test's teardown).
    assert broken <= 4, f"the run must stop, not fail every remaining test: {outcomes}"


@pytest.mark.long
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_embedded_postgres_killed_mid_run(project, shm_dir, workers):
    project.server_url = None
    env = {"PGSTACK_TMP_DIR": str(shm_dir)}
    project.write_test("test_kill", KILL_POSTGRES)
    result = project.run(*workers, env=env)
    _assert_stopped_with(result, "The embedded PostgreSQL at 127.0.0.1:")
    left = [p.name for p in pgstack_dir(shm_dir).glob("pgstack-pg-*")]
    assert left == [], f"the dead server's folder is left: {left}"

    project.write_test("test_kill", OK_TEST)  # the next run recovers on its own
    project.run(*workers, env=env).assert_outcomes(passed=1)


def test_shared_postgres_killed_mid_run_then_restarted(project, restartable_server):
    server = restartable_server
    project.server_url = server.url
    project.write_test("test_kill", KILL_POSTGRES)
    result = project.run("-n", "2")
    _assert_stopped_with(result, f"PostgreSQL at 127.0.0.1:{server.port}")
    assert "the next run drops this run's databases" in output(result)

    server.restart()  # crash recovery; the dead run's databases are still there
    with server.admin() as admin:
        dead = [name for name, m in owned_databases(admin, "pgstack") if m.kind != "template"]
    # main, gw0, gw1 of the killed run; with synchronous_commit off, a CREATE DATABASE in
    # the last moments before the kill may not survive crash recovery
    assert dead, "the killed run's databases should still be there"

    project.server_url = server.url
    project.write_test("test_kill", OK_TEST)
    result = project.run("-n", "2")
    result.assert_outcomes(passed=1)
    assert "dropped leftovers of dead runs" in output(result)
    with server.admin() as admin:
        left = [name for name, m in owned_databases(admin, "pgstack") if m.kind != "template"]
    assert left == [], left


@pytest.mark.long
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_embedded_redis_killed_mid_run(project, shm_dir, workers):
    project.server_url = None
    (project.path / "pyproject.toml").write_text(
        '[tool.pgstack]\nalembic_config = "alembic.ini"\nredis = true\n'
    )
    env = {"PGSTACK_TMP_DIR": str(shm_dir)}
    project.write_test("test_kill", KILL_REDIS)
    result = project.run(*workers, env=env)
    _assert_stopped_with(result, "Redis at redis://")
    assert server_folders(shm_dir) == []

    project.write_test("test_kill", "def test_ok(redis_client):\n    assert redis_client.ping()\n")
    project.run(*workers, env=env).assert_outcomes(passed=1)
