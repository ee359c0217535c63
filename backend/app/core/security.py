"""Passwords (scrypt, standard library) and bearer tokens (JWT, HS256)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass

import jwt

from app.core.config import settings

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: str


class InvalidToken(Exception):
    pass


def create_token(claims: TokenClaims, *, minutes: int | None = None) -> str:
    lifetime = settings.access_token_minutes if minutes is None else minutes
    now = dt.datetime.now(dt.UTC)
    payload = {
        "sub": str(claims.user_id),
        "org": str(claims.org_id),
        "role": claims.role,
        "iat": now,
        "exp": now + dt.timedelta(minutes=lifetime),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm=settings.jwt_algorithm)


def decode_token(token: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[settings.jwt_algorithm],
            options={"require": ["sub", "org", "exp"]},
        )
        return TokenClaims(
            user_id=uuid.UUID(payload["sub"]),
            org_id=uuid.UUID(payload["org"]),
            role=str(payload.get("role", "member")),
        )
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc
