"""Each test sees a clean, migrated database of its worker's own, as the app role."""

from __future__ import annotations

import os

import pytest
from app.models import Organization
from sqlalchemy import func, select, text

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("attempt", range(4))
def test_rows_from_other_tests_are_gone(db_session, attempt):
    # Every attempt inserts the same unique slug and commits: only a rollback between
    # tests lets all of them pass, in any order and on any worker.
    assert db_session.scalar(select(func.count()).select_from(Organization)) == 0
    db_session.add(Organization(name=f"Try {attempt}", slug="same-slug"))
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(Organization)) == 1


def test_connected_to_this_workers_database(db_session):
    current = db_session.scalar(text("SELECT current_database()"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert current.endswith("_" + worker)
    assert os.environ["DATABASE_URL"].endswith("/" + current)


def test_app_role_is_not_superuser(db_session):
    user, is_super = db_session.execute(
        text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    ).one()
    assert user == "app"
    assert is_super is False


def test_migrations_ran(db_session):
    tables = set(
        db_session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    )
    assert {"organizations", "customers", "alembic_version"} <= tables


@pytest.mark.parametrize("attempt", range(2))
def test_raw_connection_rolls_back(db_connection, attempt):
    count = db_connection.execute("SELECT count(*) FROM organizations").fetchone()[0]
    assert count == 0
    db_connection.execute("INSERT INTO organizations (name, slug) VALUES ('Raw', 'raw')")


def test_fresh_database_commits_across_connections(fresh_database):
    import psycopg

    with psycopg.connect(fresh_database.url) as writer:
        writer.execute("INSERT INTO organizations (name, slug) VALUES ('Fresh', 'fresh')")
    with psycopg.connect(fresh_database.url) as reader:
        assert reader.execute("SELECT slug FROM organizations").fetchall() == [("fresh",)]
