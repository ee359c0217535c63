"""Start the embedded servers the settings ask for: for one run, or detached for `pgstack up`."""

from __future__ import annotations

from dataclasses import dataclass

from pgstack.servers.postgres import EmbeddedPostgres, start_postgres
from pgstack.servers.redis import EmbeddedRedis, start_redis
from pgstack.settings import Settings


@dataclass
class Started:
    """The servers one call started (None: not asked for)."""

    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def start_servers(
    settings: Settings,
    *,
    postgres: bool,
    redis: bool,
    wait: bool,
    detach: bool = False,
    template: str | None = None,
) -> Started:
    """Start PostgreSQL and/or Redis; without ``wait`` they boot while the caller goes on
    (``wait_ready`` proves them). A failure stops whatever this call started.

    ``template``: the template the run will use, so PostgreSQL can start from a migrated
    cluster that already holds it (when the settings allow a cache)."""
    started = Started()
    try:
        if postgres:
            started.postgres = start_postgres(
                tmp_dir=settings.tmp_dir,
                pg_bin=settings.pg_bin,
                conf_file=settings.postgres_conf,
                timeout=settings.ready_timeout,
                wait=wait,
                detach=detach,
                template=template if settings.cluster_cache_mb > 0 else None,
            )
        if redis:
            started.redis = start_redis(
                tmp_dir=settings.tmp_dir,
                redis_bin=settings.redis_bin,
                timeout=settings.ready_timeout,
                wait=wait,
                detach=detach,
            )
    except BaseException:
        started.stop()
        raise
    return started
