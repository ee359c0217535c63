"""Settings from the environment, read when the app starts (pgstack exports each test
process's own DATABASE_URL and REDIS_URL before anything imports this)."""

import os

from sqlalchemy.engine import make_url


def database_url() -> str:
    """DATABASE_URL with SQLAlchemy's asyncpg driver."""
    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


def redis_url() -> str:
    return os.environ["REDIS_URL"]
