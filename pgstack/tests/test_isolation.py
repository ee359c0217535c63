"""Per-worker databases and rollback per test, proven through real inner pytest runs."""

from __future__ import annotations

import psycopg
import pytest

from pgstack import urls

ISOLATION_TESTS = """
import os
from sqlalchemy import text


def service_that_commits(session, name):
    # Code under test that manages its own transaction.
    session.execute(text("INSERT INTO items (name) VALUES (:n)"), {"n": name})
    session.commit()


def test_a_writes_and_commits(db_session):
    service_that_commits(db_session, "from-a")
    assert db_session.execute(text("SELECT count(*) FROM items")).scalar() == 1


def test_b_sees_nothing_from_a(db_session):
    assert db_session.execute(text("SELECT count(*) FROM items")).scalar() == 0
    service_that_commits(db_session, "from-a")  # same unique name: fails unless rolled back


def test_c_rollback_inside_code_under_test(db_session):
    service_that_commits(db_session, "kept-by-savepoint")
    db_session.execute(text("INSERT INTO items (name) VALUES ('undone')"))
    db_session.rollback()
    names = db_session.execute(text("SELECT name FROM items")).scalars().all()
    assert names == ["kept-by-savepoint"]


def test_d_raw_connection_sees_nothing(db_connection):
    assert db_connection.execute("SELECT count(*) FROM items").fetchone()[0] == 0
    db_connection.execute("INSERT INTO items (name) VALUES ('raw')")


def test_e_raw_connection_rolled_back(db_connection):
    assert db_connection.execute("SELECT count(*) FROM items").fetchone()[0] == 0
"""


def test_row_written_in_one_test_is_gone_in_the_next(project):
    project.write_test("test_iso", ISOLATION_TESTS)
    result = project.run("-v")
    result.assert_outcomes(passed=5)


def test_raw_commit_is_refused_loudly(project):
    project.write_test(
        "test_commit",
        """
        def test_commit(db_connection):
            db_connection.execute("INSERT INTO items (name) VALUES ('x')")
            db_connection.commit()
        """,
    )
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*commit() on db_connection would end the transaction*"])


def test_raw_connection_savepoints_and_sql_commit(project):
    """Savepoints work inside a test; ending the transaction with SQL fails loudly, and
    the next test still starts clean."""
    project.write_test(
        "test_raw",
        """
        import psycopg
        import pytest

        def test_a_savepoint_block_rolls_back_part(db_connection):
            db_connection.execute("INSERT INTO items (name) VALUES ('kept')")
            with pytest.raises(psycopg.errors.UniqueViolation):
                with db_connection.transaction():
                    db_connection.execute("INSERT INTO items (name) VALUES ('kept')")
            with pytest.raises(psycopg.ProgrammingError, match="rollback"):
                db_connection.rollback()
            assert db_connection.execute("SELECT count(*) FROM items").fetchone() == (1,)

        def test_b_sql_commit(db_connection):
            db_connection.execute("INSERT INTO items (name) VALUES ('leaked')")
            db_connection.execute("COMMIT")

        def test_c_starts_in_a_transaction(db_connection):
            status = db_connection.info.transaction_status
            assert status == psycopg.pq.TransactionStatus.INTRANS
            names = [r[0] for r in db_connection.execute("SELECT name FROM items")]
            assert "kept" not in names
        """,
    )
    result = project.run("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_b_sql_commit*"])
    result.stdout.fnmatch_lines(["*ended db_connection's transaction itself*"])


PER_WORKER = """
import os
from pathlib import Path
import pytest
from sqlalchemy import text

@pytest.mark.parametrize("i", range(8))
def test_record(db_session, database_url, i):
    name = db_session.execute(text("SELECT current_database()")).scalar()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert name.endswith("_" + worker)
    assert os.environ["DATABASE_URL"] == database_url
    assert database_url.endswith("/" + name)
    (Path(os.environ["NAMES_DIR"]) / f"{worker}-{i}").write_text(name)
    # Same unique name on every worker: collides unless databases are separate.
    db_session.execute(text("INSERT INTO items (name) VALUES ('same')"))
    db_session.commit()
"""


def test_each_xdist_worker_has_its_own_database(project, pytester):
    project.write_test("test_workers", PER_WORKER)
    out = pytester.path / "names"
    out.mkdir()
    result = project.run("-n", "2", env={"NAMES_DIR": str(out)})
    result.assert_outcomes(passed=8)
    names = {p.read_text() for p in out.iterdir()}
    workers = {p.name.split("-")[0] for p in out.iterdir()}
    assert len(workers) == 2, workers
    assert len(names) == 2, names


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["-n", "auto", "--pdb"], {}),
        (["-n", "auto"], {"PYTEST_XDIST_AUTO_NUM_WORKERS": "0"}),
        (["-n", "0"], {}),
    ],
    ids=["auto-with-pdb", "auto-forced-to-zero", "zero"],
)
def test_runs_that_xdist_keeps_in_one_process_get_a_database(project, args, env):
    project.write_test(
        "test_one",
        """
        import os

        def test_main_database(database_url):
            assert database_url.endswith("_main")
            assert os.environ["DATABASE_URL"] == database_url
        """,
    )
    project.run(*args, env=env).assert_outcomes(passed=1)


