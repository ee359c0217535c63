"""What a template is made of: its migrator, init and seed files, and every file hashed into
its name. Built from the settings without touching a database, so the CLI and doctor can
name the template a run would use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pgstack.errors import ConfigError
from pgstack.hashing import Snapshot, fingerprint
from pgstack.migrators import Migrator, migrator_for
from pgstack.migrators.command import CommandMigrator
from pgstack.settings import Settings
from pgstack.sqlfiles import sql_files


def pgstack_version() -> str:
    try:
        return version("pgstack")
    except PackageNotFoundError:
        return "dev"


@dataclass(frozen=True)
class TemplateSpec:
    """What goes into a template: hashed into its name."""

    migrator: Migrator
    init_dir: Path | None
    schema_inputs: tuple[Path, ...]
    project_dir: Path
    prefix: str
    # Run after the migrator, inside the template: SQL files and/or a command.
    seed_files: tuple[Path, ...] = ()
    seeder: Migrator | None = None
    rebuild: bool = False  # build again even when a complete one exists (--create-db)

    def inputs(self) -> list[Path]:
        paths = list(self.migrator.inputs()) + list(self.schema_inputs) + list(self.seed_files)
        if self.init_dir is not None:
            paths.append(self.init_dir)
        return paths

    @cached_property
    def snapshot(self) -> Snapshot:
        """Every schema file, read once: the SQL files run from these same bytes."""
        return Snapshot.take(self.inputs())

    def derived(self, **changes: object) -> TemplateSpec:
        """This spec with ``changes`` (``dataclasses.replace``), hashing the bytes this one
        already read instead of reading its files again."""
        other = replace(self, **changes)  # type: ignore[arg-type]
        other.__dict__["snapshot"] = self.snapshot.subset(other.inputs())
        return other

    def _fingerprint(self, files: Snapshot | list[Path]) -> str:
        return fingerprint(
            files,
            base=self.project_dir,
            extra=[
                f"pgstack={pgstack_version()}",
                f"migrator={self.migrator.key()}",
                f"seeder={self.seeder.key() if self.seeder else ''}",
            ],
        )

    @cached_property
    def _digest(self) -> str:
        # Computed once per spec, shared by name() and the marker.
        return self._fingerprint(self.snapshot)

    def hash(self) -> str:
        return self._digest

    def changed_files(self) -> list[Path]:
        """Schema files added, edited or removed on disk since the snapshot: migrators that
        read files themselves (Alembic, a command) may have run content the name does not
        say."""
        now = Snapshot.take(self.inputs())
        paths = self.snapshot.paths() | now.paths()
        return sorted(path for path in paths if now.read(path) != self.snapshot.read(path))

    def check(self) -> None:
        """Fail fast, before any database work, on a broken setup."""
        self.migrator.check()
        for path in self.seed_files:
            if not path.exists():
                raise ConfigError(
                    f"Seed file {path} not found ([tool.pgstack] seed, or PGSTACK_SEED). "
                    "Create it, or remove it from seed."
                )

    def name(self) -> str:
        return f"{self.prefix}_tpl_{self.hash()[:16]}"

    def init_files(self) -> list[Path]:
        if self.init_dir is None or not self.init_dir.is_dir():
            return []
        return sql_files([self.init_dir])


def template_spec(settings: Settings) -> TemplateSpec:
    """What the template is made of, from the settings (no database work)."""
    seeder = None
    if settings.seed_command is not None:
        seeder = CommandMigrator(
            command=settings.seed_command,
            cwd=settings.command_folder,
            url_env=settings.database_url_env,
            env=settings.env,
            timeout=settings.migrate_timeout,
            what="Seed command",
            name="seed",
        )
    return TemplateSpec(
        migrator=migrator_for(settings),
        init_dir=settings.init_dir,
        schema_inputs=settings.schema_inputs,
        project_dir=settings.project_dir,
        prefix=settings.prefix,
        seed_files=settings.seed,
        seeder=seeder,
        rebuild=settings.rebuild,
    )
