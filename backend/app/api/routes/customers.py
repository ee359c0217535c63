"""Customers of an organization, with a read-through Redis cache on GET."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.api.deps import CacheDep, SessionDep
from app.core.config import settings
from app.models import Customer, Organization
from app.schemas import CustomerIn, CustomerOut

router = APIRouter(prefix="/organizations/{org_id}/customers", tags=["customers"])


def cache_key(customer_id: uuid.UUID) -> str:
    return f"customer:{customer_id}"


@router.post("", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
def create_customer(org_id: uuid.UUID, body: CustomerIn, session: SessionDep) -> Customer:
    if session.get(Organization, org_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "organization not found")
    customer = Customer(organization_id=org_id, **body.model_dump())
    session.add(customer)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"a customer with email {body.email} exists"
        ) from None
    session.refresh(customer)
    return customer


@router.get("", response_model=list[CustomerOut])
def list_customers(org_id: uuid.UUID, session: SessionDep) -> list[Customer]:
    query = select(Customer).where(Customer.organization_id == org_id).order_by(Customer.name)
    return list(session.scalars(query))


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(
    org_id: uuid.UUID,
    customer_id: uuid.UUID,
    session: SessionDep,
    cache: CacheDep,
) -> CustomerOut:
    cached = cache.get(cache_key(customer_id))
    if cached is not None:
        found = CustomerOut.model_validate_json(cached)
        if found.organization_id == org_id:
            return found
    customer = session.get(Customer, customer_id)
    if customer is None or customer.organization_id != org_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "customer not found")
    out = CustomerOut.model_validate(customer)
    cache.set(cache_key(customer_id), out.model_dump_json(), ex=settings.cache_ttl_seconds)
    return out


@router.put("/{customer_id}", response_model=CustomerOut)
def update_customer(
    org_id: uuid.UUID,
    customer_id: uuid.UUID,
    body: CustomerIn,
    session: SessionDep,
    cache: CacheDep,
) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.organization_id != org_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "customer not found")
    for key, value in body.model_dump().items():
        setattr(customer, key, value)
    session.commit()
    cache.delete(cache_key(customer_id))
    session.refresh(customer)
    return customer
