"""pgstack: real PostgreSQL and Redis for every test run, one migrated database per worker.

The public API is ``__all__``: the errors a caller catches, the settings, and the rollback
helpers. ``make_engine`` and ``rollback_session`` need the ``sqlalchemy`` extra; importing
pgstack does not.
"""

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
