"""Each test sees a clean, migrated database of its worker's own, as the app role."""

from __future__ import annotations

import os

import psycopg
import pytest
from app.models import Organization
from sqlalchemy import func, select, text

from tests import factories

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("attempt", range(4))
def test_rows_from_other_tests_are_gone(db_session, attempt):
    # Every attempt creates the same unique slug and commits: only a rollback between
    # tests lets all of them pass, in any order and on any worker.
    assert db_session.scalar(select(func.organization_id_for_slug("same-slug"))) is None
    org = factories.organization(db_session, "same-slug")
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(Organization)) == 1
    assert db_session.scalar(select(func.organization_id_for_slug("same-slug"))) == org.id


def test_connected_to_this_workers_database(db_session):
    current = db_session.scalar(text("SELECT current_database()"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert current.endswith("_" + worker)
    assert os.environ["DATABASE_URL"].endswith("/" + current)


def test_app_role_is_not_superuser(db_session):
    user, is_super, bypass = db_session.execute(
        text(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
    ).one()
    assert user == "app"
    assert (is_super, bypass) == (False, False)


def test_migrations_ran(db_session):
    head = db_session.scalar(text("SELECT version_num FROM alembic_version"))
    assert head == "0002"


@pytest.mark.parametrize("attempt", range(2))
def test_raw_connection_rolls_back(db_connection, attempt):
    assert db_connection.execute("SELECT organization_id_for_slug('raw')").fetchone()[0] is None
    db_connection.execute("SELECT set_config('app.org_id', gen_random_uuid()::text, true)")
    db_connection.execute(
        "INSERT INTO organizations (id, name, slug) "
        "VALUES (current_setting('app.org_id')::uuid, 'Raw', 'raw')"
    )
    # A unique slug: the second attempt fails unless the first was rolled back.
    found = db_connection.execute("SELECT organization_id_for_slug('raw')").fetchone()[0]
    assert found is not None


def test_fresh_database_commits_across_connections(fresh_database):
    with psycopg.connect(fresh_database.url) as writer:
        writer.execute("INSERT INTO organizations (name, slug) VALUES ('Fresh', 'fresh')")
    with psycopg.connect(fresh_database.url) as reader:
        assert reader.execute("SELECT slug FROM organizations").fetchall() == [("fresh",)]
