"""Customers of an organization: CRUD, filtering and sorting, and a cached summary."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.deps import CacheDep, SessionDep, TenantUser, commit_or_409
from app.models import Customer
from app.schemas import CustomerIn, CustomerOut, CustomerSummary
from app.services import summary

router = APIRouter(prefix="/organizations/{org_id}/customers", tags=["customers"])

SORTS = {
    "name": Customer.name.asc(),
    "-name": Customer.name.desc(),
    "email": Customer.email.asc(),
    "-email": Customer.email.desc(),
    "created_at": Customer.created_at.asc(),
    "-created_at": Customer.created_at.desc(),
}
SortKey = Literal["name", "-name", "email", "-email", "created_at", "-created_at"]
_ATTR = re.compile(r"^([a-z_][a-z0-9_]{0,40}):(.{1,200})$")


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _get(session: Session, org_id: uuid.UUID, customer_id: uuid.UUID) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.organization_id != org_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "customer not found")
    return customer


@router.post("", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
def create_customer(
    org_id: uuid.UUID, body: CustomerIn, user: TenantUser, session: SessionDep
) -> Customer:
    customer = Customer(organization_id=org_id, **body.model_dump(mode="json"))
    session.add(customer)
    commit_or_409(session, f"a customer with email {body.email} exists")
    return customer


@router.get("", response_model=list[CustomerOut])
def list_customers(
    org_id: uuid.UUID,
    user: TenantUser,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    attr: Annotated[str | None, Query(description="key:value, matched in attributes")] = None,
    sort: SortKey = "name",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[Customer]:
    query = select(Customer).where(Customer.organization_id == org_id)
    if q:
        query = query.where(Customer.name.ilike(f"%{_like_escape(q)}%", escape="\\"))
    if attr is not None:
        match = _ATTR.match(attr)
        if match is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "attr must look like key:value"
            )
        query = query.where(Customer.attributes.contains({match.group(1): match.group(2)}))
    query = query.order_by(SORTS[sort], Customer.id).limit(limit).offset(offset)
    return list(session.scalars(query))


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(
    org_id: uuid.UUID, customer_id: uuid.UUID, user: TenantUser, session: SessionDep
) -> Customer:
    return _get(session, org_id, customer_id)


@router.put("/{customer_id}", response_model=CustomerOut)
def update_customer(
    org_id: uuid.UUID,
    customer_id: uuid.UUID,
    body: CustomerIn,
    user: TenantUser,
    session: SessionDep,
    cache: CacheDep,
) -> Customer:
    customer = _get(session, org_id, customer_id)
    for key, value in body.model_dump(mode="json").items():
        setattr(customer, key, value)
    commit_or_409(session, f"a customer with email {body.email} exists")
    summary.invalidate(cache, org_id, customer_id)
    return customer


@router.delete("/{customer_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_customer(
    org_id: uuid.UUID,
    customer_id: uuid.UUID,
    user: TenantUser,
    session: SessionDep,
    cache: CacheDep,
) -> Response:
    session.delete(_get(session, org_id, customer_id))
    session.commit()
    summary.invalidate(cache, org_id, customer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{customer_id}/summary", response_model=CustomerSummary)
def customer_summary(
    org_id: uuid.UUID,
    customer_id: uuid.UUID,
    user: TenantUser,
    session: SessionDep,
    cache: CacheDep,
    response: Response,
) -> CustomerSummary:
    found, hit = summary.cached(session, cache, _get(session, org_id, customer_id))
    response.headers["X-Cache"] = "hit" if hit else "miss"
    return found
