"""pytest-alembic's built-in checks, on a database of pgstack's, emptied to base first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Engine, create_engine, pool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ALEMBIC_INI = Path(__file__).resolve().parents[3] / "db" / "alembic.ini"

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture
def alembic_config() -> Config:
    return Config(str(ALEMBIC_INI))


@pytest.fixture
def alembic_engine(fresh_database, alembic_config: Config) -> Iterator[Engine]:
    """A fresh clone of the template, downgraded to base: migrations then run from empty."""
    engine = create_engine(fresh_database.sqlalchemy_url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        alembic_config.attributes["connection"] = connection
        command.downgrade(alembic_config, "base")
    del alembic_config.attributes["connection"]
    yield engine
    engine.dispose()
