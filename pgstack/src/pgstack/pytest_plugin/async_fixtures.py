"""Async fixtures: the async counterparts of fixtures.py, for pytest-asyncio and anyio.

pgstack_worker → async_db_engine → async_db_session (+ db_session_options)
              → async_db_connection, asyncpg_connection
              → fresh_database → async_fresh_database
redis_url → async_redis_client

A connection belongs to the event loop it was opened in, and which loop a test runs in is
the test's choice (pytest-asyncio's ``loop_scope``, its defaults, anyio's runner). So these
fixtures are async generators run by whichever plugin runs the test, in the test's own
loop: ``pytest_fixture_setup`` below hands each one to pytest-asyncio with the test's loop
scope (anyio's plugin runs them in its runner by itself). The connections are kept for as
long as that loop serves the next test (one session loop: one connection for the run) and
closed inside the loop before it ends, so nothing leaks and nothing warns.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from pgstack import async_isolation
from pgstack.errors import PgstackError
from pgstack.pytest_plugin.fixtures import FreshDatabase
from pgstack.worker import Worker

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

T = TypeVar("T")
_NEXT_ITEM = pytest.StashKey["pytest.Item | None"]()
_RESOURCES = pytest.StashKey["LoopResources"]()
_ASYNC_MARK = "_pgstack_async_fixture"
_ASYNCIO_MARK = "_force_asyncio_fixture"  # what pytest_asyncio.fixture sets
# pytest-asyncio's loop scopes, narrowest first, with the collector each one lives on.
_SCOPE_NODES: dict[str, type[pytest.Collector] | None] = {
    "class": pytest.Class,
    "module": pytest.Module,
    "package": pytest.Package,
    "session": None,
}


def _async_fixture(func: Callable[..., Any]) -> Any:
    """A pgstack async fixture: ``pytest_fixture_setup`` gives it to the running plugin.
    Marked as pytest-asyncio's own fixtures are, so its strict mode accepts it."""
    setattr(func, _ASYNC_MARK, True)
    setattr(func, _ASYNCIO_MARK, True)
    return pytest.fixture(func)


def _copy(func: Any, *, asyncio_loop_scope: str | None) -> Any:
    """``func`` as pytest-asyncio sees it: its fixture in that loop scope, or (None) not."""
    copy = types.FunctionType(
        func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
    )
    if asyncio_loop_scope is not None:
        setattr(copy, _ASYNCIO_MARK, True)
        copy._loop_scope = asyncio_loop_scope  # type: ignore[attr-defined]
    return copy


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _runner(request: pytest.FixtureRequest) -> str:
    """``anyio`` or ``asyncio``: the plugin that runs this test; a clear failure without."""
    config = request.config
    item = request.node
    if "anyio_backend" in request.fixturenames:
        return "anyio"
    if config.pluginmanager.has_plugin("asyncio") and item.get_closest_marker("asyncio"):
        return "asyncio"
    fixture = request.fixturename
    if not (config.pluginmanager.has_plugin("asyncio") or config.pluginmanager.has_plugin("anyio")):
        _fail(
            f"{fixture} is an async fixture, and no async test plugin is installed. Install "
            "pytest-asyncio (pip install pytest-asyncio; mark tests @pytest.mark.asyncio or "
            "set asyncio_mode = auto) or use anyio's plugin (pip install anyio; mark tests "
            "@pytest.mark.anyio)."
        )
    _fail(
        f"{fixture} is an async fixture: use it from an async test (async def) that "
        "pytest-asyncio runs (@pytest.mark.asyncio, or asyncio_mode = auto) or anyio runs "
        "(@pytest.mark.anyio)."
    )


def _asyncio_loop_scope(item: pytest.Item) -> str:
    """The loop scope pytest-asyncio runs ``item`` in: its marker's, else the ini default."""
    marker = item.get_closest_marker("asyncio")
    if marker is None:
        return "function"
    scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
    return str(scope or item.config.getini("asyncio_default_test_loop_scope") or "function")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Generator[None]:
    func = fixturedef.func
    if not getattr(func, _ASYNC_MARK, False):
        return (yield)
    if _runner(request) == "anyio":
        # anyio's own hook runs it; pytest-asyncio (if installed) must leave it alone.
        copy = _copy(func, asyncio_loop_scope=None)
    else:  # pytest-asyncio runs it in the loop ``_loop_scope`` names: the test's.
        copy = _copy(func, asyncio_loop_scope=_asyncio_loop_scope(request.node))
    fixturedef.func = copy
    try:
        return (yield)
    finally:
        fixturedef.func = func


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    item.stash[_NEXT_ITEM] = nextitem  # read by the fixtures' teardown (_keep)
    resources = item.session.stash.get(_RESOURCES, None)
    if resources is not None:
        resources.close_ending(item, nextitem)
    return (yield)


