"""pgstack's pytest plugin: the run's lifecycle (hooks), its report, failed tests, fixtures,
the garbage collector's freeze (gc_freeze). With pgstack.django, the only place that
imports pytest."""

from pgstack.pytest_plugin.async_fixtures import (
    _pgstack_async,  # noqa: F401
    async_db_connection,
    async_db_engine,
    async_db_session,
    async_fresh_database,
    async_redis_client,
    asyncpg_connection,
    pytest_fixture_setup,
    pytest_runtest_teardown,
)
from pgstack.pytest_plugin.failures import pytest_runtest_makereport
from pgstack.pytest_plugin.fixtures import (
    FreshDatabase,
    _pgstack_psycopg,  # noqa: F401
    database_url,
    db_connection,
    db_engine,
    db_session,
    db_session_options,
    fresh_database,
    pgstack_worker,
    redis_client,
    redis_url,
)
from pgstack.pytest_plugin.gc_freeze import pytest_collection_finish, pytest_sessionstart
from pgstack.pytest_plugin.hooks import (
    pytest_addoption,
    pytest_configure,
    pytest_load_initial_conftests,
)
from pgstack.pytest_plugin.report import pytest_report_header, pytest_terminal_summary
from pgstack.pytest_plugin.signals import pytest_xdist_newgateway

__all__ = [
    "FreshDatabase",
    "async_db_connection",
    "async_db_engine",
    "async_db_session",
    "async_fresh_database",
    "async_redis_client",
    "asyncpg_connection",
    "database_url",
    "db_connection",
    "db_engine",
    "db_session",
    "db_session_options",
    "fresh_database",
    "pgstack_worker",
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_configure",
    "pytest_fixture_setup",
    "pytest_load_initial_conftests",
    "pytest_report_header",
    "pytest_runtest_makereport",
    "pytest_runtest_teardown",
    "pytest_sessionstart",
    "pytest_terminal_summary",
    "pytest_xdist_newgateway",
    "redis_client",
    "redis_url",
]
