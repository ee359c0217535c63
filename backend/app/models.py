"""ORM models: the schema Alembic's migrations create (pytest-alembic checks they match)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import CITEXT, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class UserRole(enum.StrEnum):
    admin = "admin"
    member = "member"


class SubscriptionStatus(enum.StrEnum):
    active = "active"
    paused = "paused"
    cancelled = "cancelled"


def _pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=func.gen_random_uuid())


def _created_at() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def _tenant() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = _pk()
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[dt.datetime] = _created_at()

    __table_args__ = (CheckConstraint("slug ~ '^[a-z0-9-]+$'", name="organizations_slug_format"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = _pk()
    organization_id: Mapped[uuid.UUID] = _tenant()
    email: Mapped[str] = mapped_column(CITEXT)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[UserRole] = mapped_column(
        Enum(UserRole, name="user_role", values_callable=lambda e: [m.value for m in e]),
        server_default=UserRole.member.value,
    )
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[dt.datetime] = _created_at()

    __table_args__ = (UniqueConstraint("organization_id", "email", name="users_org_email_key"),)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = _pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(CITEXT)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[dt.datetime] = _created_at()

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="customer", passive_deletes=True
    )

    __table_args__ = (UniqueConstraint("organization_id", "email", name="customers_org_email_key"),)


class Service(Base):
    __tablename__ = "services"

    id: Mapped[uuid.UUID] = _pk()
    organization_id: Mapped[uuid.UUID] = _tenant()
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    created_at: Mapped[dt.datetime] = _created_at()

    __table_args__ = (
        UniqueConstraint("organization_id", "code", name="services_org_code_key"),
        CheckConstraint("unit_price >= 0", name="services_unit_price_nonnegative"),
    )


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = _pk()
    organization_id: Mapped[uuid.UUID] = _tenant()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        Enum(
            SubscriptionStatus,
            name="subscription_status",
            values_callable=lambda e: [m.value for m in e],
        ),
        server_default=SubscriptionStatus.active.value,
    )
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = _created_at()

    customer: Mapped[Customer] = relationship(back_populates="subscriptions")
    service: Mapped[Service] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="subscriptions_quantity_positive"),
        CheckConstraint("unit_price >= 0", name="subscriptions_unit_price_nonnegative"),
        CheckConstraint(
            "ended_on IS NULL OR ended_on >= started_on", name="subscriptions_period_valid"
        ),
        Index(
            "uq_subscriptions_one_active",
            "customer_id",
            "service_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )


class BillingRun(Base):
    __tablename__ = "billing_runs"

    id: Mapped[uuid.UUID] = _pk()
    organization_id: Mapped[uuid.UUID] = _tenant()
    rows: Mapped[int]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[dt.datetime] = _created_at()
