"""Servers that are not there, refuse us or are not ready: a clear stop, never a skip or pass.

Each message names host:port and the fix, and the run exits non-zero. A refused login or
a missing database stops the run at once; a server that is only starting is waited for
until ready_timeout, then named as such.
"""

from __future__ import annotations

import time

import pytest
from conftest import assert_nothing_ran, output

from pgstack import urls

pytestmark = pytest.mark.reliability

OK_TEST = "def test_ok(db_session):\n    pass\n"


def _port_url(server, user: str, database: str = "postgres") -> str:
    return f"postgresql://{user}@127.0.0.1:{server.port}/{database}"


def test_unreachable_server_fails_the_run_with_the_fix(project):
    project.write_test("test_ok", OK_TEST)
    project.server_url = "postgresql://postgres@127.0.0.1:1/app_test"
    result = project.run(env={"PGSTACK_READY_TIMEOUT": "1"})
    assert_nothing_ran(result)
    text = output(result)
    assert "127.0.0.1:1/app_test" in text
    assert "not ready after 1 s" in text
    assert "Start it, fix the URL, or unset DATABASE_URL" in text
    assert "make " not in text, "a library installed elsewhere cannot know our Makefile"


def test_unreachable_server_fails_xdist_run_too(project):
    project.write_test("test_ok", OK_TEST)
    project.server_url = "postgresql://postgres@127.0.0.1:1/app_test"
    result = project.run("-n", "2", env={"PGSTACK_READY_TIMEOUT": "1"})
    assert_nothing_ran(result)
    assert "127.0.0.1:1/app_test" in output(result)


def test_right_password_works(project, password_server):
    """The control for the next test: the same server and role, with the right password."""
    project.write_test("test_ok", OK_TEST)
    project.server_url = _port_url(password_server, "tester:right")
    project.run().assert_outcomes(passed=1)


def test_wrong_password_stops_at_once_with_the_fix(project, password_server):
    project.write_test("test_ok", OK_TEST)
    project.server_url = _port_url(password_server, "tester:wrong")
    started = time.monotonic()
    result = project.run(env={"PGSTACK_READY_TIMEOUT": "60"})
    elapsed = time.monotonic() - started
    assert_nothing_ran(result)
    text = output(result)
    assert f"127.0.0.1:{password_server.port}" in text
    assert 'password authentication failed for user "tester"' in text
    assert "refused the login of user 'tester'" in text and "POSTGRES_PASSWORD" in text
    assert "wrong" not in text.replace("wrong password", ""), "the password must not be printed"
    assert elapsed < 30, f"a refused login must not wait for the 60 s deadline ({elapsed:.0f} s)"


def test_missing_database_stops_at_once_and_names_it(project, pg_server):
    project.write_test("test_ok", OK_TEST)
    project.server_url = urls.with_database(pg_server.url, "no_such_test_db")
    started = time.monotonic()
    result = project.run(env={"PGSTACK_READY_TIMEOUT": "60"})
    assert time.monotonic() - started < 30
    assert_nothing_ran(result)
    text = output(result)
    assert f"127.0.0.1:{pg_server.port}/no_such_test_db" in text
    assert "'no_such_test_db' that DATABASE_URL names does not exist" in text


def test_server_still_starting_is_waited_for_then_named(project, starting_server):
    project.write_test("test_ok", OK_TEST)
    project.server_url = starting_server.url
    result = project.run(env={"PGSTACK_READY_TIMEOUT": "2"})
    assert_nothing_ran(result)
    text = output(result)
    assert f"127.0.0.1:{starting_server.port}" in text
    assert "not ready after 2 s" in text
    assert "the database system is not accepting connections" in text
    assert "PGSTACK_READY_TIMEOUT" in text


def test_unreachable_redis_fails_the_run_with_the_fix(project):
    (project.path / "pyproject.toml").write_text(
        '[tool.pgstack]\nalembic_config = "alembic.ini"\nredis = true\n'
    )
    project.write_test("test_ok", "def test_ok(redis_client):\n    pass\n")
    result = project.run(env={"REDIS_URL": "redis://127.0.0.1:1/0", "PGSTACK_READY_TIMEOUT": "1"})
    assert_nothing_ran(result)
    text = output(result)
    assert "Redis at redis://127.0.0.1:1/0 (from REDIS_URL) not ready after 1 s" in text
    assert "unset REDIS_URL" in text
