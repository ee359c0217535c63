"""What the controller hands every worker: plain values, as JSON in one environment variable.

Workers are separate processes (pytest-xdist); nothing but this plan crosses between them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from pgstack.errors import ConfigError

PLAN_ENV = "PGSTACK_RUN_PLAN"

# Where a server comes from (RunPlan.postgres_from / redis_from): the safety rule and the
# advice for a server that went away depend on it.
EMBEDDED = "embedded"  # started by this run, gone with it
UP = "pgstack up"  # the project's persistent servers
FROM_ENV = "env"  # DATABASE_URL / REDIS_URL: a server someone else runs


@dataclass(frozen=True)
class RunPlan:
    """Plain values every worker needs; travels as JSON in ``PGSTACK_RUN_PLAN``."""

    run_id: str
    controller_pid: int
    admin_url: str = field(repr=False)  # may carry a password: never in a repr
    template: str
    prefix: str
    embedded: bool
    redis_url: str | None = field(repr=False)
    app_role: str | None
    keep_failed: bool
    database_url_env: str
    redis_url_env: str
    env: dict[str, str] = field(default_factory=dict)  # [tool.pgstack.env]
    keep: bool = False  # keep every database of the run (--pgstack-keep)
    tmp_dir: str | None = None  # where the embedded server's data lives (None: external)
    postgres_from: str = EMBEDDED  # EMBEDDED, UP or FROM_ENV
    redis_from: str = EMBEDDED
    redis_dbs: list[int] = field(default_factory=list)  # claimed for this run: gw0, gw1, …
    # migrator = "django", a project with several databases: each alias that Django gives a
    # test database of its own -> the template its per-worker clone is made from.
    alias_templates: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunPlan:
        return cls(**json.loads(text))


def alias_database(worker_db: str, index: int) -> str:
    """The clone of a worker for its ``index``-th extra Django alias (1, 2, …): as short as
    a per-test clone's name, so every name fits the prefix rule."""
    return f"{worker_db}_d{index}"


def worker_database(prefix: str, run_id: str, worker_id: str) -> str:
    """The name of a worker's own database: ``main``, ``gw0``, … of one run."""
    if not worker_id.replace("_", "").isalnum():
        raise ConfigError(f"Unexpected worker id {worker_id!r}")
    return f"{prefix}_{run_id}_{worker_id}"
