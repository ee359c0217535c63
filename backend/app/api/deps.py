"""Typed dependencies shared by the routes (tests override the functions behind them)."""

from __future__ import annotations

import uuid
from typing import Annotated

import redis
from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.cache import get_redis
from app.core.db import get_session, set_tenant
from app.core.security import InvalidToken, TokenClaims, decode_token
from app.models import User, UserRole

SessionDep = Annotated[Session, Depends(get_session)]
CacheDep = Annotated[redis.Redis, Depends(get_redis)]
_bearer = HTTPBearer(auto_error=False)


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The token's user; the session's tenant becomes the token's organization."""
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or invalid bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None:
        raise unauthorized
    try:
        claims: TokenClaims = decode_token(credentials.credentials)
    except InvalidToken:
        raise unauthorized from None
    set_tenant(session, claims.org_id)
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active or user.organization_id != claims.org_id:
        raise unauthorized
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def tenant_user(org_id: uuid.UUID, user: CurrentUser) -> User:
    """403 when the path's organization is not the token's."""
    if user.organization_id != org_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not a member of this organization")
    return user


TenantUser = Annotated[User, Depends(tenant_user)]


def tenant_admin(user: TenantUser) -> User:
    if user.role != UserRole.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin role required")
    return user


TenantAdmin = Annotated[User, Depends(tenant_admin)]


def commit_or_409(session: Session, detail: str) -> None:
    """Commit; a unique or exclusion violation becomes 409 Conflict with ``detail``."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, detail) from None
