"""A job queued in Redis through the API, processed by a real RQ worker, changes the DB.

The worker's session commits for real, so this test runs on a fresh database of its own
(pgstack's fresh_database) with the app's sessionmaker bound to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from app.core.cache import get_redis
from app.core.db import SessionLocal, set_tenant
from app.jobs import billing_queue
from app.models import BillingRun, UserRole
from app.services import billing
from fastapi.testclient import TestClient
from rq import SimpleWorker
from sqlalchemy import select

from tests import factories
from tests.app_client import app_client

pytestmark = [pytest.mark.integration, pytest.mark.api]


@pytest.fixture
def app_on_fresh_db(fresh_database, redis_client) -> Iterator[TestClient]:
    original = SessionLocal.kw["bind"]
    SessionLocal.configure(bind=fresh_database.engine())
    try:
        with app_client({get_redis: lambda: redis_client}) as client:
            yield client
    finally:
        SessionLocal.configure(bind=original)


def test_queued_job_is_processed_by_a_worker(app_on_fresh_db, redis_client):
    with SessionLocal() as session:
        org = factories.organization(session, "jobs")
        admin = factories.user(session, org, "admin@jobs.example", UserRole.admin)
        seat = factories.service(session, org, "seat", "4.00")
        customer = factories.customer(session, org, "Ann")
        factories.subscription(
            session, customer, seat, quantity=2, started_on=dt.date(2026, 5, 1),
            ended_on=dt.date(2026, 6, 30),
        )  # fmt: skip
        session.commit()
        org_id, headers = org.id, factories.headers(admin)

    response = app_on_fresh_db.post(f"/organizations/{org_id}/billing/jobs", headers=headers)
    assert response.status_code == 202, response.text
    queue = billing_queue(redis_client)
    assert queue.count == 1

    worker = SimpleWorker([queue], connection=redis_client)
    assert worker.work(burst=True) is True
    job = queue.fetch_job(response.json()["job_id"])
    assert job.get_status().value == "finished", job.latest_result()
    assert job.return_value() == 2
    assert queue.count == 0

    with SessionLocal() as session:
        set_tenant(session, org_id)
        runs = session.scalars(select(BillingRun)).all()
        assert [(run.rows, run.details) for run in runs] == [(2, {"source": "job"})]
        assert [(r.month, str(r.revenue)) for r in billing.monthly(session)] == [
            (dt.date(2026, 5, 1), "8.00"),
            (dt.date(2026, 6, 1), "8.00"),
        ]


def test_failing_job_is_marked_failed(redis_client):
    queue = billing_queue(redis_client)
    job = queue.enqueue("app.jobs.recompute_billing", "not-a-uuid")
    SimpleWorker([queue], connection=redis_client).work(burst=True)
    assert job.get_status(refresh=True).value == "failed"
