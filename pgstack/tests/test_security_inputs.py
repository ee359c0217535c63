"""Bad settings and a hanging migrate command end in a clear error, never a traceback.

Each case goes through an entry point a user hits (an inner pytest run, the CLI) and checks
the message names the setting, the value, the file and the fix; the run exits non-zero and
reports no test as passed or skipped.
"""

from __future__ import annotations

import textwrap
import uuid

import pytest
from conftest import Project, assert_nothing_ran, cli, output
from pgstack.servers.process import pid_running

pytestmark = [pytest.mark.reliability, pytest.mark.security]

# The project fixture's own lines, left out when a case sets the same key.
BASE = {"alembic_config": '"alembic.ini"', "redis": "false"}


def configure(project: Project, body: str) -> None:
    """A [tool.pgstack] table of ``body`` plus the project's own keys it does not set."""
    body = textwrap.dedent(body)
    lines = [f"{key} = {value}\n" for key, value in BASE.items() if f"{key} =" not in body]
    (project.path / "pyproject.toml").write_text("[tool.pgstack]\n" + "".join(lines) + body)
    project.write_test("test_one", "def test_one():\n    pass\n")


def refused(result) -> str:
    """The run stopped before any test, with a message and no traceback."""
    assert_nothing_ran(result)
    text = output(result)
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    return " ".join(text.split())


def cli_refused(project: Project, *args: str) -> str:
    result = cli(project, *args)
    text = result.stdout + result.stderr
    assert result.returncode not in (0, None), text
    assert "Traceback" not in text, text
    return " ".join(text.split())


def test_tool_pgstack_that_is_not_a_table_is_named(project):
    (project.path / "pyproject.toml").write_text('[tool]\npgstack = "yes"\n')
    project.write_test("test_one", "def test_one():\n    pass\n")
    where = str(project.path / "pyproject.toml")
    for text in (refused(project.run()), cli_refused(project, "status")):
        assert "[tool.pgstack]" in text and where in text, text
        assert "must be a table" in text, text


def test_tool_that_is_not_a_table_is_named_by_the_cli(project):
    """(pytest itself fails on such a file before any plugin runs, with its own message.)"""
    (project.path / "pyproject.toml").write_text('tool = "yes"\n')
    text = cli_refused(project, "status")
    assert str(project.path / "pyproject.toml") in text and "must be a table" in text, text


@pytest.mark.parametrize(
    ("line", "shown", "expected"),
    [
        ('seed = "db/seed.sql"', "seed = 'db/seed.sql'", "a list of paths"),
        ('alembic_x = "tenant=acme"', "alembic_x = 'tenant=acme'", "a list of strings"),
        ("schema_inputs = [1, 2]", "schema_inputs = [1, 2]", "a list of paths"),
        ('redis = "no"', "redis = 'no'", "true or false"),
        ("keep_failed = 1", "keep_failed = 1", "true or false"),
        ("app_role = 7", "app_role = 7", "a string"),
        ('ready_timeout = "soon"', "ready_timeout = 'soon'", "a positive number of seconds"),
        ('env = "X=database"', "env = 'X=database'", "must be a table"),
    ],
    ids=lambda value: value.split(" ")[0] if " = " in value else None,
)
def test_wrongly_typed_setting_names_key_value_file_and_type(project, line, shown, expected):
    configure(project, line + "\n")
    text = refused(project.run())
    where = str(project.path / "pyproject.toml")
    assert f"[tool.pgstack] {shown} in {where}" in text, text
    assert expected in text, text


def test_wrongly_typed_setting_is_refused_by_the_cli_too(project):
    configure(project, 'redis = "no"\n')
    text = cli_refused(project, "status")
    assert "[tool.pgstack] redis = 'no'" in text and "true or false" in text, text


def test_unknown_setting_lists_the_known_ones(project):
    configure(project, "ready_timout = 5\n")
    text = refused(project.run())
    assert "Unknown setting 'ready_timout'" in text, text
    assert "(did you mean 'ready_timeout'?)" in text, text


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_init_dir_that_is_not_a_folder_is_named(project, kind):
    if kind == "file":
        (project.path / "db").mkdir()
        (project.path / "db" / "init").write_text("CREATE ROLE app;\n")
    configure(project, 'init_dir = "db/init"\n')
    text = refused(project.run())
    resolved = project.path.resolve() / "db" / "init"
    assert f"init_dir is {resolved}" in text, text
    assert ("does not exist" if kind == "missing" else "is a file") in text, text


@pytest.mark.parametrize(
    "line",
    [
        "ready_timeout = -5",
        "ready_timeout = 0",
        "ready_timeout = nan",
        "ready_timeout = inf",
        "ready_timeout = true",
        "migrate_timeout = -1",
        "migrate_timeout = 0.0",
    ],
)
def test_timeouts_must_be_positive_seconds(project, line):
    configure(project, line + "\n")
    text = refused(project.run())
    key = line.partition(" = ")[0]
    assert f"[tool.pgstack] {key} = " in text and "a positive number of seconds" in text, text


