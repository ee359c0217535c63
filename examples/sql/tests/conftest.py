"""Fixtures for the ledger's suite; the databases themselves come from pgstack.

- ``db_connection`` (pgstack): a psycopg connection inside a transaction rolled back
  after the test; fast, for everything that does not need a real COMMIT.
- ``fresh_database`` (pgstack): a new clone of the migrated, seeded template, for tests
  that commit and look from other connections.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import ConnectionPool


@pytest.fixture
def committed(fresh_database) -> Iterator[psycopg.Connection]:
    """A connection whose commits are real, on a database of this test's own."""
    with psycopg.connect(fresh_database.url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def observer(fresh_database) -> Iterator[psycopg.Connection]:
    """A second connection on the same database: sees only what was committed."""
    with psycopg.connect(fresh_database.url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def pool(fresh_database) -> Iterator[ConnectionPool]:
    with ConnectionPool(fresh_database.url, min_size=10, max_size=10) as pool:
        pool.wait(timeout=10)
        yield pool
