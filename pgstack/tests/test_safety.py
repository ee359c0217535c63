"""pgstack touches only what is provably its own, on servers that look like test servers.

- The target rule (pgstack.target_rules): a server pgstack did not start is used only if the
  database in the URL is named *test* or the server runs with fsync off; the opt-out is
  PGSTACK_ALLOW_ANY_SERVER=1.
- Databases with pgstack-like names but no valid pgstack marker survive every path that
  drops databases.
- The app role is a separate, ordinary role.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from conftest import assert_nothing_ran, cli, durable_postgres, output
from pgstack.ownership import owned_databases
from pgstack.servers.postgres import EmbeddedPostgres
from psycopg import sql

from pgstack import janitor, urls

pytestmark = pytest.mark.reliability

OK_TEST = "def test_ok(db_session):\n    pass\n"


@pytest.fixture(scope="module")
def durable_server() -> Iterator[EmbeddedPostgres]:
    """A server configured like a real one (fsync on), with databases `shop`, `shop_test`."""
    with durable_postgres() as server:
        with psycopg.connect(server.url, autocommit=True) as conn:
            assert conn.execute("SHOW fsync").fetchone() == ("on",)
            conn.execute("CREATE DATABASE shop")
            conn.execute("CREATE DATABASE shop_test")
        yield server


def _url(server: EmbeddedPostgres, database: str) -> str:
    return urls.with_database(server.url, database)


def _pgstack_named(server: EmbeddedPostgres) -> list[str]:
    with psycopg.connect(server.url) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'pgstack%'")
        return [name for (name,) in rows]


def test_server_that_does_not_look_like_a_test_target_is_refused(project, durable_server):
    project.write_test("test_ok", OK_TEST)
    project.server_url = _url(durable_server, "shop")
    before = _pgstack_named(durable_server)  # an accepted run's template may be there
    result = project.run()
    assert_nothing_ran(result)
    text = output(result)
    assert f"127.0.0.1:{durable_server.port}/shop, which does not look like a test server" in text
    assert "PGSTACK_ALLOW_ANY_SERVER=1" in text
    assert _pgstack_named(durable_server) == before, "nothing may be created on a refused server"

    env = {"DATABASE_URL": project.server_url}
    cleaned = cli(project, "clean", env=env)
    assert cleaned.returncode != 0
    assert "does not look like a test server" in cleaned.stdout + cleaned.stderr
    doctor = cli(project, "doctor", env=env)
    assert doctor.returncode == 1
    assert "FAIL  test target" in doctor.stdout and "does not look like" in doctor.stdout


@pytest.mark.parametrize(
    ("database", "env"),
    [("shop", {"PGSTACK_ALLOW_ANY_SERVER": "1"}), ("shop_test", {})],
    ids=["opt-out", "test-in-the-name"],
)
def test_opt_out_or_a_test_database_name_is_accepted(project, durable_server, database, env):
    project.write_test("test_ok", OK_TEST)
    project.server_url = _url(durable_server, database)
    project.run(env=env).assert_outcomes(passed=1)
    assert [n for n in _pgstack_named(durable_server) if "_tpl_" not in n] == []


LOOKALIKE_COMMENTS = {
    # exactly the names pgstack gives its databases, without a valid marker
    "pgstack_0123456789ab_main": None,
    "pgstack_0123456789ab_gw0": "pgstack-ish, but not our marker",
    "pgstack_0123456789ab_gw0_f1": 'pgstack:{"not": "a marker"}',
    "pgstack_0123456789ab_gw1": 'pgstack:{"kind": "worker"}',  # no run: not a marker
    "pgstack_tpl_0123456789abcdef": "pgstack:not json",
}

KEEP_FAILING = """
def test_fails(fresh_database):
    assert False
"""


@pytest.mark.long
def test_lookalikes_survive_every_cleanup_path(admin, project):
    for name, comment in LOOKALIKE_COMMENTS.items():
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if comment is not None:
            admin.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name), sql.Literal(comment)
                )
            )

    def survivors() -> set[str]:
        rows = admin.execute("SELECT datname FROM pg_database").fetchall()
        return {name for (name,) in rows} & set(LOOKALIKE_COMMENTS)

    try:
        # A run: the janitor at its start, per-test clones dropped, workers and the run's
        # own databases dropped at its end; single process and xdist.
        project.write_test("test_ok", OK_TEST + "\n\ndef test_fresh(fresh_database):\n    pass\n")
        project.run().assert_outcomes(passed=2)
        project.run("-n", "2").assert_outcomes(passed=2)
        # A failing test's kept database, then `pgstack clean` and `clean --kept`.
        project.write_test("test_fail", KEEP_FAILING)
        project.run().assert_outcomes(passed=2, failed=1)
        env = {"DATABASE_URL": project.server_url}
        for args in (["clean"], ["clean", "--kept"]):
            result = cli(project, *args, env=env)
            assert result.returncode == 0, result.stderr
        # The janitor called directly, the way every path calls it.
        assert janitor.collect_dead(admin, "pgstack") == []
        for name in LOOKALIKE_COMMENTS:
            with pytest.raises(janitor.NotOurs):
                janitor.drop_owned(admin, name)
        assert janitor.drop_run(admin, "pgstack", "0123456789ab") == []
        assert survivors() == set(LOOKALIKE_COMMENTS)
        assert not any(name in LOOKALIKE_COMMENTS for name, _ in owned_databases(admin, "pgstack"))
    finally:
        for name in LOOKALIKE_COMMENTS:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


ROLE_TEST = """
from sqlalchemy import text


def test_role(db_session):
    row = db_session.execute(text(
        "SELECT current_user, session_user, rolsuper, rolbypassrls "
        "FROM pg_roles WHERE rolname = current_user"
    )).one()
    assert row == ("{role}", "postgres", False, False)
"""


@pytest.fixture
def role(admin) -> Iterator[str]:
    name = f"app_{uuid.uuid4().hex[:8]}"
    yield name
    admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_app_role_is_separate_from_the_admin_and_not_a_superuser(project, admin, role):
    admin.execute(sql.SQL("CREATE ROLE {} NOSUPERUSER NOBYPASSRLS").format(sql.Identifier(role)))
    project.write_test("test_role", ROLE_TEST.replace("{role}", role))
    project.run(env={"PGSTACK_APP_ROLE": role}).assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("SUPERUSER", "is a superuser"),
        ("BYPASSRLS", "is allowed to bypass Row Level Security"),
        (None, "does not exist"),
        ("admin", "is the user pgstack connects to"),
    ],
)
def test_unsafe_app_role_is_refused(project, admin, role, options, message):
    if options == "admin":
        role = "postgres"
    elif options is not None:
        admin.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(role)))
    project.write_test("test_ok", OK_TEST)
    result = project.run(env={"PGSTACK_APP_ROLE": role})
    assert_nothing_ran(result)
    assert f"app_role '{role}'" in output(result) and message in output(result)
