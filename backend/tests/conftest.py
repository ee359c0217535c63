"""The app under test gets the test's own session and Redis client.

pgstack provides db_session (rolled back after each test, commits become savepoints) and
redis_client (flushed after each test) on this worker's own database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app.core.cache import get_redis
from app.core.db import get_session
from app.main import app
from app.models import Organization
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session


@pytest.fixture
def client(db_session: Session, redis_client) -> Iterator[TestClient]:
    app.dependency_overrides[get_session] = lambda: db_session
    app.dependency_overrides[get_redis] = lambda: redis_client
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        app.dependency_overrides.clear()


@pytest.fixture
def org(db_session: Session) -> Organization:
    organization = Organization(name="Acme", slug="acme")
    db_session.add(organization)
    db_session.commit()
    return organization
