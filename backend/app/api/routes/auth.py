"""Tokens: log in with organization slug, email and password; read yourself."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select

from app.api.deps import CurrentUser, SessionDep
from app.core.db import set_tenant
from app.core.security import TokenClaims, create_token, verify_password
from app.models import User
from app.schemas import TokenIn, TokenOut, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut)
def log_in(body: TokenIn, session: SessionDep) -> TokenOut:
    failed = HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong organization, email or password")
    org_id = session.scalar(select(func.organization_id_for_slug(body.organization)))
    if org_id is None:
        raise failed
    set_tenant(session, org_id)
    user = session.scalar(select(User).where(User.email == str(body.email)))
    if user is None or not user.is_active or not verify_password(body.password, user.password_hash):
        raise failed
    claims = TokenClaims(user_id=user.id, org_id=org_id, role=user.role.value)
    return TokenOut(access_token=create_token(claims))


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> User:
    return user
