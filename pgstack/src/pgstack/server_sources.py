"""Which servers a run or a command works on, by one rule everywhere (runs, CLI, doctor).

1. ``DATABASE_URL`` (``database_url_env``) is set: that server. ``REDIS_URL`` likewise.
2. Else, unless ``use_up = false``: this project's running ``pgstack up`` servers (with
   ``keep``, started when they do not run: kept databases need a server that outlives
   the run).
3. Else none: a run starts embedded servers of its own; a command says how to get one.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgstack import persistent, urls
from pgstack.errors import ConfigError
from pgstack.run_plan import EMBEDDED, FROM_ENV, UP
from pgstack.settings import Settings


@dataclass(frozen=True)
class Sources:
    """The servers found, and where each comes from (None: an embedded one is needed)."""

    postgres_url: str | None = None
    redis_url: str | None = None
    label: str = "embedded"  # for the report header
    postgres_from: str = EMBEDDED
    redis_from: str = EMBEDDED


def find_servers(settings: Settings, *, start_up: bool = False) -> Sources:
    """The servers to use instead of starting ours; ``start_up`` starts the `pgstack up`
    servers when they do not run."""
    redis_from = FROM_ENV if settings.redis_url is not None else EMBEDDED
    if settings.database_url is not None:
        label = f"external, from {settings.database_url_env}"
        url = urls.libpq_url(settings.database_url)
        return Sources(url, settings.redis_url, label, FROM_ENV, redis_from)
    if settings.use_up or start_up:
        state = persistent.start(settings)[0] if start_up else persistent.running(settings)
        if state is not None:
            if settings.redis_url is None and state.redis_url is not None:
                redis_from = UP
            redis_url = settings.redis_url or state.redis_url
            label = f"pgstack up, {persistent.state_dir(settings)}"
            return Sources(state.postgres_url, redis_url, label, UP, redis_from)
    return Sources(redis_url=settings.redis_url, redis_from=redis_from)


def require_server(settings: Settings) -> Sources:
    """For commands that need a running PostgreSQL: the one found, or how to get one."""
    found = find_servers(settings)
    if found.postgres_url is not None:
        return found
    ignored = "" if settings.use_up else " (use_up = false: the `pgstack up` servers are not used)"
    raise ConfigError(
        f"No server to work on: {settings.database_url_env} is not set and no `pgstack up` "
        f"servers run for {settings.project_dir}{ignored}. Run `pgstack up`, or set "
        f"{settings.database_url_env}."
    )
