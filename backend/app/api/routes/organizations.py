"""Sign-up (an organization and its first admin) and reading one's organization."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select

from app.api.deps import SessionDep, TenantUser, commit_or_409
from app.core.db import set_tenant
from app.core.security import TokenClaims, create_token, hash_password
from app.models import Organization, User, UserRole
from app.schemas import OrganizationOut, SignupIn, SignupOut

router = APIRouter(prefix="/organizations", tags=["organizations"])


@router.post("", response_model=SignupOut, status_code=status.HTTP_201_CREATED)
def sign_up(body: SignupIn, session: SessionDep) -> SignupOut:
    taken = HTTPException(status.HTTP_409_CONFLICT, f"slug {body.slug!r} is taken")
    if session.scalar(select(func.organization_id_for_slug(body.slug))) is not None:
        raise taken
    org = Organization(id=uuid.uuid4(), name=body.name, slug=body.slug)
    set_tenant(session, org.id)
    admin = User(
        organization_id=org.id,
        email=str(body.admin_email),
        full_name=body.admin_name,
        password_hash=hash_password(body.admin_password),
        role=UserRole.admin,
    )
    session.add(org)
    session.flush()
    session.add(admin)
    commit_or_409(session, taken.detail)
    token = create_token(TokenClaims(user_id=admin.id, org_id=org.id, role=admin.role.value))
    return SignupOut(organization=OrganizationOut.model_validate(org), access_token=token)


@router.get("/{org_id}", response_model=OrganizationOut)
def get_organization(org_id: uuid.UUID, user: TenantUser, session: SessionDep) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:  # pragma: no cover - the token's organization always exists
        raise HTTPException(status.HTTP_404_NOT_FOUND, "organization not found")
    return org
