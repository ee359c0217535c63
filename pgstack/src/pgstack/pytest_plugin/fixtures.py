"""The fixtures; each layer can be overridden on its own in a project's conftest.py.

pgstack_worker → database_url → db_engine → db_session (+ db_session_options)
                              → db_connection
              → fresh_database
              → redis_url → redis_client
The async fixtures (async_db_engine, async_db_session, ...) are in async_fixtures.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from pgstack import async_isolation, isolation, urls
from pgstack.pytest_plugin.state import FRESH_KEY, STATE_KEY
from pgstack.worker import Worker

if TYPE_CHECKING:  # SQLAlchemy is an optional extra: only the fixtures that use it import it
    from sqlalchemy import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.orm import Session


def _require_sqlalchemy(what: str) -> None:
    """A clean test failure naming the extra, not an ImportError traceback (failing outside
    the ``except`` block keeps pytest from printing the chained ImportError)."""
    try:
        isolation.require_sqlalchemy(what)
    except isolation.SqlalchemyMissing as exc:
        message = str(exc)
    else:
        return
    pytest.fail(message, pytrace=False)


def _not_enabled(reason: str) -> None:
    pytest.fail(
        f"Database access needs pgstack, which is off for this run: {reason}. "
        "Add a [tool.pgstack] table to the project's pyproject.toml (see pgstack's README).",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def pgstack_worker(request: pytest.FixtureRequest) -> Worker:
    """This process's databases (its clone of the template and its Redis database)."""
    state = request.config.stash.get(STATE_KEY, None)
    if state is None or not state.enabled or state.worker is None:
        _not_enabled(state.reason if state is not None else "plugin not loaded")
    return state.worker  # type: ignore[union-attr,return-value]


@pytest.fixture(scope="session")
def database_url(pgstack_worker: Worker) -> str:
    """``postgresql://`` URL of this worker's own migrated database."""
    return pgstack_worker.url


@pytest.fixture(scope="session")
def db_engine(pgstack_worker: Worker) -> Iterator[Engine]:
    """SQLAlchemy engine on the worker database, connecting as the app role if one is set."""
    _require_sqlalchemy("the db_engine fixture (and db_session, built on it)")
    engine = isolation.make_engine(pgstack_worker.url, app_role=pgstack_worker.plan.app_role)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def db_session_options() -> dict[str, Any]:
    """Keyword arguments for ``db_session``'s Session; override it to match your app's
    sessionmaker (e.g. ``{"expire_on_commit": False}``)."""
    return {}


@pytest.fixture
def db_session(db_engine: Engine, db_session_options: dict[str, Any]) -> Iterator[Session]:
    """A Session in a transaction rolled back after the test; commit() inside is a SAVEPOINT."""
    with isolation.rollback_session(db_engine, **db_session_options) as session:
        yield session


class _RawConnection:
    """The worker's one RollbackConnection for db_connection, reopened if a test closed it."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._conn: isolation.RollbackConnection | None = None

    def get(self) -> isolation.RollbackConnection:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            app_role = self._worker.plan.app_role
            conn = self._conn = isolation.RollbackConnection.open(
                self._worker.url, app_role=app_role
            )
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@pytest.fixture(scope="session")
def _pgstack_psycopg(pgstack_worker: Worker) -> Iterator[_RawConnection]:
    raw = _RawConnection(pgstack_worker)
    yield raw
    raw.close()


@pytest.fixture
def db_connection(_pgstack_psycopg: _RawConnection) -> Iterator[psycopg.Connection]:
    """A psycopg connection inside a transaction that is rolled back after the test."""
    conn = _pgstack_psycopg.get()
    conn.ready()
    yield conn
    if conn.closed or conn.broken:
        return  # the next test opens a new one
    try:
        conn.check_ended()
    finally:
        conn.next_test()


@dataclass
class FreshDatabase:
    """A database of its own for one test (commits and many connections welcome)."""

    name: str
    url: str = field(repr=False)  # may carry a password: never in a repr
    _worker: Worker = field(repr=False)
    _engines: list[Engine] = field(default_factory=list, repr=False)
    _async_engines: list[AsyncEngine] | None = field(default=None, repr=False)
    kept: bool = False

    @property
    def sqlalchemy_url(self) -> str:
        return urls.sqlalchemy_url(self.url)

    def engine(self, **kwargs: Any) -> Engine:
        """An engine on this database (app role applied); disposed after the test."""
        _require_sqlalchemy("fresh_database.engine()")
        engine = isolation.make_engine(self.url, app_role=self._worker.plan.app_role, **kwargs)
        self._engines.append(engine)
        return engine

    def allow_async(self) -> None:
        """Called by async_fresh_database, which disposes async engines in the test's loop."""
        if self._async_engines is None:
            self._async_engines = []

    def async_engine(self, **kwargs: Any) -> AsyncEngine:
        """An AsyncEngine on this database (app role applied; asyncpg when installed);
        disposed after the test by ``async_fresh_database``."""
        if self._async_engines is None:
            raise async_isolation.AsyncEngineNeedsLoop.for_fresh_database()
        try:
            engine = async_isolation.make_async_engine(
                self.url, app_role=self._worker.plan.app_role, **kwargs
            )
        except (isolation.SqlalchemyMissing, async_isolation.AsyncDriverMissing) as exc:
            message = str(exc)
        else:
            self._async_engines.append(engine)
            return engine
        pytest.fail(message, pytrace=False)

    async def dispose_async_engines(self) -> None:
        for engine in self._async_engines or ():
            await engine.dispose()
        self._async_engines = []

    def keep(self) -> str | None:
        if not self._worker.plan.keep_failed or self.kept:
            return None
        self._worker.keep(self.name)
        self.kept = True
        # The URL without its password: notes land in CI logs.
        note = f"The test failed; its database {self.name} was kept: {urls.masked(self.url)}"
        if self._worker.plan.embedded:
            return note + (
                "\n(The embedded server stops when the run ends. To inspect kept databases, "
                "run with --pgstack-keep, or with `pgstack up` running.)"
            )
        return note + f"\n(`pgstack psql {self.name}` connects with the password.)"

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        if not self.kept:
            self._worker.drop(self.name)


@pytest.fixture
def fresh_database(
    request: pytest.FixtureRequest, pgstack_worker: Worker
) -> Iterator[FreshDatabase]:
    """A new clone of the template for this test; dropped after, kept if the test fails."""
    name, url = pgstack_worker.new_fresh()
    fresh = FreshDatabase(name, url, pgstack_worker)
    request.node.stash[FRESH_KEY] = fresh
    try:
        yield fresh
    finally:
        del request.node.stash[FRESH_KEY]
        fresh.close()


@pytest.fixture(scope="session")
def redis_url(pgstack_worker: Worker) -> str:
    """URL of this worker's own Redis logical database."""
    if pgstack_worker.redis_url is None:
        pytest.fail("Redis is off for this run ([tool.pgstack] redis = false).", pytrace=False)
    return pgstack_worker.redis_url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    """A redis-py client on the worker's database, flushed after the test."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.flushdb()
        client.close()
