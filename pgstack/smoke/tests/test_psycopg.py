"""The psycopg-only fixtures, from the installed wheel, with SQLAlchemy absent.

Parametrized cases insert the same unique row or key: with four cases on two workers at
least one worker runs two of them, which succeeds only if the first was undone.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import psycopg
import pytest

import pgstack


def test_pgstack_is_the_installed_wheel() -> None:
    """The source tree must not be importable: we test what we ship."""
    location = Path(pgstack.__file__).resolve()
    assert Path(sys.prefix).resolve() in location.parents, location
    assert "site-packages" in location.parts, location


def test_sqlalchemy_is_not_installed() -> None:
    """This suite proves pgstack works without the sqlalchemy extra."""
    assert importlib.util.find_spec("sqlalchemy") is None


def test_public_api_imports_without_sqlalchemy() -> None:
    for name in pgstack.__all__:
        assert getattr(pgstack, name) is not None, name
    assert "sqlalchemy" not in sys.modules


@pytest.mark.parametrize("case", range(4))
def test_db_connection_rolls_back(db_connection: psycopg.Connection, case: int) -> None:
    db_connection.execute("INSERT INTO notes (body) VALUES ('only once')")
    count = db_connection.execute("SELECT count(*) FROM notes").fetchone()
    assert count == (1,)


def test_database_url_is_migrated(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        applied = conn.execute("SELECT to_regclass('notes') IS NOT NULL").fetchone()
        name = conn.execute("SELECT current_database()").fetchone()
    assert applied == (True,)
    assert name is not None and name[0] != "postgres"


def test_fresh_database_keeps_commits_apart(fresh_database, database_url: str) -> None:
    with psycopg.connect(fresh_database.url, autocommit=True) as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('committed')")
    with psycopg.connect(fresh_database.url) as other:
        assert other.execute("SELECT body FROM notes").fetchall() == [("committed",)]
    with psycopg.connect(database_url) as worker:
        assert worker.execute("SELECT count(*) FROM notes").fetchone() == (0,)


@pytest.mark.parametrize("case", range(4))
def test_redis_client_is_flushed(redis_client, case: int) -> None:
    assert redis_client.set("smoke:once", case, nx=True) is True
    assert redis_client.dbsize() == 1
