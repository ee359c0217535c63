"""Monthly revenue: a materialized view refreshed concurrently, read per tenant."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import BillingRun
from app.schemas import RevenueRow


def refresh(session: Session) -> int:
    """REFRESH MATERIALIZED VIEW CONCURRENTLY (through a SECURITY DEFINER function: the app
    role does not own the view); returns the current tenant's row count."""
    session.execute(text("SELECT refresh_monthly_revenue()"))
    return int(session.scalar(text("SELECT count(*) FROM tenant_monthly_revenue")) or 0)


def monthly(session: Session, month: dt.date | None = None) -> list[RevenueRow]:
    query = "SELECT customer_id, month, revenue FROM tenant_monthly_revenue"
    params: dict[str, object] = {}
    if month is not None:
        query += " WHERE month = :month"
        params["month"] = month.replace(day=1)
    rows = session.execute(text(query + " ORDER BY month, customer_id"), params)
    return [RevenueRow(customer_id=r.customer_id, month=r.month, revenue=r.revenue) for r in rows]


def record_run(session: Session, org_id, rows: int, source: str) -> BillingRun:
    run = BillingRun(organization_id=org_id, rows=rows, details={"source": source})
    session.add(run)
    return run


def runs(session: Session) -> list[BillingRun]:
    return list(session.scalars(select(BillingRun).order_by(BillingRun.created_at, BillingRun.id)))
