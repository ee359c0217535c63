"""What a failed PostgreSQL connection means, and whether waiting longer can help.

libpq reports connection failures as text (psycopg gives no SQLSTATE for them), so the
server's wording is matched here, in one place. A refused login or a missing database is
final: the run stops at once instead of retrying until the deadline. A server that is
still starting, in recovery or shutting down may come up: the wait goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgstack import urls

_LOGIN_REFUSED = (
    "password authentication failed",
    "no password supplied",
    "authentication failed for user",
    "no pg_hba.conf entry",
    'role "',  # role "x" does not exist
    "is not permitted to log in",
)
_NOT_POSTGRES = (
    "received invalid response to SSL negotiation",
    "expected authentication request from server",
)
_STARTING = (
    "the database system is starting up",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "the database system is in recovery mode",
    "the database system is shutting down",
)


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # "login" | "database" | "not-postgres" | "starting" | "unreachable"
    final: bool  # waiting cannot fix it
    advice: str


def explain(message: str, url: str, url_env: str = "DATABASE_URL") -> Diagnosis:
    """Classify libpq's ``message`` for a connection to ``url``."""
    text = " ".join(message.split())
    parsed = urls.parse(url)
    if any(marker in text for marker in _LOGIN_REFUSED):
        return Diagnosis(
            "login",
            True,
            f"The server refused the login of user {parsed.user or '(none)'!r}. Fix the user "
            f"and password in {url_env} (for the compose db they come from POSTGRES_USER and "
            "POSTGRES_PASSWORD), or the server's pg_hba.conf.",
        )
    if 'database "' in text and "does not exist" in text:
        return Diagnosis(
            "database",
            True,
            f"The database {urls.database_of(url)!r} that {url_env} names does not exist. "
            "pgstack connects to it for admin work and creates its own databases next to "
            "it: point the URL at one that exists (e.g. /postgres, or the compose "
            "POSTGRES_DB).",
        )
    if any(marker in text for marker in _NOT_POSTGRES):
        return Diagnosis(
            "not-postgres",
            True,
            f"Something listens at {urls.describe(url).split('/')[0]}, but it is not PostgreSQL "
            f"(another service took the port?). Fix the port in {url_env}.",
        )
    if any(marker in text for marker in _STARTING):
        return Diagnosis(
            "starting",
            False,
            "The server is up but not accepting connections yet (starting up, in recovery, "
            "or shutting down). If it needs longer, raise ready_timeout "
            "(PGSTACK_READY_TIMEOUT); if it stays so, read the server's log.",
        )
    return Diagnosis(
        "unreachable",
        False,
        "Nothing answered as PostgreSQL there: start the server, or fix the host and port.",
    )
