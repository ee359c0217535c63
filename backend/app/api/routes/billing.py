"""Monthly revenue (materialized view), refreshed now or by a queued background job."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, status

from app.api.deps import CacheDep, SessionDep, TenantAdmin, TenantUser
from app.jobs import billing_queue, recompute_billing
from app.models import BillingRun
from app.schemas import BillingRunOut, JobOut, RevenueRow
from app.services import billing

router = APIRouter(prefix="/organizations/{org_id}/billing", tags=["billing"])


@router.post("/refresh")
def refresh_now(org_id: uuid.UUID, admin: TenantAdmin, session: SessionDep) -> dict[str, int]:
    rows = billing.refresh(session)
    billing.record_run(session, org_id, rows, source="api")
    session.commit()
    return {"rows": rows}


@router.get("/monthly", response_model=list[RevenueRow])
def monthly_revenue(
    org_id: uuid.UUID, user: TenantUser, session: SessionDep, month: dt.date | None = None
) -> list[RevenueRow]:
    return billing.monthly(session, month)


@router.post("/jobs", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
def queue_recompute(org_id: uuid.UUID, admin: TenantAdmin, cache: CacheDep) -> JobOut:
    job = billing_queue(cache).enqueue(recompute_billing, str(org_id))
    return JobOut(job_id=job.id, status=job.get_status().value)


@router.get("/runs", response_model=list[BillingRunOut])
def list_runs(org_id: uuid.UUID, user: TenantUser, session: SessionDep) -> list[BillingRun]:
    return billing.runs(session)
