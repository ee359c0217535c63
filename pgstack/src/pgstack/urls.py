"""Database URL helpers: swap the database, print without the password, pick a driver.

pgstack exports plain ``postgresql://`` URLs (what libpq, psycopg and most settings
loaders accept); SQLAlchemy users get ``postgresql+psycopg://`` from ``sqlalchemy_url``.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """``postgresql://`` form of any SQLAlchemy PostgreSQL URL (drops ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    """``postgresql+psycopg://`` form, so SQLAlchemy uses psycopg 3."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def database_of(url: str) -> str:
    return make_url(url).database or ""


def describe(url: str) -> str:
    """``host:port/database`` for messages; never includes the password."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    port = parsed.port or 5432
    return f"{host}:{port}/{parsed.database or ''}"


def is_loopback(url: str) -> bool:
    parsed = make_url(url)
    host = parsed.host or ""
    if host.startswith("127.") or host in LOOPBACK_HOSTS:
        return True
    return host.startswith("/")
