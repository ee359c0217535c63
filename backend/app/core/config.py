"""Settings read from the environment once, at import (pgstack exports each test worker's
DATABASE_URL and REDIS_URL before any test module imports this)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_ttl_seconds: int = 60

    @property
    def sqlalchemy_url(self) -> str:
        """psycopg 3 driver whatever scheme DATABASE_URL uses."""
        url = make_url(self.database_url).set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)


settings = Settings()  # type: ignore[call-arg]
