"""The first half of a run's start: spawn the servers and return at once.

The plugin launches while pytest is still importing the project's conftest.py, so the
servers boot meanwhile; ``pgstack.run.start_run`` then waits for them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pgstack import urls
from pgstack.ownership import new_run_id
from pgstack.run_plan import FROM_ENV
from pgstack.server_sources import Sources, find_servers
from pgstack.servers.postgres import EmbeddedPostgres, wait_for_postgres
from pgstack.servers.redis import EmbeddedRedis, wait_for_redis
from pgstack.servers.start import start_servers
from pgstack.settings import Settings
from pgstack.template_spec import TemplateSpec, template_spec

if TYPE_CHECKING:
    from pgstack.redis_slots import RedisClaims


@dataclass
class Launch:
    """Servers spawned but not yet proven ready: URLs are known, nothing waited for."""

    settings: Settings
    spec: TemplateSpec
    run_id: str
    started: float  # time.monotonic() at launch, for the report header
    sources: Sources  # servers found instead of started
    postgres: EmbeddedPostgres | None  # started by this run
    redis: EmbeddedRedis | None
    redis_claims: RedisClaims | None = None  # this run's Redis databases, once claimed

    @property
    def admin_url(self) -> str:
        if self.postgres is not None:
            return self.postgres.url
        assert self.sources.postgres_url is not None
        return self.sources.postgres_url

    @property
    def redis_url(self) -> str | None:
        return self.redis.url if self.redis is not None else self.sources.redis_url

    def wait_for_postgres(self) -> None:
        settings = self.settings
        if self.postgres is not None:
            self.postgres.wait_ready(settings.ready_timeout)
            return
        wait_for_postgres(
            self.admin_url,
            timeout=settings.ready_timeout,
            what=f"PostgreSQL at {urls.describe(self.admin_url)} "
            + (
                f"(from {settings.database_url_env})"
                if self.sources.postgres_from == FROM_ENV
                else f"({self.sources.label})"
            ),
            fix=(
                "Start it, fix the URL, or unset "
                f"{settings.database_url_env} to let pgstack start an embedded server."
            ),
            url_env=settings.database_url_env,
        )

    def wait_for_redis(self) -> None:
        settings = self.settings
        if self.redis is not None:
            self.redis.wait_ready(settings.ready_timeout)
        elif self.sources.redis_url is not None:
            wait_for_redis(
                self.sources.redis_url,
                timeout=settings.ready_timeout,
                what=f"Redis at {urls.masked(self.sources.redis_url)} "
                f"(from {settings.redis_url_env})",
                fix=f"Start it, fix the URL, or unset {settings.redis_url_env} to use "
                "an embedded Redis.",
            )

    def claim_redis(self, count: int) -> list[int]:
        """Wait for Redis and hold ``count`` logical databases for this run (none without
        Redis).

        The controller claims one before the conftest is imported (its own database) and
        the rest, one per xdist worker, once the workers are known; the run's lease
        refreshes them.
        """
        from pgstack.redis_slots import RedisClaims

        if not self.settings.redis or self.redis_url is None:
            return []
        if self.redis_claims is None:
            self.wait_for_redis()
            self.redis_claims = RedisClaims(self.redis_url, self.run_id)
        return self.redis_claims.claim(count)

    def abort(self) -> None:
        """Give back the run's Redis databases, stop the servers it started (none for
        external ones)."""
        if self.redis_claims is not None:
            self.redis_claims.release()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def launch_run(settings: Settings) -> Launch:
    """Find the servers to use, spawn the missing ones, and return without waiting."""
    started = time.monotonic()
    spec = template_spec(settings)
    found = find_servers(settings, start_up=settings.keep)
    servers = start_servers(
        settings,
        postgres=found.postgres_url is None,
        redis=settings.redis and found.redis_url is None,
        wait=False,
        template=spec.name(),
    )
    return Launch(
        settings=settings,
        spec=spec,
        run_id=new_run_id(),
        started=started,
        sources=found,
        postgres=servers.postgres,
        redis=servers.redis,
    )
