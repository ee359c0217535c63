"""Plain SQL files (``001_initial_schema.sql``, ``002_….sql``) applied in order.

Each file runs in its own transaction (unless its first line is
``-- pgstack: no-transaction``, for CREATE INDEX CONCURRENTLY and friends) and is recorded
with its checksum in ``pgstack_sql_migrations``, so a template says exactly what it holds.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pgstack import admin, urls
from pgstack.errors import ConfigError, MigrationFailed
from pgstack.hashing import Snapshot
from pgstack.settings import Settings
from pgstack.sqlfiles import read_sql, run_sql, sql_files, transaction_for

TABLE = "pgstack_sql_migrations"
_VERSION = re.compile(r"^(\d+)")


@dataclass
class SqlMigrator:
    folder: Path
    name: str = "sql"

    @classmethod
    def from_settings(cls, settings: Settings) -> SqlMigrator:
        folder = settings.sql_dir
        if folder is None or not folder.is_dir():
            raise ConfigError(
                f"SQL migrations folder {folder} not found. Set [tool.pgstack] sql_dir "
                "(relative to the pyproject.toml) or PGSTACK_SQL_DIR."
            )
        return cls(folder=folder)

    def files(self) -> list[Path]:
        return sql_files([self.folder])

    def inputs(self) -> list[Path]:
        return [self.folder]

    def key(self) -> str:
        return self.name

    def check(self) -> None:
        files = self.files()
        if not files:
            raise ConfigError(f"No *.sql files in {self.folder} (sql_dir).")
        seen: dict[str, Path] = {}
        for file in files:
            match = _VERSION.match(file.name)
            if match is None:
                raise MigrationFailed(
                    f"{file.name} in {self.folder} does not start with a number; name SQL "
                    "migrations 001_initial_schema.sql, 002_add_x.sql, … so their order is "
                    "unambiguous."
                )
            version = str(int(match.group(1)))
            if version in seen:
                raise MigrationFailed(
                    f"Two SQL migrations share number {match.group(1)}: {seen[version].name} "
                    f"and {file.name} in {self.folder}. Two branches each added one; renumber "
                    "one of them so the order is explicit."
                )
            seen[version] = file

    def mismatch(self, url: str) -> str | None:
        """The files recorded in the template's ``pgstack_sql_migrations`` against the
        files on disk, by name and sha256."""
        with admin.connect(url) as conn:
            row = conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()
            if row is None or row[0] is None:
                return f"the template has no {TABLE} table (it was not built by this migrator)"
            query = f"SELECT filename, sha256 FROM {TABLE}"  # noqa: S608 - a constant
            held: dict[str, str] = dict(conn.execute(query).fetchall())
        on_disk = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in self.files()}
        differences = [
            *(f"{name} is on disk but not in the template" for name in on_disk.keys() - held),
            *(f"{name} is in the template but not on disk" for name in held.keys() - on_disk),
            *(
                f"{name} differs (sha256 {held[name][:12]} in the template, "
                f"{on_disk[name][:12]} on disk)"
                for name in on_disk.keys() & held.keys()
                if on_disk[name] != held[name]
            ),
        ]
        return "; ".join(sorted(differences)) or None

    def migrate(self, url: str, snapshot: Snapshot | None = None) -> None:
        """Apply the files as ``snapshot`` holds them (the bytes the template's name was
        hashed from); without one, as they are now."""
        if snapshot is None:
            snapshot = Snapshot.take(self.inputs())
        fix = "Fix the file and run again; no template was kept."
        what = f"SQL migration (template {urls.describe(url)})"
        with admin.connect(url) as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (filename text PRIMARY KEY, "
                "sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            record = f"INSERT INTO {TABLE} (filename, sha256) VALUES (%s, %s)"  # noqa: S608
            for file in self.files():
                text = read_sql(file, snapshot, what=what)
                digest = hashlib.sha256(text.encode("utf-8")).hexdigest()  # the file's bytes
                with transaction_for(conn, text):
                    run_sql(conn, file, text, what=what, fix=fix)
                    conn.execute(record, (file.name, digest))