def test_every_process_has_a_database_from_configure_on(project):
    """Under xdist the controller imports conftest.py too: its settings must resolve, and a
    pytest_configure that connects must find a database, in the controller as in workers."""
    project.write_test(
        "conftest",
        """
        import os
        import psycopg

        URL = os.environ["DATABASE_URL"]

        def pytest_configure(config):
            with psycopg.connect(URL) as conn:
                conn.execute("SELECT count(*) FROM items")
        """,
    )
    project.write_test("test_ok", "def test_ok(db_session):\n    pass\n")
    project.run("-n", "2").assert_outcomes(passed=1)


def test_url_is_exported_before_conftest_import(project):
    project.write_test(
        "conftest",
        """
        import os
        SEEN_AT_IMPORT = os.environ["DATABASE_URL"]
        """,
    )
    project.write_test(
        "test_seen",
        """
        from conftest import SEEN_AT_IMPORT

        def test_conftest_saw_its_own_database(database_url):
            assert SEEN_AT_IMPORT == database_url
        """,
    )
    project.run("-n", "2").assert_outcomes(passed=1)
    project.run().assert_outcomes(passed=1)


def test_fresh_database_is_dropped_after_a_passing_test(project, admin):
    project.write_test(
        "test_fresh",
        """
        import psycopg

        def test_commit_across_connections(fresh_database):
            with psycopg.connect(fresh_database.url) as w:
                w.execute("INSERT INTO items (name) VALUES ('x')")
            with psycopg.connect(fresh_database.url) as r:
                assert r.execute("SELECT name FROM items").fetchall() == [("x",)]
            print("FRESH", fresh_database.name)
        """,
    )
    result = project.run("-s")
    result.assert_outcomes(passed=1)
    name = next(line.split("FRESH ")[1].split()[0] for line in result.outlines if "FRESH " in line)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert exists is None


def test_failed_tests_fresh_database_is_kept_and_printed(project, admin):
    project.write_test(
        "test_fresh_fail",
        """
        import psycopg

        def test_fails(fresh_database):
            with psycopg.connect(fresh_database.url) as w:
                w.execute("INSERT INTO items (name) VALUES ('evidence')")
            assert False, "boom"
        """,
    )
    result = project.run()
    result.assert_outcomes(failed=1)
    line = next(line for line in result.outlines if "was kept:" in line)
    shown = line.split("was kept: ")[1].strip()
    assert ":***@" in shown  # the note never prints the password
    name = shown.rsplit("/", 1)[1]
    with psycopg.connect(urls.with_database(project.server_url, name)) as conn:
        assert conn.execute("SELECT name FROM items").fetchall() == [("evidence",)]
    # A later run's janitor leaves kept databases alone...
    project.write_test("test_fresh_fail", "def test_ok():\n    pass\n")
    project.run().assert_outcomes(passed=1)
    assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    # ...until `pgstack clean --kept` is asked to drop them.
    from click.testing import CliRunner
    from pgstack.cli import main

    args = ["--project", str(project.path), "clean", "--kept"]
    result = CliRunner().invoke(main, args, env={"DATABASE_URL": project.server_url})
    assert result.exit_code == 0, result.output
    assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None


def test_redis_client_is_per_worker_and_flushed(project, redis_server):
    (project.path / "pyproject.toml").write_text('[tool.pgstack]\nalembic_config = "alembic.ini"\n')
    project.write_test(
        "test_redis",
        """
        import os
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_empty_then_write(redis_client, redis_url, i):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            assert redis_client.dbsize() == 0
            assert os.environ["REDIS_URL"] == redis_url
            assert redis_url.endswith("/" + str(int(worker[2:]) + 1))
            redis_client.set("k", worker)
        """,
    )
    result = project.run("-n", "2", env={"REDIS_URL": redis_server.url})
    result.assert_outcomes(passed=6)


def test_fresh_clones_made_ahead_are_all_dropped(project, admin):
    """Clones are made one ahead and dropped in the background: none may outlive the run,
    the unused spare included."""
    project.write_test(
        "test_fresh_many",
        """
        import psycopg
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_own_database(fresh_database, i):
            with psycopg.connect(fresh_database.url, autocommit=True) as conn:
                conn.execute("INSERT INTO items (name) VALUES (%s)", (f"row-{i}",))
                assert conn.execute("SELECT count(*) FROM items").fetchone() == (1,)
        """,
    )
    result = project.run("-n", "2")
    result.assert_outcomes(passed=6)
    run_id = next(line for line in result.outlines if line.startswith("pgstack: run "))
    run_id = run_id.split()[2].rstrip(",")
    left = admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"%{run_id}%",)
    ).fetchall()
    assert left == []
