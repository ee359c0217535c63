"""pgstack: real PostgreSQL and Redis for every test run, one migrated database per worker."""

from pgstack.errors import (
    CloneFailed,
    ConfigError,
    MigrationFailed,
    PgstackError,
    RedisDatabasesExhausted,
    ServerNotFound,
    ServerNotReady,
    ServerRefused,
    ServerStartFailed,
    TemplateBuildFailed,
    UnsafeTarget,
)
from pgstack.isolation import make_engine, rollback_session, rollback_transaction
from pgstack.settings import Settings, load_settings

__all__ = [
    "CloneFailed",
    "ConfigError",
    "MigrationFailed",
    "PgstackError",
    "RedisDatabasesExhausted",
    "ServerNotFound",
    "ServerNotReady",
    "ServerRefused",
    "ServerStartFailed",
    "Settings",
    "TemplateBuildFailed",
    "UnsafeTarget",
    "load_settings",
    "make_engine",
    "rollback_session",
    "rollback_transaction",
]
