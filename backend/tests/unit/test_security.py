"""Passwords, tokens and settings: pure logic, no database."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
import pytest
from app.core.config import Settings, settings
from app.core.security import (
    InvalidToken,
    TokenClaims,
    create_token,
    decode_token,
    hash_password,
    verify_password,
)
from pydantic import ValidationError

pytestmark = pytest.mark.unit

CLAIMS = TokenClaims(user_id=uuid.UUID(int=1), org_id=uuid.UUID(int=2), role="admin")


def test_password_round_trip():
    stored = hash_password("s3cret-password")
    assert stored.startswith("scrypt$")
    assert verify_password("s3cret-password", stored)


def test_wrong_password_fails():
    assert not verify_password("wrong", hash_password("right-password"))


def test_same_password_hashes_differently():
    assert hash_password("same-password") != hash_password("same-password")


@pytest.mark.parametrize("stored", ["", "plain", "md5$abc$def", "scrypt$only-two"])
def test_malformed_hash_never_verifies(stored):
    assert verify_password("anything", stored) is False


def test_token_round_trip():
    assert decode_token(create_token(CLAIMS)) == CLAIMS


def test_expired_token_is_rejected():
    with pytest.raises(InvalidToken):
        decode_token(create_token(CLAIMS, minutes=-1))


def test_token_signed_with_another_key_is_rejected():
    token = jwt.encode(
        {"sub": str(CLAIMS.user_id), "org": str(CLAIMS.org_id), "exp": dt.datetime(2100, 1, 1)},
        "another-key-another-key-another-key!",
        algorithm="HS256",
    )
    with pytest.raises(InvalidToken):
        decode_token(token)


def test_token_without_org_is_rejected():
    token = jwt.encode(
        {"sub": str(CLAIMS.user_id), "exp": dt.datetime(2100, 1, 1)},
        settings.jwt_secret,
        algorithm="HS256",
    )
    with pytest.raises(InvalidToken):
        decode_token(token)


def test_unsigned_token_is_rejected():
    token = jwt.encode(
        {"sub": str(CLAIMS.user_id), "org": str(CLAIMS.org_id), "exp": dt.datetime(2100, 1, 1)},
        None,
        algorithm="none",
    )
    with pytest.raises(InvalidToken):
        decode_token(token)


def test_tampered_token_is_rejected():
    token = create_token(CLAIMS)
    head, body, sig = token.split(".")
    with pytest.raises(InvalidToken):
        decode_token(f"{head}.{body}x.{sig}")


@pytest.mark.parametrize("secret", ["changeme", "secret", "short"])
def test_placeholder_secrets_are_refused(secret):
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(database_url="postgresql://x/y_test", jwt_secret=secret)


def test_sqlalchemy_url_uses_psycopg():
    s = Settings(database_url="postgresql://u:p@h:5432/d_test", jwt_secret="x" * 32)
    assert s.sqlalchemy_url == "postgresql+psycopg://u:p@h:5432/d_test"
