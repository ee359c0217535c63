"""The organization's price list; PUT upserts by code (INSERT … ON CONFLICT)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.api.deps import SessionDep, TenantAdmin, TenantUser
from app.models import Service
from app.schemas import CODE, ServiceIn, ServiceOut

router = APIRouter(prefix="/organizations/{org_id}/services", tags=["services"])


@router.put("/{code}", response_model=ServiceOut)
def upsert_service(
    org_id: uuid.UUID,
    code: Annotated[str, Path(pattern=CODE, max_length=40)],
    body: ServiceIn,
    admin: TenantAdmin,
    session: SessionDep,
) -> Service:
    statement = (
        insert(Service)
        .values(organization_id=org_id, code=code, name=body.name, unit_price=body.unit_price)
        .on_conflict_do_update(
            constraint="services_org_code_key",
            set_={"name": body.name, "unit_price": body.unit_price},
        )
        .returning(Service)
    )
    service = session.scalars(statement).one()
    session.commit()
    return service


@router.get("", response_model=list[ServiceOut])
def list_services(org_id: uuid.UUID, user: TenantUser, session: SessionDep) -> list[Service]:
    return list(session.scalars(select(Service).order_by(Service.code)))
