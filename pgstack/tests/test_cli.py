"""The pgstack CLI, run as users run it (a subprocess), against real servers."""

from __future__ import annotations

import psycopg
import pytest
from conftest import ENV_FILE_MIGRATION, Project, cli, cli_in
from pgstack.ownership import Marker, write_marker
from pgstack.servers.process import pid_running


@pytest.fixture
def up_project(project: Project, shm_dir, monkeypatch):
    """A project with no DATABASE_URL, whose `pgstack up` state lives in a private folder."""
    monkeypatch.setenv("PGSTACK_TMP_DIR", str(shm_dir))
    project.server_url = None
    project.write_test(
        "test_items",
        """
        from sqlalchemy import text

        def test_items(db_session):
            assert db_session.execute(text("SELECT count(*) FROM items")).scalar() == 0
        """,
    )
    yield project
    cli(project, "down")


@pytest.mark.long
def test_up_run_keep_clean_down(up_project):
    project = up_project
    first = cli(project, "up")
    assert first.returncode == 0, first.stderr
    assert "started" in first.stdout and "built" in first.stdout, first.stdout
    again = cli(project, "up")
    assert "already running" in again.stdout and "reused" in again.stdout, again.stdout

    exports = cli(project, "env").stdout
    assert exports.startswith("export DATABASE_URL=postgresql://postgres:"), exports
    status = cli(project, "status")
    assert status.returncode == 0 and "(complete, current)" in status.stdout, status.stdout

    # A test run uses the running stack and its template.
    run = project.run("-n", "2")
    run.assert_outcomes(passed=1)
    header = "\n".join(run.outlines)
    assert "(pgstack up," in header and "(reused)" in header, header

    # --pgstack-keep keeps the run's databases on the stack and says how to reach them.
    kept = project.run("--pgstack-keep")
    kept.assert_outcomes(passed=1)
    kept_lines = [line for line in kept.outlines if line.startswith("pgstack_") and "psql" in line]
    assert len(kept_lines) == 1 and "_main: psql postgresql://" in kept_lines[0], kept.outlines
    name = kept_lines[0].split(":")[0]
    assert f"{name}\tworker" in cli(project, "list").stdout

    shown = cli(project, "psql", "main", "-A", "-t", "-c", "SELECT current_database()")
    assert shown.returncode == 0 and shown.stdout.strip() == name, shown

    # A migration change gives a new template; clean drops the old one and the kept db,
    # and leaves another project's template on the same server alone.
    server = exports.split("=", 1)[1].strip()
    foreign = Marker(kind="template", run="0" * 12, state="complete", project="other-project")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("CREATE DATABASE pgstack_tpl_0ther")
        write_marker(conn, "pgstack_tpl_0ther", foreign)
    project.write_migration("0002", "0001", "ALTER TABLE items ADD COLUMN note text")
    project.run().assert_outcomes(passed=1)
    cleaned = cli(project, "clean", "--kept")
    assert cleaned.returncode == 0, cleaned.stderr
    dropped = [line.split()[1] for line in cleaned.stdout.splitlines() if line.startswith("drop")]
    assert name in dropped and any("_tpl_" in d for d in dropped), cleaned.stdout
    assert "pgstack_tpl_0ther" not in dropped
    assert "pgstack_tpl_0ther\ttemplate" in cli(project, "list").stdout
    assert "(complete, old)" not in cli(project, "status").stdout

    # psql on the template opens a scratch clone, gone afterwards.
    columns = cli(project, "psql", "template", "-A", "-t", "-c", "SELECT count(*) FROM items")
    assert columns.returncode == 0 and columns.stdout.splitlines()[-1] == "0", columns
    assert "_inspect" not in cli(project, "list").stdout

    stopped = cli(project, "down")
    assert stopped.returncode == 0 and "stopped PostgreSQL" in stopped.stdout, stopped
    pid = int(stopped.stdout.split("pid ")[1].split(")")[0])
    assert not pid_running(pid)
    assert cli(project, "status").returncode == 3


def test_commands_needing_a_server_say_how_to_get_one(up_project):
    result = cli(up_project, "env")
    assert result.returncode != 0
    assert "Run `pgstack up`, or set DATABASE_URL" in result.stderr, result.stderr


def test_doctor_passes_on_a_reachable_server(project, pg_server):
    result = cli(project, "doctor", env={"DATABASE_URL": pg_server.url})
    assert result.returncode == 0, result.stdout
    assert "ok  postgres server" in result.stdout and "PostgreSQL" in result.stdout
    assert "migrations" in result.stdout


def test_doctor_names_an_unreachable_server_and_fails(project):
    result = cli(project, "doctor", env={"DATABASE_URL": "postgresql://u@127.0.0.1:1/x_test"})
    assert result.returncode == 1, result.stdout
    assert "FAIL  postgres server" in result.stdout and "127.0.0.1:1" in result.stdout


def test_every_command_has_help(project):
    for command in ("up", "down", "status", "env", "psql", "doctor", "clean", "list", "prepare"):
        result = cli(project, command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, (command, result.stderr)


def test_a_subfolder_finds_the_running_stack(up_project):
    """Like pytest's rootdir: the nearest pyproject.toml with [tool.pgstack] above."""
    assert cli(up_project, "up", "--no-template").returncode == 0
    deep = up_project.path / "migrations" / "versions"
    status = cli_in(deep, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "postgres " in status.stdout, status.stdout


def test_no_project_found_says_so_and_how(shm_dir):
    result = cli_in(shm_dir, "status")
    text = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, text
    assert f"No pyproject.toml with a [tool.pgstack] table in {shm_dir}" in text, text
    assert "--project" in text and "Traceback" not in text, text


def test_psql_options_pass_through_to_psql(project):
    """`pgstack psql -Atc …` opens the template's scratch clone with psql's own options."""
    env = {"DATABASE_URL": project.server_url}
    shown = cli(project, "psql", "-Atc", "SELECT count(*) FROM items", env=env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert shown.stdout.strip() == "0", shown.stdout
    on_template = cli(project, "psql", "template", "-At", "-c", "SELECT 41 + 1", env=env)
    assert on_template.stdout.strip() == "42", on_template.stdout + on_template.stderr


def test_prepare_gives_migrations_the_env_file_as_pytest_does(project):
    """`pgstack prepare` builds the template pytest would: its migrations see the env_file's
    variables, as they do under pytest (the compose runner starts prepare beside pytest)."""
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'env_file = ".env.test"\n')
    (project.path / ".env.test").write_text("ITEMS_ARCHIVE_TABLE=items_archive\n")
    (project.path / "migrations" / "versions" / "0002env.py").write_text(ENV_FILE_MIGRATION)
    project.write_test(
        "test_archive",
        """
        from sqlalchemy import text

        def test_archive(db_session):
            assert db_session.execute(text("SELECT count(*) FROM items_archive")).scalar() == 0
        """,
    )
    prepared = cli(project, "prepare", env={"DATABASE_URL": project.server_url})
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    assert " built on " in prepared.stdout, prepared.stdout
    run = project.run()
    run.assert_outcomes(passed=1)
    assert any("(reused)" in line for line in run.outlines), run.outlines
