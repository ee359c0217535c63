"""Migrators turn an empty database into the project's schema for the template.

A migrator has two jobs (the pgtestdb shape): say which files shape the schema
(``inputs``, hashed into the template's name) and ``migrate`` a database at a URL. A third,
``mismatch``, checks an existing template against the files on disk before it is reused:
a hash only covers the inputs it was told about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pgstack.settings import Settings


class Migrator(Protocol):
    name: str

    def inputs(self) -> list[Path]:
        """Files and folders whose content decides the resulting schema."""

    def key(self) -> str:
        """The settings that change the result without being files (hashed with them)."""

    def check(self) -> None:
        """Fail fast, before any database work, on a broken migration setup."""

    def migrate(self, url: str) -> None:
        """Bring the (empty) database at ``url`` to the latest schema."""

    def mismatch(self, url: str) -> str | None:
        """None when the database at url holds what the inputs on disk say; else a
        sentence naming what differs."""


class NoMigrator:
    """For projects whose schema comes only from init SQL files (or is empty)."""

    name = "none"

    def inputs(self) -> list[Path]:
        return []

    def key(self) -> str:
        return self.name

    def check(self) -> None:
        return None

    def migrate(self, url: str) -> None:
        return None

    def mismatch(self, url: str) -> str | None:
        return None  # nothing to compare


def migrator_for(settings: Settings) -> Migrator:
    """The configured migrator; imported lazily (Alembic is an optional dependency)."""
    if settings.migrator == "alembic":
        from pgstack.migrators.alembic import AlembicMigrator

        return AlembicMigrator.from_settings(settings)
    if settings.migrator == "sql":
        from pgstack.migrators.sql import SqlMigrator

        return SqlMigrator.from_settings(settings)
    if settings.migrator == "command":
        from pgstack.migrators.command import CommandMigrator

        return CommandMigrator.from_settings(settings)
    if settings.migrator == "django":
        from pgstack.migrators.django import DjangoMigrator

        return DjangoMigrator.from_settings(settings)
    return NoMigrator()
