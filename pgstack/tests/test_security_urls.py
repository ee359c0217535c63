"""Connection strings are read the way libpq and redis-py read them, the target rule matches
"test" as a word, and no password reaches anything pgstack prints or puts on a command line.

- Every DATABASE_URL is read with libpq's own parser: what pgstack checks is what libpq
  connects to. ``?dbname=``, ``service=``, several hosts, other schemes, key=value strings,
  bad ports and URLs that cannot be parsed are refused at once, before anything is created.
- REDIS_URL likewise: redis://, rediss:// or unix://, a real port, and each worker's
  database cannot be overridden by a ``?db=`` in the URL.
- The target rule reads "test" as a word of the database name (``contests`` is no test).
- Passwords are masked in headers, kept-database notes and reprs; ``pgstack psql`` hands the
  password to psql through its environment, which other accounts cannot read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from conftest import assert_nothing_ran, cli, durable_postgres, output
from pgstack.redis_slots import worker_redis_url
from pgstack.servers.postgres import EmbeddedPostgres
from pgstack.servers.redis import EmbeddedRedis, start_redis
from pgstack.settings import Settings, _default_tmp_dir, load_settings
from pgstack.template_spec import template_spec
from psycopg import sql

from pgstack import target_rules, urls

pytestmark = [pytest.mark.reliability, pytest.mark.security]

OK_TEST = "def test_ok(db_session):\n    pass\n"
NO_CRASH = ("Traceback", "INTERNALERROR")


def _databases(conn: psycopg.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT datname FROM pg_database")}


@pytest.fixture
def shop(admin) -> Iterator[str]:
    """A database that is not pgstack's, with one table and one row."""
    name = f"shop_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(
        admin.info.dsn, password=admin.info.password, dbname=name, autocommit=True
    ) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
        conn.execute("INSERT INTO orders VALUES (1)")
    yield name
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _tables_and_rows(admin: psycopg.Connection, database: str) -> tuple[list[str], int]:
    with psycopg.connect(admin.info.dsn, password=admin.info.password, dbname=database) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        (rows,) = conn.execute("SELECT count(*) FROM orders").fetchone()  # type: ignore[misc]
    return tables, rows


def test_dbname_in_the_query_cannot_redirect_the_run(project, pg_server, admin, shop):
    """libpq connects to ?dbname= over the path: the run must stop, and `shop` stay as it was."""
    project.write_test("test_ok", OK_TEST)
    template = template_spec(load_settings(project.path)).name()
    project.server_url = urls.with_database(pg_server.url, "app_test") + f"?dbname={shop}"
    result = project.run()
    assert_nothing_ran(result)
    text = output(result)
    assert "DATABASE_URL" in text and "dbname" in text and "in the path" in text, text
    assert not any(marker in text for marker in NO_CRASH), text
    assert _tables_and_rows(admin, shop) == (["orders"], 1), "shop must be left as it was"
    assert template not in _databases(admin), "no template may be built for a refused URL"


BAD_URLS = {
    "mysql": ("mysql://root:{secret}@127.0.0.1:{port}/app_test", "mysql:// is not PostgreSQL"),
    "key-value": (
        "host=127.0.0.1 port={port} dbname=app_test password={secret}",
        "not a URL",
    ),
    "service": ("postgresql:///app_test?service=prod", "service"),
    "multi-host": ("postgresql://postgres@127.0.0.1,127.0.0.2:{port}/app_test", "several hosts"),
    "port-range": ("postgresql://postgres:{secret}@127.0.0.1:99999/app_test", "port 99999"),
    "slash-in-password": (
        "postgresql://postgres:ab/{secret}@127.0.0.1:{port}/app_test",
        "Percent-encode",
    ),
    "bad-escape": (
        "postgresql://postgres:ab%zz{secret}@127.0.0.1:{port}/app_test",
        "Percent-encode",
    ),
}


