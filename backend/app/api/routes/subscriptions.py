"""Subscriptions (customer x service): create, change quantity under a row lock, cancel."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.deps import CacheDep, SessionDep, TenantUser, commit_or_409
from app.models import Customer, Service, Subscription, SubscriptionStatus
from app.schemas import QuantityChange, SubscriptionIn, SubscriptionOut
from app.services import summary

router = APIRouter(prefix="/organizations/{org_id}/subscriptions", tags=["subscriptions"])


def _locked(session: Session, org_id: uuid.UUID, subscription_id: uuid.UUID) -> Subscription:
    """SELECT … FOR UPDATE: concurrent changes to one subscription queue up, none is lost."""
    found = session.scalar(
        select(Subscription)
        .where(Subscription.id == subscription_id, Subscription.organization_id == org_id)
        .with_for_update()
    )
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "subscription not found")
    return found


@router.post("", response_model=SubscriptionOut, status_code=status.HTTP_201_CREATED)
def subscribe(
    org_id: uuid.UUID, body: SubscriptionIn, user: TenantUser, session: SessionDep, cache: CacheDep
) -> Subscription:
    customer = session.get(Customer, body.customer_id)
    if customer is None or customer.organization_id != org_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "customer not found")
    service = session.scalar(select(Service).where(Service.code == body.service_code))
    if service is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no service {body.service_code!r}")
    subscription = Subscription(
        organization_id=org_id,
        customer_id=customer.id,
        service_id=service.id,
        quantity=body.quantity,
        unit_price=service.unit_price,
        started_on=body.started_on,
        ended_on=body.ended_on,
    )
    session.add(subscription)
    commit_or_409(session, f"customer already has an active {body.service_code!r} subscription")
    summary.invalidate(cache, org_id, customer.id)
    return subscription


@router.get("", response_model=list[SubscriptionOut])
def list_subscriptions(
    org_id: uuid.UUID, user: TenantUser, session: SessionDep, customer_id: uuid.UUID | None = None
) -> list[Subscription]:
    query = select(Subscription).order_by(Subscription.started_on, Subscription.id)
    if customer_id is not None:
        query = query.where(Subscription.customer_id == customer_id)
    return list(session.scalars(query))


@router.post("/{subscription_id}/quantity", response_model=SubscriptionOut)
def change_quantity(
    org_id: uuid.UUID,
    subscription_id: uuid.UUID,
    body: QuantityChange,
    user: TenantUser,
    session: SessionDep,
    cache: CacheDep,
) -> Subscription:
    subscription = _locked(session, org_id, subscription_id)
    if subscription.status != SubscriptionStatus.active:
        raise HTTPException(status.HTTP_409_CONFLICT, "only active subscriptions change")
    new_quantity = subscription.quantity + body.delta
    if new_quantity <= 0:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "quantity must stay above zero")
    subscription.quantity = new_quantity
    session.commit()
    summary.invalidate(cache, org_id, subscription.customer_id)
    return subscription


@router.post("/{subscription_id}/cancel", response_model=SubscriptionOut)
def cancel(
    org_id: uuid.UUID,
    subscription_id: uuid.UUID,
    user: TenantUser,
    session: SessionDep,
    cache: CacheDep,
) -> Subscription:
    subscription = _locked(session, org_id, subscription_id)
    if subscription.status == SubscriptionStatus.cancelled:
        raise HTTPException(status.HTTP_409_CONFLICT, "already cancelled")
    subscription.status = SubscriptionStatus.cancelled
    subscription.ended_on = max(dt.date.today(), subscription.started_on)
    session.commit()
    summary.invalidate(cache, org_id, subscription.customer_id)
    return subscription
