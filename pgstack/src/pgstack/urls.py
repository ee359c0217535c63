"""Database and Redis URL helpers: read, check, swap the database, print without the password.

A URL is read the way its client reads it: PostgreSQL URLs by libpq's own parser
(``psycopg.conninfo.conninfo_to_dict``), Redis URLs by redis-py's. What pgstack checks (the
database name of the target rule, the host it names in messages) is then exactly what the
client connects to; a URL the client would read differently from how it looks
(``/app_test?dbname=shop``, a password with an unencoded ``/``) is refused with the fix.

pgstack exports plain ``postgresql://`` URLs (what libpq, psycopg and most settings
loaders accept); SQLAlchemy users get ``postgresql+psycopg://`` from ``sqlalchemy_url``.
SQLAlchemy is not imported here: it costs ~0.1 s of every start, and projects on plain
psycopg never need it. One module for both kinds of URL on purpose: the refusal rules and
the password masking must agree for every URL pgstack reads or prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict

from pgstack.errors import BadUrl

POSTGRES_SCHEMES = ("postgresql", "postgres")  # and SQLAlchemy's postgresql+<driver>
REDIS_SCHEMES = ("redis", "rediss", "unix")
_FORM = "postgresql://user:password@host:port/database"
_ENCODE = (
    "Percent-encode special characters in the user and password "
    "(/ → %2F, @ → %40, : → %3A, ? → %3F, # → %23, % → %25; in Python: "
    "urllib.parse.quote(password, safe=''))."
)
# Query parameters that would make libpq connect somewhere else than the URL shows, or that
# pgstack cannot check: refused, with what to write instead.
_REFUSED_PARAMETERS = {
    "dbname": "Put the database in the path instead (postgresql://host:port/app_test): "
    "pgstack swaps the path for each worker's own database, and libpq would take "
    "?dbname= over it.",
    "service": "A pg_service.conf entry is looked up by libpq where pgstack cannot check it: "
    "write host, port, user and database into the URL.",
    "hostaddr": "libpq would connect to hostaddr, not to the host the URL names: "
    "put the address in the host part.",
}
_PASSWORD_PARAMETER = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Url:
    """A PostgreSQL URL as libpq reads it; ``render`` writes it back in canonical form."""

    scheme: str
    user: str | None
    password: str | None
    host: str | None  # a host name, an address, or a Unix socket folder (starts with /)
    port: int | None
    database: str
    query: tuple[tuple[str, str], ...]  # the other libpq parameters (sslmode, options, …)

    def render(self) -> str:
        auth = ""
        if self.user is not None:
            auth = quote(self.user, safe="")
            if self.password is not None:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        host, query = self.host or "", list(self.query)
        if self.user is None and self.password is not None:
            query.append(("password", self.password))
        if host.startswith("/"):  # a socket folder travels as ?host=
            host, query = "", [("host", host), *query]
        elif ":" in host:
            host = f"[{host}]"  # IPv6
        port = f":{self.port}" if self.port is not None else ""
        params = f"?{urlencode(query, quote_via=quote)}" if query else ""  # libpq: no "+"
        return f"{self.scheme}://{auth}{host}{port}/{quote(self.database, safe='')}{params}"


def _refuse(source: str, url: str, reason: str, fix: str) -> BadUrl:
    return BadUrl(f"{source} = {masked(url)} cannot be used: {reason}. {fix}")


def parse(url: str, source: str = "The URL") -> Url:
    """``url`` as libpq reads it; raise BadUrl (naming ``source``) for one it cannot read,
    would read differently from how it looks, or that pgstack cannot check."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise _refuse(
            source, url, "it is not a URL (a key=value connection string?)", f"Write it as {_FORM}."
        )
    if scheme not in POSTGRES_SCHEMES and not scheme.startswith("postgresql+"):
        raise _refuse(
            source, url, f"{scheme}:// is not PostgreSQL", f"pgstack needs a URL like {_FORM}."
        )
    libpq = f"postgresql://{rest}"
    try:
        # Parsed from a string alone (no keyword overrides), every value is a str.
        params = cast(dict[str, str], conninfo_to_dict(libpq))
    except ProgrammingError as exc:
        reason = _scrub(" ".join(str(exc).split()), url)
        raise _refuse(source, url, f"it cannot be parsed ({reason})", _ENCODE) from exc
    for name in _query_names(rest):
        if name in _REFUSED_PARAMETERS:
            raise _refuse(source, url, f"it sets {name}= in the query", _REFUSED_PARAMETERS[name])
    host, port = params.pop("host", None), params.pop("port", None)
    if "," in (host or "") + (port or ""):
        raise _refuse(
            source,
            url,
            "it names several hosts",
            "pgstack checks and uses one server: name one host (and port).",
        )
    if port is not None:
        _check_port(port, source, url)
    database = params.pop("dbname", "")
    odd_host = host is not None and not host.startswith("/") and ("/" in host or "@" in host)
    if odd_host or "@" in database or "/" in database:
        reason = "it cannot be parsed as meant: its host or database part holds an / or @"
        raise _refuse(source, url, reason + " (an unencoded one in the password?)", _ENCODE)
    return Url(
        scheme=scheme,
        user=params.pop("user", None),
        password=params.pop("password", None),
        host=host or None,
        port=int(port) if port is not None else None,
        database=database,
        query=tuple(params.items()),
    )