@pytest.mark.parametrize("case", list(BAD_URLS))
def test_database_url_that_libpq_would_read_otherwise_is_refused_at_once(project, pg_server, case):
    secret = f"Pw{uuid.uuid4().hex[:10]}"
    template, expected = BAD_URLS[case]
    url = template.format(secret=secret, port=pg_server.port)
    project.write_test("test_ok", OK_TEST)
    project.server_url = url
    # A long ready wait: a URL read wrongly would wait it out instead of failing at once.
    result = project.run(env={"PGSTACK_READY_TIMEOUT": "4"})
    assert_nothing_ran(result)
    text = output(result)
    assert "DATABASE_URL" in text and expected in text, text
    assert "not ready after" not in text, text
    assert secret not in text, "the password must not be printed"
    assert not any(marker in text for marker in NO_CRASH), text


def test_cli_refuses_a_bad_database_url_without_a_traceback(project):
    secret = f"Pw{uuid.uuid4().hex[:10]}"
    env = {"DATABASE_URL": f"postgresql://postgres:{secret}@127.0.0.1:99999/app_test"}
    for command in (["list"], ["env"], ["doctor"], ["psql", "main", "-c", "select 1"]):
        done = cli(project, *command, env=env)
        text = done.stdout + done.stderr
        assert done.returncode != 0, (command, text)
        assert "port 99999" in text and "DATABASE_URL" in text, (command, text)
        assert secret not in text, (command, text)
        assert "Traceback" not in text, (command, text)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:6379/0", "http:// is not Redis"),
        ("redis://:{secret}@127.0.0.1:99999/0", "port 99999"),
        ("redis://:ab/{secret}@127.0.0.1:6379/0", "Percent-encode"),
    ],
    ids=["scheme", "port-range", "slash-in-password"],
)
def test_redis_url_is_checked_like_the_database_url(project, url, expected):
    secret = f"Pw{uuid.uuid4().hex[:10]}"
    project.write_test("test_ok", OK_TEST)
    env = {"PGSTACK_REDIS": "1", "REDIS_URL": url.format(secret=secret)}
    result = project.run(env=env)
    assert_nothing_ran(result)
    text = output(result)
    assert "REDIS_URL" in text and expected in text, text
    assert secret not in text
    assert not any(marker in text for marker in NO_CRASH), text


@pytest.mark.parametrize(
    ("base", "where"),
    [
        ("redis://127.0.0.1:6379/0?db=5", {"host": "127.0.0.1", "port": 6379}),
        ("unix:///run/redis/redis.sock", {"path": "/run/redis/redis.sock"}),
    ],
    ids=["db-in-query", "unix-socket"],
)
def test_a_worker_redis_database_cannot_be_overridden_by_the_url(base, where):
    """redis-py takes ?db= over the path, and a unix:// URL's path is its socket."""
    claimed = [1, 2, 3, 4]  # the databases the run holds, one per worker
    for worker, index in (("main", 1), ("gw0", 1), ("gw3", 4)):
        options = redis.connection.parse_url(worker_redis_url(base, worker, claimed))
        assert options["db"] == index, (worker, options)
        assert {key: options[key] for key in where} == where, options


@pytest.fixture(scope="module")
def durable_server() -> Iterator[EmbeddedPostgres]:
    """A server that runs like a real one (fsync on): only the name rule can let a run in."""
    with durable_postgres() as server:
        yield server


REFUSED_NAMES = ["contests", "latest", "attestation", "testament", "shop", "tester_db"]
ACCEPTED_NAMES = ["test", "app_test", "test_app", "my-test-db", "shop_test_1", "app_tests", "TEST"]


def test_target_rule_reads_test_as_a_word(durable_server):
    settings = Settings()
    with psycopg.connect(durable_server.url, autocommit=True) as admin:
        for name in REFUSED_NAMES + ACCEPTED_NAMES:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    for name in REFUSED_NAMES + ACCEPTED_NAMES:
        url = urls.with_database(durable_server.url, name)
        with psycopg.connect(url) as conn:
            if name in REFUSED_NAMES:
                refused = "does not look like a test server"
                with pytest.raises(target_rules.UnsafeTarget, match=refused):
                    target_rules.check_target(url, settings, conn)
            else:
                target_rules.check_target(url, settings, conn)  # does not raise