def _keep(item: pytest.Item) -> bool:
    """At ``item``'s teardown: whether its loop runs the next test (keep connections)."""
    return _loop_outlives(item, item.stash.get(_NEXT_ITEM, None))


def _loop_outlives(item: pytest.Item, nextitem: pytest.Item | None) -> bool:
    """Whether the loop that ran ``item`` runs ``nextitem`` too (None: the run ends)."""
    if "anyio_backend" in getattr(item, "fixturenames", ()):
        return False  # anyio's runner may end with the test
    scope = _asyncio_loop_scope(item)
    if nextitem is None or scope not in _SCOPE_NODES:
        return False
    node_type = _SCOPE_NODES[scope]
    if node_type is None:
        return True  # the session's loop
    own = item.getparent(node_type)
    return own is not None and own is nextitem.getparent(node_type)


@dataclass
class _Held:
    loop: asyncio.AbstractEventLoop
    value: Any
    close: Callable[[], Awaitable[None]]
    user: pytest.Item  # the last test that used it: its loop scope is the loop's


class LoopResources:
    """Connections and engines kept per kind while their event loop serves tests."""

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}

    async def get(
        self,
        kind: str,
        user: pytest.Item,
        open_: Callable[[], Awaitable[T]],
        close: Callable[[T], Awaitable[None]],
        usable: Callable[[T], bool] = lambda _value: True,
    ) -> T:
        loop = asyncio.get_running_loop()
        held = self._held.get(kind)
        if held is not None and held.loop is loop and usable(held.value):
            held.user = user
            return held.value  # type: ignore[no-any-return]
        if held is not None:
            await self.release(kind, keep=False)  # closed or broken by the last test
        value = await open_()
        self._held[kind] = _Held(loop, value, lambda: close(value), user)
        return value

    async def release(self, kind: str, *, keep: bool) -> None:
        if keep:
            return
        held = self._held.pop(kind, None)
        if held is not None:
            await held.close()

    def close_ending(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """Before ``item``'s fixtures are torn down (a loop may end with them): close what
        an earlier test left on a loop that ends now. (``item``'s own are its fixtures'.)"""
        for kind, held in list(self._held.items()):
            if held.user is item or _loop_outlives(held.user, nextitem):
                continue
            del self._held[kind]
            if not held.loop.is_closed() and not held.loop.is_running():
                held.loop.run_until_complete(held.close())

    def leftovers(self) -> list[str]:
        """Kinds still held at the session's end (their loop ended without a release)."""
        return sorted(self._held)


@pytest.fixture(scope="session")
def _pgstack_async(request: pytest.FixtureRequest) -> Generator[LoopResources]:
    resources = request.session.stash[_RESOURCES] = LoopResources()
    yield resources
    left = resources.leftovers()
    if left:  # pragma: no cover - a loop scope this module does not know
        raise PgstackError(f"pgstack: async connections left open at the end: {left}")


def _async_or_fail(what: str, module: str, package: str | None = None) -> None:
    """Like fixtures._require_sqlalchemy: a clean failure naming the extra."""
    try:
        async_isolation.require_module(what, module, package)
    except async_isolation.AsyncDriverMissing as exc:
        message = str(exc)
    else:
        return
    _fail(message)


def _loop_or_fail(fixture: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _fail(
            f"{fixture} needs asyncio (its drivers run on asyncio only); this test runs "
            "on another async library. Set anyio_backend to 'asyncio' for it."
        )


@_async_fixture
async def async_db_engine(
    request: pytest.FixtureRequest, pgstack_worker: Worker, _pgstack_async: LoopResources
) -> AsyncIterator[AsyncEngine]:
    """An AsyncEngine on the worker database (asyncpg when installed, else psycopg), in
    the test's event loop; connects as the app role if one is set."""
    _loop_or_fail("async_db_engine")
    _async_or_fail("the async_db_engine fixture (and async_db_session)", "sqlalchemy")
    _async_or_fail("the async_db_engine fixture (and async_db_session)", "greenlet")

    async def open_() -> AsyncEngine:
        app_role = pgstack_worker.plan.app_role
        return async_isolation.make_async_engine(pgstack_worker.url, app_role=app_role)

    async def close(engine: AsyncEngine) -> None:
        await engine.dispose()

    engine = await _pgstack_async.get("engine", request.node, open_, close)
    yield engine
    await _pgstack_async.release("engine", keep=_keep(request.node))


@_async_fixture
async def async_db_session(
    async_db_engine: AsyncEngine, db_session_options: dict[str, Any]
) -> AsyncIterator[AsyncSession]:
    """An AsyncSession in a transaction rolled back after the test; ``await
    session.commit()`` inside is a SAVEPOINT release."""
    async with async_isolation.rollback_async_session(
        async_db_engine, **db_session_options
    ) as session:
        yield session


async def _next_test(
    kind: str,
    conn: async_isolation.AsyncRollbackConnection | async_isolation.AsyncpgRollback,
    usable: bool,
    keep: bool,
    resources: LoopResources,
) -> None:
    """After a test: report a transaction the test ended itself; roll back for the next
    test when its loop runs it, else close (closing rolls back)."""
    if not usable:
        await resources.release(kind, keep=False)
        return
    try:
        conn.check_ended()
    finally:
        if keep:
            await conn.next_test()
        else:
            await resources.release(kind, keep=False)


@_async_fixture
async def async_db_connection(
    request: pytest.FixtureRequest, pgstack_worker: Worker, _pgstack_async: LoopResources
) -> AsyncIterator[async_isolation.AsyncRollbackConnection]:
    """A psycopg AsyncConnection inside a transaction that is rolled back after the test;
    ``commit()`` raises, as on db_connection."""
    _loop_or_fail("async_db_connection")

    async def open_() -> async_isolation.AsyncRollbackConnection:
        return await async_isolation.AsyncRollbackConnection.open(
            pgstack_worker.url, app_role=pgstack_worker.plan.app_role
        )

    async def close(conn: async_isolation.AsyncRollbackConnection) -> None:
        await conn.close()

    def usable(conn: async_isolation.AsyncRollbackConnection) -> bool:
        return not (conn.closed or conn.broken)

    conn = await _pgstack_async.get("psycopg", request.node, open_, close, usable)
    await conn.ready()
    yield conn
    await _next_test("psycopg", conn, usable(conn), _keep(request.node), _pgstack_async)


@_async_fixture
async def asyncpg_connection(
    request: pytest.FixtureRequest, pgstack_worker: Worker, _pgstack_async: LoopResources
) -> AsyncIterator[Any]:
    """An asyncpg connection inside a transaction that is rolled back after the test;
    ``async with conn.transaction():`` inside is a SAVEPOINT."""
    _loop_or_fail("asyncpg_connection")
    _async_or_fail("the asyncpg_connection fixture", "asyncpg")

    async def open_() -> async_isolation.AsyncpgRollback:
        return await async_isolation.AsyncpgRollback.open(
            pgstack_worker.url, app_role=pgstack_worker.plan.app_role
        )

    async def close(held: async_isolation.AsyncpgRollback) -> None:
        await held.close()

    def usable(held: async_isolation.AsyncpgRollback) -> bool:
        return not held.closed

    held = await _pgstack_async.get("asyncpg", request.node, open_, close, usable)
    await held.ready()
    yield held.conn
    await _next_test("asyncpg", held, usable(held), _keep(request.node), _pgstack_async)


@_async_fixture
async def async_fresh_database(fresh_database: FreshDatabase) -> AsyncIterator[FreshDatabase]:
    """``fresh_database`` for async tests: its ``async_engine()`` engines are disposed in
    the test's event loop, before the database is dropped."""
    _loop_or_fail("async_fresh_database")
    fresh_database.allow_async()
    yield fresh_database
    await fresh_database.dispose_async_engines()


@_async_fixture
async def async_redis_client(redis_url: str) -> AsyncIterator[Any]:
    """A ``redis.asyncio`` client on the worker's database, flushed after the test."""
    _loop_or_fail("async_redis_client")
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()
