"""pgstack: real PostgreSQL and Redis for every test run, one migrated database per worker."""

from pgstack.errors import (
    CloneFailed,
    ConfigError,
    MigrationFailed,
    PgstackError,
    RedisDatabasesExhausted,
    ServerLost,
    ServerNotFound,
    ServerNotReady,
    ServerRefused,
    ServerStartFailed,
    TemplateBuildFailed,
    UnsafeTarget,
)
from pgstack.isolation import make_engine, rollback_session, rollback_transaction
from pgstack.settings import Settings, load_settings
from pgstack.stack import RunPlan, Stack, Worker, open_worker, start_stack

__all__ = [
    "CloneFailed",
    "ConfigError",
    "MigrationFailed",
    "PgstackError",
    "RedisDatabasesExhausted",
    "RunPlan",
    "ServerLost",
    "ServerNotFound",
    "ServerNotReady",
    "ServerRefused",
    "ServerStartFailed",
    "Settings",
    "Stack",
    "TemplateBuildFailed",
    "UnsafeTarget",
    "Worker",
    "load_settings",
    "make_engine",
    "open_worker",
    "rollback_session",
    "rollback_transaction",
    "start_stack",
]
