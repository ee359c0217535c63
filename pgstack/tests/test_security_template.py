"""Issue 14: the template holds exactly what was hashed; Django aliases, the app role and
broken SQL files are refused clearly."""

from __future__ import annotations

import hashlib
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import ENV_PY, Project, assert_nothing_ran, cli, output
from pgstack.errors import PgstackError
from pgstack.migrators import NoMigrator
from pgstack.migrators.sql import SqlMigrator
from pgstack.ownership import new_run_id, read_marker
from pgstack.servers.postgres import EmbeddedPostgres
from pgstack.settings import load_settings
from pgstack.template import ensure_template
from pgstack.template_spec import TemplateSpec, template_spec
from psycopg import sql

from pgstack import janitor, urls

pytestmark = [pytest.mark.reliability, pytest.mark.security]

CHANGED = "the migrations changed while the template was being built"


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return path


def assert_clear_failure(result: pytest.RunResult, *needles: str) -> None:
    """Nothing ran, the message says what is wrong, and no traceback leaked out."""
    assert_nothing_ran(result)
    text = output(result)
    for needle in needles:
        assert needle in text, text
    assert "Traceback" not in text and "INTERNALERROR" not in text, text


def template_state(admin: psycopg.Connection, name: str) -> str | None:
    """The marker state of database ``name``, or None when it does not exist."""
    exists, marker = read_marker(admin, name)
    return marker.state if exists and marker is not None else None


# --- case 9: a migration file edited while the template is being built -----------------

EDITING_ENV_PY = (
    """\
from pathlib import Path

# Someone saves a later migration while the template is being built.
later = Path(__file__).parent / "versions" / "0002.py"
later.write_text(later.read_text().replace("ADD COLUMN note text", "ADD COLUMN edited text"))

"""
    + ENV_PY
)


def test_migration_edited_during_the_build_is_not_marked_complete(project, admin):
    project.write_migration("0002", "0001", "ALTER TABLE items ADD COLUMN note text")
    (project.path / "migrations" / "env.py").write_text(EDITING_ENV_PY)
    project.write_test(
        "test_ok",
        """
        from sqlalchemy import text

        def test_sees_the_edit(db_session):
            db_session.execute(text("SELECT edited FROM items"))
        """,
    )
    hashed = template_spec(load_settings(project.path)).name()  # before the edit

    first = project.run()
    assert_clear_failure(first, CHANGED, "run again")
    assert template_state(admin, hashed) is None  # dropped, never complete

    # The edit is saved now: the next run hashes and builds what it runs.
    project.run().assert_outcomes(passed=1)


@pytest.fixture
def built(pg_server: EmbeddedPostgres) -> Iterator[list[str]]:
    """Names of templates a test builds with ensure_template; dropped afterwards."""
    names: list[str] = []
    yield names
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        for name in names:
            exists, marker = read_marker(conn, name)
            if exists and marker is not None:
                janitor.drop_owned(conn, name, run=marker.run)


def sql_spec(root: Path) -> TemplateSpec:
    return TemplateSpec(
        migrator=SqlMigrator(folder=root / "migrations"),
        init_dir=None,
        schema_inputs=(),
        project_dir=root,
        prefix="pgstack",
    )


def test_sql_file_changed_after_hashing_never_lands_under_the_old_hash(pg_server, shm_dir, built):
    write(shm_dir, "migrations/001_schema.sql", f"-- {uuid.uuid4().hex}\nCREATE TABLE old (x int);")
    spec = sql_spec(shm_dir)
    name = spec.name()  # hashed: the template's name says "table old"
    built.append(name)
    write(shm_dir, "migrations/001_schema.sql", "CREATE TABLE new (x int);")

    try:
        ensure_template(pg_server.url, spec, run_id=new_run_id())
    except PgstackError as exc:
        assert CHANGED in str(exc)  # refused: nothing was kept
        with psycopg.connect(pg_server.url) as conn:
            assert template_state(conn, name) is None
        return
    with psycopg.connect(pg_server.url, autocommit=True) as conn:  # built: what was hashed?
        conn.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(name))
        )
    with psycopg.connect(urls.with_database(pg_server.url, name)) as conn:
        tables = conn.execute("SELECT to_regclass('old'), to_regclass('new')").fetchone()
    assert tables == ("old", None)


