"""Settings read from the environment once, at import (pgstack exports each test worker's
DATABASE_URL and REDIS_URL before any test module imports this)."""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

PLACEHOLDER_SECRETS = {"", "changeme", "changethis", "secret"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: str
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = 30
    cache_ttl_seconds: int = 60
    queue_name: str = "billing"

    @field_validator("jwt_secret")
    @classmethod
    def _real_secret(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 32:
            raise ValueError("JWT_SECRET must be a real secret of at least 32 characters")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        """psycopg 3 driver whatever scheme DATABASE_URL uses."""
        url = make_url(self.database_url).set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)


settings = Settings()  # type: ignore[call-arg]
