"""Database URL helpers: swap the database, print without the password, pick a driver.

pgstack exports plain ``postgresql://`` URLs (what libpq, psycopg and most settings
loaders accept); SQLAlchemy users get ``postgresql+psycopg://`` from ``sqlalchemy_url``.
Parsed with the standard library: importing SQLAlchemy costs ~0.1 s of every start, and
projects on plain psycopg never need it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit


@dataclass(frozen=True)
class Url:
    scheme: str
    user: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str
    query: tuple[tuple[str, str], ...]

    def render(self) -> str:
        auth = ""
        if self.user is not None:
            auth = quote(self.user, safe="")
            if self.password is not None:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        host = self.host or ""
        if ":" in host:
            host = f"[{host}]"  # IPv6
        port = f":{self.port}" if self.port is not None else ""
        query = f"?{urlencode(self.query)}" if self.query else ""
        return f"{self.scheme}://{auth}{host}{port}/{quote(self.database, safe='')}{query}"


def parse(url: str) -> Url:
    """``scheme://user:password@host:port/database?query``, percent-decoded."""
    parts = urlsplit(url)
    return Url(
        scheme=parts.scheme,
        user=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname,
        port=parts.port,
        database=unquote(parts.path.lstrip("/")),
        query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
    )


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return replace(parse(url), database=database).render()


def libpq_url(url: str) -> str:
    """``postgresql://`` form of any SQLAlchemy PostgreSQL URL (drops ``+driver``)."""
    return replace(parse(url), scheme="postgresql").render()


def sqlalchemy_url(url: str) -> str:
    """``postgresql+psycopg://`` form, so SQLAlchemy uses psycopg 3."""
    return replace(parse(url), scheme="postgresql+psycopg").render()


def database_of(url: str) -> str:
    return parse(url).database


def _host(parsed: Url) -> str:
    """The host, or the ``?host=`` a socket URL carries; empty when neither is given."""
    return parsed.host or dict(parsed.query).get("host", "")


def describe(url: str) -> str:
    """``host:port/database`` for messages; never includes the password."""
    parsed = parse(url)
    return f"{_host(parsed) or 'localhost'}:{parsed.port or 5432}/{parsed.database}"
