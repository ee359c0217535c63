"""Real servers for pgstack's own tests, and a builder of small projects that use pgstack.

Inner pytest runs (pytester, in subprocesses) exercise the plugin end to end; most point at
one shared embedded server through DATABASE_URL so they skip initdb, and a few start their
own embedded server to prove that path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest
from intruder import AccountUnavailable, Intruder, make_intruder
from pgstack.errors import ServerStartFailed
from pgstack.servers.postgres import EmbeddedPostgres, start_postgres
from pgstack.servers.process import run_tool
from pgstack.servers.redis import EmbeddedRedis, start_redis
from pgstack.settings import _default_tmp_dir

pytest_plugins = ["pytester"]

_SCRUB_PREFIXES = ("PGSTACK_", "PYTEST_XDIST_")
_SCRUB = {"DATABASE_URL", "REDIS_URL", "PYTEST_ADDOPTS"}


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle, which it keeps otherwise
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` first. xdist hands out tests in this order: a 70 s test that
    starts last keeps the run going while every other worker has nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def intruder() -> Intruder:
    """A second local account that tries to get into what pgstack starts (see intruder.py).

    When it cannot be made the test fails, never skips: a security test that did not run
    proved nothing.
    """
    try:
        return make_intruder()
    except AccountUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    server = start_postgres(tmp_dir=Path(_default_tmp_dir()))
    yield server
    server.stop()


def _conf_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="pgstack-conf-", dir=_default_tmp_dir()))
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="session")
def password_server() -> Iterator[EmbeddedPostgres]:
    """A server that asks every role for a password over TCP (scram-sha-256), like
    every embedded server; its own hba file, as a project's postgres_conf may set one.

    Role ``tester`` (password ``right``, CREATEDB) logs in over TCP.
    """
    folder = _conf_dir()
    hba = folder / "pg_hba.conf"
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    conf = folder / "password.conf"
    conf.write_text(f"hba_file = '{hba}'\npassword_encryption = 'scram-sha-256'\n")
    for path in (hba, conf):
        path.chmod(0o644)
    server = start_postgres(tmp_dir=Path(_default_tmp_dir()), conf_file=conf)
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("CREATE ROLE tester LOGIN CREATEDB PASSWORD 'right'")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def durable_postgres() -> Iterator[EmbeddedPostgres]:
    """A server configured like a real one (fsync on): only the name rule can let a run in."""
    folder = _conf_dir()
    conf = folder / "durable.conf"
    conf.write_text("fsync = on\n")
    conf.chmod(0o644)
    server = start_postgres(tmp_dir=Path(_default_tmp_dir()), conf_file=conf)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def starting_server() -> Iterator[EmbeddedPostgres]:
    """A real server that is up but never accepts connections: a standby in recovery with
    hot_standby off answers every login with SQLSTATE 57P03 ("the database system is not
    accepting connections"), the same class as "the database system is starting up"."""
    folder = _conf_dir()
    conf = folder / "standby.conf"
    conf.write_text("hot_standby = off\n")
    conf.chmod(0o644)
    server = start_postgres(tmp_dir=Path(_default_tmp_dir()), conf_file=conf)
    server.server.stop()
    run_tool(["touch", server.data_dir / "data" / "standby.signal"], run_as=server.run_as)
    server.server.spawn()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class RestartableServer:
    """A server of this test's own, that a test may kill and start again on the same data."""

    server: EmbeddedPostgres

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def restart(self, timeout: float = 30.0) -> None:
        """Start again on the same data (a new port); the old backends may take a moment
        to notice their postmaster died and release its shared memory."""
        self.server.server.stop()
        deadline = time.monotonic() + timeout
        while True:
            self.server.server.spawn()
            try:
                self.server.server.wait_ready(timeout)
                return
            except ServerStartFailed:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


@pytest.fixture
def restartable_server() -> Iterator[RestartableServer]:
    server = start_postgres(tmp_dir=Path(_default_tmp_dir()))
    yield RestartableServer(server)
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    server = start_redis(tmp_dir=Path(_default_tmp_dir()))
    yield server
    server.stop()


def pgstack_dir(tmp_dir: Path) -> Path:
    """pgstack's private folder inside a tmp folder: where its servers' folders are."""
    return tmp_dir / f"pgstack-{os.geteuid()}"


def server_folders(tmp_dir: Path) -> list[str]:
    """The servers' data folders pgstack left in a tmp folder (its caches are not counted:
    the initdb result and copied binaries stay for the next run by design)."""
    base = pgstack_dir(tmp_dir)
    return sorted(
        p.name for pattern in ("pgstack-pg-*", "pgstack-redis-*") for p in base.glob(pattern)
    )


@pytest.fixture
def shm_dir() -> Iterator[Path]:
    """A scratch folder every account can reach (tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="pgstack-test-", dir=_default_tmp_dir()))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fresh_tmp_dir() -> Iterator[Path]:
    """A tmp folder of its own for embedded servers, as on a new machine: no initdb cache,
    no migrated clusters of earlier runs."""
    path = Path(tempfile.mkdtemp(prefix="pgstack-fresh-tmp-", dir=_default_tmp_dir()))
    os.chmod(path, 0o755)  # as root, the server's account must reach its folder inside
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def admin(pg_server: EmbeddedPostgres) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        yield conn


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs must not inherit this run's pgstack or xdist variables."""
    for name in list(os.environ):
        if name in _SCRUB or name.startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(name)


ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
path_separator = os
"""

ENV_PY = """\
import os
from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""


def migration(revision: str, down: str | None, upgrade_sql: str, comment: str = "") -> str:
    return textwrap.dedent(
        f'''\
        """{comment or revision}"""
        from alembic import op

        revision = {revision!r}
        down_revision = {down!r}
        branch_labels = None
        depends_on = None


        def upgrade():
            op.execute("""{upgrade_sql}""")


        def downgrade():
            pass
        '''
    )


@dataclass
class Project:
    """A throwaway project using pgstack: pyproject, Alembic migrations, tests."""

    pytester: pytest.Pytester
    path: Path
    server_url: str | None
    run_timeout: ClassVar[float] = 120  # seconds an inner run may take

    def write_migration(self, revision: str, down: str | None, sql: str, comment: str = "") -> Path:
        path = self.path / "migrations" / "versions" / f"{revision}.py"
        path.write_text(migration(revision, down, sql, comment))
        return path

    def write_test(self, name: str, body: str) -> None:
        (self.path / f"{name}.py").write_text(textwrap.dedent(body))

    def run(self, *args: str, env: dict[str, str] | None = None) -> pytest.RunResult:
        """Run pytest in a subprocess, against the shared server unless told otherwise."""
        mp = pytest.MonkeyPatch()
        try:
            if self.server_url is not None:
                mp.setenv("DATABASE_URL", self.server_url)
            for key, value in (env or {}).items():
                mp.setenv(key, value)
            return self.pytester.runpytest_subprocess(
                "-p", "no:randomly", "-p", "no:cacheprovider", *args, timeout=self.run_timeout
            )
        finally:
            mp.undo()


@pytest.fixture
def project(pytester: pytest.Pytester, pg_server: EmbeddedPostgres) -> Project:
    """A project whose migrations are unique to this test (so its template is its own)."""
    root = pytester.path
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [tool.pgstack]
            alembic_config = "alembic.ini"
            redis = false
            """
        )
    )
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    proj = Project(pytester, root, pg_server.url)
    proj.write_migration(
        "0001",
        None,
        "CREATE TABLE items (id serial PRIMARY KEY, name text UNIQUE NOT NULL)",
        comment=f"items table for test {uuid.uuid4().hex}",
    )
    return proj


@pytest.fixture
def bare(pytester: pytest.Pytester, pg_server: EmbeddedPostgres) -> Project:
    """A project without Alembic; each test writes its own [tool.pgstack] table."""
    return Project(pytester, pytester.path, pg_server.url)


def output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


def assert_nothing_ran(result: pytest.RunResult) -> None:
    """A failed setup must not look like success: no test passed, none was skipped."""
    text = output(result)
    assert result.ret not in (0, 5), text
    assert " passed" not in text and " skipped" not in text, text


def cli(project: Project, *args: str, env: dict[str, str] | None = None):
    """The pgstack command, run as users run it (a subprocess)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pgstack.cli", "--project", str(project.path), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def cli_in(folder: Path, *args: str, env: dict[str, str] | None = None):
    """The pgstack command run from ``folder`` without --project: it finds the project."""
    return subprocess.run(
        [sys.executable, "-m", "pgstack.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=folder,
        timeout=120,
        check=False,
    )


# A migration that needs a variable only the project's env_file gives.
ENV_FILE_MIGRATION = '''\
"""A table whose name only the env_file gives."""
import os

from alembic import op

revision = "0002env"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(f"CREATE TABLE {os.environ['ITEMS_ARCHIVE_TABLE']} (id int)")


def downgrade():
    pass
'''
