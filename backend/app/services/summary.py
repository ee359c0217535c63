"""Customer summary with a read-through Redis cache, invalidated on every write."""

from __future__ import annotations

import uuid
from decimal import Decimal

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.config import settings
from app.models import Customer, Subscription, SubscriptionStatus
from app.schemas import CustomerOut, CustomerSummary


def cache_key(org_id: uuid.UUID, customer_id: uuid.UUID) -> str:
    return f"customer-summary:{org_id}:{customer_id}"


def compute(session: Session, customer: Customer) -> CustomerSummary:
    count, total = session.execute(
        select(
            func.count(Subscription.id),
            func.coalesce(func.sum(Subscription.unit_price * Subscription.quantity), 0),
        ).where(
            Subscription.customer_id == customer.id,
            Subscription.status == SubscriptionStatus.active,
        )
    ).one()
    return CustomerSummary(
        customer=CustomerOut.model_validate(customer),
        active_subscriptions=count,
        monthly_total=Decimal(total).quantize(Decimal("0.01")),
    )


def cached(
    session: Session, cache: redis.Redis, customer: Customer
) -> tuple[CustomerSummary, bool]:
    """(summary, hit): from Redis when present, else computed and stored."""
    key = cache_key(customer.organization_id, customer.id)
    raw = cache.get(key)
    if raw is not None:
        return CustomerSummary.model_validate_json(raw), True
    summary = compute(session, customer)
    cache.set(key, summary.model_dump_json(), ex=settings.cache_ttl_seconds)
    return summary, False


def invalidate(cache: redis.Redis, org_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    cache.delete(cache_key(org_id, customer_id))