def test_sql_migrator_runs_the_bytes_that_were_hashed(pg_server, shm_dir, admin):
    hashed = b"CREATE TABLE old (x int);\n"
    write(shm_dir, "migrations/001_schema.sql", hashed)
    spec = sql_spec(shm_dir)
    spec.name()
    write(shm_dir, "migrations/001_schema.sql", "CREATE TABLE new (x int);\n")
    database = f"pgstack_snapshot_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        url = urls.with_database(pg_server.url, database)
        spec.migrator.migrate(url, spec.snapshot)
        with psycopg.connect(url) as conn:
            tables = conn.execute("SELECT to_regclass('old'), to_regclass('new')").fetchone()
            recorded = conn.execute("SELECT sha256 FROM pgstack_sql_migrations").fetchone()
        assert tables == ("old", None)
        assert recorded == (hashlib.sha256(hashed).hexdigest(),)
    finally:
        admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(database)))


def test_init_script_changed_after_hashing_is_refused(pg_server, shm_dir, built):
    write(shm_dir, "init/01_roles.sql", f"-- {uuid.uuid4().hex}\nCREATE TABLE old (x int);")
    spec = TemplateSpec(
        migrator=NoMigrator(),
        init_dir=shm_dir / "init",
        schema_inputs=(),
        project_dir=shm_dir,
        prefix="pgstack",
    )
    name = spec.name()
    built.append(name)
    write(shm_dir, "init/01_roles.sql", "CREATE TABLE new (x int);")
    with pytest.raises(PgstackError, match=CHANGED):
        ensure_template(pg_server.url, spec, run_id=new_run_id())
    with psycopg.connect(pg_server.url) as conn:
        assert template_state(conn, name) is None


# --- case 5: Django with a second database alias ------------------------------------------

DJANGO_SETTINGS = """\
import os
from urllib.parse import urlsplit

_url = urlsplit(os.environ["DATABASE_URL"])


def _alias(name, **extra):
    return {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "HOST": _url.hostname,
        "PORT": _url.port,
        "USER": _url.username,
        "PASSWORD": _url.password,
        **extra,
    }}


SECRET_KEY = "only-for-this-test"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes"]
DATABASES = {{
    "default": _alias(_url.path.lstrip("/")),
    "analytics": _alias({analytics}{extra}),
}}
"""

DJANGO_TEST = """\
import pytest
from django.db import connections


@pytest.mark.django_db(databases=["default", "analytics"], transaction=True)
def test_both_aliases():
    # pytest-django flushes every alias but a mirror after this test.
    if {check_mirror}:
        with connections["analytics"].cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone()[0].startswith("pgstack_")
"""


@pytest.fixture
def analytics(admin, pg_server) -> Iterator[str]:
    """A real database that is not pgstack's, with one row in a table Django knows."""
    name = f"analytics_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(urls.with_database(pg_server.url, name), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE django_content_type (id serial PRIMARY KEY, "
            "app_label varchar(100) NOT NULL, model varchar(100) NOT NULL, "
            "UNIQUE (app_label, model))"
        )
        conn.execute("INSERT INTO django_content_type (app_label, model) VALUES ('real', 'row')")
    yield name
    admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def django_project(project: Project, analytics: str, extra: str = "") -> None:
    """The pytester project turned into a small Django project with two aliases; the
    second one's NAME is the Python expression ``analytics``."""
    write(
        project.path,
        "pyproject.toml",
        """\
        [tool.pytest.ini_options]
        DJANGO_SETTINGS_MODULE = "djsettings"

        [tool.pgstack]
        migrator = "none"
        redis = false
        """,
    )
    write(project.path, "djsettings.py", DJANGO_SETTINGS.format(analytics=analytics, extra=extra))
    write(project.path, "conftest.py", "from pgstack.django import django_db_setup  # noqa: F401\n")
    write(project.path, "test_aliases.py", DJANGO_TEST.format(check_mirror=bool(extra)))


def rows_in(server: EmbeddedPostgres, database: str) -> list[tuple[str, str]]:
    with psycopg.connect(urls.with_database(server.url, database)) as conn:
        return conn.execute("SELECT app_label, model FROM django_content_type").fetchall()


