"""Users of an organization (admins add them)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from sqlalchemy import select

from app.api.deps import SessionDep, TenantAdmin, TenantUser, commit_or_409
from app.core.security import hash_password
from app.models import User
from app.schemas import UserIn, UserOut

router = APIRouter(prefix="/organizations/{org_id}/users", tags=["users"])


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def add_user(org_id: uuid.UUID, body: UserIn, admin: TenantAdmin, session: SessionDep) -> User:
    user = User(
        organization_id=org_id,
        email=str(body.email),
        full_name=body.full_name,
        password_hash=hash_password(body.password),
        role=body.role,
    )
    session.add(user)
    commit_or_409(session, f"{body.email} is already a user")
    return user


@router.get("", response_model=list[UserOut])
def list_users(org_id: uuid.UUID, user: TenantUser, session: SessionDep) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))
