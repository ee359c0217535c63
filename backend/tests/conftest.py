"""The app under test gets the test's own session and Redis client.

pgstack provides db_session (rolled back after each test; commits become savepoints; it
connects as the non-superuser `app` role, so Row Level Security applies) and redis_client
(flushed after each test), both on this worker's own database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app.core.cache import get_redis
from app.core.db import SessionLocal, get_session, set_tenant
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories
from tests.app_client import app_client
from tests.factories import Tenant


@pytest.fixture(scope="session")
def db_session_options() -> dict:
    """The test session behaves like the app's sessionmaker."""
    return {"expire_on_commit": SessionLocal.kw["expire_on_commit"]}


@pytest.fixture
def client(db_session: Session, redis_client) -> Iterator[TestClient]:
    overrides = {get_session: lambda: db_session, get_redis: lambda: redis_client}
    with app_client(overrides) as test_client:
        yield test_client


@pytest.fixture
def tenant_a(db_session: Session) -> Tenant:
    return factories.tenant(db_session, "acme")


@pytest.fixture
def tenant_b(db_session: Session) -> Tenant:
    return factories.tenant(db_session, "globex")


@pytest.fixture
def as_tenant(db_session: Session):
    """Switch the test's session to a tenant before querying it directly."""

    def switch(tenant: Tenant) -> Session:
        set_tenant(db_session, tenant.org.id)
        return db_session

    return switch
