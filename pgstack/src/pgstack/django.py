"""pytest-django on pgstack: the worker's clone *is* the test database.

pytest-django normally creates ``test_<name>`` and runs every migration in every xdist
worker. With ``migrator = "django"`` the migrations ran once, into the template, and each
worker already has its own clone of it (one per alias of DATABASES that has a test
database of its own): this module's ``django_db_setup`` makes pytest-django use them as
they are. The plugin registers it by itself when pytest-django is active and the migrator
is ``django``, for tests in any folder; importing it into a conftest.py (what older setups
do, and the way to use it with another migrator) does the same::

    from pgstack.django import django_db_setup  # noqa: F401

Tests keep pytest-django's rollback per test (``django_db``) and its fixtures. With
``--no-pgstack`` it is pytest-django's own fixture again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from pgstack import urls
from pgstack.errors import ConfigError
from pgstack.migrators.django_child import point_at
from pgstack.pytest_plugin.state import STATE_KEY
from pgstack.worker import Worker

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@pytest.fixture(scope="session")
def django_db_setup(request: pytest.FixtureRequest) -> Iterator[None]:
    """Use this worker's databases as they are: no create, no migrate, no teardown
    (pgstack drops the clones at the end of the run). A Django pointing elsewhere fails
    every database test at setup, before it can touch that database."""
    state = request.config.stash.get(STATE_KEY, None)
    if state is None or not state.enabled:
        yield from _pytest_djangos_own(request)  # --no-pgstack: plain pytest-django
        return
    worker: Worker = request.getfixturevalue("pgstack_worker")
    problem = None
    try:
        use_worker_databases(worker)
    except ConfigError as exc:
        problem = f"pgstack: {exc}"
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    yield


def _pytest_djangos_own(request: pytest.FixtureRequest) -> Iterator[None]:
    """pytest-django's django_db_setup, with the fixtures it asks for."""
    import inspect

    from pytest_django import fixtures

    fixture = fixtures.django_db_setup
    unwrap = getattr(fixture, "_get_wrapped_function", None)
    function = unwrap() if unwrap is not None else getattr(fixture, "__wrapped__", fixture)
    names = inspect.signature(function).parameters
    kwargs = {
        name: request if name == "request" else request.getfixturevalue(name) for name in names
    }
    yield from function(**kwargs)


def use_worker_databases(worker: Worker) -> None:
    """Point every alias with a test database of its own at its clone (Django's grouping
    of aliases that share a database, ``TEST: {"DEPENDENCIES": …}`` checks included), then
    check that the others reach the worker's clone or mirror an alias that does."""
    shared = _point_aliases(worker.alias_urls) if worker.alias_urls else {}
    check_database(worker, shared)
    _use_test_mirrors()


def _point_aliases(alias_urls: Mapping[str, str]) -> dict[str, str]:
    """Returns the aliases that share another's database: alias -> that one."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connections
    from django.test.utils import get_unique_databases_and_mirrors

    try:
        test_databases, _ = get_unique_databases_and_mirrors()
    except ImproperlyConfigured as exc:
        raise ConfigError(f"Django's DATABASES: {exc}") from exc
    shared: dict[str, str] = {}
    for _, aliases in test_databases.values():
        primary, *others = sorted(aliases, key=lambda alias: (alias != "default", alias))
        shared.update(dict.fromkeys(others, primary))
    for alias, url in alias_urls.items():
        connections[alias].close()
        point_at(connections[alias].settings_dict, url)
    for alias, primary in shared.items():
        connections[alias].close()
        connections[alias].creation.set_as_test_mirror(connections[primary].settings_dict)
    return shared


def check_database(worker: Worker, shared: Mapping[str, str] | None = None) -> None:
    """Every alias of ``DATABASES`` must point at one of the worker's clones (or mirror one
    that does): a test with ``databases=[...]`` would otherwise run against, and
    pytest-django's flush empty, a real database."""
    from django.db import connections

    for alias in connections:
        config = connections[alias].settings_dict  # DATABASES[alias], or the one it shares
        if (config.get("TEST") or {}).get("MIRROR"):
            continue  # uses the connection of the alias it mirrors (checked itself)
        owner = (shared or {}).get(alias, alias)  # an alias sharing another's database
        expected = worker.alias_urls.get(owner, worker.url)
        problem = _points_elsewhere(config, expected)
        if problem is not None:
            raise ConfigError(f"Django's DATABASES[{alias!r}] {problem} " + _fix(alias))


def _points_elsewhere(config: Mapping[str, Any], url: str) -> str | None:
    """What is wrong with where ``config`` connects, or None when it is the clone."""
    options = config.get("OPTIONS") or {}
    target = urls.parse(url)
    if options.get("service"):
        return (
            f"connects through the libpq service {options['service']!r}, so pgstack cannot "
            f"tell whether it reaches {target.database!r}."
        )
    name = config.get("NAME")
    if name != target.database:
        return f"uses database {name!r}, but pgstack gave this process {target.database!r}."
    host, port = _where(config.get("HOST") or options.get("host"), config.get("PORT"))
    expected = _where(target.host or dict(target.query).get("host"), target.port)
    if not (port == expected[1] and (host == expected[0] or {host, expected[0]} <= _LOOPBACK)):
        return (
            f"uses database {name!r} on {host or 'the local socket'}:{port}, but pgstack's "
            f"server is {expected[0]}:{expected[1]}."
        )
    return None


def _where(host: object, port: object) -> tuple[str, int]:
    """Host and port as libpq resolves them when they are left out."""
    return (
        str(host or os.environ.get("PGHOST", "")),
        int(str(port or os.environ.get("PGPORT") or 5432)),
    )


def _fix(alias: str) -> str:
    if alias == "default":
        return (
            "settings.py must read the database from the environment variable pgstack sets "
            "(DATABASE_URL, e.g. with dj-database-url, or the variables of [tool.pgstack.env]) "
            "when it is imported."
        )
    return (
        'With migrator = "django" pgstack gives this alias a clone of its own. With another '
        "migrator pgstack gives each process one database, so every alias must use it: read "
        "this alias from the same environment variable as 'default', or give it "
        "TEST = {'MIRROR': 'default'} so tests use default's connection. Otherwise a test "
        "with django_db(databases=[...]) would run against that database and pytest-django "
        "would flush it."
    )


def _use_test_mirrors() -> None:
    """What pytest-django's own setup does for ``TEST['MIRROR']``: the alias uses the
    connection settings of the alias it mirrors."""
    from django.db import connections

    for alias in connections:
        mirror = connections[alias].settings_dict.get("TEST", {}).get("MIRROR")
        if mirror:
            connections[alias].creation.set_as_test_mirror(connections[mirror].settings_dict)