def test_timeout_from_the_environment_is_checked_too(project):
    configure(project, "")
    text = refused(project.run(env={"PGSTACK_READY_TIMEOUT": "-5"}))
    assert "environment variable PGSTACK_READY_TIMEOUT = '-5'" in text, text
    assert "a positive number of seconds" in text, text


MAX_PREFIX = 37  # 63 bytes minus the longest name pgstack adds: _<run id 12>_gw999_f99999


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("p" * (MAX_PREFIX + 1), f"at most {MAX_PREFIX} characters"),
        ("p" * 60, f"at most {MAX_PREFIX} characters"),
        ("My-Project", "lowercase letters, digits and _"),
        ("app db", "lowercase letters, digits and _"),
        ("", "lowercase letters, digits and _"),
    ],
    ids=["one-too-long", "long", "capitals-and-dash", "space", "empty"],
)
def test_prefix_that_cannot_make_whole_names_is_refused(project, prefix, reason):
    configure(project, f'prefix = "{prefix}"\n')
    text = refused(project.run("-n", "2"))
    assert f"[tool.pgstack] prefix = {prefix!r}" in text and reason in text, text
    assert "63" in text, text


LONGEST_PREFIX_TESTS = """\
import pytest

PREFIX = {prefix!r}


def _name(conn):
    return conn.execute("SELECT current_database()").fetchone()[0]


@pytest.mark.parametrize("n", range(4))
def test_worker_database_keeps_its_whole_name(db_connection, n):
    name = _name(db_connection)
    assert name.startswith(PREFIX + "_") and name.rsplit("_", 1)[1] in ("gw0", "gw1")


def test_fresh_database_keeps_its_whole_name(fresh_database):
    assert fresh_database.name.startswith(PREFIX + "_")
    assert fresh_database.name.endswith("_f1")
    import psycopg
    with psycopg.connect(fresh_database.url) as conn:
        assert _name(conn) == fresh_database.name
"""


def test_longest_allowed_prefix_keeps_every_name_whole(project, admin):
    prefix = ("p" + uuid.uuid4().hex * 2)[:MAX_PREFIX]
    configure(project, f'prefix = "{prefix}"\n')
    project.write_test("test_names", LONGEST_PREFIX_TESTS.format(prefix=prefix))
    (project.path / "test_one.py").unlink()
    project.run("-n", "2", "--pgstack-keep").assert_outcomes(passed=5)
    names = [
        row[0]
        for row in admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix + "_",)
        )
    ]
    template = [name for name in names if name.startswith(prefix + "_tpl_")]
    assert len(template) == 1 and len(template[0]) == len(prefix) + len("_tpl_") + 16, names
    assert any(name.endswith("_gw0") for name in names), names
    assert any(name.endswith("_gw1") for name in names), names


HANGING = "echo started migration; echo waiting for a lock >&2; sleep 100000 & echo $! > sleeper.pid; echo $$ > shell.pid; wait"  # noqa: E501


def _pids(project: Project) -> list[int]:
    return [int((project.path / name).read_text()) for name in ("shell.pid", "sleeper.pid")]


@pytest.mark.parametrize("step", ["command", "seed_command"])
def test_hanging_migrate_command_times_out_with_its_output(project, step):
    if step == "command":
        body = f"""\
            migrator = "command"
            command = "{HANGING}"
            schema_inputs = ["pyproject.toml"]
            migrate_timeout = 2
            """
    else:
        body = f"""\
            seed_command = "{HANGING}"
            migrate_timeout = 2
            """
    configure(project, body)
    text = refused(project.run())
    assert "timed out after 2 s" in text, text
    assert f"`{HANGING}`" in text, text
    assert "| started migration" in text and "| waiting for a lock" in text, text
    assert "migrate_timeout" in text, text
    # The whole process group was killed: the shell and the command it left running.
    for pid in _pids(project):
        assert not pid_running(pid), (pid, text)


def test_migrate_timeout_from_the_environment(project):
    configure(
        project,
        f"""\
        migrator = "command"
        command = "{HANGING}"
        schema_inputs = ["pyproject.toml"]
        """,
    )
    text = refused(project.run(env={"PGSTACK_MIGRATE_TIMEOUT": "1.5"}))
    assert "timed out after 1.5 s" in text and "PGSTACK_MIGRATE_TIMEOUT" in text, text
    for pid in _pids(project):
        assert not pid_running(pid), pid


def test_failing_command_shows_its_last_lines(project):
    many = "; ".join(f"echo line {n}" for n in range(1, 101))
    configure(
        project,
        f"""\
        migrator = "command"
        command = "{many}; echo cannot migrate >&2; exit 3"
        schema_inputs = ["pyproject.toml"]
        """,
    )
    text = refused(project.run())
    assert "exited with status 3" in text, text
    assert "(last 60 of 101 lines)" in text, text
    assert "| line 100 | cannot migrate" in text and "| line 1 |" not in text, text
