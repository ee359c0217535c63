"""pytest-django on pgstack: the worker's clone *is* the test database.

pytest-django normally creates ``test_<name>`` and runs every migration in every xdist
worker. With pgstack the migrations ran once, into the template (``migrator = "command"``,
``command = "python manage.py migrate --noinput"``), and each worker already has its own
clone. Import this fixture into the project's root conftest.py to use it as is::

    from pgstack.django import django_db_setup  # noqa: F401

Tests keep pytest-django's rollback per test (``django_db``) and its fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from pgstack import urls
from pgstack.errors import ConfigError
from pgstack.worker import Worker

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@pytest.fixture(scope="session")
def django_db_setup(pgstack_worker: Worker) -> Iterator[None]:
    """Use this worker's database as it is: no create, no migrate, no teardown (pgstack
    drops the clone at the end of the run). A Django pointing elsewhere fails every
    database test at setup, before it can touch that database."""
    problem = None
    try:
        check_database(pgstack_worker)
    except ConfigError as exc:
        problem = f"pgstack: {exc}"
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    _use_test_mirrors()
    yield


def check_database(worker: Worker) -> None:
    """Every alias of ``DATABASES`` must point at the worker's clone (or mirror one that
    does): a test with ``databases=[...]`` would otherwise run against, and pytest-django's
    flush empty, a real database."""
    from django.conf import settings

    for alias, config in settings.DATABASES.items():
        if (config.get("TEST") or {}).get("MIRROR"):
            continue  # uses the connection of the alias it mirrors (checked itself)
        problem = _points_elsewhere(config, worker)
        if problem is not None:
            raise ConfigError(f"Django's DATABASES[{alias!r}] {problem} " + _fix(alias))


def _points_elsewhere(config: Mapping[str, Any], worker: Worker) -> str | None:
    """What is wrong with where ``config`` connects, or None when it is the clone."""
    options = config.get("OPTIONS") or {}
    if options.get("service"):
        return (
            f"connects through the libpq service {options['service']!r}, so pgstack cannot "
            f"tell whether it reaches {worker.name!r}."
        )
    name = config.get("NAME")
    if name != worker.name:
        return f"uses database {name!r}, but pgstack gave this process {worker.name!r}."
    target = urls.parse(worker.url)
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
        "pgstack gives each process one database, so every alias must use it: read this "
        "alias from the same environment variable as 'default', or give it "
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
