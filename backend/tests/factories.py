"""Test data through the ORM, as the app role, under the right tenant (RLS applies)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from app.core.db import set_tenant
from app.core.security import TokenClaims, create_token, hash_password
from app.models import Customer, Organization, Service, Subscription, User, UserRole
from sqlalchemy.orm import Session

PASSWORD = "correct horse battery"


@lru_cache(maxsize=1)
def password_hash() -> str:
    """scrypt is slow on purpose; hash the shared test password once."""
    return hash_password(PASSWORD)


def organization(session: Session, slug: str, name: str | None = None) -> Organization:
    org = Organization(id=uuid.uuid4(), name=name or slug.title(), slug=slug)
    set_tenant(session, org.id)
    session.add(org)
    session.flush()
    return org


def user(
    session: Session,
    org: Organization,
    email: str,
    role: UserRole = UserRole.member,
    *,
    active: bool = True,
) -> User:
    set_tenant(session, org.id)
    row = User(
        organization_id=org.id,
        email=email,
        full_name=email.split("@", maxsplit=1)[0].title(),
        password_hash=password_hash(),
        role=role,
        is_active=active,
    )
    session.add(row)
    session.flush()
    return row


def customer(session: Session, org: Organization, name: str, **attributes: str) -> Customer:
    set_tenant(session, org.id)
    row = Customer(
        organization_id=org.id,
        name=name,
        email=f"{name.lower().replace(' ', '.')}@example.com",
        attributes=attributes,
    )
    session.add(row)
    session.flush()
    return row


def service(session: Session, org: Organization, code: str, price: str) -> Service:
    set_tenant(session, org.id)
    row = Service(organization_id=org.id, code=code, name=code.title(), unit_price=Decimal(price))
    session.add(row)
    session.flush()
    return row


def subscription(
    session: Session,
    customer_row: Customer,
    service_row: Service,
    quantity: int = 1,
    started_on: dt.date = dt.date(2026, 1, 1),
    ended_on: dt.date | None = None,
) -> Subscription:
    set_tenant(session, customer_row.organization_id)
    row = Subscription(
        organization_id=customer_row.organization_id,
        customer_id=customer_row.id,
        service_id=service_row.id,
        quantity=quantity,
        unit_price=service_row.unit_price,
        started_on=started_on,
        ended_on=ended_on,
    )
    session.add(row)
    session.flush()
    return row


def headers(member: User) -> dict[str, str]:
    claims = TokenClaims(user_id=member.id, org_id=member.organization_id, role=member.role.value)
    return {"Authorization": f"Bearer {create_token(claims)}"}


@dataclass
class Tenant:
    """An organization with an admin and a member, and their request headers."""

    org: Organization
    admin: User
    member: User
    admin_headers: dict[str, str]
    member_headers: dict[str, str]

    def path(self, rest: str = "") -> str:
        return f"/organizations/{self.org.id}{rest}"


def tenant(session: Session, slug: str) -> Tenant:
    org = organization(session, slug)
    admin = user(session, org, f"admin@{slug}.example", UserRole.admin)
    member = user(session, org, f"member@{slug}.example")
    return Tenant(org, admin, member, headers(admin), headers(member))