PSQL_WATCH = r"""
import json, os, sys, time
secret, deadline = sys.argv[1][::-1], time.monotonic() + 60  # not on its own argv
seen, leaks = False, []
while time.monotonic() < deadline and not seen:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        line = " ".join(argv)
        if secret in line:
            leaks.append(line)
        if "pg_sleep" in line and os.path.basename(argv[0]) == "psql":
            seen = True
    time.sleep(0.02)
print(json.dumps({"seen": seen, "leaks": leaks}))
"""


@pytest.fixture
def secret_role(password_server: EmbeddedPostgres) -> Iterator[tuple[str, str]]:
    """A role of the password server that logs in with a password only this test knows."""
    role, secret = f"psql_{uuid.uuid4().hex[:8]}", f"Pw{uuid.uuid4().hex}"
    with psycopg.connect(password_server.url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(secret)
            )
        )
    yield role, secret
    with psycopg.connect(password_server.url, autocommit=True) as conn:
        for (name,) in conn.execute(
            "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
            "WHERE r.rolname = %s",
            (role,),
        ).fetchall():
            conn.execute(
                sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_psql_command_line_carries_no_password(project, password_server, secret_role, intruder):
    role, secret = secret_role
    url = f"postgresql://{role}:{secret}@127.0.0.1:{password_server.port}/postgres"
    psql = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pgstack.cli",
            "--project",
            str(project.path),
            "psql",
            "template",
            "-c",
            "select pg_sleep(3)",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DATABASE_URL": url},
    )
    try:
        watched = intruder.python_code(PSQL_WATCH, secret[::-1])
    finally:
        out, err = psql.communicate(timeout=120)
    assert psql.returncode == 0, out + err  # psql logged in: it got the password another way
    report = json.loads(watched.stdout or "{}")
    assert report.get("seen"), f"the intruder never saw psql run: {watched.stdout}{watched.stderr}"
    assert report["leaks"] == [], "another account read the password from a command line"
    assert secret not in out + err


KEEP_TESTS = """
def test_fails(fresh_database, redis_client):
    redis_client.set("k", "v")
    assert False


def test_reprs(pgstack_worker, fresh_database):
    print("WORKER", repr(pgstack_worker))
    print("FRESH", repr(fresh_database))
"""


@pytest.fixture
def redis_with_password() -> Iterator[tuple[EmbeddedRedis, str]]:
    """pgstack's own Redis: it asks for a random password of its own."""
    server = start_redis(tmp_dir=Path(_default_tmp_dir()))
    secret = redis.connection.parse_url(server.url)["password"]
    assert secret
    yield server, secret
    server.stop()


def test_no_password_in_anything_a_run_prints(
    project, password_server, secret_role, redis_with_password
):
    role, secret = secret_role
    redis_server, redis_secret = redis_with_password
    project.server_url = f"postgresql://{role}:{secret}@127.0.0.1:{password_server.port}/postgres"
    project.write_test("test_keep", KEEP_TESTS)
    env = {
        "PGSTACK_REDIS": "1",
        "REDIS_URL": f"redis://:{redis_secret}@127.0.0.1:{redis_server.port}/0",
    }
    result = project.run("--pgstack-keep", "-s", "-v", env=env)
    result.assert_outcomes(passed=1, failed=1)
    text = output(result)
    assert secret not in text and redis_secret not in text, text
    # what was printed is still there, only masked
    assert f"pgstack: Redis redis://:***@127.0.0.1:{redis_server.port}/" in text, text
    assert f"psql postgresql://{role}:***@127.0.0.1:{password_server.port}/" in text, text
    assert "its database" in text and "was kept" in text, text
    assert "WORKER Worker(" in text and "FRESH FreshDatabase(" in text, text
