"""Request and response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from app.models import SubscriptionStatus, UserRole

SLUG = r"^[a-z0-9-]+$"
CODE = r"^[a-z0-9_-]+$"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SignupIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(pattern=SLUG, max_length=63)
    admin_email: EmailStr
    admin_name: str = Field(min_length=1, max_length=200)
    admin_password: str = Field(min_length=8, max_length=200)


class OrganizationOut(_Out):
    id: uuid.UUID
    name: str
    slug: str


class SignupOut(BaseModel):
    organization: OrganizationOut
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


class TokenIn(BaseModel):
    organization: str = Field(pattern=SLUG, max_length=63)
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


class UserIn(BaseModel):
    email: EmailStr
    full_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=200)
    role: UserRole = UserRole.member


class UserOut(_Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    full_name: str
    role: UserRole
    is_active: bool


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    attributes: dict[str, Any] = Field(default_factory=dict)


class CustomerOut(_Out):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    email: str
    attributes: dict[str, Any]


class CustomerSummary(BaseModel):
    customer: CustomerOut
    active_subscriptions: int
    monthly_total: Decimal


class ServiceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class ServiceOut(_Out):
    id: uuid.UUID
    code: str
    name: str
    unit_price: Decimal


class SubscriptionIn(BaseModel):
    customer_id: uuid.UUID
    service_code: str = Field(pattern=CODE, max_length=40)
    quantity: int = Field(gt=0, le=1_000_000)
    started_on: dt.date
    ended_on: dt.date | None = None

    @model_validator(mode="after")
    def _period(self) -> SubscriptionIn:
        if self.ended_on is not None and self.ended_on < self.started_on:
            raise ValueError("ended_on must not be before started_on")
        return self


class QuantityChange(BaseModel):
    delta: int = Field(ge=-1_000_000, le=1_000_000)

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("delta must not be zero")
        return value


class SubscriptionOut(_Out):
    id: uuid.UUID
    customer_id: uuid.UUID
    service_id: uuid.UUID
    status: SubscriptionStatus
    quantity: int
    unit_price: Decimal
    started_on: dt.date
    ended_on: dt.date | None


class RevenueRow(BaseModel):
    customer_id: uuid.UUID
    month: dt.date
    revenue: Decimal


class JobOut(BaseModel):
    job_id: str
    status: str


class BillingRunOut(_Out):
    id: uuid.UUID
    rows: int
    details: dict[str, Any]