def _check_port(port: str, source: str, url: str) -> None:
    """A port is a number in 1-65535; a part that is no number is not printed (it may be
    a piece of a password with an unencoded / in it)."""
    if not port.isdigit():
        reason = "it cannot be parsed: its port part is not a number (an unencoded / or @ in "
        raise _refuse(source, url, reason + "the password splits the URL early)", _ENCODE)
    if not 1 <= int(port) <= 65535:
        raise _refuse(source, url, f"port {int(port)} is out of range (1-65535)", "Fix the port.")


def _scrub(message: str, url: str) -> str:
    """A parser's message about ``url`` without the password: quoted pieces of the user
    info (libpq quotes the token it stumbled on) become ``***``."""
    secret = url.partition("://")[2].rpartition("@")[0].partition(":")[2]

    def hide(match: re.Match[str]) -> str:
        return '"***"' if secret and match.group(1) in secret else match.group(0)

    return masked(re.sub(r'"([^"]*)"', hide, message))


def _query_names(rest: str) -> set[str]:
    """Names of the query parameters, split where libpq splits: user info ends at the first
    ``@`` before any ``/`` (so a ``?`` in the password is not a query)."""
    at, slash = rest.find("@"), rest.find("/")
    if at >= 0 and (slash < 0 or at < slash):
        rest = rest[at + 1 :]
    return {name for name, _ in parse_qsl(rest.partition("?")[2], keep_blank_values=True)}


def check_database_url(url: str, source: str) -> str:
    """``url`` (from ``source``, e.g. DATABASE_URL), unchanged once libpq can read it safely."""
    parse(url, source)
    return url


def masked(url: str) -> str:
    """``url`` fit to print: any password replaced by ``***``.

    Works on any text, also a URL that does not parse (for error messages), and masks too
    much rather than too little: everything between ``user:`` and the last ``@``.
    """
    head, sep, rest = url.partition("://")
    if sep:
        userinfo, at, tail = rest.rpartition("@")
        if at and ":" in userinfo:
            rest = f"{userinfo.split(':', 1)[0]}:***@{tail}"
    return _PASSWORD_PARAMETER.sub(r"\1***", head + sep + rest)


def without_password(url: str) -> str:
    """The same connection without its password, for a command line (give the password
    to the client some other way, e.g. PGPASSWORD)."""
    return replace(parse(url), password=None).render()


def password_of(url: str) -> str | None:
    return parse(url).password


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return replace(parse(url), database=database).render()


def libpq_url(url: str) -> str:
    """``postgresql://`` form of any SQLAlchemy PostgreSQL URL (drops ``+driver``)."""
    return replace(parse(url), scheme="postgresql").render()


def sqlalchemy_url(url: str) -> str:
    """``postgresql+psycopg://`` form, so SQLAlchemy uses psycopg 3."""
    return with_driver(url, "psycopg")


def with_driver(url: str, driver: str) -> str:
    """``postgresql+DRIVER://`` form, for SQLAlchemy (e.g. ``asyncpg``, ``psycopg``)."""
    return replace(parse(url), scheme=f"postgresql+{driver}").render()


def database_of(url: str) -> str:
    return parse(url).database


def describe(url: str) -> str:
    """``host:port/database`` (Redis: ``host:port/index``) for messages; never includes the
    password."""
    if url.partition("://")[0] in REDIS_SCHEMES:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return parts.path
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"
    parsed = parse(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


def check_redis_url(url: str, source: str) -> str:
    """``url`` (from ``source``, e.g. REDIS_URL), unchanged once redis-py can read it."""
    from redis.connection import parse_url

    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in REDIS_SCHEMES:
        raise _refuse(
            source,
            url,
            f"{scheme}:// is not Redis" if sep else "it is not a URL",
            "Write it as redis://:password@host:port/0 (or rediss://, unix:///path?db=0).",
        )
    parts = urlsplit(url)
    port = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
    if port:
        _check_port(port, source, url)
    if "," in parts.netloc.rpartition("@")[2]:
        raise _refuse(source, url, "it names several hosts", "Name one host and port.")
    try:
        parse_url(url)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
    except ValueError:  # its messages can quote a piece of the password: not shown
        raise _refuse(source, url, "it cannot be parsed", _ENCODE) from None
    return url


def redis_with_database(url: str, index: int) -> str:
    """The same Redis server, logical database ``index``: in the path (``unix://``: in
    ``?db=``), and no ``?db=`` left to override it (redis-py takes the query first)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "db"]
    path = parts.path
    if parts.scheme == "unix":
        query.append(("db", str(index)))
    else:
        path = f"/{index}"
    params = f"?{urlencode(query)}" if query else ""
    return f"{parts.scheme}://{parts.netloc}{path}{params}"  # urlunsplit drops unix's //
