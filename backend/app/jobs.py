"""Background jobs, queued in Redis and run by an RQ worker (`rq worker billing`)."""

from __future__ import annotations

import uuid

import redis
from rq import Queue

from app.core.config import settings
from app.core.db import SessionLocal, set_tenant
from app.services import billing


def billing_queue(connection: redis.Redis) -> Queue:
    return Queue(settings.queue_name, connection=connection)


def recompute_billing(org_id: str) -> int:
    """Refresh the revenue view and record the run; returns the tenant's revenue rows."""
    tenant = uuid.UUID(org_id)
    with SessionLocal() as session:
        set_tenant(session, tenant)
        rows = billing.refresh(session)
        billing.record_run(session, tenant, rows, source="job")
        session.commit()
    return rows
