"""pytest-django on pgstack: the worker's clone *is* the test database.

pytest-django normally creates ``test_<name>`` and runs every migration in every xdist
worker. With pgstack the migrations ran once, into the template (``migrator = "command"``,
``command = "python manage.py migrate --noinput"``), and each worker already has its own
clone. Import this fixture into the project's root conftest.py to use it as is::

    from pgstack.django import django_db_setup  # noqa: F401

Tests keep pytest-django's rollback per test (``django_db``) and its fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pgstack.errors import ConfigError
from pgstack.stack import Worker


@pytest.fixture(scope="session")
def django_db_setup(pgstack_worker: Worker) -> Iterator[None]:
    """Use this worker's database as it is: no create, no migrate, no teardown (pgstack
    drops the clone at the end of the run)."""
    check_database(pgstack_worker)
    yield


def check_database(worker: Worker) -> None:
    """Django must point at the worker's clone, or tests would run somewhere else."""
    from django.conf import settings

    configured = settings.DATABASES.get("default", {}).get("NAME")
    if configured != worker.name:
        raise ConfigError(
            f"Django's DATABASES['default'] uses database {configured!r}, but pgstack gave "
            f"this process {worker.name!r}. settings.py must read the database from "
            "the environment variable pgstack sets (DATABASE_URL, e.g. with dj-database-url, "
            "or the variables of [tool.pgstack.env]) when it is imported."
        )
