"""Request and response bodies."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class OrganizationIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(pattern=r"^[a-z0-9-]+$", max_length=63)


class OrganizationOut(OrganizationIn):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    attributes: dict[str, Any] = Field(default_factory=dict)


class CustomerOut(CustomerIn):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organization_id: uuid.UUID