def test_django_alias_pointing_at_a_real_database_is_refused(project, pg_server, analytics):
    django_project(project, repr(analytics))
    result = project.run()
    assert rows_in(pg_server, analytics) == [("real", "row")]
    assert_clear_failure(result, "DATABASES['analytics']", repr(analytics))


def test_django_alias_that_mirrors_default_is_accepted(project, pg_server, analytics):
    django_project(project, repr(analytics), extra=', TEST={"MIRROR": "default"}')
    project.run().assert_outcomes(passed=1)
    assert rows_in(pg_server, analytics) == [("real", "row")]


def test_django_alias_with_the_workers_name_on_another_server_is_refused(project):
    django_project(project, '_url.path.lstrip("/")', extra=", PORT=_url.port + 1")
    result = project.run()
    assert_clear_failure(result, "DATABASES['analytics']", "pgstack's server is")


# --- the app role: membership in a privileged role ----------------------------------------


@pytest.fixture
def member_role(admin) -> Iterator[str]:
    name = f"app_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("CREATE ROLE {} NOSUPERUSER NOBYPASSRLS").format(sql.Identifier(name)))
    yield name
    admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.mark.parametrize("privileged", ["postgres", "bypasser"])
def test_app_role_that_is_a_member_of_a_privileged_role_is_refused(
    project, admin, member_role, privileged
):
    """NOSUPERUSER NOBYPASSRLS itself, but a member of a role that bypasses RLS: SET ROLE
    (or inheritance) gives the tests that role's rights."""
    granted = privileged
    if privileged == "bypasser":
        granted = f"bypass_{member_role}"
        admin.execute(sql.SQL("CREATE ROLE {} BYPASSRLS").format(sql.Identifier(granted)))
    admin.execute(
        sql.SQL("GRANT {} TO {}").format(sql.Identifier(granted), sql.Identifier(member_role))
    )
    try:
        project.write_test("test_ok", "def test_ok(db_session):\n    pass\n")
        result = project.run(env={"PGSTACK_APP_ROLE": member_role})
        assert_clear_failure(result, f"app_role {member_role!r}", f"member of {granted!r}")
    finally:
        admin.execute(
            sql.SQL("REVOKE {} FROM {}").format(
                sql.Identifier(granted), sql.Identifier(member_role)
            )
        )
        if granted != "postgres":
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(granted)))


# --- SQL files that cannot be read: not UTF-8, or missing ---------------------------------

SQL_PYPROJECT = """\
[tool.pgstack]
redis = false
migrator = "sql"
sql_dir = "db/migrations"
init_dir = "db/init"
seed = ["db/seed.sql"]
"""

LATIN1 = b"-- {}\nINSERT INTO plans (name) VALUES ('caf\xe9');\n"  # é in Latin-1


def sql_project(root: Path) -> None:
    write(root, "pyproject.toml", SQL_PYPROJECT)
    write(root, "db/init/01_init.sql", f"-- {uuid.uuid4().hex}\nSELECT 1;\n")
    write(root, "db/migrations/001_plans.sql", "CREATE TABLE plans (name text);\n")
    write(root, "db/seed.sql", "INSERT INTO plans (name) VALUES ('free');\n")
    write(root, "test_ok.py", "def test_ok(db_connection):\n    pass\n")


@pytest.mark.parametrize(
    "relative", ["db/migrations/001_plans.sql", "db/init/01_init.sql", "db/seed.sql"]
)
def test_sql_file_that_is_not_utf8_is_named_with_the_offset(project, relative):
    sql_project(project.path)
    bad = LATIN1.replace(b"{}", uuid.uuid4().hex.encode())
    if relative.startswith("db/migrations"):
        bad = b"CREATE TABLE plans (name text);\n" + bad
    write(project.path, relative, bad)
    offset = bad.index(b"\xe9")
    result = project.run()
    assert_clear_failure(result, relative.split("/")[-1], f"byte {offset}", "UTF-8")


def test_missing_seed_file_is_named(project):
    sql_project(project.path)
    (project.path / "db" / "seed.sql").unlink()
    result = project.run()
    assert_clear_failure(result, "seed.sql", "not found")
    doctor = cli(project, "doctor")  # the doctor says so too, before any run
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "FAIL  migrations" in doctor.stdout and "seed.sql not found" in doctor.stdout
